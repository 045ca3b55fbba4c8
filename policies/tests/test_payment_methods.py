"""Payment methods (清算方式) and separately paid drugs as policy data: seeded, cloned, compared, validated,
edited only in drafts, and answered by the API."""

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from policies.errors import PolicyError
from policies.models import ClearingWay, PaymentMethod, PolicyVersion
from policies.selectors import (
    SepPayTerms,
    clearing_group_of,
    payment_method_for,
    policy_version_changed_cells,
    sep_pay_terms_for,
)
from policies.services import policy_version_clone, policy_version_publish
from policies.validation import policy_version_problems

pytestmark = pytest.mark.django_db


def methods_of(code: str) -> set[tuple]:
    return {(m.facility_level, m.med_type_group, m.dise_code, m.clr_way, m.rate)
            for m in PaymentMethod.objects.filter(version__code=code)}


def test_seeded_numbers_are_the_contracts(seeded):
    # CONTRACT.md "Payment methods": SH-2023-07 all itemised; JN-2024 level-1 general outpatient by capitation at
    # 12.00 per signed enrollee a month, M03900 per disease at 45.00 at the recognising facility (any level).
    assert methods_of("SH-2023-07") == set() and methods_of("JN-2022") == set()
    assert methods_of("JN-2024") == {("1", "general", "", "capitation", Decimal("12.00")),
                                     ("any", "chronic", "M03900", "per_disease", Decimal("45.00"))}
    jn24 = PolicyVersion.objects.get(code="JN-2024")
    assert sep_pay_terms_for(jn24) == SepPayTerms(rate=Decimal("0.7000"), annual_cap=Decimal("30000.00"),
                                                  bucket="sep_pay")
    assert sep_pay_terms_for(PolicyVersion.objects.get(code="SH-2023-07")) is None
    assert not any(v.review_extrapolate for v in PolicyVersion.objects.all())


def test_seed_twice_changes_no_payment_method(seeded):
    before = (PaymentMethod.objects.count(), PaymentMethod.history.count())
    out = io.StringIO()
    call_command("seed_policies", stdout=out)
    assert (PaymentMethod.objects.count(), PaymentMethod.history.count()) == before == (2, 2)
    assert "JN-2024: unchanged" in out.getvalue()


def test_seed_reports_changed_payment_methods(seeded):
    PaymentMethod.objects.filter(version__code="JN-2024", clr_way="capitation").update(rate=Decimal("13.00"))
    out = io.StringIO()
    call_command("seed_policies", stdout=out)
    assert "JN-2024: exists (published), differs from the seed in payment_methods" in out.getvalue()


def test_lookup_prefers_the_disease_and_the_level():
    methods = [PaymentMethod(facility_level="any", med_type_group="chronic", clr_way="capitation", rate=1),
               PaymentMethod(facility_level="any", med_type_group="chronic", dise_code="M03900",
                             clr_way="per_disease", rate=2),
               PaymentMethod(facility_level="2", med_type_group="chronic", clr_way="itemised"),
               PaymentMethod(facility_level="1", med_type_group="general", clr_way="capitation", rate=3)]
    assert payment_method_for(methods=methods, facility_level="1", med_type_group="chronic",
                              dise_code="M03900").rate == 2
    assert payment_method_for(methods=methods, facility_level="1", med_type_group="chronic",
                              dise_code="M07803").rate == 1
    assert payment_method_for(methods=methods, facility_level="2", med_type_group="chronic",
                              dise_code="M07803").clr_way == "itemised"
    assert payment_method_for(methods=methods, facility_level="2", med_type_group="general") is None
    assert payment_method_for(methods=methods, facility_level="1", med_type_group="general").rate == 3


@pytest.mark.parametrize(("med_type", "ext_rx", "group"), [
    ("11", False, "general"), ("13", False, "general"), ("41", True, "general"), ("14", False, "chronic"),
    ("41", False, "pharmacy")])
def test_clearing_groups(med_type, ext_rx, group):
    assert clearing_group_of(med_type, ext_rx) == group


def test_clone_copies_payment_methods_and_the_diff_shows_a_change(seeded, policy_manager):
    source = PolicyVersion.objects.get(code="JN-2024")
    draft = policy_version_clone(version=source, code="JN-2025", actor=policy_manager,
                                 effective_from=source.effective_from.replace(year=2025))
    assert methods_of("JN-2025") == methods_of("JN-2024")
    assert (draft.sep_pay_rate, draft.sep_pay_annual_cap, draft.sep_pay_bucket) == (
        Decimal("0.7000"), Decimal("30000.00"), "sep_pay")
    method = draft.payment_methods.get(clr_way="capitation")
    method.rate = Decimal("15.00")
    method.save()
    draft.sep_pay_rate = Decimal("0.8")
    draft.save()
    changed = [c for c in policy_version_changed_cells(source, PolicyVersion.objects.get(pk=draft.pk))
               if c[0] != "Version and options" or c[1] == "separately paid drugs"]
    general = "general outpatient (11, 13; 41 with an external prescription)"
    assert changed == [
        ("Version and options", "separately paid drugs", "value",
         "the pooled fund pays 70.00% of the in-scope amount, no deductible; annual cap 30,000.00; bucket sep_pay",
         "the pooled fund pays 80.00% of the in-scope amount, no deductible; annual cap 30,000.00; bucket sep_pay"),
        ("Payment methods (everything not listed is itemised)", general, "level 1",
         "capitation (a rate per signed enrollee a month): 12.00 per enrollee a month",
         "capitation (a rate per signed enrollee a month): 15.00 per enrollee a month"),
    ]
    policy_version_publish(version=draft, actor=policy_manager)


