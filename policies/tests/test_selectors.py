from decimal import Decimal

import pytest

from policies.errors import PolicyError
from policies.models import PolicyVersion
from policies.selectors import (
    benefit_rule_for,
    credit_amount,
    credit_rules_for,
    facility_level_of,
    policy_version_in_force,
)
from policies.tests.conftest import D

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("admdvs", "day", "code"), [
    ("310000", D(2023, 6, 30), None),
    ("310000", D(2023, 7, 1), "SH-2023-07"),
    ("310000", D(2023, 7, 2), "SH-2023-07"),
    ("310000", D(2026, 12, 30), "SH-2023-07"),
    ("310000", D(2026, 12, 31), "SH-2023-07"),
    ("310000", D(2027, 1, 1), None),
    ("370100", D(2021, 12, 31), None),
    ("370100", D(2022, 1, 1), "JN-2022"),
    ("370100", D(2023, 12, 30), "JN-2022"),
    ("370100", D(2023, 12, 31), "JN-2022"),
    ("370100", D(2024, 1, 1), "JN-2024"),
    ("370100", D(2024, 1, 2), "JN-2024"),
    ("370100", D(2040, 6, 1), "JN-2024"),
    ("370200", D(2024, 6, 1), None),  # Qingdao: a region without any version
    ("999999", D(2024, 6, 1), None),
])
def test_version_in_force_around_each_boundary(seeded, admdvs, day, code):
    if code is None:
        with pytest.raises(PolicyError) as exc:
            policy_version_in_force(admdvs, day)
        assert exc.value.err_code == "NO_POLICY_IN_FORCE"
    else:
        assert policy_version_in_force(admdvs, day).code == code


def test_gap_between_versions_and_retired_versions_are_not_in_force(seeded):
    PolicyVersion.objects.filter(code="JN-2022").update(effective_to=D(2023, 6, 30))
    with pytest.raises(PolicyError):
        policy_version_in_force("370100", D(2023, 7, 1))
    assert policy_version_in_force("370100", D(2023, 6, 30)).code == "JN-2022"
    PolicyVersion.objects.filter(code="JN-2024").update(status="retired")
    with pytest.raises(PolicyError):
        policy_version_in_force("370100", D(2024, 1, 1))


def test_drafts_are_not_in_force(seeded):
    PolicyVersion.objects.filter(code="SH-2023-07").update(status="draft")
    with pytest.raises(PolicyError):
        policy_version_in_force("310000", D(2024, 1, 1))


@pytest.mark.parametrize(("retire_date", "deductible", "rate_l1", "cls"), [
    (D(2000, 12, 31), "200.00", "0.9000", "retired_before_2001"),
    (D(2001, 1, 1), "300.00", "0.8500", "retired_from_2001"),
])
def test_shanghai_retirees_either_side_of_2001(seeded, retire_date, deductible, rate_l1, cls):
    version = policy_version_in_force("310000", D(2024, 3, 1))
    terms = benefit_rule_for(version=version, psn_type="1201", retire_date=retire_date, facility_level="1",
                             med_type="11")
    assert (terms.deductible, terms.rate, terms.enrollee_class) == (Decimal(deductible), Decimal(rate_l1), cls)
    assert terms.annual_cap is None and terms.bucket == "general" and terms.fund_pays
    assert terms.supplementary_share_above_cap == 0


def test_shanghai_in_service_and_emergency_share_rules(seeded):
    version = policy_version_in_force("310000", D(2024, 3, 1))
    for med_type in ("11", "13"):
        terms = benefit_rule_for(version=version, psn_type="1103", retire_date=None, facility_level="3",
                                 med_type=med_type)
        assert (terms.deductible, terms.rate, terms.bucket) == (Decimal("500"), Decimal("0.70"), "general")


def test_shanghai_pharmacy_purchase_is_accounts_and_cash_only(seeded):
    version = policy_version_in_force("310000", D(2024, 3, 1))
    for ext_rx in (False, True):
        terms = benefit_rule_for(version=version, psn_type="1101", retire_date=None, facility_level="pharmacy",
                                 med_type="41", ext_rx=ext_rx)
        assert not terms.fund_pays and terms.rate == 0


def test_shanghai_chronic_disease_not_covered(seeded):
    version = policy_version_in_force("310000", D(2024, 3, 1))
    with pytest.raises(PolicyError) as exc:
        benefit_rule_for(version=version, psn_type="1101", retire_date=None, facility_level="2", med_type="14",
                         dise_code="M03900")
    assert exc.value.err_code == "DISEASE_NOT_COVERED"


def test_med_type_not_allowed(seeded):
    version = policy_version_in_force("370100", D(2024, 3, 1))
    for level, med_type in (("2", "41"), ("pharmacy", "11"), ("1", "99")):
        with pytest.raises(PolicyError) as exc:
            benefit_rule_for(version=version, psn_type="1101", retire_date=None, facility_level=level,
                             med_type=med_type)
        assert exc.value.err_code == "MED_TYPE_NOT_ALLOWED"


