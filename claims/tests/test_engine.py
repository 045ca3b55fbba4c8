"""The adjudication engine on hand-computed visits: every rule row of SH-2023-07, JN-2022 and JN-2024 (the two Jinan
versions share their benefit rules), the line rules, the order of payers and the rounding. No database: the terms
are built here with the seeded numbers, and a test checks those numbers against seed_policies."""

from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from claims.engine import (
    CLASS_A,
    CLASS_B,
    CLASS_C,
    CURRENT,
    HISTORICAL,
    OWN,
    POOLED_FUND,
    STEP_CODES,
    SUPPLEMENTARY_FUND,
    Accumulator,
    Adjudication,
    Debit,
    EngineOptions,
    FundPayment,
    LineIn,
    MulaidPayer,
    MulaidPayment,
    Pockets,
    adjudicate,
)
from policies.selectors import BenefitTerms

SH = EngineOptions(current_pocket_first=True, acct_pays_out_of_scope=True)
JN = EngineOptions(current_pocket_first=False, acct_pays_out_of_scope=True)

# The seeded benefit rules (CONTRACT.md), (deductible, rate) by (enrollee class, facility level).
SH_GENERAL = {
    ("in_service", "1"): ("500", "0.80"), ("in_service", "2"): ("500", "0.75"), ("in_service", "3"): ("500", "0.70"),
    ("retired_from_2001", "1"): ("300", "0.85"), ("retired_from_2001", "2"): ("300", "0.80"),
    ("retired_from_2001", "3"): ("300", "0.75"),
    ("retired_before_2001", "1"): ("200", "0.90"), ("retired_before_2001", "2"): ("200", "0.85"),
    ("retired_before_2001", "3"): ("200", "0.80"),
}
JN_GENERAL = {
    ("in_service", "1"): ("200", "0.70"), ("in_service", "2"): ("400", "0.60"), ("in_service", "3"): ("600", "0.50"),
    ("in_service", "pharmacy"): ("200", "0.70"),
    ("retired", "1"): ("200", "0.75"), ("retired", "2"): ("400", "0.65"), ("retired", "3"): ("600", "0.55"),
    ("retired", "pharmacy"): ("200", "0.75"),
}
JN_GENERAL_CAP = "4500.00"
# (rate, cap) by (disease, enrollee class); no deductible.
JN_CHRONIC = {
    ("M03900", "in_service"): ("0.70", "2000.00"), ("M03900", "retired"): ("0.75", "2000.00"),
    ("M07803", "in_service"): ("0.85", "60000.00"), ("M07803", "retired"): ("0.90", "60000.00"),
}

# JN-R-2024, Jinan resident insurance: (deductible, rate) by facility level, one cap of 300 for them all; M03900.
JN_R_GENERAL = {"1": ("0", "0.50"), "2": ("100", "0.40"), "3": ("0", "0"), "pharmacy": ("0", "0.50")}
JN_R_GENERAL_CAP = "300.00"
JN_R_CHRONIC = {"M03900": ("0.65", "1500.00")}


def sh(cls: str, level: str) -> BenefitTerms:
    deductible, rate = SH_GENERAL[(cls, level)]
    return BenefitTerms(version_code="SH-2023-07", fund_pays=True, med_group="general", bucket="general",
                        enrollee_class=cls, facility_level=level, deductible=D(deductible), rate=D(rate))


def jn(cls: str, level: str) -> BenefitTerms:
    deductible, rate = JN_GENERAL[(cls, level)]
    return BenefitTerms(version_code="JN-2024", fund_pays=True, med_group="general", bucket="general",
                        enrollee_class=cls, facility_level=level, deductible=D(deductible), rate=D(rate),
                        annual_cap=D(JN_GENERAL_CAP))


def jn_chronic(dise: str, cls: str) -> BenefitTerms:
    rate, cap = JN_CHRONIC[(dise, cls)]
    return BenefitTerms(version_code="JN-2024", fund_pays=True, med_group="chronic", bucket=dise,
                        enrollee_class=cls, facility_level="any", deductible=D("0"), rate=D(rate),
                        annual_cap=D(cap))


def jn_r(level: str) -> BenefitTerms:
    deductible, rate = JN_R_GENERAL[level]
    return BenefitTerms(version_code="JN-R-2024", fund_pays=True, med_group="general", bucket="general",
                        enrollee_class="resident", facility_level=level, deductible=D(deductible), rate=D(rate),
                        annual_cap=D(JN_R_GENERAL_CAP))


