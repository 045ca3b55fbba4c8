"""The adjudication engine: one outpatient settlement computed from plain values, with no database.

Services load the benefit terms, the year-to-date accumulator of the visit's bucket and the account balances (under
row locks), call `adjudicate`, and save what it returns; the engine reads and writes nothing, so it can be tested
exhaustively (claims/tests/test_engine.py by hand, test_engine_properties.py with random visits).

Who pays, in this order (POLICY.md "How one outpatient settlement is computed", CONTRACT.md "Who pays"):

1. The bill is split line by line by catalog class: out of scope (class C, not in the catalog, or an item no
   account may ever pay: `acct_pay_forbidden`), over the price limit, class B's pre-self-pay share, and the in-scope
   rest.
2. Where the policy pays the current-year pocket first (Shanghai) and the accounts are used, the patient's
   current-year pocket pays in-scope cost before anything else. That payment counts in `acct_pay` and not towards
   the deductible.
3. The deductible takes what is left of the year's threshold out of the remaining in-scope cost. It is not a payer:
   it stays in the personal part, paid below.
4. The pooled fund pays its rate of the rest, up to what is left of its annual cap; a supplementary fund pays its
   share of what the cap cut off.
5. The personal part (total minus fund payments) is paid by the patient's own account (current-year pocket, then
   historical), then by each linked relative's account in the order the caller gives, from the pockets the policy
   lets mutual aid use, then in cash. A policy that forbids the accounts to pay out-of-scope cost leaves that part
   to cash; so does every line of an item no account may pay, whatever the policy.

Separately paid drugs (单独支付): where the version sets terms for them (`sep_terms`), the lines of such items are
settled apart before step 2: the pooled fund pays their rate of their in-scope amount, with no deductible, up to
what is left of their own annual cap in their own accumulator bucket. Steps 2 to 4 then settle the other lines
only; the personal part and its payers (5) are those of the whole bill. A bill without such lines, or a version
without such terms, settles exactly as above.

An unfiled visit in another region under a policy that pays it at lower rates (`rate_cut`): every rate the fund
pays at (the visit's and the separately paid drugs') is that many points lower, never below zero; a warning says so.

Money is Decimal yuan. Each product is rounded half-up to the fen once (core.money.fen); sums, differences and
minimums of fen amounts are exact and need no rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from django.utils import translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from core.money import FEN, ZERO, fen

if TYPE_CHECKING:
    from policies.models import PolicyVersion
    from policies.selectors import BenefitTerms, SepPayTerms

CLASS_A, CLASS_B, CLASS_C = "01", "02", "03"
CURRENT, HISTORICAL = "current", "historical"
POCKETS = (CURRENT, HISTORICAL)
OWN = "own"
POOLED_FUND = "310100"
SUPPLEMENTARY_FUND = "LOCAL_SUPP"
FUND_PAY_TYPES = (POOLED_FUND, SUPPLEMENTARY_FUND)  # every `setldetail` lists these, in this order

STEP_LINES = "lines"
STEP_SEP_PAY = "sep_pay"  # only when separately paid drugs are settled apart, right after STEP_LINES
STEP_CURRENT_FIRST = "current_pocket_first"
STEP_DEDUCTIBLE = "deductible"
STEP_POOLED_FUND = "pooled_fund"
STEP_PERSONAL_PART = "personal_part"
STEP_OWN_ACCOUNT = "own_account"
STEP_MUTUAL_AID = "mutual_aid"
STEP_CASH = "cash"
STEP_CODES = (STEP_LINES, STEP_CURRENT_FIRST, STEP_DEDUCTIBLE, STEP_POOLED_FUND, STEP_PERSONAL_PART,
              STEP_OWN_ACCOUNT, STEP_MUTUAL_AID, STEP_CASH)


# --- inputs -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineIn:
    """One bill line with its catalog entry. `chrg_item_lv` None: the code is not in the catalog (class C).
    `acct_pay_forbidden`: outside basic medical insurance altogether (out of scope whatever its class, cash only)."""

    item_code: str
    qty: Decimal
    price: Decimal
    chrg_item_lv: str | None
    selfpay_prop: Decimal = Decimal("0")
    pric_uplmt_amt: Decimal | None = None
    acct_pay_forbidden: bool = False
    sep_pay: bool = False  # a separately paid drug (the item's sep_pay_flag)


@dataclass(frozen=True)
class EngineOptions:
    """The options of the policy version in force that change who pays."""

    current_pocket_first: bool
    acct_pays_out_of_scope: bool

    @classmethod
    def of(cls, version: PolicyVersion) -> EngineOptions:
        return cls(current_pocket_first=version.current_pocket_first,
                   acct_pays_out_of_scope=version.acct_pays_out_of_scope)


@dataclass(frozen=True)
class Accumulator:
    """The patient's year-to-date counters of the visit's bucket, before this visit."""

    dedc_used: Decimal = ZERO
    hifp_paid: Decimal = ZERO


@dataclass(frozen=True)
class Pockets:
    """The balances of one account."""

    current: Decimal = ZERO
    historical: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.current + self.historical

    def get(self, pocket: str) -> Decimal:
        return {CURRENT: self.current, HISTORICAL: self.historical}[pocket]


@dataclass(frozen=True)
class MulaidPayer:
    """A linked relative whose account may pay: active on the service date, in the order to try.
    `allowed`: the pockets the policy lets mutual aid draw on, in the order they pay."""

    psn_no: str
    pockets: Pockets
    allowed: tuple[str, ...] = (HISTORICAL,)


# --- outputs ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineOut:
    """One line split into its parts; `amount` = the sum of the four parts. `chrg_item_lv` is the class applied
    (03 for a code not in the catalog, `in_catalog` False). `acct_pay_forbidden`: the whole line is out of scope
    and cash pays it."""

    item_code: str
    chrg_item_lv: str
    in_catalog: bool
    amount: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_selfpay: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    acct_pay_forbidden: bool = False


@dataclass(frozen=True)
class FundPayment:
    """One `setldetail` row."""

    fund_pay_type: str
    fund_payamt: Decimal


@dataclass(frozen=True)
class Debit:
    """What one pocket pays: `payer` is "own" or the relative's psn_no. One per payer and pocket, in the order paid."""

    payer: str
    pocket: str
    amount: Decimal


