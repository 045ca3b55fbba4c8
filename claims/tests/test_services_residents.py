"""Settling under issue 15's rules through the services, each amount worked out by hand from CONTRACT.md's numbers
(the comments show the arithmetic): resident insurance (JN-R-2024) with family mutual aid, mutual aid within its
bounds (the holder active on the service date, in the patient's region), dated statuses, late Shanghai bills
after the rollover, and online follow-up visits."""

from decimal import Decimal

import pytest

from accounts.credits import rollover_run
from accounts.models import Enrollment, EnrollmentStatus, InsuStatus, InsuType, PersonalAccount
from accounts.tests.factories import EnrollmentFactory, FamilyLinkFactory, PersonFactory
from claims.errors import ClaimError
from claims.models import Accumulator, Disease, Recognition, Settlement
from claims.services import settlement_create, settlement_preview, settlement_reverse
from claims.tests.conftest import D, enrollee, fund, request
from claims.tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


BORN, ENROLLED = D(2016, 4, 1), D(2024, 1, 1)


def resident(region, *, brdy=BORN, begndate=ENROLLED) -> Enrollment:  # noqa: ANN001
    """A resident enrollee (390): no person type, employer or base, and no account."""
    return EnrollmentFactory(person=PersonFactory(brdy=brdy), region=region, insutype=InsuType.RESIDENT,
                             psn_type="", employer=None, clct_base=None, begndate=begndate)


@pytest.fixture
def child_and_parent(world):
    """A Jinan resident child linked to an employee parent with 1,000.00 in the (one) historical pocket."""
    jinan = world["regions"]["370100"]
    child = resident(jinan).person
    parent = enrollee(jinan, brdy=D(1985, 1, 1)).person
    fund(parent, historical="1000.00")
    FamilyLinkFactory(holder=parent, relative=child, relation="child", begndate=D(2024, 1, 1))
    return child, parent


def money(answer: dict, *names: str) -> tuple[str, ...]:
    return tuple(answer[name] for name in names)


PAYERS = ("medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "fund_pay_sumamt", "psn_part_amt",
          "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc")


def test_a_resident_childs_level_1_visit_at_50_percent_the_parents_account_paying_the_rest(world, child_and_parent):
    child, parent = child_and_parent
    # JN-R-2024, level 1: no deductible, 50%. A50 2 × 50.00 = 100.00, all in scope (at the 50.00 limit).
    # Fund 50% × 100.00 = 50.00; personal part 50.00: the child has no account, the parent's account pays 50.00
    # (JN-2024 lets mutual aid use the whole balance): 1,000.00 → 950.00; cash 0.00; the child's balc 0.00.
    answer, _ = settlement_create(facility=world["facilities"]["JN1"], data=request(child.psn_no, ("A50", "2", "50")))
    assert money(answer, *PAYERS) == ("100.00", "100.00", "0.00", "50.00", "50.00", "50.00", "0.00", "50.00", "0.00",
                                      "0.00")
    assert (answer["insutype"], answer["psn_type"], answer["policy_version"]) == ("390", "", "JN-R-2024")
    assert PersonalAccount.objects.get(person=parent).balc_historical == Decimal("950.00")
    assert not PersonalAccount.objects.filter(person=child).exists()
    counters = Accumulator.objects.get(person=child, year_start=D(2025, 1, 1), bucket="general")
    assert (counters.dedc_used, counters.hifp_paid) == (Decimal("0.00"), Decimal("50.00"))


def test_level_3_pays_nothing_from_the_pool_and_counts_nothing(world, child_and_parent):
    child, parent = child_and_parent
    # JN-R-2024, level 3: no pooled payment, nothing towards the deductible or the cap. 100.00 in scope: fund 0.00,
    # the parent's account pays all 100.00.
    answer, _ = settlement_create(facility=world["facilities"]["JN3"], data=request(child.psn_no, ("A50", "2", "50")))
    assert money(answer, *PAYERS) == ("100.00", "100.00", "0.00", "0.00", "0.00", "100.00", "0.00", "100.00", "0.00",
                                      "0.00")
    counters = Accumulator.objects.get(person=child, year_start=D(2025, 1, 1), bucket="general")
    assert (counters.dedc_used, counters.hifp_paid) == (Decimal("0.00"), Decimal("0.00"))