def jn_r_chronic(dise: str) -> BenefitTerms:
    rate, cap = JN_R_CHRONIC[dise]
    return BenefitTerms(version_code="JN-R-2024", fund_pays=True, med_group="chronic", bucket=dise,
                        enrollee_class="resident", facility_level="any", deductible=D("0"), rate=D(rate),
                        annual_cap=D(cap))


def accounts_only(version: str) -> BenefitTerms:
    return BenefitTerms(version_code=version, fund_pays=False, facility_level="pharmacy")


def a(code: str, qty: str, price: str, limit: str | None = None, prop: str = "0") -> LineIn:
    return LineIn(code, D(qty), D(price), CLASS_A, D(prop), D(limit) if limit else None)


def b(code: str, qty: str, price: str, prop: str, limit: str | None = None) -> LineIn:
    return LineIn(code, D(qty), D(price), CLASS_B, D(prop), D(limit) if limit else None)


def c(code: str, qty: str, price: str, limit: str | None = None) -> LineIn:
    return LineIn(code, D(qty), D(price), CLASS_C, D("0"), D(limit) if limit else None)


def pockets(current: str = "0", historical: str = "0") -> Pockets:
    return Pockets(D(current), D(historical))


def relative(psn_no: str, current: str = "0", historical: str = "0",
             allowed: tuple[str, ...] = (HISTORICAL,)) -> MulaidPayer:
    return MulaidPayer(psn_no, pockets(current, historical), allowed)


def settle(lines: list[LineIn], terms: BenefitTerms | None, options: EngineOptions = SH, *, dedc_used: str = "0",
           hifp_paid: str = "0", own: Pockets | None = None, acct_used: bool = True,
           payers: tuple[MulaidPayer, ...] = ()) -> Adjudication:
    result = adjudicate(lines=lines, terms=terms, options=options,
                        accumulator=Accumulator(D(dedc_used), D(hifp_paid)), own=own, acct_used=acct_used,
                        mulaid_payers=payers)
    assert result.medfee_sumamt == (result.fund_pay_sumamt + result.acct_pay + result.acct_mulaid_pay
                                    + result.psn_cash_pay)
    assert result.psn_part_amt == result.medfee_sumamt - result.fund_pay_sumamt
    assert sum(d.amount for d in result.debits) == result.acct_pay + result.acct_mulaid_pay
    return result


def expect(result: Adjudication, **amounts: str) -> None:
    actual = {name: getattr(result, name) for name in amounts}
    assert actual == {name: D(value) for name, value in amounts.items()}


def step(result: Adjudication, code: str):
    return next(s for s in result.steps if s.code == code)


# --- the seeded numbers ------------------------------------------------------------------------------------------

def test_the_terms_used_here_are_the_seeded_ones():
    from policies.management.commands.seed_policies import SEEDS

    seeded = {}
    for seed in SEEDS:
        for rule in seed["benefit_rules"]:
            key = (seed["version"]["code"], rule["dise_code"] or "general", rule["enrollee_class"],
                   rule["facility_level"])
            seeded[key] = (rule["deductible"], rule["rate"], rule["annual_cap"], rule["supplementary_share_above_cap"])
    here = {("SH-2023-07", "general", cls, lv): (D(d), D(r), None, D("0")) for (cls, lv), (d, r) in SH_GENERAL.items()}
    for version in ("JN-2022", "JN-2024"):
        here.update({(version, "general", cls, lv): (D(d), D(r), D(JN_GENERAL_CAP), D("0"))
                     for (cls, lv), (d, r) in JN_GENERAL.items()})
        here.update({(version, dise, cls, "any"): (D("0"), D(r), D(cap), D("0"))
                     for (dise, cls), (r, cap) in JN_CHRONIC.items()})
    here.update({("JN-R-2024", "general", "resident", lv): (D(d), D(r), D(JN_R_GENERAL_CAP), D("0"))
                 for lv, (d, r) in JN_R_GENERAL.items()})
    here.update({("JN-R-2024", dise, "resident", "any"): (D("0"), D(r), D(cap), D("0"))
                 for dise, (r, cap) in JN_R_CHRONIC.items()})
    assert here == seeded


# --- Shanghai: current-year pocket first --------------------------------------------------------------------------