@dataclass(frozen=True)
class MulaidPayment:
    """What one relative's account paid in all (only relatives who paid something)."""

    psn_no: str
    amount: Decimal


@dataclass(frozen=True)
class AccumulatorDelta:
    """What this settlement adds to the bucket's year-to-date counters (a reversal subtracts it)."""

    dedc: Decimal
    hifp: Decimal


@dataclass(frozen=True)
class Step:
    """One step of the explanation. `amount_in`: what the step starts from; `amount_out`: what it pays or sets
    aside. `label`: a translatable sentence naming the rule and the numbers; `detail`: those numbers by name."""

    code: str
    label: Promise
    amount_in: Decimal
    amount_out: Decimal
    detail: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True)
class Adjudication:
    """Every amount of a settlement (CONTRACT.md field names), who pays from which pocket, the accumulator change
    and the explanation. `balc` is the patient's own balance after (0 without an account), `own_after` its pockets."""

    medfee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_selfpay: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    act_pay_dedc: Decimal
    hifp_pay: Decimal
    oth_pay: Decimal
    fund_pay_sumamt: Decimal
    psn_part_amt: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal
    balc: Decimal
    setldetail: tuple[FundPayment, ...]
    debits: tuple[Debit, ...]
    mulaid: tuple[MulaidPayment, ...]
    bucket: str
    accumulator_delta: AccumulatorDelta
    own_after: Pockets | None
    lines: tuple[LineOut, ...]
    warnings: tuple[Promise, ...] = field(default=())
    steps: tuple[Step, ...] = field(default=())
    # Separately paid drugs settled apart: the pooled fund's payment for them (part of hifp_pay) and what it adds
    # to their bucket's counters; `sep_bucket` "" when the bill had none settled apart.
    sep_hifp_pay: Decimal = ZERO
    sep_bucket: str = ""
    sep_accumulator_delta: AccumulatorDelta = AccumulatorDelta(ZERO, ZERO)


# --- the computation --------------------------------------------------------------------------------------------

