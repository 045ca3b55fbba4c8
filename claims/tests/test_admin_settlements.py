"""The settlement, accumulator and partner-token admin: pages render, nothing is edited, reversal by an auditor
through the service (reason required, never twice), tokens shown once and stored as a digest, query counts."""

import hashlib
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from accounts.ledger import ledger_verify
from accounts.models import EntryKind, LedgerEntry
from accounts.roles import roles_sync
from claims.admin import explanation_rows
from claims.models import Accumulator, PartnerToken, Settlement, SettlementStatus
from claims.services import settlement_create
from claims.tests.conftest import D, enrollee, fund, request
from claims.tokens import partner_token_create, partner_token_lookup
from core.certno import certno_mask

pytestmark = pytest.mark.django_db

CHANGELIST_MAX_QUERIES = 14


@pytest.fixture
def roles(db: None) -> None:
    roles_sync()
    # See accounts/tests/test_admin.py: roles.py's `accounts.view_*` wildcard also grants view_full_certno.
    Group.objects.get(name="read_only").permissions.remove(Permission.objects.get(codename="view_full_certno"))


def _staff(username: str, group: str) -> tuple[User, Client]:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def auditor(roles: None) -> tuple[User, Client]:
    """A settlement auditor: may reverse settlements."""
    return _staff("auditor", "settlement_auditor")


@pytest.fixture
def reader(roles: None) -> Client:
    return _staff("reader", "read_only")[1]


@pytest.fixture
def clerk(roles: None) -> Client:
    return _staff("clerk", "registry_clerk")[1]


@pytest.fixture
def settled(world: dict) -> Settlement:
    """A Jinan enrollee's level-1 visit: deductible 200.00, then 70% from the fund, the rest from the account."""
    person = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(person, historical="500.00")
    answer, _created = settlement_create(
        facility=world["facilities"]["JN1"],
        data=request(person.psn_no, ("A50", "8", "50"), ("B30", "2", "30"), ("C", "1", "12"),
                     setl_date="2025-03-10", medins_setl_id="JN1-0001"))
    return Settlement.objects.get(setl_id=answer["setl_id"])


def _reverse_post(client: Client, settlements: list[Settlement], **extra: str) -> object:
    return client.post(reverse("admin:claims_settlement_changelist"),
                       {"action": "reverse_settlements", "_selected_action": [s.pk for s in settlements], **extra})


# --- pages ------------------------------------------------------------------------------------------------------

def test_every_page_renders_for_a_superuser(admin_client: Client, settled: Settlement) -> None:
    token, _raw = partner_token_create(facility=settled.facility, label="HIS")
    accumulator = Accumulator.objects.get(person=settled.person)
    for url in (
        reverse("admin:claims_settlement_changelist"),
        reverse("admin:claims_settlement_change", args=[settled.pk]),
        reverse("admin:claims_settlement_history", args=[settled.pk]),
        reverse("admin:claims_accumulator_changelist"),
        reverse("admin:claims_accumulator_change", args=[accumulator.pk]),
        reverse("admin:claims_partnertoken_changelist"),
        reverse("admin:claims_partnertoken_add"),
        reverse("admin:claims_partnertoken_change", args=[token.pk]),
        reverse("admin:claims_partnertoken_history", args=[token.pk]),
    ):
        assert admin_client.get(url).status_code == 200, url
    page = _reverse_post(admin_client, [settled])
    assert page.status_code == 200
    assert settled.setl_id in page.content.decode() and 'name="reason"' in page.content.decode()


def test_nobody_adds_changes_or_deletes_a_settlement_or_accumulator(admin_client: Client,
                                                                    settled: Settlement) -> None:
    assert admin_client.get(reverse("admin:claims_settlement_add")).status_code == 403
    assert admin_client.post(reverse("admin:claims_settlement_change", args=[settled.pk]),
                             {"hifp_pay": "9999.00"}).status_code == 403
    assert admin_client.post(reverse("admin:claims_settlement_delete", args=[settled.pk])).status_code == 403
    accumulator = Accumulator.objects.get(person=settled.person)
    assert admin_client.post(reverse("admin:claims_accumulator_change", args=[accumulator.pk]),
                             {"dedc_used": "0"}).status_code == 403
    assert admin_client.get(reverse("admin:claims_accumulator_add")).status_code == 403
    html = admin_client.get(reverse("admin:claims_settlement_changelist")).content.decode()
    assert "delete_selected" not in html
    settled.refresh_from_db()
    assert settled.hifp_pay != 9999