@pytest.mark.parametrize(("cls", "level", "dedc", "hifp", "part", "acct", "cash", "balc"), [
    # 1,000.00 in scope; current pocket pays 100.00 first -> 900.00; then the deductible, the rate of the rest, and
    # the personal part from the current pocket (already paid 100.00), the historical 500.00, then cash.
    # 900 - 500 = 400 x 80% = 320.00; 1000 - 320 = 680 = 100 + 500 + cash 80
    ("in_service", "1", "500.00", "320.00", "680.00", "600.00", "80.00", "0.00"),
    # 400 x 75% = 300.00; 1000 - 300 = 700 = 100 + 500 + cash 100
    ("in_service", "2", "500.00", "300.00", "700.00", "600.00", "100.00", "0.00"),
    # 400 x 70% = 280.00; 1000 - 280 = 720 = 100 + 500 + cash 120
    ("in_service", "3", "500.00", "280.00", "720.00", "600.00", "120.00", "0.00"),
    # 900 - 300 = 600 x 85% = 510.00; 490 = 100 + historical 390, 500 - 390 = 110 left
    ("retired_from_2001", "1", "300.00", "510.00", "490.00", "490.00", "0.00", "110.00"),
    # 600 x 80% = 480.00; 520 = 100 + 420, 80 left
    ("retired_from_2001", "2", "300.00", "480.00", "520.00", "520.00", "0.00", "80.00"),
    # 600 x 75% = 450.00; 550 = 100 + 450, 50 left
    ("retired_from_2001", "3", "300.00", "450.00", "550.00", "550.00", "0.00", "50.00"),
    # 900 - 200 = 700 x 90% = 630.00; 370 = 100 + 270, 230 left
    ("retired_before_2001", "1", "200.00", "630.00", "370.00", "370.00", "0.00", "230.00"),
    # 700 x 85% = 595.00; 405 = 100 + 305, 195 left
    ("retired_before_2001", "2", "200.00", "595.00", "405.00", "405.00", "0.00", "195.00"),
    # 700 x 80% = 560.00; 440 = 100 + 340, 160 left
    ("retired_before_2001", "3", "200.00", "560.00", "440.00", "440.00", "0.00", "160.00"),
])
def test_shanghai_every_enrollee_class_and_level(cls, level, dedc, hifp, part, acct, cash, balc):
    result = settle([a("A1", "1", "1000.00")], sh(cls, level), own=pockets("100.00", "500.00"))
    expect(result, medfee_sumamt="1000.00", inscp_scp_amt="1000.00", act_pay_dedc=dedc, hifp_pay=hifp, oth_pay="0",
           fund_pay_sumamt=hifp, psn_part_amt=part, acct_pay=acct, acct_mulaid_pay="0", psn_cash_pay=cash,
           balc=balc)
    assert result.debits == (Debit(OWN, CURRENT, D("100.00")), Debit(OWN, HISTORICAL, D(acct) - D("100.00")))
    assert result.setldetail == (FundPayment(POOLED_FUND, D(hifp)),)
    assert result.bucket == "general"
    assert (result.accumulator_delta.dedc, result.accumulator_delta.hifp) == (D(dedc), D(hifp))


def test_shanghai_current_pocket_covers_none_of_the_in_scope_cost():
    # current 0: deductible 500 of 800 -> 300 x 75% = 225.00; personal 575.00 from historical 1,000 -> 425.00 left
    result = settle([a("A1", "2", "400.00")], sh("in_service", "2"), own=pockets("0", "1000.00"))
    expect(result, medfee_sumamt="800.00", act_pay_dedc="500.00", hifp_pay="225.00", psn_part_amt="575.00",
           acct_pay="575.00", psn_cash_pay="0", balc="425.00")
    assert result.debits == (Debit(OWN, HISTORICAL, D("575.00")),)
    assert step(result, "current_pocket_first").amount_out == D("0")


def test_shanghai_current_pocket_covers_all_of_the_in_scope_cost_and_nothing_counts_towards_the_deductible():
    # in scope 1,000 + class C 50 = 1,050; current 1,500 pays the 1,000 in scope first: nothing left for the
    # deductible or the fund. Personal part 1,050: 50 more from the current pocket (450.00 left), historical untouched.
    result = settle([a("A1", "1", "1000.00"), c("C1", "1", "50.00")], sh("retired_before_2001", "1"),
                    own=pockets("1500.00", "300.00"))
    expect(result, medfee_sumamt="1050.00", fulamt_ownpay_amt="50.00", inscp_scp_amt="1000.00", act_pay_dedc="0",
           hifp_pay="0", fund_pay_sumamt="0", psn_part_amt="1050.00", acct_pay="1050.00", psn_cash_pay="0",
           balc="750.00")
    assert result.own_after == pockets("450.00", "300.00")
    assert result.debits == (Debit(OWN, CURRENT, D("1050.00")),)
    assert result.setldetail == (FundPayment(POOLED_FUND, D("0.00")),)
    assert (result.accumulator_delta.dedc, result.accumulator_delta.hifp) == (D("0"), D("0"))