def adjudicate(*, lines: Sequence[LineIn], terms: BenefitTerms | None, options: EngineOptions,
               accumulator: Accumulator, own: Pockets | None, acct_used: bool,
               mulaid_payers: Sequence[MulaidPayer], sep_terms: SepPayTerms | None = None,
               sep_accumulator: Accumulator = Accumulator(), rate_cut: Decimal = ZERO,
               own_pockets: tuple[str, ...] = POCKETS, explain: bool = True) -> Adjudication:
    """Compute one settlement (module docstring for the order of payers).

    `terms` None: the patient has no employee insurance here, so no fund pays; `terms.fund_pays` False: accounts
    and cash only. `own` None: the patient has no account. `acct_used` False: no account pays anything.
    `sep_terms`: the version's terms for separately paid drugs, used when the fund pays this visit and a line is
    one (`sep_accumulator`: their bucket's counters before this visit). `rate_cut`: the points every fund rate
    loses (an unfiled visit in another region, module docstring). `own_pockets`: the own pockets that hold
    the service date's benefit year, in the order they pay: a bill of a year already rolled over has
    (historical,) only, so the current-year pocket (a later year's money) neither pays first nor pays at all.
    `explain` False: the same amounts without the explanation (no `steps`, no `warnings`), for a replay of many
    settlements that keeps only the amounts (whatif.replay).
    Raises ValueError for inputs no caller should pass (negative or sub-fen money, an unknown class or pocket, a
    relative listed twice); the request's own mistakes are checked before the engine is called.
    """
    _check(lines=lines, terms=terms, accumulator=accumulator, own=own, mulaid_payers=mulaid_payers)
    if own_pockets is not POCKETS and (not own_pockets or len(set(own_pockets)) != len(own_pockets)
                                       or not set(own_pockets) <= set(POCKETS)):
        raise ValueError(f"own_pockets {own_pockets!r}")
    if sep_terms is not None:
        _check_sep(sep_terms, sep_accumulator)
    steps: list[Step] = []
    warnings: list[Promise] = []
    if rate_cut is not ZERO and (not isinstance(rate_cut, Decimal) or not rate_cut.is_finite()
                                 or not 0 <= rate_cut <= 1):
        raise ValueError(f"rate_cut must be a Decimal from 0 to 1, not {rate_cut!r}")
    if rate_cut and terms is not None and terms.fund_pays:
        terms = replace(terms, rate=max(ZERO, terms.rate - rate_cut))
        if sep_terms is not None:
            sep_terms = replace(sep_terms, rate=max(ZERO, sep_terms.rate - rate_cut))
        if explain:
            warnings.append(_explain(_("treated in another region without a filing: every rate %(cut)s points "
                                       "lower"), cut=f"{(rate_cut * 100).normalize():f}"))

    # 1. Lines.
    line_outs = [split_line(line) for line in lines]
    if len(line_outs) == 1:
        only = line_outs[0]
        medfee, fulamt, overlmt = only.amount, only.fulamt_ownpay_amt, only.overlmt_selfpay
        preselfpay, inscp = only.preselfpay_amt, only.inscp_scp_amt
        forbidden = only.amount if only.acct_pay_forbidden else ZERO
    else:
        medfee = sum((o.amount for o in line_outs), ZERO)
        fulamt = sum((o.fulamt_ownpay_amt for o in line_outs), ZERO)
        overlmt = sum((o.overlmt_selfpay for o in line_outs), ZERO)
        preselfpay = sum((o.preselfpay_amt for o in line_outs), ZERO)
        inscp = sum((o.inscp_scp_amt for o in line_outs), ZERO)
        forbidden = sum((o.amount for o in line_outs if o.acct_pay_forbidden), ZERO)
    if explain:
        for line in lines:
            if line.chrg_item_lv is None:
                warnings.append(_explain(_("item %(code)s is not in the catalog: settled as class C (out of "
                                           "scope)"), code=line.item_code))
        label = _explain(_("%(n)s lines, total %(medfee)s: out of scope %(fulamt)s, over the price limit "
                           "%(overlmt)s, class B pre-self-pay %(preselfpay)s, in scope %(inscp)s"),
                         n=str(len(line_outs)), medfee=medfee, fulamt=fulamt, overlmt=overlmt,
                         preselfpay=preselfpay, inscp=inscp)
        if forbidden:
            label = _explain(_("%(label)s; %(forbidden)s of the out-of-scope cost is for items no account may ever "
                               "pay (%(codes)s: public health, fitness, wellness): cash pays it"),
                             label=label, forbidden=forbidden,
                             codes=", ".join(dict.fromkeys(o.item_code for o in line_outs if o.acct_pay_forbidden)))
        steps.append(Step(
            STEP_LINES, label, medfee, inscp,
            (("medfee_sumamt", medfee), ("fulamt_ownpay_amt", fulamt), ("overlmt_selfpay", overlmt),
             ("preselfpay_amt", preselfpay), ("inscp_scp_amt", inscp), ("acct_pay_forbidden", forbidden))))

    # 1a. Separately paid drugs, apart from the rest of the bill.
    sep = None
    if sep_terms is not None and terms is not None and terms.fund_pays and any(line.sep_pay for line in lines):
        sep = _sep_pay(sep_terms, sep_accumulator, [o for line, o in zip(lines, line_outs, strict=True)
                                                    if line.sep_pay], explain)
        if explain:
            steps.append(sep.step)
        inscp_rest = inscp - sep.inscp
    else:
        inscp_rest = inscp

    # 2. Current-year pocket first.
    balances = {OWN: {CURRENT: own.current, HISTORICAL: own.historical}} if own is not None else {}
    paid: dict[tuple[str, str], Decimal] = {}
    cur_first = ZERO
    year_rolled = CURRENT not in own_pockets
    if options.current_pocket_first and acct_used and own is not None and not year_rolled:
        cur_first = min(own.current, inscp_rest)
        _debit(balances, paid, OWN, CURRENT, cur_first)
    if explain:
        if options.current_pocket_first and acct_used and own is not None and not year_rolled:
            label = _explain(_("the current-year pocket pays in-scope cost first, not counted towards the "
                               "deductible: balance %(balance)s, in-scope cost %(inscp)s, %(paid)s paid"),
                             balance=own.current, inscp=inscp_rest, paid=cur_first)
        elif not options.current_pocket_first:
            label = _explain(_("the policy does not pay the current-year pocket first"))
        elif year_rolled and own is not None:
            label = _explain(_("the service date's benefit year has been rolled over: its money is in the "
                               "historical pocket, the current-year pocket (a later year's) does not pay, and what "
                               "is paid counts towards that year's deductible"))
        elif not acct_used:
            label = _explain(_("the accounts are not used for this settlement: the current-year pocket does not "
                               "pay first"))
        else:
            label = _explain(_("the patient has no account: the current-year pocket does not pay first"))
        steps.append(Step(STEP_CURRENT_FIRST, label, inscp_rest, cur_first, (("current_pocket_paid", cur_first),)))
    remaining_inscp = inscp_rest - cur_first

    # 3. Deductible.
    fund_pays = terms is not None and terms.fund_pays
    dedc = ZERO
    if fund_pays:
        dedc_left = max(ZERO, terms.deductible - accumulator.dedc_used)
        dedc = min(remaining_inscp, dedc_left)
        if explain:
            label = _explain(_("deductible %(deductible)s of which %(used)s already used this year: %(left)s left, "
                               "%(paid)s paid now"),
                             deductible=terms.deductible, used=accumulator.dedc_used, left=dedc_left, paid=dedc)
            detail = (("deductible", terms.deductible), ("dedc_used", accumulator.dedc_used),
                      ("dedc_left", dedc_left), ("act_pay_dedc", dedc))
    elif explain:
        label = _no_fund_label(terms, _("no deductible applies"))
        detail = (("act_pay_dedc", dedc),)
    if explain:
        steps.append(Step(STEP_DEDUCTIBLE, label, remaining_inscp, dedc, detail))

    # 4. Pooled fund, and a supplementary fund above its cap.
    base = remaining_inscp - dedc
    hifp = oth = ZERO
    if fund_pays:
        due = fen(base * terms.rate)
        if terms.annual_cap is None:
            hifp = due
            if explain:
                label = _explain(_("the pooled fund pays %(rate)s of %(base)s: %(due)s; no annual cap"),
                                 rate=_percent(terms.rate), base=base, due=due)
                detail = (("base", base), ("rate", terms.rate), ("due", due), ("hifp_pay", hifp))
        else:
            cap_left = max(ZERO, terms.annual_cap - accumulator.hifp_paid)
            hifp = min(due, cap_left)
            oth = fen((due - hifp) * terms.supplementary_share_above_cap) if due > hifp else ZERO
            if explain:
                label = _explain(_("the pooled fund pays %(rate)s of %(base)s: %(due)s due; annual cap %(cap)s of "
                                   "which %(paid_before)s already paid: %(left)s left, %(hifp)s paid; the "
                                   "supplementary fund pays %(share)s of the %(over)s above the cap: %(oth)s"),
                                 rate=_percent(terms.rate), base=base, due=due, cap=terms.annual_cap,
                                 paid_before=accumulator.hifp_paid, left=cap_left, hifp=hifp,
                                 share=_percent(terms.supplementary_share_above_cap), over=due - hifp, oth=oth)
                detail = (("base", base), ("rate", terms.rate), ("due", due), ("annual_cap", terms.annual_cap),
                          ("hifp_paid", accumulator.hifp_paid), ("cap_left", cap_left), ("hifp_pay", hifp),
                          ("supplementary_share_above_cap", terms.supplementary_share_above_cap),
                          ("oth_pay", oth))
    elif explain:
        label = _no_fund_label(terms, _("no fund pays"))
        detail = (("hifp_pay", hifp), ("oth_pay", oth))
    if explain:
        steps.append(Step(STEP_POOLED_FUND, label, base, hifp + oth, detail))
    sep_hifp = sep.hifp if sep is not None else ZERO
    fund = hifp + oth + sep_hifp

    # 5. Personal part.
    psn_part = medfee - fund
    if explain:
        steps.append(Step(
            STEP_PERSONAL_PART,
            _explain(_("personal part: total %(medfee)s minus fund payments %(fund)s = %(part)s"),
                     medfee=medfee, fund=fund, part=psn_part),
            medfee, psn_part, (("medfee_sumamt", medfee), ("fund_pay_sumamt", fund), ("psn_part_amt", psn_part))))

    # 6. Own account. Out-of-scope cost that the accounts may not pay is kept aside for cash from here on: all of it
    # where the policy forbids the accounts out-of-scope cost, else the lines no account may ever pay.
    reserved_for_cash = forbidden if options.acct_pays_out_of_scope else fulamt
    unpaid = psn_part - cur_first
    acct_payable = unpaid - reserved_for_cash
    own_paid = ZERO
    if acct_used and own is not None:
        own_paid = _draw(balances, paid, OWN, own_pockets, acct_payable)
    acct_pay = cur_first + own_paid
    if explain:
        if acct_used and own is not None and year_rolled:
            label = _explain(_("the own account pays %(paid)s of the %(owed)s it may pay, from the historical "
                               "pocket only (the service date's year); balance after %(balc)s"),
                             paid=own_paid, owed=acct_payable, balc=_total(balances[OWN]))
        elif acct_used and own is not None:
            label = _explain(_("the own account pays %(paid)s of the %(owed)s it may pay, current-year pocket then "
                               "historical; balance after %(balc)s"),
                             paid=own_paid, owed=acct_payable, balc=_total(balances[OWN]))
        elif own is None:
            label = _explain(_("the patient has no account"))
        else:
            label = _explain(_("the accounts are not used for this settlement"))
        if reserved_for_cash and options.acct_pays_out_of_scope:
            label = _explain(_("%(label)s (no account may pay the %(forbidden)s for items outside basic medical "
                               "insurance: cash pays it)"), label=label, forbidden=reserved_for_cash)
        elif reserved_for_cash:
            label = _explain(_("%(label)s (the accounts may not pay the %(fulamt)s out of scope: cash pays it)"),
                             label=label, fulamt=reserved_for_cash)
        steps.append(Step(STEP_OWN_ACCOUNT, label, psn_part - cur_first, own_paid,
                          (("current_pocket_first", cur_first), ("own_account", own_paid), ("acct_pay", acct_pay),
                           ("reserved_for_cash", reserved_for_cash))))
    unpaid -= own_paid
    acct_payable -= own_paid

    # 7. Mutual aid.
    mulaid: list[MulaidPayment] = []
    mulaid_payable = acct_payable
    if acct_used:
        for payer in mulaid_payers:
            balances[payer.psn_no] = {CURRENT: payer.pockets.current, HISTORICAL: payer.pockets.historical}
            amount = _draw(balances, paid, payer.psn_no, payer.allowed, acct_payable)
            acct_payable -= amount
            if amount:
                mulaid.append(MulaidPayment(payer.psn_no, amount))
    mulaid_pay = sum((m.amount for m in mulaid), ZERO) if mulaid else ZERO
    if explain:
        if not acct_used:
            label = _explain(_("the accounts are not used for this settlement: no relative's account pays"))
        elif not mulaid_payers:
            label = _explain(_("no linked relative's account may pay"))
        else:
            label = _explain(_("relatives' accounts pay %(paid)s of %(owed)s, in order: %(payers)s"),
                             paid=mulaid_pay, owed=mulaid_payable,
                             payers=", ".join(f"{m.psn_no} {m.amount:.2f}" for m in mulaid) or "-")
        steps.append(Step(STEP_MUTUAL_AID, label, unpaid, mulaid_pay,
                          tuple((m.psn_no, m.amount) for m in mulaid)))
    unpaid -= mulaid_pay

    # 8. Cash.
    cash = unpaid
    if explain:
        steps.append(Step(STEP_CASH, _explain(_("cash pays the rest: %(cash)s"), cash=cash), unpaid, cash,
                          (("psn_cash_pay", cash),)))

    own_after = Pockets(balances[OWN][CURRENT], balances[OWN][HISTORICAL]) if own is not None else None
    setldetail: list[FundPayment] = []
    if fund_pays:
        setldetail.append(FundPayment(POOLED_FUND, hifp + sep_hifp))
        if oth > 0:
            setldetail.append(FundPayment(SUPPLEMENTARY_FUND, oth))
    return Adjudication(
        medfee_sumamt=medfee, fulamt_ownpay_amt=fulamt, overlmt_selfpay=overlmt, preselfpay_amt=preselfpay,
        inscp_scp_amt=inscp, act_pay_dedc=dedc, hifp_pay=hifp + sep_hifp, oth_pay=oth, fund_pay_sumamt=fund,
        psn_part_amt=psn_part, acct_pay=acct_pay, acct_mulaid_pay=mulaid_pay, psn_cash_pay=cash,
        balc=own_after.total if own_after is not None else ZERO,
        setldetail=tuple(setldetail),
        debits=tuple(Debit(payer, pocket, amount) for (payer, pocket), amount in paid.items()),
        mulaid=tuple(mulaid), bucket=terms.bucket if fund_pays else "",
        accumulator_delta=AccumulatorDelta(dedc=dedc, hifp=hifp), own_after=own_after,
        lines=tuple(line_outs), warnings=tuple(warnings), steps=tuple(steps),
        sep_hifp_pay=sep_hifp, sep_bucket=sep_terms.bucket if sep is not None else "",
        sep_accumulator_delta=AccumulatorDelta(dedc=ZERO, hifp=sep_hifp),
    )


