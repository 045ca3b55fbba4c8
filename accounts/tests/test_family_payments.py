"""Paying a linked relative's contribution from a holder's account (issue 4, item 5)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.errors import AccountError
from accounts.family_payments import relative_contribution_pay
from accounts.ledger import account_correct, ledger_verify
from accounts.models import EntryKind, LedgerEntry, PersonalAccount, PsnType, RelativeContribution
from accounts.roles import roles_sync
from accounts.tests.conftest import enrollee
from accounts.tests.factories import FamilyLinkFactory, PersonFactory
from claims.tests.factories import FacilityFactory
from claims.tokens import partner_token_create

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = D(2025, 3, 1)


@pytest.fixture
def family(seeded):
    """A Jinan holder with 500.00 in the (one) historical pocket, linked to an uninsured child."""
    holder = enrollee(seeded["370100"], brdy=D(1980, 1, 1)).person
    child = PersonFactory(brdy=D(2015, 5, 5))
    FamilyLinkFactory(holder=holder, relative=child, relation="child", begndate=D(2022, 7, 1))
    account_correct(person=holder, pocket="historical", amount=Decimal("500.00"), reason="opening")
    return holder, child


def test_pays_from_the_allowed_pocket_once_per_reference(family):
    holder, child = family
    record, created = relative_contribution_pay(holder=holder, relative=child, kind="resident", year=2025,
                                                amount=Decimal("380.00"), reference="JN-RES-1", day=TODAY)
    again, created_again = relative_contribution_pay(holder=holder, relative=child, kind="resident", year=2025,
                                                     amount=Decimal("380.00"), reference="JN-RES-1", day=TODAY)
    assert (created, created_again, again.pk) == (True, False, record.pk)
    debit = LedgerEntry.objects.get(kind=EntryKind.RELATIVE_CONTRIBUTION)
    # 500.00 − 380.00 = 120.00 left in the historical pocket, one debit only.
    assert (debit.amount, debit.balance_after, debit.ref_id) == (Decimal("-380.00"), Decimal("120.00"), str(record.pk))
    assert ledger_verify() == []


@pytest.mark.parametrize(("kind", "amount", "code", "message"), [
    ("resident", "500.01", "INSUFFICIENT_BALANCE", "can pay 500.00 yuan from the current, historical pocket"),
    ("bogus", "1.00", "CONTRIBUTION_KIND_NOT_ALLOWED", "unknown contribution kind"),
])
def test_refusals_write_nothing(family, kind, amount, code, message):
    holder, child = family
    with pytest.raises(AccountError) as refused:
        relative_contribution_pay(holder=holder, relative=child, kind=kind, year=2025, amount=Decimal(amount),
                                  reference="R1", day=TODAY)
    assert refused.value.err_code == code and message in refused.value.err_msg
    assert not RelativeContribution.objects.exists()
    assert PersonalAccount.objects.get(person=holder).balc == Decimal("500.00")


def test_an_unlinked_person_or_a_link_not_yet_active_is_refused(family):
    holder, _child = family
    stranger = PersonFactory()
    with pytest.raises(AccountError, match="is not linked") as refused:
        relative_contribution_pay(holder=holder, relative=stranger, kind="ltc", year=2025, amount=Decimal("1"),
                                  reference="R2", day=TODAY)
    assert refused.value.err_code == "MULAID_NOT_LINKED"
    with pytest.raises(AccountError, match="is not linked"):
        relative_contribution_pay(holder=holder, relative=_child, kind="ltc", year=2022, amount=Decimal("1"),
                                  reference="R3", day=D(2022, 6, 30))


def test_shanghai_does_not_allow_it_and_a_reused_reference_conflicts(seeded, family):
    sh_holder = enrollee(seeded["310000"], brdy=D(1980, 1, 1)).person
    kid = PersonFactory(brdy=D(2016, 1, 1))
    FamilyLinkFactory(holder=sh_holder, relative=kid)
    with pytest.raises(AccountError, match="SH-2023-07 does not let an account pay") as refused:
        relative_contribution_pay(holder=sh_holder, relative=kid, kind="resident", year=2025,
                                  amount=Decimal("1.00"), reference="SH-1", day=TODAY)
    assert refused.value.err_code == "CONTRIBUTION_KIND_NOT_ALLOWED"
    holder, child = family
    relative_contribution_pay(holder=holder, relative=child, kind="ltc", year=2025, amount=Decimal("10.00"),
                              reference="R9", day=TODAY)
    with pytest.raises(AccountError) as conflict:
        relative_contribution_pay(holder=holder, relative=child, kind="ltc", year=2025, amount=Decimal("11.00"),
                                  reference="R9", day=TODAY)
    assert conflict.value.err_code == "IDEMPOTENCY_CONFLICT"


def _staff(group: str) -> APIClient:
    roles_sync()
    user = User.objects.create_user(f"u-{group}", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api(family, monkeypatch):
    holder, child = family
    monkeypatch.setattr("accounts.family_payments.timezone.localdate", lambda: TODAY)
    url = reverse("api-relative-contributions", args=[holder.psn_no])
    body = {"relative_psn_no": child.psn_no, "kind": "commercial", "year": 2025, "amount": "99.90",
            "reference": "GC-7"}
    assert _staff("registry_clerk").post(url, body, format="json").status_code == 403  # not the registry's job
    clerk = _staff("account_officer")
    first = clerk.post(url, body, format="json")
    assert first.status_code == 201, first.content
    assert (first.json()["amount"], first.json()["balc"]) == ("99.90", "400.10")  # 500.00 − 99.90
    assert clerk.post(url, body, format="json").status_code == 200
    conflict = clerk.post(url, {**body, "amount": "1.00"}, format="json")
    assert (conflict.status_code, conflict.json()["err_code"]) == (409, "IDEMPOTENCY_CONFLICT")
    too_much = clerk.post(url, {**body, "amount": "1000.00", "reference": "GC-8"}, format="json")
    assert (too_much.status_code, too_much.json()["err_code"]) == (400, "INSUFFICIENT_BALANCE")
    unknown = clerk.post(reverse("api-relative-contributions", args=["NOPE"]), body, format="json")
    assert (unknown.status_code, unknown.json()["err_code"]) == (404, "PERSON_NOT_FOUND")
    bad = clerk.post(url, {**body, "amount": "-1"}, format="json")
    assert (bad.status_code, bad.json()["err_code"]) == (400, "INVALID_REQUEST")
    assert _staff("read_only").post(url, {**body, "reference": "GC-9"}, format="json").status_code == 403
    _token, raw = partner_token_create(facility=FacilityFactory())
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert partner.post(url, {**body, "reference": "GC-10"}, format="json").status_code == 403
    assert RelativeContribution.objects.count() == 1


def test_admin_pay_page_and_family_link_action(admin_client, family, monkeypatch):
    holder, child = family
    monkeypatch.setattr("accounts.family_payments.timezone.localdate", lambda: TODAY)
    link = holder.links_as_holder.get()
    response = admin_client.post(reverse("admin:accounts_familylink_changelist"),
                                 {"action": "pay_relative_contribution", "_selected_action": [link.pk]})
    assert response.status_code == 302 and f"holder={holder.psn_no}" in response["Location"]
    page = admin_client.get(response["Location"])
    assert page.status_code == 200 and holder.psn_no in page.content.decode()
    form = {"holder": holder.psn_no, "relative": child.psn_no, "kind": "resident", "year": "2025",
            "amount": "600.00", "reference": "ADM-1"}
    refused = admin_client.post(reverse("admin:accounts_relativecontribution_add"), form)
    assert refused.status_code == 200 and "600.00 yuan is needed" in refused.content.decode()
    paid = admin_client.post(reverse("admin:accounts_relativecontribution_add"), {**form, "amount": "100.00"})
    assert paid.status_code == 302
    assert PersonalAccount.objects.get(person=holder).balc == Decimal("400.00")
    assert admin_client.get(reverse("admin:accounts_relativecontribution_changelist")).status_code == 200


def test_a_suspended_holder_or_a_relative_of_another_region_is_refused_by_the_settlements_rule(seeded, family):
    """The rule of accounts.mulaid, as settlements apply it: the holder active on the day (dated status), and in
    the relative's insured region."""
    holder, child = family
    enrollment = holder.enrollments.get()
    enrollment.psn_insu_stas, enrollment.stas_date = "2", D(2025, 2, 1)
    enrollment.save()
    with pytest.raises(AccountError) as suspended:
        relative_contribution_pay(holder=holder, relative=child, kind="ltc", year=2025, amount=Decimal("10.00"),
                                  reference="S1", day=TODAY)
    assert suspended.value.err_code == "NOT_INSURED_ON_DATE" and "not active on 2025-03-01" in suspended.value.err_msg
    # Before the suspension the same payment goes through.
    relative_contribution_pay(holder=holder, relative=child, kind="ltc", year=2025, amount=Decimal("10.00"),
                              reference="S2", day=D(2025, 1, 31))
    shanghai_relative = enrollee(seeded["310000"], brdy=D(1950, 1, 1), psn_type=PsnType.RETIRED,
                                 retire_date=D(2010, 1, 1), clct_base=None).person
    other = enrollee(seeded["370100"], brdy=D(1981, 1, 1)).person
    account_correct(person=other, pocket="historical", amount=Decimal("100.00"), reason="opening")
    FamilyLinkFactory(holder=other, relative=shanghai_relative, relation="parent")
    with pytest.raises(AccountError) as elsewhere:
        relative_contribution_pay(holder=other, relative=shanghai_relative, kind="ltc", year=2025,
                                  amount=Decimal("10.00"), reference="S3", day=TODAY)
    assert elsewhere.value.err_code == "MULAID_NOT_LINKED" and "one region" in elsewhere.value.err_msg
    assert not RelativeContribution.objects.filter(reference__in=["S1", "S3"]).exists()