def test_shanghai_current_pocket_covers_part_and_the_deductible_was_partly_used_earlier():
    # current 50 first -> 950; deductible 500 - 120 used = 380 left, all paid now; 950 - 380 = 570 x 80% = 456.00;
    # personal 1,000 - 456 = 544 = current 50 + historical 494 (1,000 - 494 = 506.00 left)
    result = settle([a("A1", "4", "250.00")], sh("in_service", "1"), dedc_used="120.00",
                    own=pockets("50.00", "1000.00"))
    expect(result, act_pay_dedc="380.00", hifp_pay="456.00", psn_part_amt="544.00", acct_pay="544.00",
           psn_cash_pay="0", balc="506.00")
    assert result.debits == (Debit(OWN, CURRENT, D("50.00")), Debit(OWN, HISTORICAL, D("494.00")))
    deductible = step(result, "deductible")
    assert str(deductible.label) == \
        "deductible 500.00 of which 120.00 already used this year: 380.00 left, 380.00 paid now"
    assert (deductible.amount_in, deductible.amount_out) == (D("950.00"), D("380.00"))


def test_shanghai_deductible_larger_than_the_bill_then_already_met():
    # retired since 2005, level 3: deductible 300 left in full, bill 200 -> all 200 to the deductible, no fund.
    first = settle([a("A1", "1", "200.00")], sh("retired_from_2001", "3"), own=pockets())
    expect(first, act_pay_dedc="200.00", hifp_pay="0", psn_cash_pay="200.00")
    # next visit: 100 left of 300; bill 500 -> 100 deductible, 400 x 75% = 300.00, cash 200.00
    second = settle([a("A1", "1", "500.00")], sh("retired_from_2001", "3"), dedc_used="200.00", own=pockets())
    expect(second, act_pay_dedc="100.00", hifp_pay="300.00", psn_cash_pay="200.00")
    # deductible met: 200 x 75% = 150.00
    third = settle([a("A1", "1", "200.00")], sh("retired_from_2001", "3"), dedc_used="300.00", own=pockets())
    expect(third, act_pay_dedc="0", hifp_pay="150.00", psn_cash_pay="50.00")


def test_shanghai_pharmacy_purchase_is_paid_by_the_accounts_and_cash_only():
    # med_type 41: no fund. In scope 2 x 50 = 100: current 60 first; then 130 - 60 = 70 owed: current 0,
    # historical 50, cash 20. The year's counters do not move.
    result = settle([a("D1", "2", "50.00"), c("C1", "1", "30.00")], accounts_only("SH-2023-07"), dedc_used="100.00",
                    own=pockets("60.00", "50.00"))
    expect(result, medfee_sumamt="130.00", act_pay_dedc="0", hifp_pay="0", oth_pay="0", fund_pay_sumamt="0",
           psn_part_amt="130.00", acct_pay="110.00", acct_mulaid_pay="0", psn_cash_pay="20.00", balc="0")
    assert result.setldetail == ()
    assert result.bucket == ""
    assert (result.accumulator_delta.dedc, result.accumulator_delta.hifp) == (D("0"), D("0"))
    assert "accounts and cash only" in str(step(result, "pooled_fund").label)


# --- Jinan: general outpatient ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cls", "level", "dedc", "hifp", "part", "cash"), [
    # 1,000 in scope, one pocket (historical 300), no current-pocket-first
    ("in_service", "1", "200.00", "560.00", "440.00", "140.00"),  # 800 x 70% = 560; 440 - 300 = 140
    ("in_service", "2", "400.00", "360.00", "640.00", "340.00"),  # 600 x 60% = 360; 640 - 300 = 340
    ("in_service", "3", "600.00", "200.00", "800.00", "500.00"),  # 400 x 50% = 200; 800 - 300 = 500
    ("retired", "1", "200.00", "600.00", "400.00", "100.00"),  # 800 x 75% = 600; 400 - 300 = 100
    ("retired", "2", "400.00", "390.00", "610.00", "310.00"),  # 600 x 65% = 390; 610 - 300 = 310
    ("retired", "3", "600.00", "220.00", "780.00", "480.00"),  # 400 x 55% = 220; 780 - 300 = 480
])
def test_jinan_every_enrollee_class_and_level(cls, level, dedc, hifp, part, cash):
    result = settle([a("A1", "1", "1000.00")], jn(cls, level), JN, own=pockets("0", "300.00"))
    expect(result, act_pay_dedc=dedc, hifp_pay=hifp, psn_part_amt=part, acct_pay="300.00", psn_cash_pay=cash,
           balc="0")
    assert result.debits == (Debit(OWN, HISTORICAL, D("300.00")),)