# --- the amounts alone, for replays of many settlements ------------------------------------------------------------

class LineRow(NamedTuple):
    """LineIn's fields as a tuple (cheaper to make by the million: whatif.replay reads its lines into these).
    `adjudicate_amounts` takes either."""

    item_code: str
    qty: Decimal
    price: Decimal
    chrg_item_lv: str | None
    selfpay_prop: Decimal
    pric_uplmt_amt: Decimal | None
    acct_pay_forbidden: bool
    sep_pay: bool


class Amounts(NamedTuple):
    """What `adjudicate` returns of one settlement, its amounts only: the first eight in whatif.models.AMOUNTS's
    order (`hifp_pay` includes `sep_hifp_pay`), then what the settlement adds to its bucket's counters (`dedc`,
    `hifp`: the Adjudication's accumulator_delta) and to the separately paid drugs' (`sep_hifp`), and the debits as
    (payer, pocket, amount) in the order paid, one per payer and pocket."""

    fund_pay_sumamt: Decimal
    hifp_pay: Decimal
    oth_pay: Decimal
    sep_hifp_pay: Decimal
    act_pay_dedc: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal
    dedc: Decimal
    hifp: Decimal
    sep_hifp: Decimal
    debits: tuple[tuple[str, str, Decimal], ...]


