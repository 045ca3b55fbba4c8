"""Separately paid drugs (单独支付) in the engine, on JN-2024's numbers (CONTRACT.md): the pooled fund pays 70% of
such a line's in-scope amount, no deductible, in a bucket `sep_pay` capped at 30,000 a year, in-service and retired
alike; the rest of the bill settles as before. By hand, then with random visits."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from claims.engine import (
    CLASS_A,
    CLASS_B,
    POOLED_FUND,
    STEP_CODES,
    STEP_SEP_PAY,
    Accumulator,
    EngineOptions,
    LineIn,
    adjudicate,
)
from claims.tests.test_engine import JN, a, accounts_only, expect, jn, jn_chronic, pockets, settle
from claims.tests.test_engine_properties import funded_terms, lines, money, payers
from core.money import fen
from policies.selectors import SepPayTerms

JN_SEP = SepPayTerms(rate=D("0.70"), annual_cap=D("30000.00"), bucket="sep_pay")


def drug(code: str, qty: str, price: str, prop: str = "0.10") -> LineIn:
    """A separately paid class B drug."""
    return LineIn(code, D(qty), D(price), CLASS_B, D(prop), None, sep_pay=True)


def settle_sep(lines_, terms, *, sep_paid: str = "0", sep_terms=JN_SEP, **kwargs):
    result = adjudicate(lines=lines_, terms=terms, options=kwargs.pop("options", JN),
                        accumulator=Accumulator(D(kwargs.pop("dedc_used", "0")), D(kwargs.pop("hifp_paid", "0"))),
                        own=kwargs.pop("own", None), acct_used=kwargs.pop("acct_used", True), mulaid_payers=(),
                        sep_terms=sep_terms, sep_accumulator=Accumulator(D("0"), D(sep_paid)))
    assert not kwargs
    assert result.medfee_sumamt == (result.fund_pay_sumamt + result.acct_pay + result.acct_mulaid_pay
                                    + result.psn_cash_pay)
    assert result.hifp_pay == result.accumulator_delta.hifp + result.sep_accumulator_delta.hifp
    assert sum(f.fund_payamt for f in result.setldetail) == result.fund_pay_sumamt
    return result


def test_a_bill_mixing_a_separately_paid_drug_with_ordinary_lines():
    # JN-2024, in-service, level 1 (deductible 200, 70%, cap 4,500), nothing used yet; own account 1,000.00.
    # Ordinary: A1 1 × 300.00, all in scope. Drug: 2 × 500.00 = 1,000.00, class B 10%: pre-self-pay 100.00,
    # in scope 900.00.
    # Drug apart: 70% × 900.00 = 630.00, no deductible, cap 30,000 untouched.
    # Ordinary: deductible 200.00 of the 300.00, fund 70% × 100.00 = 70.00.
    # Fund 700.00; personal part 1,300.00 − 700.00 = 600.00, from the account: balance 400.00.
    result = settle_sep([a("A1", "1", "300.00"), drug("D1", "2", "500.00")], jn("in_service", "1"),
                        own=pockets(historical="1000.00"))
    expect(result, medfee_sumamt="1300.00", preselfpay_amt="100.00", inscp_scp_amt="1200.00", act_pay_dedc="200.00",
           hifp_pay="700.00", fund_pay_sumamt="700.00", psn_part_amt="600.00", acct_pay="600.00",
           psn_cash_pay="0.00", balc="400.00", sep_hifp_pay="630.00")
    assert result.sep_bucket == "sep_pay" and result.bucket == "general"
    assert (result.accumulator_delta.dedc, result.accumulator_delta.hifp) == (D("200.00"), D("70.00"))
    assert (result.sep_accumulator_delta.dedc, result.sep_accumulator_delta.hifp) == (D("0"), D("630.00"))
    assert [(f.fund_pay_type, f.fund_payamt) for f in result.setldetail] == [(POOLED_FUND, D("700.00"))]
    codes = [s.code for s in result.steps]
    assert codes == [STEP_CODES[0], STEP_SEP_PAY, *STEP_CODES[1:]]
    sep_step = result.steps[1]
    assert (sep_step.amount_in, sep_step.amount_out) == (D("900.00"), D("630.00"))
    assert str(sep_step.label) == (
        "separately paid drugs, 1 lines, settled apart with no deductible: the pooled fund pays 70% of their "
        "in-scope 900.00: 630.00 due; their annual cap 30000.00 of which 0.00 already paid: 30000.00 left, 630.00 "
        "paid")
    # The ordinary steps start from the ordinary lines' in-scope 300.00.
    deductible = next(s for s in result.steps if s.code == "deductible")
    assert (deductible.amount_in, deductible.amount_out) == (D("300.00"), D("200.00"))


def test_retired_alike_and_their_own_cap():
    # Retired, level 1 (75%): the drug's part is the same 70%, but only 200.00 is left of its 30,000 cap
    # (29,800.00 paid this year): it pays 200.00 of the 630.00 due. Ordinary: 200.00 deductible, 75% × 100.00 = 75.00.
    # Fund 275.00; no account: cash 1,300.00 − 275.00 = 1,025.00.
    result = settle_sep([a("A1", "1", "300.00"), drug("D1", "2", "500.00")], jn("retired", "1"),
                        sep_paid="29800.00")
    expect(result, act_pay_dedc="200.00", hifp_pay="275.00", sep_hifp_pay="200.00", psn_cash_pay="1025.00")
    # The general cap does not limit the drug, nor the drug's the ordinary lines: 4,400.00 of 4,500 used.
    capped = settle_sep([a("A1", "1", "300.00"), drug("D1", "2", "500.00")], jn("retired", "1"),
                        dedc_used="200.00", hifp_paid="4400.00")
    # Ordinary: deductible used up, 75% × 300.00 = 225.00 due, 100.00 left of 4,500: 100.00. Drug: 630.00.
    expect(capped, act_pay_dedc="0.00", hifp_pay="730.00", sep_hifp_pay="630.00", psn_cash_pay="570.00")


def test_only_separately_paid_lines_and_a_chronic_visit():
    # M03900 in-service (70%, no deductible, cap 2,000): drug 1 × 200.00, class B 10%: in scope 180.00, fund 126.00
    # under the drug's terms; nothing ordinary: the disease's bucket gets nothing.
    result = settle_sep([drug("D1", "1", "200.00")], jn_chronic("M03900", "in_service"))
    expect(result, inscp_scp_amt="180.00", hifp_pay="126.00", sep_hifp_pay="126.00", act_pay_dedc="0.00",
           psn_cash_pay="74.00")
    assert (result.accumulator_delta.dedc, result.accumulator_delta.hifp) == (D("0"), D("0"))
    assert result.bucket == "M03900" and result.sep_bucket == "sep_pay"


def test_without_the_versions_terms_or_the_funds_the_drug_settles_as_an_ordinary_line():
    ordinary = settle([a("A1", "1", "300.00"), LineIn("D1", D("2"), D("500.00"), CLASS_B, D("0.10"), None)],
                      jn("in_service", "1"), JN)
    # No terms (SH-2023-07 sets none): as today, 1,200.00 in scope, 200.00 deductible, 70% × 1,000.00 = 700.00.
    unset = settle_sep([a("A1", "1", "300.00"), drug("D1", "2", "500.00")], jn("in_service", "1"), sep_terms=None)
    expect(unset, act_pay_dedc="200.00", hifp_pay="700.00", sep_hifp_pay="0.00")
    assert unset.sep_bucket == "" and [s.code for s in unset.steps] == list(STEP_CODES)
    assert (unset.hifp_pay, unset.act_pay_dedc) == (ordinary.hifp_pay, ordinary.act_pay_dedc)
    # A pharmacy purchase paid by accounts and cash only: no fund for the drug either.
    pharmacy = settle_sep([drug("D1", "2", "500.00")], accounts_only("JN-2024"))
    expect(pharmacy, hifp_pay="0.00", sep_hifp_pay="0.00", psn_cash_pay="1000.00")
    # No insurance here.
    nobody = settle_sep([drug("D1", "2", "500.00")], None)
    expect(nobody, fund_pay_sumamt="0.00", psn_cash_pay="1000.00")


def test_rounding_of_the_drugs_part_is_once():
    # 3 × 33.33 = 99.99 class A, separately paid: 70% × 99.99 = 69.993 → 69.99.
    result = settle_sep([LineIn("D1", D("3"), D("33.33"), CLASS_A, D("0"), None, sep_pay=True)],
                        jn("in_service", "2"))
    expect(result, hifp_pay="69.99", sep_hifp_pay="69.99", psn_cash_pay="30.00")


sep_lines = st.lists(st.builds(
    LineIn, item_code=st.sampled_from(["D1", "D2"]), qty=st.integers(0, 500).map(lambda n: D(n) / 100),
    price=st.integers(0, 5_000_000).map(lambda n: D(n) / 100), chrg_item_lv=st.sampled_from([CLASS_A, CLASS_B]),
    selfpay_prop=st.integers(0, 100).map(lambda n: D(n) / 100), pric_uplmt_amt=st.none(), sep_pay=st.just(True),
), max_size=3)
sep_terms = st.builds(SepPayTerms, rate=st.integers(0, 100).map(lambda n: D(n) / 100),
                      annual_cap=st.none() | money(3_000_000), bucket=st.just("sep_pay"))


@settings(max_examples=300, deadline=None)
@given(ordinary=lines, drugs=sep_lines, terms=funded_terms, sep=sep_terms,
       options=st.builds(EngineOptions, current_pocket_first=st.booleans(), acct_pays_out_of_scope=st.booleans()),
       accumulator=st.builds(Accumulator, dedc_used=money(300_000), hifp_paid=money(1_200_000)),
       sep_paid=money(3_000_000), mulaid_payers=payers)
def test_each_part_settles_under_its_own_rule(ordinary, drugs, terms, sep, options, accumulator, sep_paid,
                                               mulaid_payers):
    both = adjudicate(lines=ordinary + drugs, terms=terms, options=options, accumulator=accumulator, own=None,
                      acct_used=True, mulaid_payers=mulaid_payers, sep_terms=sep,
                      sep_accumulator=Accumulator(D("0"), sep_paid))
    alone = adjudicate(lines=ordinary, terms=terms, options=options, accumulator=accumulator, own=None,
                       acct_used=True, mulaid_payers=(), sep_terms=sep, sep_accumulator=Accumulator(D("0"), sep_paid))
    # The ordinary part is exactly what the ordinary lines alone would get.
    assert (both.act_pay_dedc, both.hifp_pay - both.sep_hifp_pay, both.oth_pay) == (
        alone.act_pay_dedc, alone.hifp_pay, alone.oth_pay)
    assert both.accumulator_delta == alone.accumulator_delta
    # The drugs' part: their rate of their in-scope amount, within what is left of their cap.
    due = fen(sum((o.inscp_scp_amt for o in both.lines[len(ordinary):]), D("0")) * sep.rate)
    left = D("Infinity") if sep.annual_cap is None else max(D("0"), sep.annual_cap - sep_paid)
    expected = min(due, left) if drugs else D("0")
    assert both.sep_hifp_pay == expected and both.sep_accumulator_delta.hifp == expected
    assert both.sep_bucket == ("sep_pay" if drugs else "")
    # The whole bill keeps the invariant.
    assert both.medfee_sumamt == both.fund_pay_sumamt + both.acct_pay + both.acct_mulaid_pay + both.psn_cash_pay
    assert both.fund_pay_sumamt == both.hifp_pay + both.oth_pay
    assert sum(f.fund_payamt for f in both.setldetail) == both.fund_pay_sumamt