def test_jinan_deductible_counter_is_shared_across_levels():
    # level-1 visit: 300 - 200 deductible = 100 x 70% = 70.00
    first = settle([a("A1", "1", "300.00")], jn("in_service", "1"), JN)
    expect(first, act_pay_dedc="200.00", hifp_pay="70.00")
    # then level 3 with 200 used: 600 - 200 = 400 more; 1,000 - 400 = 600 x 50% = 300.00
    second = settle([a("A1", "1", "1000.00")], jn("in_service", "3"), JN, dedc_used="200.00")
    expect(second, act_pay_dedc="400.00", hifp_pay="300.00", psn_cash_pay="700.00")
    # then level 1 with 600 used: its 200 threshold is passed: 100 x 70% = 70.00
    third = settle([a("A1", "1", "100.00")], jn("in_service", "1"), JN, dedc_used="600.00")
    expect(third, act_pay_dedc="0", hifp_pay="70.00")


def test_jinan_annual_cap_reached_inside_one_visit():
    # deductible met; 1,000 x 70% = 700 due, 4,500 - 4,200 = 300 left: 300.00 paid; no supplementary fund.
    # Personal 700 from historical 1,000 -> 300.00 left.
    result = settle([a("A1", "1", "1000.00")], jn("in_service", "1"), JN, dedc_used="200.00", hifp_paid="4200.00",
                    own=pockets("0", "1000.00"))
    expect(result, act_pay_dedc="0", hifp_pay="300.00", oth_pay="0", fund_pay_sumamt="300.00",
           psn_part_amt="700.00", acct_pay="700.00", balc="300.00")
    assert result.setldetail == (FundPayment(POOLED_FUND, D("300.00")),)
    assert result.accumulator_delta.hifp == D("300.00")
    assert str(step(result, "pooled_fund").label).startswith(
        "the pooled fund pays 70% of 1000.00: 700.00 due; annual cap 4500.00 of which 4200.00 already paid: "
        "300.00 left, 300.00 paid")


def test_jinan_annual_cap_already_reached():
    result = settle([a("A1", "1", "1000.00")], jn("retired", "2"), JN, dedc_used="400.00", hifp_paid="4500.00")
    expect(result, hifp_pay="0", fund_pay_sumamt="0", psn_cash_pay="1000.00")


def test_jinan_pharmacy_external_prescription_at_level_1_terms_sharing_the_cap():
    # retired, ext_rx: level-1 deductible 200 and 75%; 300 - 200 = 100 x 75% = 75.00 due, but the hospitals
    # already used 4,480 of the 4,500 cap: 20.00 paid. Personal 280.00 in cash.
    result = settle([a("D1", "3", "100.00")], jn("retired", "pharmacy"), JN, hifp_paid="4480.00")
    expect(result, act_pay_dedc="200.00", hifp_pay="20.00", psn_part_amt="280.00", psn_cash_pay="280.00")
    assert result.bucket == "general"
    # in-service: 70%
    result = settle([a("D1", "3", "100.00")], jn("in_service", "pharmacy"), JN, dedc_used="200.00")
    expect(result, act_pay_dedc="0", hifp_pay="210.00")


def test_jinan_pharmacy_without_external_prescription_is_accounts_and_cash_only():
    # no fund, no deductible: 150 = historical 100 + cash 50
    result = settle([a("D1", "1", "150.00")], accounts_only("JN-2024"), JN, own=pockets("0", "100.00"))
    expect(result, act_pay_dedc="0", hifp_pay="0", acct_pay="100.00", psn_cash_pay="50.00", balc="0")
    assert result.setldetail == ()