def test_the_300_cap_is_reached_inside_a_visit(world):
    child = resident(world["regions"]["370100"]).person  # no link: cash pays the personal part
    h1 = world["facilities"]["JN1"]
    # First visit, level 1: A50 10 × 50.00 = 500.00; fund 50% = 250.00 (cap 300.00, 300.00 left).
    first, _ = settlement_create(facility=h1, data=request(child.psn_no, ("A50", "10", "50"), medins_setl_id="R1",
                                                           setl_date="2025-03-01"))
    assert money(first, "hifp_pay", "psn_cash_pay") == ("250.00", "250.00")
    # Second: A50 4 × 50.00 = 200.00; 50% = 100.00 due, 300.00 − 250.00 = 50.00 left: the fund pays 50.00, cash
    # 150.00. The year's pooled payment is 300.00, the cap.
    second, _ = settlement_create(facility=h1, data=request(child.psn_no, ("A50", "4", "50"), medins_setl_id="R2"))
    assert money(second, "hifp_pay", "psn_part_amt", "psn_cash_pay") == ("50.00", "150.00", "150.00")
    steps = {s["code"]: s for s in Settlement.objects.get(setl_id=second["setl_id"]).explanation}
    pooled = steps["pooled_fund"]
    assert (pooled["detail"]["due"], pooled["detail"]["cap_left"]) == ("100.00", "50.00")
    assert Accumulator.objects.get(person=child, bucket="general").hifp_paid == Decimal("300.00")


def test_a_resident_level_2_visit_and_hypertension_at_65_percent(world, child_and_parent):
    child, _parent = child_and_parent
    # Level 2: deductible 100.00 then 40%. A50 6 × 50.00 = 300.00: 100.00 to the deductible, 40% × 200.00 = 80.00.
    answer, _ = settlement_create(facility=world["facilities"]["JN2"], data=request(child.psn_no, ("A50", "6", "50")))
    assert money(answer, "act_pay_dedc", "hifp_pay", "acct_mulaid_pay") == ("100.00", "80.00", "220.00")
    # M03900 (14) recognised at JN2: no deductible, 65% × 100.00 = 65.00 in the M03900 bucket (cap 1,500.00).
    Recognition.objects.create(person=child, disease=Disease.objects.get(opsp_dise_code="M03900"),
                               facility=world["facilities"]["JN2"], begndate=D(2024, 1, 1))
    chronic, _ = settlement_create(facility=world["facilities"]["JN2"],
                                   data=request(child.psn_no, ("A50", "2", "50"), med_type="14", dise_codg="M03900",
                                                medins_setl_id="R2"))
    assert money(chronic, "act_pay_dedc", "hifp_pay", "acct_mulaid_pay") == ("0.00", "65.00", "35.00")
    assert Accumulator.objects.get(person=child, bucket="M03900").hifp_paid == Decimal("65.00")


def test_a_holder_suspended_between_two_service_dates(world, child_and_parent):
    child, parent = child_and_parent
    enrollment = Enrollment.objects.get(person=parent)
    enrollment.psn_insu_stas = InsuStatus.SUSPENDED
    enrollment.stas_date = D(2025, 3, 5)
    enrollment.save()
    assert list(EnrollmentStatus.objects.filter(enrollment=enrollment).values_list("stas_date", "psn_insu_stas")) == [
        (D(2010, 1, 1), "1"), (D(2025, 3, 5), "2")]
    h1 = world["facilities"]["JN1"]
    # 2025-03-04, the parent still active: 100.00, fund 50.00, the parent's account 50.00.
    before, _ = settlement_create(facility=h1, data=request(child.psn_no, ("A50", "2", "50"), medins_setl_id="R1",
                                                            setl_date="2025-03-04"))
    assert money(before, "hifp_pay", "acct_mulaid_pay", "psn_cash_pay") == ("50.00", "50.00", "0.00")
    # 2025-03-10, suspended since 03-05: the parent's account may not pay; cash 50.00.
    after, _ = settlement_create(facility=h1, data=request(child.psn_no, ("A50", "2", "50"), medins_setl_id="R2"))
    assert money(after, "hifp_pay", "acct_mulaid_pay", "psn_cash_pay") == ("50.00", "0.00", "50.00")
    assert PersonalAccount.objects.get(person=parent).balc_historical == Decimal("950.00")
    # Naming the suspended parent is refused.
    with pytest.raises(ClaimError) as refused:
        settlement_preview(facility=h1, data=request(child.psn_no, ("A50", "2", "50"), mulaid_psn_no=parent.psn_no))
    assert refused.value.err_code == "MULAID_NOT_LINKED"
    assert "not active on 2025-03-10" in refused.value.err_msg
    # The parent's own visit on 03-10 is refused too, while one dated 03-04 is judged on that day's status.
    with pytest.raises(ClaimError) as own:
        settlement_preview(facility=h1, data=request(parent.psn_no, ("A50", "2", "50")))
    assert own.value.err_code == "NOT_INSURED_ON_DATE"
    assert settlement_preview(facility=h1, data=request(parent.psn_no, ("A50", "2", "50"),
                                                        setl_date="2025-03-04"))["policy_version"] == "JN-2024"


