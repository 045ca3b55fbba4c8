"""Property tests of the adjudication engine: random bills, terms, accumulators, balances and relatives; the
invariants of POLICY.md and of the order of payers hold on every one."""

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from claims.engine import (
    CLASS_A,
    CLASS_B,
    CLASS_C,
    CURRENT,
    HISTORICAL,
    OWN,
    POCKETS,
    STEP_CODES,
    Accumulator,
    EngineOptions,
    LineIn,
    MulaidPayer,
    Pockets,
    adjudicate,
)
from core.money import ZERO
from policies.selectors import BenefitTerms

AMOUNT_FIELDS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
                 "act_pay_dedc", "hifp_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
                 "acct_mulaid_pay", "psn_cash_pay", "balc")


def money(max_fen: int) -> st.SearchStrategy[D]:
    return st.integers(0, max_fen).map(lambda n: D(n) / 100)


def share() -> st.SearchStrategy[D]:
    return st.integers(0, 100).map(lambda n: D(n) / 100)


lines = st.lists(st.builds(
    LineIn,
    item_code=st.sampled_from(["A1", "B1", "C1", "X9"]),
    qty=st.integers(0, 5000).map(lambda n: D(n) / 100),  # fractions of a pack, up to 50
    price=st.integers(0, 50_000_000).map(lambda n: D(n) / 10000),  # unit prices to 4 places, up to 5,000
    chrg_item_lv=st.sampled_from([CLASS_A, CLASS_B, CLASS_C, None]),
    selfpay_prop=share(),
    pric_uplmt_amt=st.none() | st.integers(0, 50_000_000).map(lambda n: D(n) / 10000),
    acct_pay_forbidden=st.booleans(),
), max_size=6)

funded_terms = st.builds(
    BenefitTerms,
    version_code=st.just("T"), fund_pays=st.just(True), bucket=st.sampled_from(["general", "M03900"]),
    deductible=money(200_000), rate=share(), annual_cap=st.none() | money(1_000_000),
    supplementary_share_above_cap=st.just(D("0")) | share(),
)
terms = st.none() | st.just(BenefitTerms(version_code="T", fund_pays=False)) | funded_terms

pockets = st.builds(Pockets, current=money(300_000), historical=money(300_000))

payers = st.lists(
    st.builds(MulaidPayer, psn_no=st.sampled_from(["R1", "R2", "R3", "R4"]), pockets=pockets,
              allowed=st.sampled_from([(HISTORICAL,), (CURRENT,), (CURRENT, HISTORICAL), (HISTORICAL, CURRENT), ()])),
    max_size=3, unique_by=lambda p: p.psn_no,
)


@settings(max_examples=600, deadline=None)
@given(lines=lines, terms=terms,
       options=st.builds(EngineOptions, current_pocket_first=st.booleans(), acct_pays_out_of_scope=st.booleans()),
       accumulator=st.builds(Accumulator, dedc_used=money(300_000), hifp_paid=money(1_200_000)),
       own=st.none() | pockets, acct_used=st.booleans(), mulaid_payers=payers,
       own_pockets=st.sampled_from([POCKETS, (HISTORICAL,)]))