@pytest.mark.parametrize(("dise", "cls", "hifp_paid", "bill", "hifp"), [
    ("M03900", "in_service", "0", "500.00", "350.00"),  # no deductible: 500 x 70% = 350.00
    ("M03900", "retired", "0", "500.00", "375.00"),  # 500 x 75% = 375.00
    ("M03900", "retired", "1900.00", "500.00", "100.00"),  # 375 due, cap 2,000 - 1,900 = 100 left
    ("M07803", "in_service", "0", "3000.00", "2550.00"),  # 3,000 x 85% = 2,550.00
    ("M07803", "retired", "0", "3000.00", "2700.00"),  # 3,000 x 90% = 2,700.00
    ("M07803", "retired", "59000.00", "2000.00", "1000.00"),  # 1,800 due, cap 60,000 - 59,000 = 1,000 left
])
def test_jinan_chronic_diseases(dise, cls, hifp_paid, bill, hifp):
    result = settle([a("A1", "1", bill)], jn_chronic(dise, cls), JN, dedc_used="0", hifp_paid=hifp_paid)
    expect(result, act_pay_dedc="0", hifp_pay=hifp, psn_cash_pay=str(D(bill) - D(hifp)))
    assert result.bucket == dise
    assert (result.accumulator_delta.dedc, result.accumulator_delta.hifp) == (D("0"), D(hifp))


# --- lines -------------------------------------------------------------------------------------------------------

def test_lines_split_by_class_price_limit_and_pre_self_pay():
    result = settle([
        b("B1", "2", "30.00", "0.10", limit="28.00"),  # 60.00; over (30 - 28) x 2 = 4.00; (60 - 4) x 10% = 5.60
        a("A1", "3", "12.50", limit="10.00", prop="0.20"),  # 37.50; over 2.50 x 3 = 7.50; class A: no pre-self-pay
        a("A2", "1", "8.00", limit="10.00"),  # under the limit: 8.00 in scope
        b("B2", "4", "2.50", "0.15"),  # 10.00, no limit; 10 x 15% = 1.50
        c("C1", "1", "45.00", limit="30.00"),  # class C: all 45.00 out of scope, the limit does not apply
    ], jn("in_service", "1"), JN, dedc_used="200.00", own=pockets("0", "1000.00"))
    expect(result, medfee_sumamt="160.50", fulamt_ownpay_amt="45.00", overlmt_selfpay="11.50",
           preselfpay_amt="7.10", inscp_scp_amt="96.90",  # 50.40 + 30.00 + 8.00 + 8.50
           hifp_pay="67.83",  # 96.90 x 70% = 67.83
           psn_part_amt="92.67", acct_pay="92.67", balc="907.33")  # 160.50 - 67.83
    b1 = result.lines[0]
    assert (b1.amount, b1.overlmt_selfpay, b1.preselfpay_amt, b1.inscp_scp_amt) == (
        D("60.00"), D("4.00"), D("5.60"), D("50.40"))
    assert [line.inscp_scp_amt for line in result.lines] == [D("50.40"), D("30.00"), D("8.00"), D("8.50"), D("0")]
    assert result.warnings == ()


def test_unknown_item_is_class_c_with_a_warning():
    # X999 not in the catalog: 2 x 15 = 30.00 out of scope (its limit and share are ignored); A 100 x 70% = 70.00;
    # personal 130 - 70 = 60.00 in cash (no account)
    unknown = LineIn("X999", D("2"), D("15.00"), None, D("0.50"), D("10.00"))
    result = settle([a("A1", "1", "100.00"), unknown], jn("in_service", "1"), JN, dedc_used="200.00")
    expect(result, medfee_sumamt="130.00", fulamt_ownpay_amt="30.00", overlmt_selfpay="0", preselfpay_amt="0",
           hifp_pay="70.00", psn_cash_pay="60.00")
    line = result.lines[1]
    assert (line.chrg_item_lv, line.in_catalog) == (CLASS_C, False)
    assert len(result.warnings) == 1 and "X999" in str(result.warnings[0])


def test_rounding_is_half_up_at_half_a_fen_on_every_line_rule():
    result = settle([
        a("A1", "1", "0.125"),  # 0.125 -> 0.13 (half-even would give 0.12)
        a("A2", "3", "0.335"),  # 1.005 -> 1.01
        b("B1", "1", "10.50", "0.05"),  # pre-self-pay 0.525 -> 0.53 (half-even 0.52); 9.97 in scope
        a("A3", "1", "2.125", limit="2.00"),  # amount 2.125 -> 2.13; over 0.125 -> 0.13; 2.00 in scope
    ], None, JN)
    assert [line.amount for line in result.lines] == [D("0.13"), D("1.01"), D("10.50"), D("2.13")]
    assert result.lines[2].preselfpay_amt == D("0.53")
    assert result.lines[3].overlmt_selfpay == D("0.13")
    expect(result, medfee_sumamt="13.77", overlmt_selfpay="0.13", preselfpay_amt="0.53", inscp_scp_amt="13.11")


def test_rounding_is_half_up_on_the_fund_share():
    # level 3, deductible met: 100.25 x 50% = 50.125 -> 50.13 (half-even 50.12); personal 50.12
    result = settle([a("A1", "1", "100.25")], jn("in_service", "3"), JN, dedc_used="600.00")
    expect(result, hifp_pay="50.13", psn_cash_pay="50.12")