def test_the_settlement_page_shows_amounts_lines_explanation_and_ledger_entries(admin_client: Client,
                                                                                settled: Settlement) -> None:
    html = admin_client.get(reverse("admin:claims_settlement_change", args=[settled.pk])).content.decode()
    for amount in (settled.medfee_sumamt, settled.act_pay_dedc, settled.hifp_pay, settled.acct_pay):
        assert f"{amount:.2f}" in html
    assert "B30" in html and "A50" in html  # the lines
    for step in settled.explanation:
        assert step["code"] in html
    entry = LedgerEntry.objects.get(ref_type="settlement", ref_id=settled.setl_id)
    assert reverse("admin:accounts_ledgerentry_change", args=[entry.pk]) in html


def test_the_explanation_follows_the_request_language(admin_client: Client, settled: Settlement) -> None:
    steps = [{"code": "lines", "label": {"zh-hans": "明细合计", "en": "lines in total"}, "amount_in": "1.00",
              "amount_out": "1.00", "detail": {}},
             {"code": "cash", "label": {"en": "cash pays the rest"}, "amount_in": "1.00", "amount_out": "1.00",
              "detail": {"psn_cash_pay": "1.00"}}]
    Settlement.objects.filter(pk=settled.pk).update(explanation=steps)
    url = reverse("admin:claims_settlement_change", args=[settled.pk])
    # The language the user chose with the switch (its cookie); the browser's Accept-Language changes nothing.
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = admin_client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "明细合计" in chinese and "lines in total" not in chinese and "cash pays the rest" in chinese
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = admin_client.get(url, headers={"accept-language": "zh-hans"}).content.decode()
    assert "lines in total" in english and "明细合计" not in english
    assert [row["label"] for row in explanation_rows(steps, "zh-hans")] == ["明细合计", "cash pays the rest"]
    assert [row["number"] for row in explanation_rows(steps, None)] == [1, 2]


def test_settlements_are_searched_by_ids_and_person(auditor: tuple[User, Client], world: dict,
                                                    settled: Settlement) -> None:
    other = enrollee(world["regions"]["370100"], brdy=D(1970, 5, 5)).person
    settlement_create(facility=world["facilities"]["JN2"],
                      data=request(other.psn_no, ("A50", "1", "20"), medins_setl_id="JN2-0001"))
    client = auditor[1]
    url = reverse("admin:claims_settlement_changelist")
    for term in (settled.setl_id, settled.medins_setl_id, settled.person.psn_no, settled.person.certno):
        html = client.get(url, {"q": term}).content.decode()
        assert settled.setl_id in html and other.psn_no not in html, term


def test_settlements_show_the_id_number_by_role(reader: Client, auditor: tuple[User, Client],
                                                settled: Settlement) -> None:
    certno = settled.person.certno
    url = reverse("admin:claims_settlement_changelist")
    html = reader.get(url).content.decode()
    assert certno not in html and certno_mask(certno) in html
    assert certno in auditor[1].get(url).content.decode()


@pytest.fixture
def thirty(world: dict) -> None:
    facilities = list(world["facilities"].values())
    for n in range(30):
        region = world["regions"]["310000" if n % 2 else "370100"]
        person = enrollee(region, brdy=D(1960 + n, 1, 1)).person
        hospitals = [f for f in facilities if f.region_id == region.pk and not f.is_pharmacy]
        settlement_create(facility=hospitals[n % 3],
                          data=request(person.psn_no, ("A50", "2", "40"), medins_setl_id=f"N{n}",
                                       setl_date=f"2025-{n % 12 + 1:02d}-10"))


@pytest.mark.parametrize("model", ["settlement", "accumulator", "partnertoken"])
def test_changelist_queries_do_not_grow_with_rows(auditor: tuple[User, Client], thirty: None, model: str,
                                                  world: dict, django_assert_max_num_queries: object) -> None:
    for facility in world["facilities"].values():
        for n in range(3):
            partner_token_create(facility=facility, label=f"till {n}")
    assert Settlement.objects.count() == 30
    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        response = auditor[1].get(reverse(f"admin:claims_{model}_changelist"))
    assert response.status_code == 200