def test_an_account_in_another_region_does_not_pay(world):
    jinan_child = resident(world["regions"]["370100"]).person
    shanghai_parent = enrollee(world["regions"]["310000"], brdy=D(1985, 1, 1)).person
    fund(shanghai_parent, current="500.00", historical="500.00")
    FamilyLinkFactory(holder=shanghai_parent, relative=jinan_child, relation="child", begndate=D(2024, 1, 1))
    # Mutual aid stays within one region: the Shanghai account pays nothing for a Jinan patient; cash 50.00.
    answer, _ = settlement_create(facility=world["facilities"]["JN1"],
                                  data=request(jinan_child.psn_no, ("A50", "2", "50")))
    assert money(answer, "hifp_pay", "acct_mulaid_pay", "psn_cash_pay") == ("50.00", "0.00", "50.00")
    with pytest.raises(ClaimError) as refused:
        settlement_preview(facility=world["facilities"]["JN1"],
                           data=request(jinan_child.psn_no, ("A50", "2", "50"), mulaid_psn_no=shanghai_parent.psn_no))
    assert refused.value.err_code == "MULAID_NOT_LINKED" and "stays within one region" in refused.value.err_msg


def test_a_relative_without_insurance_is_paid_for_by_an_account_of_the_facilitys_region(world):
    child = PersonFactory(brdy=D(2016, 1, 1))
    jinan_parent = enrollee(world["regions"]["370100"], brdy=D(1985, 1, 1)).person
    shanghai_parent = enrollee(world["regions"]["310000"], brdy=D(1986, 1, 1)).person
    fund(jinan_parent, historical="500.00")
    fund(shanghai_parent, historical="500.00")
    FamilyLinkFactory(holder=shanghai_parent, relative=child, relation="child", begndate=D(2024, 1, 1))
    FamilyLinkFactory(holder=jinan_parent, relative=child, relation="child", begndate=D(2024, 1, 1), order=1)
    # No insurance: no fund, the whole 100.00 is the personal part. At a Jinan facility only the Jinan parent pays.
    answer, _ = settlement_create(facility=world["facilities"]["JN1"], data=request(child.psn_no, ("A50", "2", "50")))
    assert money(answer, "fund_pay_sumamt", "acct_mulaid_pay", "psn_cash_pay") == ("0.00", "100.00", "0.00")
    assert PersonalAccount.objects.get(person=shanghai_parent).balc == Decimal("500.00")
    assert PersonalAccount.objects.get(person=jinan_parent).balc == Decimal("400.00")


def test_a_forbidden_item_is_not_paid_by_the_parents_account(world, child_and_parent):
    child, parent = child_and_parent
    ItemFactory(item_code="GYM", item_name="健身卡", chrg_item_lv="01", acct_pay_forbidden=True)
    # A50 2 × 50.00 = 100.00 in scope: fund 50.00; GYM 60.00 out of scope. Personal part 110.00: the parent's
    # account pays the 50.00 it may, cash the 60.00 no account may pay.
    answer, _ = settlement_create(facility=world["facilities"]["JN1"],
                                  data=request(child.psn_no, ("A50", "2", "50"), ("GYM", "1", "60")))
    assert money(answer, "fulamt_ownpay_amt", "hifp_pay", "psn_part_amt", "acct_mulaid_pay", "psn_cash_pay") == (
        "60.00", "50.00", "110.00", "50.00", "60.00")
    steps = {s["code"]: s for s in Settlement.objects.get(setl_id=answer["setl_id"]).explanation}
    assert steps["own_account"]["detail"]["reserved_for_cash"] == "60.00"
    assert steps["mutual_aid"]["detail"] == {parent.psn_no: "50.00"}


# --- late Shanghai bills after the rollover -------------------------------------------------------------------------

@pytest.fixture
def shanghai(world):
    """A Shanghai in-service enrollee with 300.00 of 2023 money in the current-year pocket and 1,000.00 historical."""
    person = enrollee(world["regions"]["310000"], brdy=D(1980, 1, 1)).person
    fund(person, current="300.00", historical="1000.00")
    return person


def pockets(person) -> tuple[Decimal, Decimal]:  # noqa: ANN001
    account = PersonalAccount.objects.get(person=person)
    return account.balc_current, account.balc_historical


