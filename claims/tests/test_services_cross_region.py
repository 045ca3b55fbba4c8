"""Treatment in another region (异地就医, CONTRACT.md "Resident insurance and treatment in another region"): the
insured region's policy version settles the visit, a filing valid that day for the facility's region or province
keeps its full rates, and without one the version refuses (SH-2023-07) or lowers every rate by its points (JN-2024:
10). Every amount is worked out by hand from CONTRACT.md's and POLICY.md's numbers."""

import pytest

from claims.errors import ClaimError
from claims.models import CrossRegion, CrossRegionFiling, Disease, FilingStatus, Settlement
from claims.services import settlement_create, settlement_preview
from claims.tests.conftest import D, RecognitionFactory, enrollee, fund, request

pytestmark = pytest.mark.django_db


NEW_YEAR = D(2025, 1, 1)


def _filing(person, admvs: str, *, begndate=NEW_YEAR, enddate=None, filing_type="temporary",
            status=FilingStatus.ACTIVE) -> CrossRegionFiling:
    return CrossRegionFiling.objects.create(person=person, mdtrtarea_admvs=admvs, filing_type=filing_type,
                                            begndate=begndate, enddate=enddate, status=status)


def _money(answer: dict, *names: str) -> tuple[str, ...]:
    return tuple(answer[name] for name in names)


PAID = ("medfee_sumamt", "act_pay_dedc", "hifp_pay", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


def test_a_shanghai_enrollee_without_a_filing_is_refused_at_a_jinan_hospital(world):
    patient = enrollee(world["regions"]["310000"], brdy=D(1980, 1, 1)).person
    fund(patient, current="100.00")
    with pytest.raises(ClaimError) as refused:
        settlement_create(facility=world["facilities"]["JN1"], data=request(patient.psn_no, ("A50", "20", "50")))
    assert refused.value.err_code == ClaimError.CROSS_REGION_NOT_FILED
    assert "310000" in refused.value.err_msg and "370100" in refused.value.err_msg
    assert not Settlement.objects.exists()
    # A filing for somewhere else (Qingdao), one that ended before the visit, or a cancelled one does not count.
    _filing(patient, "370200")
    _filing(patient, "370100", begndate=D(2024, 1, 1), enddate=D(2025, 3, 9))
    _filing(patient, "370000", begndate=D(2025, 2, 1), status=FilingStatus.CANCELLED)
    with pytest.raises(ClaimError) as refused:
        settlement_preview(facility=world["facilities"]["JN1"], data=request(patient.psn_no, ("A50", "20", "50")))
    assert refused.value.err_code == ClaimError.CROSS_REGION_NOT_FILED


def test_a_shanghai_enrollee_with_a_provincial_filing_settles_under_sh_2023_07_at_a_jinan_hospital(world):
    patient = enrollee(world["regions"]["310000"], brdy=D(1980, 1, 1)).person
    fund(patient, current="100.00")
    _filing(patient, "370000")  # Shandong province: covers Jinan (370100)
    # SH-2023-07, in service, at the Jinan facility's level 1: 20 × 50.00 = 1,000.00 in scope; the current-year
    # pocket pays 100.00 first (not towards the deductible); deductible 500.00 of the other 900.00; the pooled fund
    # 80% of 400.00 = 320.00; personal part 1,000.00 − 320.00 = 680.00: own account 100.00, cash 580.00. (JN-2024
    # would have taken a 200.00 deductible and paid 70%.)
    answer, _ = settlement_create(facility=world["facilities"]["JN1"],
                                  data=request(patient.psn_no, ("A50", "20", "50")))
    assert answer["policy_version"] == "SH-2023-07"
    assert _money(answer, *PAID) == ("1000.00", "500.00", "320.00", "320.00", "100.00", "580.00")
    assert answer["warnings"] == []
    settlement = Settlement.objects.get(setl_id=answer["setl_id"])
    assert settlement.cross_region == CrossRegion.FILED
    assert settlement.policy_version.code == "SH-2023-07"


def test_a_jinan_enrollee_unfiled_in_shanghai_is_paid_at_60_percent_at_level_1(world):
    patient = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    # JN-2024, in service, level 1 (the Shanghai facility's level): 10 × 50.00 = 500.00 in scope; deductible 200.00;
    # rate 70% − 10 points = 60% of 300.00 = 180.00; no account money: cash 320.00.
    answer, _ = settlement_create(facility=world["facilities"]["SH1"],
                                  data=request(patient.psn_no, ("A50", "10", "50")))
    assert answer["policy_version"] == "JN-2024"
    assert _money(answer, *PAID) == ("500.00", "200.00", "180.00", "180.00", "0.00", "320.00")
    assert answer["warnings"] == ["treated in another region without a filing: every rate 10 points lower"]
    settlement = Settlement.objects.get(setl_id=answer["setl_id"])
    assert settlement.cross_region == CrossRegion.UNFILED
    pooled = next(step for step in settlement.explanation if step["code"] == "pooled_fund")
    assert pooled["detail"]["rate"] == "0.60"


def test_the_same_jinan_visit_with_a_filing_for_shanghai_is_paid_at_70_percent(world):
    patient = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    _filing(patient, "310000", filing_type="long_term", begndate=D(2025, 3, 10), enddate=D(2025, 3, 10))
    # The filing is valid on its first and last day, the service date: 70% of 300.00 = 210.00; cash 290.00.
    answer, _ = settlement_create(facility=world["facilities"]["SH1"],
                                  data=request(patient.psn_no, ("A50", "10", "50")))
    assert _money(answer, *PAID) == ("500.00", "200.00", "210.00", "210.00", "0.00", "290.00")
    assert answer["warnings"] == []


def test_an_unfiled_chronic_visit_in_another_region_loses_the_same_points(world):
    patient = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    RecognitionFactory(person=patient, disease=Disease.objects.get(opsp_dise_code="M03900"),
                       facility=world["facilities"]["SH2"], begndate=D(2025, 1, 1))
    # JN-2024 M03900, in service: no deductible, 70% − 10 points = 60% of 4 × 50.00 = 200.00: 120.00; cash 80.00.
    answer, _ = settlement_create(facility=world["facilities"]["SH2"],
                                  data=request(patient.psn_no, ("A50", "4", "50"), med_type="14",
                                               dise_codg="M03900"))
    assert _money(answer, *PAID) == ("200.00", "0.00", "120.00", "120.00", "0.00", "80.00")


def test_a_visit_in_the_insured_region_is_no_cross_region_visit(world):
    patient = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    # JN-2024 level 1 at home: 70% of 300.00 = 210.00.
    answer, _ = settlement_create(facility=world["facilities"]["JN1"],
                                  data=request(patient.psn_no, ("A50", "10", "50")))
    assert answer["hifp_pay"] == "210.00"
    assert Settlement.objects.get(setl_id=answer["setl_id"]).cross_region == ""