def test_settlements_filter_by_date_facility_med_type_status_and_version(auditor: tuple[User, Client],
                                                                         thirty: None, world: dict) -> None:
    client = auditor[1]
    url = reverse("admin:claims_settlement_changelist")
    facility = world["facilities"]["SH2"]
    for params, expected in (
        ({"setl_date__year": "2025", "setl_date__month": "3"}, Settlement.objects.filter(setl_date__month=3)),
        ({"facility__id__exact": facility.pk}, Settlement.objects.filter(facility=facility)),
        ({"med_type": "11"}, Settlement.objects.all()),
        ({"med_type": "41"}, Settlement.objects.none()),
        ({"status__exact": "settled"}, Settlement.objects.all()),
    ):
        html = client.get(url, params).content.decode()
        shown = set(re.findall(r"2025\d{4}[0-9A-F]{16}", html))
        assert shown == set(expected.values_list("setl_id", flat=True)), params
    version = Settlement.objects.first().policy_version
    html = client.get(url, {"policy_version__id__exact": version.pk}).content.decode()
    assert set(re.findall(r"2025\d{4}[0-9A-F]{16}", html)) == set(
        Settlement.objects.filter(policy_version=version).values_list("setl_id", flat=True))


# --- reversal ---------------------------------------------------------------------------------------------------

def test_an_auditor_reverses_with_a_reason_through_the_service(auditor: tuple[User, Client],
                                                               settled: Settlement) -> None:
    user, client = auditor
    accumulator = Accumulator.objects.get(person=settled.person)
    before = (accumulator.dedc_used - settled.act_pay_dedc, accumulator.hifp_paid - settled.hifp_pay)
    assert 'value="reverse_settlements"' in client.get(reverse("admin:claims_settlement_changelist")).content.decode()
    change = client.get(reverse("admin:claims_settlement_change", args=[settled.pk])).content.decode()
    assert 'name="action" value="reverse_settlements"' in change  # the page's "Reverse" button

    response = _reverse_post(client, [settled], confirm="1", reason="duplicate submission")
    assert response.status_code == 302
    settled.refresh_from_db()
    assert settled.status == SettlementStatus.REVERSED
    assert settled.reversed_by == user and settled.reversal_reason == "duplicate submission"
    reversal = LedgerEntry.objects.get(kind=EntryKind.REVERSAL, ref_id=settled.setl_id)
    assert reversal.created_by == user and reversal.amount == settled.acct_pay
    accumulator.refresh_from_db()
    assert (accumulator.dedc_used, accumulator.hifp_paid) == before
    assert ledger_verify() == []

    # Again: reported, not reversed twice.
    response = _reverse_post(client, [settled], confirm="1", reason="again")
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("reversed already" in m and settled.setl_id in m for m in messages)
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    settled.refresh_from_db()
    assert settled.reversal_reason == "duplicate submission"


def test_a_reason_is_required(auditor: tuple[User, Client], settled: Settlement) -> None:
    response = _reverse_post(auditor[1], [settled], confirm="1", reason="  ")
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    settled.refresh_from_db()
    assert settled.status == SettlementStatus.SETTLED


def test_the_intermediate_page_lists_already_reversed_settlements(auditor: tuple[User, Client], world: dict,
                                                                  settled: Settlement) -> None:
    _reverse_post(auditor[1], [settled], confirm="1", reason="duplicate")
    html = _reverse_post(auditor[1], [settled]).content.decode()
    assert "Reversed already" in html and settled.setl_id in html and 'name="reason"' not in html