def test_a_late_2023_bill_settled_after_the_rollover_draws_the_2023_pockets(world, shanghai):
    rollover_run(admdvs="310000", day=D(2024, 1, 1))  # 300.00 moves to the historical pocket: 0.00 / 1,300.00
    fund(shanghai, current="200.00")  # 2024 money in the current-year pocket
    assert pockets(shanghai) == (Decimal("200.00"), Decimal("1300.00"))
    # Dated 2023-12-20 at level 1: A50 2 × 50.00 = 100.00 in scope. 2023's money is all in the historical pocket:
    # no current-first payment; the 100.00 goes to 2023's 500.00 deductible; fund 0.00; the historical pocket pays
    # 100.00; the 2024 current-year pocket is untouched.
    answer, _ = settlement_create(facility=world["facilities"]["SH1"],
                                  data=request(shanghai.psn_no, ("A50", "2", "50"), setl_date="2023-12-20"))
    assert money(answer, "act_pay_dedc", "hifp_pay", "acct_pay", "psn_cash_pay", "balc") == (
        "100.00", "0.00", "100.00", "0.00", "1400.00")
    assert pockets(shanghai) == (Decimal("200.00"), Decimal("1200.00"))
    counters = Accumulator.objects.get(person=shanghai, year_start=D(2023, 1, 1), bucket="general")
    assert counters.dedc_used == Decimal("100.00")
    steps = {s["code"]: s for s in Settlement.objects.get(setl_id=answer["setl_id"]).explanation}
    assert steps["current_pocket_first"]["amount_out"] == "0.00"
    assert "rolled over" in steps["current_pocket_first"]["label"]["en"]
    # The reversal returns the 100.00 to the historical pocket and takes it off 2023's deductible.
    settlement_reverse(settlement=Settlement.objects.get(setl_id=answer["setl_id"]), reason="late bill")
    assert pockets(shanghai) == (Decimal("200.00"), Decimal("1300.00"))
    counters.refresh_from_db()
    assert counters.dedc_used == Decimal("0.00")


def test_a_2023_bill_reversed_after_the_rollover_returns_to_the_historical_pocket(world, shanghai):
    # Settled before the rollover: the 2023 current-year pocket pays the 100.00 first (not counted towards the
    # deductible): 300.00 → 200.00.
    answer, _ = settlement_create(facility=world["facilities"]["SH1"],
                                  data=request(shanghai.psn_no, ("A50", "2", "50"), setl_date="2023-12-20"))
    assert money(answer, "act_pay_dedc", "acct_pay") == ("0.00", "100.00")
    assert pockets(shanghai) == (Decimal("200.00"), Decimal("1000.00"))
    rollover_run(admdvs="310000", day=D(2024, 1, 1))  # 200.00 → historical: 0.00 / 1,200.00
    fund(shanghai, current="50.00")
    # Reversed in 2024: 2023's money is in the historical pocket now, so the 100.00 goes back there.
    settlement_reverse(settlement=Settlement.objects.get(setl_id=answer["setl_id"]), reason="late reversal")
    assert pockets(shanghai) == (Decimal("50.00"), Decimal("1300.00"))


# --- online follow-up visits -----------------------------------------------------------------------------------------

def test_an_online_follow_up_settles_as_the_diseases_visit_only_where_online_services_are_designated(world):
    patient = enrollee(world["regions"]["370100"], brdy=D(1960, 1, 1)).person
    h1, h2 = world["facilities"]["JN1"], world["facilities"]["JN2"]
    h1.online_service = True
    h1.save()
    hypertension = Disease.objects.get(opsp_dise_code="M03900")
    for facility in (h1, h2):
        Recognition.objects.create(person=patient, disease=hypertension, facility=facility, begndate=D(2024, 1, 1))
    # JN-2024 M03900, in-service: no deductible, 70% × 100.00 = 70.00; no account money: cash 30.00.
    answer, _ = settlement_create(facility=h1, data=request(patient.psn_no, ("A50", "2", "50"), med_type="14",
                                                            dise_codg="M03900", online=True))
    assert money(answer, "act_pay_dedc", "hifp_pay", "psn_cash_pay") == ("0.00", "70.00", "30.00")
    settlement = Settlement.objects.get(setl_id=answer["setl_id"])
    assert (settlement.bucket, settlement.online) == ("M03900", True)
    with pytest.raises(ClaimError) as elsewhere:
        settlement_preview(facility=h2, data=request(patient.psn_no, ("A50", "2", "50"), med_type="14",
                                                     dise_codg="M03900", online=True))
    assert elsewhere.value.err_code == "FACILITY_NOT_DESIGNATED"
    with pytest.raises(ClaimError) as general:
        settlement_preview(facility=h1, data=request(patient.psn_no, ("A50", "2", "50"), online=True))
    assert general.value.err_code == "MED_TYPE_NOT_ALLOWED"
    with pytest.raises(ClaimError) as unrecognised:
        settlement_preview(facility=h1, data=request(patient.psn_no, ("A50", "2", "50"), med_type="14",
                                                     dise_codg="M07803", online=True))
    assert unrecognised.value.err_code == "DISEASE_NOT_RECOGNISED"
