"""The replay's engine call (`claims.engine.adjudicate_amounts`) computes what `adjudicate` computes, to the fen, on
random visits: every class of line, price limits, separately paid drugs, forbidden items, the current-year pocket
first or not, a rolled-over year, caps and a supplementary fund, unfiled visits at lower rates, relatives' accounts;
and refuses the inputs `adjudicate` refuses, with the same message."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.engine import (
    HISTORICAL,
    POCKETS,
    Accumulator,
    EngineOptions,
    LineIn,
    LineRow,
    Pockets,
    adjudicate,
    adjudicate_amounts,
)
from claims.tests.test_engine_properties import funded_terms, money, payers, pockets, share, terms
from policies.selectors import SepPayTerms

lines = st.lists(st.builds(
    LineIn,
    item_code=st.sampled_from(["A1", "B1", "C1", "X9"]),
    qty=st.integers(0, 5000).map(lambda n: D(n) / 100),
    price=st.integers(0, 50_000_000).map(lambda n: D(n) / 10000),
    chrg_item_lv=st.sampled_from(["01", "02", "03", None]),
    selfpay_prop=share(),
    pric_uplmt_amt=st.none() | st.integers(0, 50_000_000).map(lambda n: D(n) / 10000),
    acct_pay_forbidden=st.booleans(),
    sep_pay=st.booleans(),
), max_size=6)
sep_terms = st.none() | st.builds(SepPayTerms, rate=share(), annual_cap=st.none() | money(500_000),
                                  bucket=st.just("sep"))


def both(*, lines, terms, options, accumulator, own, acct_used, mulaid_payers, sep_terms, sep_paid, rate_cut,
         own_pockets):  # noqa: ANN001, ANN202
    """What each function returns, or the ValueError each raises."""
    try:
        full = adjudicate(lines=lines, terms=terms, options=options, accumulator=accumulator, own=own,
                          acct_used=acct_used, mulaid_payers=mulaid_payers, sep_terms=sep_terms,
                          sep_accumulator=Accumulator(D("0.00"), sep_paid), rate_cut=rate_cut,
                          own_pockets=own_pockets, explain=False)
        expected = ((full.fund_pay_sumamt, full.hifp_pay, full.oth_pay, full.sep_hifp_pay, full.act_pay_dedc,
                     full.acct_pay, full.acct_mulaid_pay, full.psn_cash_pay, full.accumulator_delta.dedc,
                     full.accumulator_delta.hifp, full.sep_accumulator_delta.hifp,
                     tuple((d.payer, d.pocket, d.amount) for d in full.debits)))
    except ValueError as e:
        expected = str(e)
    rows = [LineRow(*(getattr(line, name) for name in LineRow._fields)) for line in lines]
    try:
        got = tuple(adjudicate_amounts(
            lines=rows, terms=terms, options=options, dedc_used=accumulator.dedc_used,
            hifp_paid=accumulator.hifp_paid, own=(own.current, own.historical) if own is not None else None,
            acct_used=acct_used, mulaid_payers=mulaid_payers, sep_terms=sep_terms, sep_hifp_paid=sep_paid,
            rate_cut=rate_cut, own_pockets=own_pockets))
    except ValueError as e:
        got = str(e)
    return expected, got


@settings(max_examples=1500, deadline=None)
@given(lines=lines, terms=terms,
       options=st.builds(EngineOptions, current_pocket_first=st.booleans(), acct_pays_out_of_scope=st.booleans()),
       accumulator=st.builds(Accumulator, dedc_used=money(300_000), hifp_paid=money(1_200_000)),
       own=st.none() | pockets, acct_used=st.booleans(), mulaid_payers=payers, sep_terms=sep_terms,
       sep_paid=money(600_000), rate_cut=st.just(D("0.00")) | share(),
       own_pockets=st.sampled_from([POCKETS, (HISTORICAL,)]))
def test_the_amounts_are_adjudicates(lines, terms, options, accumulator, own, acct_used, mulaid_payers, sep_terms,
                                     sep_paid, rate_cut, own_pockets):
    expected, got = both(lines=lines, terms=terms, options=options, accumulator=accumulator, own=own,
                         acct_used=acct_used, mulaid_payers=mulaid_payers, sep_terms=sep_terms, sep_paid=sep_paid,
                         rate_cut=rate_cut, own_pockets=own_pockets)
    assert got == expected
    assert not isinstance(got, str)  # valid inputs: both settle


@settings(max_examples=300, deadline=None)
@given(lines=lines, terms=funded_terms, bad=st.sampled_from([
    "qty", "price", "selfpay_prop", "pric_uplmt_amt", "chrg_item_lv", "dedc_used", "hifp_paid", "own", "sep_paid",
    "rate_cut", "payer twice", "payer pockets"]), own=pockets, mulaid_payers=payers)
def test_bad_inputs_are_refused_alike(lines, terms, bad, own, mulaid_payers):
    """Every kind of input the engine refuses (ValueError, same message), one at a time."""
    accumulator, sep_paid, rate_cut = Accumulator(D("10.00"), D("20.00")), D("0.00"), D("0.00")
    sep = SepPayTerms(rate=D("0.5"), annual_cap=D("100.00"), bucket="sep")
    first = LineIn(item_code="Q", qty=D("1"), price=D("5.00"), chrg_item_lv="01")
    changes = {"qty": D("-1"), "price": D("NaN"), "selfpay_prop": D("1.5"), "pric_uplmt_amt": D("-0.01"),
               "chrg_item_lv": "04"}
    if bad in changes:
        first = LineIn(**{**first.__dict__, bad: changes[bad]})
    elif bad == "dedc_used":
        accumulator = Accumulator(D("0.001"), D("20.00"))
    elif bad == "hifp_paid":
        accumulator = Accumulator(D("10.00"), D("-1.00"))
    elif bad == "own":
        own = Pockets(D("1.005"), D("0.00"))
    elif bad == "sep_paid":
        sep_paid = D("-3.00")
    elif bad == "rate_cut":
        rate_cut = D("2")
    elif bad == "payer twice":
        mulaid_payers = [*mulaid_payers[:1], *mulaid_payers[:1]] or mulaid_payers
    elif bad == "payer pockets":
        mulaid_payers = [*mulaid_payers[:1]]
        if mulaid_payers:
            mulaid_payers[0] = type(mulaid_payers[0])(psn_no="R9", pockets=own, allowed=("current", "current"))
    expected, got = both(lines=[first, *lines], terms=terms, options=EngineOptions(True, True),
                         accumulator=accumulator, own=own, acct_used=True, mulaid_payers=mulaid_payers,
                         sep_terms=sep, sep_paid=sep_paid, rate_cut=rate_cut, own_pockets=POCKETS)
    assert got == expected
    if bad not in ("payer twice", "payer pockets") or mulaid_payers:
        assert isinstance(got, str), bad


def test_one_visit_by_hand():
    """A level-1 visit of JN-2024's numbers: deductible 200 (50.00 used), the fund 70%, cap 4,500; two lines:
    A 3 × 50.00 = 150.00 in scope; B 2 × 30.00 = 60.00 over a 28.00 limit by 4.00, 10% of 56.00 = 5.60 first,
    50.40 in scope. In scope 200.40: 150.00 to the deductible, the fund 70% of 50.40 = 35.28; the historical
    pocket (100.00) pays 100.00 of the personal part 174.72, cash 74.72."""
    from policies.selectors import BenefitTerms

    got = adjudicate_amounts(
        lines=[LineRow("A50", D("3"), D("50.00"), "01", D("0"), D("50.00"), False, False),
               LineRow("B30", D("2"), D("30.00"), "02", D("0.10"), D("28.00"), False, False)],
        terms=BenefitTerms(version_code="JN-2024", fund_pays=True, bucket="general", deductible=D("200.00"),
                           rate=D("0.70"), annual_cap=D("4500.00")),
        options=EngineOptions(current_pocket_first=False, acct_pays_out_of_scope=True), dedc_used=D("50.00"),
        hifp_paid=D("0.00"), own=(D("0.00"), D("100.00")), acct_used=True)
    assert got[:8] == (D("35.28"), D("35.28"), D("0"), D("0"), D("150.00"), D("100.00"), D("0"), D("74.72"))
    assert got.debits == (("own", "historical", D("100.00")),)


@pytest.mark.parametrize("own_pockets", [POCKETS, (HISTORICAL,)])
def test_no_lines(own_pockets):
    expected, got = both(lines=[], terms=None, options=EngineOptions(True, True), accumulator=Accumulator(),
                         own=Pockets(), acct_used=True, mulaid_payers=(), sep_terms=None, sep_paid=D("0.00"),
                         rate_cut=D("0.00"), own_pockets=own_pockets)
    assert got == expected


def test_half_a_fen_is_rounded_up_at_each_step():
    """Each product half-up, as `adjudicate` (half-even would give 1.00, 0.02 and 0.12): a class A line of 3 × 0.335
    = 1.005 → 1.01; a class B line of 0.25, 10% of it first: 0.025 → 0.03, 0.22 in scope; the fund 100% of the
    1.23 in scope up to a cap of 0.98, the supplementary fund half of the 0.25 above it: 0.125 → 0.13."""
    from policies.selectors import BenefitTerms

    terms = BenefitTerms(version_code="T", fund_pays=True, bucket="general", deductible=D("0.00"), rate=D("1"),
                         annual_cap=D("0.98"), supplementary_share_above_cap=D("0.5"))
    got = adjudicate_amounts(
        lines=[LineRow("A", D("3"), D("0.335"), "01", D("0"), None, False, False),
               LineRow("B", D("1"), D("0.25"), "02", D("0.10"), None, False, False)],
        terms=terms, options=EngineOptions(False, True), dedc_used=D("0.00"), hifp_paid=D("0.00"), own=None,
        acct_used=False)
    # The bill 1.01 + 0.25 = 1.26, the funds 0.98 + 0.13 = 1.11, cash 0.15.
    assert (got.hifp_pay, got.oth_pay, got.fund_pay_sumamt, got.psn_cash_pay) == (D("0.98"), D("0.13"), D("1.11"),
                                                                                 D("0.15"))
    expected, again = both(lines=[LineIn("A", D("3"), D("0.335"), "01"),
                                  LineIn("B", D("1"), D("0.25"), "02", D("0.10"))],
                           terms=terms, options=EngineOptions(False, True), accumulator=Accumulator(), own=None,
                           acct_used=False, mulaid_payers=(), sep_terms=None, sep_paid=D("0.00"), rate_cut=D("0.00"),
                           own_pockets=POCKETS)
    assert again == expected