def test_a_long_selection_is_refused(auditor: tuple[User, Client], thirty: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("claims.admin.MAX_REVERSALS", 2)
    response = _reverse_post(auditor[1], list(Settlement.objects.all()[:3]), confirm="1", reason="bulk")
    assert response.status_code == 302
    assert not Settlement.objects.filter(status=SettlementStatus.REVERSED).exists()


@pytest.mark.parametrize("persona", ["reader", "clerk"])
def test_only_an_auditor_may_reverse(request: pytest.FixtureRequest, persona: str, settled: Settlement) -> None:
    client = request.getfixturevalue(persona)
    changelist = client.get(reverse("admin:claims_settlement_changelist"))
    assert changelist.status_code == 200 and 'value="reverse_settlements"' not in changelist.content.decode()
    change = client.get(reverse("admin:claims_settlement_change", args=[settled.pk])).content.decode()
    assert 'name="action" value="reverse_settlements"' not in change
    # Without an action on offer the changelist ignores the POST (a plain 200) or refuses it.
    response = _reverse_post(client, [settled], confirm="1", reason="not allowed")
    assert response.status_code in (200, 302, 403)
    assert not [m for m in response.wsgi_request._messages if "Reversed" in str(m)]
    settled.refresh_from_db()
    assert settled.status == SettlementStatus.SETTLED
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()


# --- partner tokens ---------------------------------------------------------------------------------------------

def test_a_token_is_shown_once_and_only_its_digest_is_kept(admin_client: Client, world: dict) -> None:
    facility = world["facilities"]["SH1"]
    response = admin_client.post(reverse("admin:claims_partnertoken_add"),
                                 {"facility": facility.fixmedins_code, "label": "HIS till 1"})
    assert response.status_code == 200
    raw = response.context["raw_token"]
    assert raw in response.content.decode()
    token = PartnerToken.objects.get()
    assert token.facility == facility and token.label == "HIS till 1"
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest() and token.prefix == raw[:8]
    assert partner_token_lookup(raw) == token
    for url in (reverse("admin:claims_partnertoken_changelist"),
                reverse("admin:claims_partnertoken_change", args=[token.pk]),
                reverse("admin:claims_partnertoken_history", args=[token.pk])):
        html = admin_client.get(url).content.decode()
        assert raw not in html and token.digest not in html, url
    assert admin_client.post(reverse("admin:claims_partnertoken_change", args=[token.pk]),
                             {"label": "x"}).status_code == 403


def test_a_token_needs_a_known_facility(admin_client: Client, world: dict) -> None:
    response = admin_client.post(reverse("admin:claims_partnertoken_add"), {"facility": "NOPE", "label": ""})
    assert response.status_code == 200 and "NOPE" in response.content.decode()
    assert not PartnerToken.objects.exists()


def test_only_superusers_or_token_creators_create_tokens(reader: Client, auditor: tuple[User, Client],
                                                         world: dict) -> None:
    url = reverse("admin:claims_partnertoken_add")
    assert reader.post(url, {"facility": "HSH1"}).status_code == 403
    user, client = auditor
    assert client.get(url).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_partnertoken"))
    client.force_login(User.objects.get(pk=user.pk))
    assert client.get(url).status_code == 200
    assert not PartnerToken.objects.exists()


def test_revoke_action(admin_client: Client, world: dict) -> None:
    token, raw = partner_token_create(facility=world["facilities"]["JN1"])
    kept, _raw = partner_token_create(facility=world["facilities"]["JN1"])
    response = admin_client.post(reverse("admin:claims_partnertoken_changelist"),
                                 {"action": "revoke_tokens", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    kept.refresh_from_db()
    assert token.revoked_at is not None and kept.revoked_at is None
    assert partner_token_lookup(raw) is None


def test_a_reader_cannot_revoke(reader: Client, world: dict) -> None:
    token, _raw = partner_token_create(facility=world["facilities"]["JN1"])
    html = reader.get(reverse("admin:claims_partnertoken_changelist")).content.decode()
    assert 'value="revoke_tokens"' not in html
    reader.post(reverse("admin:claims_partnertoken_changelist"),
                {"action": "revoke_tokens", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is None


# --- accumulators -----------------------------------------------------------------------------------------------

def test_accumulators_are_searched_and_filtered(auditor: tuple[User, Client], world: dict,
                                                settled: Settlement) -> None:
    client = auditor[1]
    url = reverse("admin:claims_accumulator_changelist")
    html = client.get(url, {"q": settled.person.psn_no}).content.decode()
    assert settled.person.psn_no in html
    assert settled.person.psn_no in client.get(url, {"bucket": "general"}).content.decode()
    assert settled.person.psn_no not in client.get(url, {"bucket": "M03900"}).content.decode()
    assert settled.person.psn_no in client.get(url, {"year_start": "2025-01-01"}).content.decode()


def test_accumulators_filter_by_the_year_their_benefit_year_starts(admin_client: Client, settled: Settlement) -> None:
    accumulator = Accumulator.objects.get(person=settled.person)
    url = reverse("admin:claims_accumulator_changelist")
    year = accumulator.year_start.year
    shown = admin_client.get(url, {"year": str(year)}).context["cl"].result_list
    assert list(shown) == [accumulator]
    assert list(admin_client.get(url, {"year": str(year + 1)}).context["cl"].result_list) == []
