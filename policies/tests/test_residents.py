"""Resident-insurance versions (insutype 390) beside the employee ones: JN-R-2024 as CONTRACT.md seeds it, the
version in force per insurance type, publishing per insurance type, and Shandong's resident bounds (二(九)): cap at
least 200 a year, chronic diseases at 65% or more. Also the seeded rule for unfiled visits in another region."""

from decimal import Decimal

import pytest

from policies.cache import policy_version_resolved
from policies.errors import PolicyError
from policies.models import BenefitRule, CreditRule, EnrolleeClass, PolicyVersion
from policies.selectors import benefit_rule_for, policy_version_in_force, policy_version_tables
from policies.services import policy_version_clone, policy_version_publish
from policies.tests.conftest import D, set_rule
from policies.validation import policy_version_problems

pytestmark = pytest.mark.django_db


def test_jn_r_2024_is_seeded_as_the_contract_says(seeded):
    version = PolicyVersion.objects.get(code="JN-R-2024")
    assert (version.region.admdvs, version.insutype, version.status, version.effective_from, version.effective_to,
            version.benefit_year_start_month, version.benefit_year_start_day) == (
        "370100", "390", "published", D(2024, 1, 1), None, 1, 1)
    assert (version.two_pockets, version.current_pocket_first, version.unfiled_rate_cut) == (False, False, None)
    assert not version.credit_rules.exists() and not version.reference_values.exists()
    (resident,) = version.enrollee_classes.all()
    assert (resident.code, resident.psn_types) == ("resident", "")
    rules = {(r.med_group, r.dise_code, r.facility_level): (r.deductible, r.rate, r.annual_cap, r.bucket)
             for r in BenefitRule.objects.filter(version=version)}
    cap = Decimal("300.00")
    assert rules == {
        ("general", "", "1"): (Decimal("0.00"), Decimal("0.5000"), cap, "general"),
        ("general", "", "2"): (Decimal("100.00"), Decimal("0.4000"), cap, "general"),
        ("general", "", "3"): (Decimal("0.00"), Decimal("0.0000"), cap, "general"),
        ("general", "", "pharmacy"): (Decimal("0.00"), Decimal("0.5000"), cap, "general"),
        ("chronic", "M03900", "any"): (Decimal("0.00"), Decimal("0.6500"), Decimal("1500.00"), "M03900"),
    }
    assert policy_version_problems(version) == []


def test_the_seeded_rules_for_unfiled_visits_in_another_region(seeded):
    rules = {v.code: v.unfiled_rate_cut for v in PolicyVersion.objects.all()}
    assert rules == {"SH-2023-07": None, "JN-2022": Decimal("0.1000"), "JN-2024": Decimal("0.1000"),
                     "JN-R-2024": None}
    table = {label: cells for label, cells in policy_version_tables(PolicyVersion.objects.get(code="JN-2024"))[0].rows}
    assert table["unfiled visits in another region"] == ["paid at rates lowered by 10 points"]
    assert table["insurance type"] == ["310 employee basic medical insurance"]


@pytest.mark.parametrize("resolve", [policy_version_in_force, policy_version_resolved])
def test_a_region_has_an_employee_and_a_resident_version_in_force_at_once(seeded, resolve):
    day = D(2025, 3, 10)
    assert resolve("370100", day).code == "JN-2024"
    assert resolve("370100", day, "310").code == "JN-2024"
    assert resolve("370100", day, "390").code == "JN-R-2024"
    with pytest.raises(PolicyError) as none:
        resolve("310000", day, "390")
    assert none.value.err_code == "NO_POLICY_IN_FORCE"
    assert "no resident-insurance policy in force in region 310000" in none.value.err_msg
    with pytest.raises(PolicyError):
        resolve("370100", D(2023, 12, 31), "390")


def test_a_resident_has_no_person_type_and_gets_the_residents_class(seeded):
    version = PolicyVersion.objects.get(code="JN-R-2024")
    terms = benefit_rule_for(version=version, psn_type="", retire_date=None, facility_level="2", med_type="11")
    assert (terms.enrollee_class, terms.deductible, terms.rate, terms.annual_cap) == (
        "resident", Decimal("100.00"), Decimal("0.4000"), Decimal("300.00"))
    with pytest.raises(PolicyError) as employee:
        benefit_rule_for(version=version, psn_type="1101", retire_date=None, facility_level="2", med_type="11")
    assert employee.value.err_code == "NO_BENEFIT_RULE"


@pytest.fixture
def resident_draft(seeded):
    return policy_version_clone(version=PolicyVersion.objects.get(code="JN-R-2024"), code="JN-R-2025",
                                effective_from=D(2025, 1, 1), actor=None)


def test_publishing_a_resident_successor_ends_the_resident_version_only(resident_draft):
    assert resident_draft.insutype == "390" and policy_version_problems(resident_draft) == []
    policy_version_publish(version=resident_draft, actor=None)
    ends = dict(PolicyVersion.objects.values_list("code", "effective_to"))
    assert ends["JN-R-2024"] == D(2024, 12, 31) and ends["JN-2024"] is None


def test_shandong_resident_bounds(resident_draft):
    """The employee bounds (deductible at most 2% of the wage, cap about 5%, 50% in service, 10 points between
    levels) are not the residents': a cap of 300 passes. Below 200 a year, or a chronic rate below 65%, does not."""
    set_rule(resident_draft, cls="resident", level="1", annual_cap="199.99")
    set_rule(resident_draft, cls="resident", level="any", med_group="chronic", dise_code="M03900", rate="0.6499")
    with pytest.raises(PolicyError) as refused:
        policy_version_publish(version=resident_draft, actor=None)
    assert sorted(refused.value.messages) == [
        "resident chronic-disease rate 64.99% for M03900 is below the Shandong minimum of 65%",
        "resident outpatient annual cap 199.99 at level 1 is below the Shandong minimum of 200 yuan a year",
    ]


def test_a_resident_version_has_one_class_without_person_types_and_no_credit_rules(resident_draft):
    cls = EnrolleeClass.objects.get(version=resident_draft)
    cls.psn_types = "1101"
    cls.save()
    CreditRule.objects.create(version=resident_draft, name="x", psn_types="1101", basis="clct_base_share",
                              rate=Decimal("0.02"), frequency="monthly", pocket="historical")
    problems = policy_version_problems(resident_draft)
    assert "enrollee class resident of a resident version names person types: residents have none, leave them " \
           "blank" in problems
    assert "a resident version has no credit rules: residents have no personal account" in problems


def test_an_employee_class_names_person_types(seeded):
    draft = policy_version_clone(version=PolicyVersion.objects.get(code="JN-2024"), code="JN-2025",
                                 effective_from=D(2025, 1, 1), actor=None)
    cls = EnrolleeClass.objects.get(version=draft, code="retired")
    cls.psn_types = ""
    cls.save()
    assert "enrollee class retired names no person type" in policy_version_problems(draft)