def test_published_payment_methods_do_not_change(seeded):
    method = PaymentMethod.objects.filter(version__code="JN-2024").first()
    method.rate = Decimal("1.00")
    with pytest.raises(PolicyError):
        method.save()


@pytest.mark.parametrize(("values", "field"), [
    ({"clr_way": "itemised", "rate": Decimal("1.00")}, "rate"),
    ({"clr_way": "capitation", "rate": None}, "rate"),
    ({"clr_way": "capitation", "rate": Decimal("5.00"), "facility_level": "pharmacy"}, "clr_way"),
    ({"clr_way": "capitation", "rate": Decimal("5.00"), "dise_code": "M03900", "med_type_group": "chronic"},
     "dise_code"),
    ({"clr_way": "per_disease", "rate": Decimal("5.00"), "med_type_group": "general"}, "dise_code"),
])
def test_a_method_that_does_not_fit_is_refused(values, field):
    method = PaymentMethod(**{"facility_level": "1", "med_type_group": "general", **values})
    with pytest.raises(ValidationError) as refused:
        method.clean()
    assert field in refused.value.message_dict


def test_the_database_refuses_a_capitation_without_a_rate(seeded, policy_manager):
    draft = policy_version_clone(version=PolicyVersion.objects.get(code="JN-2024"), code="D", actor=policy_manager)
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentMethod.objects.create(version=draft, facility_level="2", med_type_group="general",
                                     clr_way=ClearingWay.CAPITATION, rate=None)


def test_publish_refuses_per_disease_payment_for_an_uncovered_disease(seeded, policy_manager):
    draft = policy_version_clone(version=PolicyVersion.objects.get(code="JN-2024"), code="D", actor=policy_manager)
    PaymentMethod.objects.create(version=draft, facility_level="any", med_type_group="chronic", dise_code="M01600",
                                 clr_way=ClearingWay.PER_DISEASE, rate=Decimal("30.00"))
    draft.sep_pay_rate = None
    draft.save()
    assert policy_version_problems(draft) == [
        "per-disease payment for M01600, a disease this version does not cover (no chronic-disease benefit rule)",
        "separately paid drugs have an annual cap but no rate"]


def test_admin_shows_and_edits_payment_methods_in_drafts(seeded, policy_manager, client):
    client.force_login(policy_manager)
    jn24 = PolicyVersion.objects.get(code="JN-2024")
    page = client.get(reverse("admin:policies_policyversion_change", args=[jn24.pk])).content.decode()
    assert "Payment methods (everything not listed is itemised)" in page
    assert "per disease (a rate per recognised enrollee a month): 45.00 per enrollee a month" in page
    draft = policy_version_clone(version=jn24, code="D", actor=policy_manager)
    page = client.get(reverse("admin:policies_policyversion_change", args=[draft.pk])).content.decode()
    assert 'name="payment_methods-TOTAL_FORMS"' in page and 'name="sep_pay_rate"' in page


def test_api_answers_payment_methods_and_separately_paid_drugs(seeded, clerk):
    api = APIClient()
    api.force_authenticate(clerk)
    body = api.get("/api/v1/policies/", {"admdvs": "370100", "date": "2025-03-01"}).json()
    assert body["sep_pay"] == {"rate": "0.7000", "annual_cap": "30000.00", "bucket": "sep_pay"}
    assert {"med_type_group": "general", "dise_code": "", "facility_level": "1", "clr_way": "capitation",
            "rate": "12.00"} in body["payment_methods"]
    shanghai = api.get("/api/v1/policies/", {"admdvs": "310000", "date": "2025-03-01"}).json()
    assert shanghai["payment_methods"] == [] and shanghai["sep_pay"]["rate"] is None


def test_publish_refuses_a_drug_bucket_shared_with_the_benefit_rules(seeded, policy_manager):
    draft = policy_version_clone(version=PolicyVersion.objects.get(code="JN-2024"), code="D", actor=policy_manager)
    draft.sep_pay_bucket = "general"
    draft.save()
    assert policy_version_problems(draft) == [
        "separately paid drugs need a bucket of their own, not general of the benefit rules"]