def adjudicate_amounts(*, lines: Sequence[LineIn | LineRow], terms: BenefitTerms | None, options: EngineOptions,
                       dedc_used: Decimal, hifp_paid: Decimal, own: tuple[Decimal, Decimal] | None, acct_used: bool,
                       mulaid_payers: Sequence[MulaidPayer] = (), sep_terms: SepPayTerms | None = None,
                       sep_hifp_paid: Decimal = ZERO, rate_cut: Decimal = ZERO,
                       own_pockets: tuple[str, ...] = POCKETS) -> Amounts:
    """`adjudicate(…, explain=False)`'s amounts, computed the same way step by step (the module docstring's order)
    without the objects of a full answer: no LineOut, Adjudication, balances after or explanation. For a replay of
    a million settlements (whatif.replay); whatif/tests/test_engine_amounts.py checks it equals `adjudicate` on
    random visits. The accumulators are given as numbers (`dedc_used`, `hifp_paid` of the visit's bucket,
    `sep_hifp_paid` of the separately paid drugs'), the own account as (current, historical) or None. The same
    inputs are refused with the same ValueError."""
    fund_pays = terms is not None and terms.fund_pays
    # Input checks: _check's in one pass (lines inline), the messages from _check_each.
    ok = _is_money(dedc_used) and _is_money(hifp_paid) and (
        own is None or (_is_money(own[0]) and _is_money(own[1]))) and (not fund_pays or _terms_ok(terms))
    medfee = fulamt = inscp = forbidden = sep_inscp = ZERO
    has_sep = False
    if ok:
        for line in lines:
            level, qty, price, prop, limit = (line.chrg_item_lv, line.qty, line.price, line.selfpay_prop,
                                              line.pric_uplmt_amt)
            if not (level in _LEVELS and isinstance(qty, Decimal) and qty.is_finite() and qty >= 0
                    and isinstance(price, Decimal) and price.is_finite() and price >= 0
                    and isinstance(prop, Decimal) and prop.is_finite() and 0 <= prop <= 1
                    and (limit is None or (isinstance(limit, Decimal) and limit.is_finite() and limit >= 0))):
                ok = False
                break
            # split_line's arithmetic.
            amount = (qty * price).quantize(FEN, rounding=ROUND_HALF_UP)
            medfee += amount
            if level is None or level == CLASS_C or line.acct_pay_forbidden:
                fulamt += amount
                if line.acct_pay_forbidden:
                    forbidden += amount
                part = ZERO
            else:
                overlmt = ZERO
                if limit is not None and price > limit:
                    overlmt = ((price - limit) * qty).quantize(FEN, rounding=ROUND_HALF_UP)
                part = amount - overlmt
                if level == CLASS_B:
                    part -= ((amount - overlmt) * prop).quantize(FEN, rounding=ROUND_HALF_UP)
                inscp += part
            if line.sep_pay:
                has_sep = True
                sep_inscp += part
    if not ok or mulaid_payers:
        # Raises for the input the quick test refused (and checks the relatives' accounts).
        own_obj = Pockets(own[0], own[1]) if own is not None else None
        _check_each(lines=lines, terms=terms, accumulator=Accumulator(dedc_used, hifp_paid), own=own_obj,
                    mulaid_payers=mulaid_payers)
        if not ok:  # not reached: _check_each refuses whatever the quick test refused
            return _amounts_of(adjudicate(
                lines=lines, terms=terms, options=options, accumulator=Accumulator(dedc_used, hifp_paid), own=own_obj,
                acct_used=acct_used, mulaid_payers=mulaid_payers, sep_terms=sep_terms,
                sep_accumulator=Accumulator(ZERO, sep_hifp_paid), rate_cut=rate_cut, own_pockets=own_pockets,
                explain=False))
    if own_pockets is not POCKETS and (not own_pockets or len(set(own_pockets)) != len(own_pockets)
                                       or not set(own_pockets) <= set(POCKETS)):
        raise ValueError(f"own_pockets {own_pockets!r}")
    if sep_terms is not None and not (_is_money(sep_hifp_paid) and _terms_ok(sep_terms)):
        _check_sep(sep_terms, Accumulator(ZERO, sep_hifp_paid))
    if rate_cut is not ZERO and (not isinstance(rate_cut, Decimal) or not rate_cut.is_finite()
                                 or not 0 <= rate_cut <= 1):
        raise ValueError(f"rate_cut must be a Decimal from 0 to 1, not {rate_cut!r}")
    rate = terms.rate if fund_pays else ZERO
    sep_rate = sep_terms.rate if sep_terms is not None else ZERO
    if rate_cut and fund_pays:
        rate = max(ZERO, rate - rate_cut)
        sep_rate = max(ZERO, sep_rate - rate_cut)

    # 1a. Separately paid drugs.
    sep_hifp = ZERO
    settled_apart = sep_terms is not None and fund_pays and has_sep
    if settled_apart:
        due = (sep_inscp * sep_rate).quantize(FEN, rounding=ROUND_HALF_UP)
        sep_hifp = due if sep_terms.annual_cap is None else min(due, max(ZERO, sep_terms.annual_cap - sep_hifp_paid))
        inscp_rest = inscp - sep_inscp
    else:
        inscp_rest = inscp

    # 2. Current-year pocket first.
    cur, hist = own if own is not None else (ZERO, ZERO)
    paid: dict[tuple[str, str], Decimal] = {}  # as adjudicate's: one key per payer and pocket, in the order paid
    cur_first = ZERO
    if options.current_pocket_first and acct_used and own is not None and CURRENT in own_pockets:
        cur_first = min(cur, inscp_rest)
        if cur_first > 0:
            cur -= cur_first
            paid[(OWN, CURRENT)] = cur_first
    remaining = inscp_rest - cur_first

    # 3, 4. Deductible, pooled fund, supplementary fund above the cap.
    dedc = hifp = oth = ZERO
    if fund_pays:
        dedc = min(remaining, max(ZERO, terms.deductible - dedc_used))
        due = ((remaining - dedc) * rate).quantize(FEN, rounding=ROUND_HALF_UP)
        if terms.annual_cap is None:
            hifp = due
        else:
            hifp = min(due, max(ZERO, terms.annual_cap - hifp_paid))
            if due > hifp:
                oth = ((due - hifp) * terms.supplementary_share_above_cap).quantize(FEN, rounding=ROUND_HALF_UP)
    fund = hifp + oth + sep_hifp

    # 5, 6. Personal part; own account.
    unpaid = medfee - fund - cur_first
    acct_payable = unpaid - (forbidden if options.acct_pays_out_of_scope else fulamt)
    own_paid = ZERO
    if acct_used and own is not None:
        for pocket in own_pockets:
            amount = min(cur if pocket == CURRENT else hist, acct_payable - own_paid)
            if amount > 0:
                paid[(OWN, pocket)] = paid.get((OWN, pocket), ZERO) + amount
                own_paid += amount
    unpaid -= own_paid
    acct_payable -= own_paid

    # 7. Mutual aid.
    mulaid_pay = ZERO
    if acct_used:
        for payer in mulaid_payers:
            balances = {CURRENT: payer.pockets.current, HISTORICAL: payer.pockets.historical}
            taken = ZERO
            for pocket in payer.allowed:
                amount = min(balances[pocket], acct_payable - taken)
                if amount > 0:
                    paid[(payer.psn_no, pocket)] = amount
                    taken += amount
            acct_payable -= taken
            mulaid_pay += taken
    return Amounts(fund, hifp + sep_hifp, oth, sep_hifp, dedc, cur_first + own_paid, mulaid_pay, unpaid - mulaid_pay,
                   dedc, hifp, sep_hifp, tuple((payer, pocket, amount) for (payer, pocket), amount in paid.items()))