def test_supplementary_fund_pays_its_share_above_the_cap():
    # made-up terms: 80%, cap 1,000 with 900 used, supplementary 25% above the cap.
    # 500.03 x 80% = 400.024 -> 400.02 due; 100.00 within the cap; (400.02 - 100) x 25% = 75.005 -> 75.01;
    # funds 175.01, personal 500.03 - 175.01 = 325.02
    terms = BenefitTerms(version_code="X", fund_pays=True, bucket="general", deductible=D("0"), rate=D("0.80"),
                         annual_cap=D("1000.00"), supplementary_share_above_cap=D("0.25"))
    result = settle([a("A1", "1", "500.03")], terms, JN, hifp_paid="900.00")
    expect(result, hifp_pay="100.00", oth_pay="75.01", fund_pay_sumamt="175.01", psn_part_amt="325.02",
           psn_cash_pay="325.02")
    assert result.setldetail == (FundPayment(POOLED_FUND, D("100.00")), FundPayment(SUPPLEMENTARY_FUND, D("75.01")))
    assert result.accumulator_delta.hifp == D("100.00")  # the supplementary fund has no cap counter here


# --- who pays the personal part ----------------------------------------------------------------------------------

def test_mutual_aid_draws_on_the_shanghai_historical_pocket_only():
    # deductible met: 1,000 x 80% = 800; personal 200; own pockets empty; the relative's current 500 is not
    # touched, its historical 120 pays; cash 80.
    result = settle([a("A1", "1", "1000.00")], sh("in_service", "1"), dedc_used="500.00", own=pockets(),
                    payers=(relative("R1", current="500.00", historical="120.00"),))
    expect(result, hifp_pay="800.00", psn_part_amt="200.00", acct_pay="0", acct_mulaid_pay="120.00",
           psn_cash_pay="80.00", balc="0")
    assert result.debits == (Debit("R1", HISTORICAL, D("120.00")),)
    assert result.mulaid == (MulaidPayment("R1", D("120.00")),)


def test_mutual_aid_payers_pay_in_order_from_their_allowed_pockets():
    # deductible 200 of a 200 bill: personal 200 = own 30 + R1 50 + R2 current 100 and historical 20; R3 not needed
    result = settle([a("A1", "1", "200.00")], jn("in_service", "1"), JN, own=pockets("0", "30.00"), payers=(
        relative("R1", historical="50.00"),
        relative("R2", current="100.00", historical="300.00", allowed=(CURRENT, HISTORICAL)),
        relative("R3", historical="1000.00"),
    ))
    expect(result, act_pay_dedc="200.00", hifp_pay="0", acct_pay="30.00", acct_mulaid_pay="170.00",
           psn_cash_pay="0")
    assert result.debits == (Debit(OWN, HISTORICAL, D("30.00")), Debit("R1", HISTORICAL, D("50.00")),
                             Debit("R2", CURRENT, D("100.00")), Debit("R2", HISTORICAL, D("20.00")))
    assert result.mulaid == (MulaidPayment("R1", D("50.00")), MulaidPayment("R2", D("120.00")))
    assert str(step(result, "mutual_aid").label) == \
        "relatives' accounts pay 170.00 of 170.00, in order: R1 50.00, R2 120.00"


def test_accounts_not_used_means_cash_and_no_current_pocket_first():
    # no current-pocket-first: deductible 500 of the 1,000; 500 x 80% = 400; personal 600 all in cash
    result = settle([a("A1", "1", "1000.00")], sh("in_service", "1"), own=pockets("1000.00", "1000.00"),
                    acct_used=False, payers=(relative("R1", historical="500.00"),))
    expect(result, act_pay_dedc="500.00", hifp_pay="400.00", acct_pay="0", acct_mulaid_pay="0",
           psn_cash_pay="600.00", balc="2000.00")
    assert result.debits == ()
    assert result.own_after == pockets("1000.00", "1000.00")


def test_patient_without_insurance_is_paid_by_a_relative_then_cash():
    # a relative who is only a person: no fund, the whole 200 is personal: relative's historical 120, cash 80
    result = settle([a("A1", "1", "150.00"), c("C1", "1", "50.00")], None, SH, dedc_used="100.00",
                    payers=(relative("R1", current="900.00", historical="120.00"),))
    expect(result, medfee_sumamt="200.00", act_pay_dedc="0", hifp_pay="0", fund_pay_sumamt="0",
           psn_part_amt="200.00", acct_pay="0", acct_mulaid_pay="120.00", psn_cash_pay="80.00", balc="0")
    assert result.setldetail == () and result.bucket == "" and result.own_after is None
    assert result.debits == (Debit("R1", HISTORICAL, D("120.00")),)
    assert "no employee insurance" in str(step(result, "deductible").label)