def test_invariants_hold_on_any_visit(lines, terms, options, accumulator, own, acct_used, mulaid_payers,
                                      own_pockets):
    """`own_pockets` (HISTORICAL,): a late bill of a benefit year already rolled over (or a resident's visit, with
    no own account at all: `own` None)."""
    r = adjudicate(lines=lines, terms=terms, options=options, accumulator=accumulator, own=own, acct_used=acct_used,
                   mulaid_payers=mulaid_payers, own_pockets=own_pockets)

    # Every amount is whole fen and not negative; the parts add up.
    for name in AMOUNT_FIELDS:
        value = getattr(r, name)
        assert value >= 0 and value == value.quantize(D("0.01")), name
    assert r.medfee_sumamt == r.fund_pay_sumamt + r.acct_pay + r.acct_mulaid_pay + r.psn_cash_pay
    assert r.medfee_sumamt == r.fulamt_ownpay_amt + r.overlmt_selfpay + r.preselfpay_amt + r.inscp_scp_amt
    assert r.psn_part_amt == r.medfee_sumamt - r.fund_pay_sumamt
    assert r.fund_pay_sumamt == r.hifp_pay + r.oth_pay
    assert sum(line.amount for line in r.lines) == r.medfee_sumamt

    # Funds and counters.
    funded = terms is not None and terms.fund_pays
    if not funded:
        assert r.fund_pay_sumamt == r.act_pay_dedc == 0 and r.setldetail == ()
    else:
        assert r.setldetail[0].fund_payamt == r.hifp_pay
        assert sum(p.fund_payamt for p in r.setldetail) == r.fund_pay_sumamt
        assert r.accumulator_delta.dedc + accumulator.dedc_used <= max(terms.deductible, accumulator.dedc_used)
        if terms.annual_cap is not None:
            assert accumulator.hifp_paid + r.hifp_pay <= max(terms.annual_cap, accumulator.hifp_paid)
        else:
            assert r.oth_pay == 0
        assert r.fund_pay_sumamt + r.act_pay_dedc <= r.inscp_scp_amt
    assert (r.accumulator_delta.dedc, r.accumulator_delta.hifp) == (r.act_pay_dedc, r.hifp_pay)

    # Debits: positive, one per payer and pocket, never more than a balance, only from allowed pockets.
    balances = {p.psn_no: p.pockets for p in mulaid_payers}
    if own is not None:
        balances[OWN] = own
    allowed = {p.psn_no: p.allowed for p in mulaid_payers}
    allowed[OWN] = own_pockets
    taken: dict[tuple[str, str], D] = defaultdict(D)
    for debit in r.debits:
        assert debit.amount > 0 and (debit.payer, debit.pocket) not in taken
        assert debit.pocket in allowed[debit.payer]
        taken[(debit.payer, debit.pocket)] += debit.amount
        assert taken[(debit.payer, debit.pocket)] <= balances[debit.payer].get(debit.pocket)
    assert sum(d.amount for d in r.debits) == r.acct_pay + r.acct_mulaid_pay
    # ... in the order paid: own account first, then relatives as given, each pocket only once the ones before it
    # in the payer's order are empty.
    order = [OWN] + [p.psn_no for p in mulaid_payers]
    assert [order.index(d.payer) for d in r.debits] == sorted(order.index(d.payer) for d in r.debits)
    for payer, pockets_ in allowed.items():
        for i, pocket in enumerate(pockets_):
            if taken.get((payer, pocket)):
                assert all(taken[(payer, before)] == balances[payer].get(before) for before in pockets_[:i])
    assert sum(d.amount for d in r.debits if d.payer == OWN) == r.acct_pay
    assert sum(m.amount for m in r.mulaid) == r.acct_mulaid_pay
    if own is None:
        assert r.own_after is None and r.balc == 0 and r.acct_pay == 0
    else:
        assert r.own_after.current >= 0 and r.own_after.historical >= 0
        assert r.balc == r.own_after.total == own.total - r.acct_pay

    # Order of payers: nobody after the own account pays while it still had money it could use, cash only once
    # every account is empty, and out-of-scope cost stays with cash where the policy says so.
    if not acct_used:
        assert r.acct_pay == r.acct_mulaid_pay == 0 and r.psn_cash_pay == r.psn_part_amt
    own_left = ZERO if own is None else sum((r.own_after.get(p) for p in own_pockets), ZERO)
    if r.acct_mulaid_pay > 0:
        assert own_left == 0
    forbidden = sum((o.amount for o in r.lines if o.acct_pay_forbidden), ZERO)
    reserved = forbidden if options.acct_pays_out_of_scope else r.fulamt_ownpay_amt
    assert r.psn_cash_pay >= min(reserved, r.psn_part_amt)
    if acct_used and r.psn_cash_pay > reserved:
        assert own_left == 0
        for payer in mulaid_payers:
            assert all(payer.pockets.get(p) == taken[(payer.psn_no, p)] for p in payer.allowed)

    # Current pocket first pays in-scope cost before the deductible and is never counted in it.
    if options.current_pocket_first and acct_used and own is not None and funded and CURRENT in own_pockets:
        cur_first = min(own.current, r.inscp_scp_amt)
        assert r.act_pay_dedc <= r.inscp_scp_amt - cur_first
    # A late bill's year is in the historical pocket: the current-year pocket (a later year's) pays nothing.
    if CURRENT not in own_pockets:
        assert not any(d.payer == OWN and d.pocket == CURRENT for d in r.debits)
        assert own is None or r.own_after.current == own.current
    # An item no account may pay is paid in cash: never by the own account nor by mutual aid.
    assert r.acct_pay + r.acct_mulaid_pay <= r.psn_part_amt - min(forbidden, r.psn_part_amt)

    assert tuple(s.code for s in r.steps) == STEP_CODES
    assert all(str(s.label) for s in r.steps)
    assert len(r.warnings) == sum(1 for line in lines if line.chrg_item_lv is None)


@settings(max_examples=200, deadline=None)
@given(lines=lines, terms=funded_terms, accumulator=st.builds(Accumulator, dedc_used=money(300_000),
                                                               hifp_paid=money(1_200_000)),
       own=pockets, extra=money(100_000))
def test_more_money_in_the_own_account_never_means_more_cash(lines, terms, accumulator, own, extra):
    options = EngineOptions(current_pocket_first=False, acct_pays_out_of_scope=True)

    def cash(pockets_: Pockets) -> D:
        return adjudicate(lines=lines, terms=terms, options=options, accumulator=accumulator, own=pockets_,
                          acct_used=True, mulaid_payers=()).psn_cash_pay

    assert cash(Pockets(own.current, own.historical + extra)) <= cash(own)


@settings(max_examples=300, deadline=None)
@given(lines=lines, terms=funded_terms, accumulator=st.builds(Accumulator, dedc_used=money(300_000),
                                                               hifp_paid=money(1_200_000)),
       own=st.none() | pockets, cut=share())
def test_an_unfiled_visit_in_another_region_is_the_visit_at_the_lower_rate(lines, terms, accumulator, own, cut):
    options = EngineOptions(current_pocket_first=False, acct_pays_out_of_scope=True)

    def settle(terms_: BenefitTerms, rate_cut: D):
        return adjudicate(lines=lines, terms=terms_, options=options, accumulator=accumulator, own=own,
                          acct_used=True, mulaid_payers=(), rate_cut=rate_cut)

    full, unfiled = settle(terms, D("0")), settle(terms, cut)
    lowered = settle(replace(terms, rate=max(D("0"), terms.rate - cut)), D("0"))
    assert [getattr(unfiled, name) for name in AMOUNT_FIELDS] == [getattr(lowered, name) for name in AMOUNT_FIELDS]
    assert unfiled.fund_pay_sumamt <= full.fund_pay_sumamt and unfiled.act_pay_dedc == full.act_pay_dedc
    assert unfiled.medfee_sumamt == unfiled.fund_pay_sumamt + unfiled.acct_pay + unfiled.psn_cash_pay
    assert len(unfiled.warnings) == len(lowered.warnings) + (1 if cut else 0)