# Terms found good, by id (each kept here, so its id is not reused): a replay settles a million visits with a few
# dozen terms, all frozen. Emptied when it grows past a few thousand.
_TERMS_OK: dict[int, BenefitTerms | SepPayTerms] = {}


def _terms_ok(terms: BenefitTerms | SepPayTerms) -> bool:
    """_check's (or _check_sep's) test of funded terms: money in whole fen, shares from 0 to 1."""
    if _TERMS_OK.get(id(terms)) is terms:
        return True
    cap = terms.annual_cap
    if hasattr(terms, "deductible"):
        ok = (_is_money(terms.deductible) and _share(terms.rate) and _share(terms.supplementary_share_above_cap)
              and (cap is None or _is_money(cap)))
    else:
        ok = _share(terms.rate) and (cap is None or _is_money(cap))
    if ok:
        if len(_TERMS_OK) > 4096:
            _TERMS_OK.clear()
        _TERMS_OK[id(terms)] = terms
    return ok


def _amounts_of(result: Adjudication) -> Amounts:
    return Amounts(result.fund_pay_sumamt, result.hifp_pay, result.oth_pay, result.sep_hifp_pay, result.act_pay_dedc,
                   result.acct_pay, result.acct_mulaid_pay, result.psn_cash_pay, result.accumulator_delta.dedc,
                   result.accumulator_delta.hifp, result.sep_hifp_pay,
                   tuple((d.payer, d.pocket, d.amount) for d in result.debits))


