from decimal import Decimal

import pytest

from policies.errors import PolicyError
from policies.models import BenefitRule, EnrolleeClass, PolicyVersion, ReferenceValue
from policies.services import policy_version_clone, policy_version_publish
from policies.tests.conftest import D, set_rule
from policies.validation import policy_version_problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(seeded):
    return policy_version_clone(version=PolicyVersion.objects.get(code="JN-2024"), code="JN-2025",
                                effective_from=D(2025, 1, 1), actor=None)


def refused(version):
    with pytest.raises(PolicyError) as exc:
        policy_version_publish(version=version, actor=None)
    assert exc.value.err_code == "POLICY_PUBLISH_REFUSED"
    assert PolicyVersion.objects.get(pk=version.pk).status == "draft"
    return exc.value.messages


def test_seeded_jinan_clone_passes(draft):
    assert policy_version_problems(draft) == []


def test_deductible_above_two_percent_of_wage(draft):
    set_rule(draft, cls="in_service", level="3", deductible="1800.01")
    (message,) = refused(draft)
    assert message == ("deductible 1,800.01 for in-service at level 3 is above the Shandong maximum of 2% of the "
                       "provincial average wage (90,000.00 → 1,800.00)")


def test_in_service_rate_below_fifty_percent(draft):
    set_rule(draft, cls="in_service", level="3", rate="0.45")
    (message,) = refused(draft)
    assert "in-service reimbursement rate 45.00% at level 3 is below the Shandong minimum of 50%" in message


def test_retired_not_five_points_above_in_service(draft):
    for level, rate in (("1", "0.72"), ("2", "0.62"), ("3", "0.52")):
        set_rule(draft, cls="retired", level=level, rate=rate)
    (message,) = refused(draft)
    assert message == ("retired average reimbursement rate 62.00% (retired) is 2.00 points above the in-service "
                       "average 60.00%: Shandong sets it on average 5 points above (accepted from 4 points)")


def test_levels_less_than_ten_points_apart(draft):
    set_rule(draft, cls="in_service", level="1", rate="0.65")
    set_rule(draft, cls="in_service", level="2", rate="0.60")
    set_rule(draft, cls="in_service", level="3", rate="0.56")
    messages = refused(draft)
    assert ("difference between level 1 (65.00%) and level 3 (56.00%) reimbursement rates for in-service is 9.00 "
            "points, below the Shandong minimum of 10 points between facility levels") in messages


def test_higher_level_paying_more_than_lower(draft):
    set_rule(draft, cls="retired", level="2", rate="0.80")
    messages = refused(draft)
    assert ("reimbursement rate 80.00% at level 2 is above 75.00% at level 1 for retired: Shandong rates favour "
            "primary care (lower levels pay at least as much)") in messages


@pytest.mark.parametrize("cap", ["5400.01", "3599.99", None])
def test_cap_not_about_five_percent(draft, cap):
    set_rule(draft, cls="retired", level="2", annual_cap=Decimal(cap) if cap else None)
    (message,) = refused(draft)
    shown = f"{Decimal(cap):,.2f}" if cap else "none"
    assert message == (f"annual cap {shown} for retired at level 2 is not about 5% of the provincial average wage "
                       "90,000.00 (Shandong: about 5%; accepted from 3,600.00 to 5,400.00, 4% to 6%)")


def test_cap_at_the_edges_passes(draft):
    set_rule(draft, cls="retired", level="1", annual_cap=Decimal("5400.00"))
    set_rule(draft, cls="retired", level="2", annual_cap=Decimal("3600.00"))
    assert policy_version_problems(draft) == []


def test_missing_provincial_average_wage(draft):
    ReferenceValue.objects.get(version=draft, kind="provincial_avg_wage", year=2025).delete()
    (message,) = refused(draft)
    assert message.startswith("no provincial average wage for 2025")


def test_bounds_use_the_wage_of_the_effective_year(draft):
    value = ReferenceValue.objects.get(version=draft, kind="provincial_avg_wage", year=2025)
    value.amount = Decimal("100000.00")  # cap 4,500 is 4.5%, deductibles within 2,000
    value.save()
    assert policy_version_problems(draft) == []
    value.amount = Decimal("20000.00")  # deductible max 400, cap 800..1,200
    value.save()
    messages = policy_version_problems(draft)
    assert any(m.startswith("deductible 600.00 for in-service at level 3") for m in messages)


def test_shanghai_is_not_checked_against_shandong_bounds(seeded):
    draft = policy_version_clone(version=PolicyVersion.objects.get(code="SH-2023-07"), code="SH-2027",
                                 effective_from=D(2027, 1, 1), actor=None)
    set_rule(draft, cls="in_service", level="3", rate="0.40")
    assert policy_version_problems(draft) == []


def test_completeness_missing_level_and_overlapping_classes(draft):
    BenefitRule.objects.get(version=draft, enrollee_class__code="retired", facility_level="2",
                            med_group="general").delete()
    BenefitRule.objects.get(version=draft, enrollee_class__code="in_service", facility_level="pharmacy",
                            med_group="general").delete()
    BenefitRule.objects.get(version=draft, enrollee_class__code="retired", dise_code="M03900").delete()
    EnrolleeClass.objects.create(version=draft, code="flex", name="flexible", psn_types="1103")
    messages = refused(draft)
    assert "no general outpatient rule for retired at level 2" in messages
    assert "no general outpatient rule for in-service at pharmacy (external prescription)" in messages
    assert "no M03900 rule for retired at level 1" in messages
    assert "enrollee classes flexible and in-service both cover person type 1103" in messages