def test_jinan_rules(seeded):
    version = policy_version_in_force("370100", D(2024, 3, 1))
    terms = benefit_rule_for(version=version, psn_type="1201", retire_date=D(2020, 5, 1), facility_level="3",
                             med_type="11")
    assert (terms.deductible, terms.rate, terms.annual_cap) == (Decimal("600"), Decimal("0.55"), Decimal("4500"))
    rx = benefit_rule_for(version=version, psn_type="1101", retire_date=None, facility_level="pharmacy",
                          med_type="41", ext_rx=True)
    assert (rx.fund_pays, rx.deductible, rx.rate, rx.bucket) == (True, Decimal("200"), Decimal("0.70"), "general")
    cash = benefit_rule_for(version=version, psn_type="1101", retire_date=None, facility_level="pharmacy",
                            med_type="41", ext_rx=False)
    assert not cash.fund_pays
    hypertension = benefit_rule_for(version=version, psn_type="1203", retire_date=D(2020, 1, 1),
                                    facility_level="2", med_type="14", dise_code="M03900")
    assert (hypertension.deductible, hypertension.rate, hypertension.annual_cap, hypertension.bucket) == (
        Decimal("0"), Decimal("0.75"), Decimal("2000"), "M03900")
    dialysis = benefit_rule_for(version=version, psn_type="1101", retire_date=None, facility_level="3",
                                med_type="14", dise_code="M07803")
    assert (dialysis.rate, dialysis.annual_cap) == (Decimal("0.85"), Decimal("60000"))
    with pytest.raises(PolicyError) as exc:
        benefit_rule_for(version=version, psn_type="1101", retire_date=None, facility_level="3", med_type="14",
                         dise_code="M01600")
    assert exc.value.err_code == "DISEASE_NOT_COVERED"


def test_facility_level_of():
    class Facility:
        def __init__(self, is_pharmacy, hosp_lv):
            self.is_pharmacy, self.hosp_lv = is_pharmacy, hosp_lv

    assert facility_level_of(Facility(True, "")) == "pharmacy"
    assert facility_level_of(Facility(False, "2")) == "2"


def test_shanghai_credit_rules(seeded):
    version = PolicyVersion.objects.get(code="SH-2023-07")
    (in_service,) = credit_rules_for(version=version, psn_type="1101", age=40)
    assert credit_amount(rule=in_service, credited_month=D(2024, 3, 1), clct_base=Decimal("8123.45")) == Decimal(
        "162.47")
    (young,) = credit_rules_for(version=version, psn_type="1201", age=74)
    (old,) = credit_rules_for(version=version, psn_type="1201", age=75)
    assert credit_amount(rule=young, credited_month=D(2024, 1, 1)) == Decimal("1680.00")
    assert credit_amount(rule=old, credited_month=D(2024, 1, 1)) == Decimal("1890.00")
    # Retired in mid-June: first credit for July, 6 of 12 months left.
    months = version.months_left_in_benefit_year(D(2024, 7, 1))
    assert months == 6
    assert credit_amount(rule=young, credited_month=D(2024, 7, 1), prorate_months=months) == Decimal("840.00")
    assert (young.frequency, young.pocket, in_service.pocket) == ("annual", "current", "current")


def test_jinan_credit_amounts_are_exact(seeded):
    jn22 = PolicyVersion.objects.get(code="JN-2022")
    jn24 = PolicyVersion.objects.get(code="JN-2024")
    base = Decimal("6000.00")
    assert sum(credit_amount(rule=r, credited_month=D(2023, 5, 1), clct_base=base)
               for r in credit_rules_for(version=jn22, psn_type="1101", age=40)) == Decimal("150.00")
    assert [credit_amount(rule=r, credited_month=D(2024, 5, 1), clct_base=base)
            for r in credit_rules_for(version=jn24, psn_type="1103", age=40)] == [Decimal("120.00")]
    for version in (jn22, jn24):
        (under,) = credit_rules_for(version=version, psn_type="1201", age=69)
        (over,) = credit_rules_for(version=version, psn_type="1203", age=70)
        assert credit_amount(rule=under, credited_month=D(2024, 2, 1)) == Decimal("64.00")
        assert credit_amount(rule=over, credited_month=D(2024, 2, 1)) == Decimal("80.00")
        assert under.pocket == "historical" and under.frequency == "monthly"


def test_benefit_year_with_april_start(seeded):
    version = PolicyVersion.objects.get(code="SH-2023-07")
    version.benefit_year_start_month = 4
    assert version.benefit_year_start_for(D(2024, 3, 31)) == D(2023, 4, 1)
    assert version.benefit_year_start_for(D(2024, 4, 1)) == D(2024, 4, 1)
    assert version.months_left_in_benefit_year(D(2024, 7, 1)) == 9