def test_accounts_may_not_pay_out_of_scope_cost_when_the_policy_says_so():
    options = EngineOptions(current_pocket_first=False, acct_pays_out_of_scope=False)
    # 300 in scope x 70% = 210; personal 190 = class C 100 (cash only) + 90: own 50, relative 40
    result = settle([a("A1", "1", "300.00"), c("C1", "1", "100.00")], jn("in_service", "1"), options,
                    dedc_used="200.00", own=pockets("0", "50.00"), payers=(relative("R1", historical="500.00"),))
    expect(result, hifp_pay="210.00", psn_part_amt="190.00", acct_pay="50.00", acct_mulaid_pay="40.00",
           psn_cash_pay="100.00")
    assert "may not pay the 100.00 out of scope" in str(step(result, "own_account").label)


def test_current_pocket_first_with_out_of_scope_kept_for_cash():
    options = EngineOptions(current_pocket_first=True, acct_pays_out_of_scope=False)
    # current pays the 100 in scope first; the 100 out of scope is cash although 900 is left in the pocket
    result = settle([a("A1", "1", "100.00"), c("C1", "1", "100.00")], sh("in_service", "1"), options,
                    dedc_used="500.00", own=pockets("1000.00", "0"))
    expect(result, hifp_pay="0", acct_pay="100.00", psn_cash_pay="100.00", balc="900.00")


# --- explanation, edges, refusals --------------------------------------------------------------------------------

def test_steps_explain_every_step_in_order():
    result = settle([a("A1", "1", "1000.00")], sh("in_service", "1"), own=pockets("100.00", "500.00"))
    assert tuple(s.code for s in result.steps) == STEP_CODES
    assert [(s.amount_in, s.amount_out) for s in result.steps] == [
        (D("1000.00"), D("1000.00")),  # lines: total, in scope
        (D("1000.00"), D("100.00")),  # current pocket first
        (D("900.00"), D("500.00")),  # deductible
        (D("400.00"), D("320.00")),  # pooled fund
        (D("1000.00"), D("680.00")),  # personal part
        (D("580.00"), D("500.00")),  # own account after the current pocket's 100
        (D("80.00"), D("0")),  # mutual aid
        (D("80.00"), D("80.00")),  # cash
    ]
    assert str(result.steps[3].label) == "the pooled fund pays 80% of 400.00: 320.00; no annual cap"
    assert dict(result.steps[2].detail)["dedc_left"] == D("500.00")
    assert all(str(s.label) for s in result.steps)


def test_an_empty_bill_settles_to_zero():
    result = settle([], jn("in_service", "1"), JN, own=pockets("0", "10.00"))
    expect(result, medfee_sumamt="0", fund_pay_sumamt="0", acct_pay="0", psn_cash_pay="0", balc="10.00")
    assert result.setldetail == (FundPayment(POOLED_FUND, D("0")),)


def test_options_of_a_policy_version():
    version = SimpleNamespace(current_pocket_first=True, acct_pays_out_of_scope=False)
    assert EngineOptions.of(version) == EngineOptions(current_pocket_first=True, acct_pays_out_of_scope=False)


@pytest.mark.parametrize("kwargs", [
    {"lines": [LineIn("A1", D("-1"), D("1"), CLASS_A)]},
    {"lines": [LineIn("A1", D("1"), D("1"), "04")]},
    {"lines": [LineIn("B1", D("1"), D("1"), CLASS_B, D("1.5"))]},
    {"own": Pockets(D("1.001"), D("0"))},
    {"accumulator": Accumulator(D("-1"), D("0"))},
    {"mulaid_payers": [relative("R1"), relative("R1")]},
    {"mulaid_payers": [relative("R1", allowed=("savings",))]},
    {"terms": BenefitTerms(version_code="X", fund_pays=True, rate=D("1.2"))},
])
def test_inputs_that_would_break_the_invariants_are_refused(kwargs):
    arguments = {"lines": [], "terms": jn("in_service", "1"), "options": JN, "accumulator": Accumulator(),
                 "own": None, "acct_used": True, "mulaid_payers": [], **kwargs}
    with pytest.raises(ValueError):
        adjudicate(**arguments)