@dataclass(frozen=True)
class _SepPart:
    inscp: Decimal
    hifp: Decimal
    step: Step | None


def _sep_pay(terms: SepPayTerms, accumulator: Accumulator, outs: list[LineOut], explain: bool = True) -> _SepPart:
    """The pooled fund's payment for the separately paid lines: their rate of their in-scope amount, no
    deductible, up to what is left of their annual cap (`explain` False: without the step)."""
    inscp = sum((o.inscp_scp_amt for o in outs), ZERO)
    due = fen(inscp * terms.rate)
    if not explain:
        hifp = due if terms.annual_cap is None else min(due, max(ZERO, terms.annual_cap - accumulator.hifp_paid))
        return _SepPart(inscp=inscp, hifp=hifp, step=None)
    if terms.annual_cap is None:
        hifp = due
        label = _explain(_("separately paid drugs, %(n)s lines, settled apart with no deductible: the pooled fund "
                           "pays %(rate)s of their in-scope %(inscp)s: %(due)s; no annual cap"),
                         n=str(len(outs)), rate=_percent(terms.rate), inscp=inscp, due=due)
        detail = (("inscp_scp_amt", inscp), ("rate", terms.rate), ("due", due), ("hifp_pay", hifp))
    else:
        cap_left = max(ZERO, terms.annual_cap - accumulator.hifp_paid)
        hifp = min(due, cap_left)
        label = _explain(_("separately paid drugs, %(n)s lines, settled apart with no deductible: the pooled fund "
                           "pays %(rate)s of their in-scope %(inscp)s: %(due)s due; their annual cap %(cap)s of "
                           "which %(paid_before)s already paid: %(left)s left, %(hifp)s paid"),
                         n=str(len(outs)), rate=_percent(terms.rate), inscp=inscp, due=due, cap=terms.annual_cap,
                         paid_before=accumulator.hifp_paid, left=cap_left, hifp=hifp)
        detail = (("inscp_scp_amt", inscp), ("rate", terms.rate), ("due", due), ("annual_cap", terms.annual_cap),
                  ("hifp_paid", accumulator.hifp_paid), ("cap_left", cap_left), ("hifp_pay", hifp))
    return _SepPart(inscp=inscp, hifp=hifp, step=Step(STEP_SEP_PAY, label, inscp, hifp, detail))


def _check_sep(terms: SepPayTerms, accumulator: Accumulator) -> None:
    if not isinstance(terms.rate, Decimal) or not terms.rate.is_finite() or not 0 <= terms.rate <= 1:
        raise ValueError(f"sep_terms.rate must be a Decimal from 0 to 1, not {terms.rate!r}")
    for name, value in (("sep_terms.annual_cap", terms.annual_cap), ("sep_accumulator.dedc_used",
                                                                     accumulator.dedc_used),
                        ("sep_accumulator.hifp_paid", accumulator.hifp_paid)):
        if value is not None and (not isinstance(value, Decimal) or not value.is_finite() or value < 0
                                  or fen(value) != value):
            raise ValueError(f"{name} must be a non-negative Decimal in whole fen, not {value!r}")


def split_line(line: LineIn) -> LineOut:
    """CONTRACT.md's line rule: each part rounded half-up to the fen on its own line."""
    level = CLASS_C if line.chrg_item_lv is None else line.chrg_item_lv
    amount = fen(line.qty * line.price)
    fulamt = overlmt = preselfpay = ZERO
    if level == CLASS_C or line.acct_pay_forbidden:
        fulamt = amount
    else:
        if line.pric_uplmt_amt is not None:
            overlmt = fen(max(ZERO, line.price - line.pric_uplmt_amt) * line.qty)
        if level == CLASS_B:
            preselfpay = fen((amount - overlmt) * line.selfpay_prop)
    return LineOut(item_code=line.item_code, chrg_item_lv=level, in_catalog=line.chrg_item_lv is not None,
                   amount=amount, fulamt_ownpay_amt=fulamt, overlmt_selfpay=overlmt, preselfpay_amt=preselfpay,
                   inscp_scp_amt=amount - fulamt - overlmt - preselfpay, acct_pay_forbidden=line.acct_pay_forbidden)


def _debit(balances: dict[str, dict[str, Decimal]], paid: dict[tuple[str, str], Decimal], payer: str, pocket: str,
           amount: Decimal) -> None:
    if amount > 0:
        balances[payer][pocket] -= amount
        paid[(payer, pocket)] = paid.get((payer, pocket), ZERO) + amount


def _draw(balances: dict[str, dict[str, Decimal]], paid: dict[tuple[str, str], Decimal], payer: str,
          pockets: Sequence[str], owed: Decimal) -> Decimal:
    """Take up to `owed` from `payer`'s `pockets` in order; returns what was taken."""
    taken = ZERO
    for pocket in pockets:
        amount = min(balances[payer][pocket], owed - taken)
        _debit(balances, paid, payer, pocket, amount)
        taken += max(ZERO, amount)
    return taken


def _total(pockets: dict[str, Decimal]) -> Decimal:
    return pockets[CURRENT] + pockets[HISTORICAL]


def _no_fund_label(terms: BenefitTerms | None, consequence: Promise) -> Promise:
    if terms is None:
        return _explain(_("the patient has no employee insurance here: %(consequence)s"), consequence=consequence)
    return _explain(_("the policy pays this visit from the accounts and cash only: %(consequence)s"),
                    consequence=consequence)


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _render(message: Promise, values: dict[str, Any]) -> str:
    shown = {k: f"{v:.2f}" if isinstance(v, Decimal) else str(v) for k, v in values.items()}
    return str(message) % shown if shown else str(message)


_render_lazy = lazy(_render, str)


def _explain(message: Promise, **values: Any) -> Promise:
    """`message % values`, translated when it is shown, not when the settlement is computed (gettext_lazy's own
    `%` would translate at once). Decimal values show with two places; lazy values are translated too."""
    return _render_lazy(message, values)


# (language, message id) -> the message in that language. The catalogs do not change while a process runs.
_texts: dict[tuple[str, str], str] = {}


def _lazy_args(value: object) -> tuple | None:
    """The arguments a lazy value (django.utils.functional.lazy) was made with: a gettext_lazy message's id, an
    `_explain` label's message and values."""
    args = getattr(value, "_args", None)
    return args if isinstance(value, Promise) and isinstance(args, tuple) else None


def label_text(label: object, language: str) -> str:
    """`str(label)` with `language` active, for a label or warning of this module (`_explain` or gettext_lazy):
    what the explanation stores in each language for every settlement. Each message's translation is looked up
    once a process and language, not activated and looked up per label (16 labels a settlement)."""
    args = _lazy_args(label)
    if args is not None and len(args) == 2 and isinstance(args[1], dict):  # `_explain`'s (message, values)
        message, values = args
        shown = {k: f"{v:.2f}" if isinstance(v, Decimal) else label_text(v, language) for k, v in values.items()}
        text = label_text(message, language)
        return text % shown if shown else text
    if args is not None and len(args) == 1 and isinstance(args[0], str):  # gettext_lazy's message id
        key = (language, args[0])
        text = _texts.get(key)
        if text is None:
            with translation.override(language):
                text = _texts[key] = str(label)
        return text
    if isinstance(label, Promise):
        with translation.override(language):
            return str(label)
    return str(label)


def _check(*, lines: Sequence[LineIn], terms: BenefitTerms | None, accumulator: Accumulator,
           own: Pockets | None, mulaid_payers: Sequence[MulaidPayer]) -> None:
    """Refuse inputs that would break the invariants rather than settle them wrongly: one quick test of everything
    (a replay checks a million settlements), and where it fails, each input in turn for the message."""
    ok = (all(line.chrg_item_lv in _LEVELS and _non_negative(line.qty) and _non_negative(line.price)
              and _share(line.selfpay_prop) and (line.pric_uplmt_amt is None or _non_negative(line.pric_uplmt_amt))
              for line in lines)
          and (terms is None or not terms.fund_pays
               or (_is_money(terms.deductible) and _share(terms.rate) and _share(terms.supplementary_share_above_cap)
                   and (terms.annual_cap is None or _is_money(terms.annual_cap))))
          and _is_money(accumulator.dedc_used) and _is_money(accumulator.hifp_paid)
          and (own is None or (_is_money(own.current) and _is_money(own.historical))))
    if ok and not mulaid_payers:
        return
    _check_each(lines=lines, terms=terms, accumulator=accumulator, own=own, mulaid_payers=mulaid_payers)


def _check_each(*, lines: Sequence[LineIn], terms: BenefitTerms | None, accumulator: Accumulator,
                own: Pockets | None, mulaid_payers: Sequence[MulaidPayer]) -> None:
    """_check's inputs one by one: the first refused raises, naming it."""

    def money(name: str, value: Decimal) -> None:
        if not _is_money(value):
            raise ValueError(f"{name} must be a non-negative Decimal in whole fen, not {value!r}")

    def share(name: str, value: Decimal) -> None:
        if not _share(value):
            raise ValueError(f"{name} must be a Decimal from 0 to 1, not {value!r}")

    def non_negative(name: str, value: Decimal) -> None:
        if not _non_negative(value):
            raise ValueError(f"{name} must be a non-negative Decimal, not {value!r}")

    for line in lines:
        if line.chrg_item_lv not in _LEVELS:
            raise ValueError(f"line {line.item_code}: unknown chrg_item_lv {line.chrg_item_lv!r}")
        non_negative(f"line {line.item_code} qty", line.qty)
        non_negative(f"line {line.item_code} price", line.price)
        share(f"line {line.item_code} selfpay_prop", line.selfpay_prop)
        if line.pric_uplmt_amt is not None:
            non_negative(f"line {line.item_code} pric_uplmt_amt", line.pric_uplmt_amt)
    if terms is not None and terms.fund_pays:
        money("terms.deductible", terms.deductible)
        share("terms.rate", terms.rate)
        share("terms.supplementary_share_above_cap", terms.supplementary_share_above_cap)
        if terms.annual_cap is not None:
            money("terms.annual_cap", terms.annual_cap)
    money("accumulator.dedc_used", accumulator.dedc_used)
    money("accumulator.hifp_paid", accumulator.hifp_paid)
    accounts = ([(OWN, own)] if own is not None else []) + [(p.psn_no, p.pockets) for p in mulaid_payers]
    for name, pockets in accounts:
        money(f"{name} current pocket", pockets.current)
        money(f"{name} historical pocket", pockets.historical)
    seen = {OWN}
    for payer in mulaid_payers:
        if payer.psn_no in seen:
            raise ValueError(f"mutual-aid payer {payer.psn_no!r} listed twice or named like the patient")
        seen.add(payer.psn_no)
        if len(set(payer.allowed)) != len(payer.allowed) or not set(payer.allowed) <= set(POCKETS):
            raise ValueError(f"mutual-aid payer {payer.psn_no}: allowed pockets {payer.allowed!r}")


_LEVELS = frozenset((None, CLASS_A, CLASS_B, CLASS_C))


def _is_money(value: object) -> bool:
    """A non-negative Decimal in whole fen."""
    return isinstance(value, Decimal) and value.is_finite() and value >= 0 and value.quantize(FEN) == value


def _non_negative(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite() and value >= 0


def _share(value: object) -> bool:
    """A Decimal from 0 to 1."""
    return isinstance(value, Decimal) and value.is_finite() and 0 <= value <= 1
