"""Settlements adjudicated again with the pure engine (claims.engine.adjudicate), from what was stored when they were
made: the bill's lines with the catalog terms they were settled with, the enrollee's person type on the service
date, the facility's level, and the accounts' pockets as the ledger held them at that moment. Nothing is written.

The replay follows the order in which the settlements were made (a settlement reversed later counted until its
reversal, as it did), so each enrollee's deductible and caps accumulate over the benefit year as they would have
under the rules replayed: for visits settled on their day that is the service-date order; a backdated visit took
the counters as they stood when it was settled, and so does its replay. With the version each settlement was made
under, the replay reproduces every amount to the fen (the nightly audit's method); with another version (a draft),
it says what that version would have paid.

Accounts: a pocket's balance before a settlement is its ledger balance at the time (the `balance_after` of its last
entry before the settlement), less what the replayed settlements drew from it beyond what the real ones drew (or
plus what they drew less), so what the fund no longer pays falls to the accounts while they hold money, then to
cash. Two approximations, both invisible when the replay reproduces the real settlements: a rollover (Shanghai's
current-year pocket into the historical one) does not carry such a difference from one pocket to the other, and a
request that named one relative (`mulaid_psn_no`, not kept on the settlement) is replayed with every relative linked
on the day, in the links' order.
"""

from __future__ import annotations

import bisect
import datetime
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, Func, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL

from accounts.models import RETIRED_PSN_TYPES, Enrollment, EntryKind, FamilyLink, InsuType, LedgerEntry, PersonalAccount
from claims import engine
from claims.errors import ClaimError
from claims.models import CrossRegion, Settlement, SettlementLine, SettlementStatus
from core.money import ZERO
from policies.cache import policy_version_resolved
from policies.errors import PolicyError
from policies.models import BenefitRule, PolicyVersion
from policies.selectors import (
    BenefitTerms,
    SepPayTerms,
    benefit_rule_for,
    clearing_group_of,
    policy_version_full,
    sep_pay_terms_for,
)

CHUNK = 5000
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def ids_in(ids: Iterable[int]) -> Sequence[int] | RawSQL:
    """A `pk__in` value for many ids: on PostgreSQL one array parameter, written as the array's text (a statement
    with thousands of parameters, or an array the driver dumps element by element, costs more to build than to
    run), elsewhere the list."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", ("{" + ",".join(map(str, ids)) + "}",))
    return list(ids)


class Micros(Func):
    """An instant as whole microseconds since the epoch: exact, and cheaper to read than a timestamp (the replay
    only compares instants). SQLite stores `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC."""

    output_field = BigIntegerField()
    template = ("(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) * 1000000"
                " + CAST(substr(%(expressions)s || '.000000', 21, 6) AS INTEGER))")

    def as_postgresql(self, compiler, connection, **extra):  # noqa: ANN001, ANN003, ANN201
        return self.as_sql(compiler, connection, template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint",
                           **extra)


def micros_instant(micros: int) -> datetime.datetime:
    return EPOCH + datetime.timedelta(microseconds=micros)
SETTLEMENT_DEBITS = (EntryKind.SETTLEMENT, EntryKind.MULAID_SETTLEMENT)
POCKETS = engine.POCKETS


class Amounts(NamedTuple):
    """Who paid what of one settlement (CONTRACT.md's field names); `sep_hifp_pay` is the part of `hifp_pay` for
    separately paid drugs. `cap_reached` / `dedc_met`: this settlement took the enrollee's counter of its bucket to
    the annual cap / through the deductible. (Named tuples, as Replayed: a replay makes two a settlement.)"""

    fund_pay_sumamt: Decimal
    hifp_pay: Decimal
    oth_pay: Decimal
    sep_hifp_pay: Decimal
    act_pay_dedc: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal
    cap_reached: bool = False
    dedc_met: bool = False

    MONEY = ("fund_pay_sumamt", "hifp_pay", "oth_pay", "sep_hifp_pay", "act_pay_dedc", "acct_pay",
             "acct_mulaid_pay", "psn_cash_pay")

    def money(self) -> tuple[Decimal, ...]:
        """The amounts in MONEY's order (whatif.models.AMOUNTS)."""
        return self[:8]


class Replayed(NamedTuple):
    """One settlement, as it was (`actual`) and as the replayed rules settle it (`whatif`). `refused`: the error
    code under which the replayed version would have refused the visit (then no fund pays it: accounts and cash)."""

    settlement_id: int
    setl_id: str
    person_id: int
    facility_id: int
    setl_date: datetime.date
    hosp_lv: str
    med_type_group: str
    enrollee_class: str
    medfee_sumamt: Decimal
    actual: Amounts
    whatif: Amounts
    refused: str = ""

    @property
    def differs(self) -> bool:
        return self.actual.money() != self.whatif.money()


@dataclass
class _Row:
    """A stored settlement, as the replay reads it."""

    id: int
    setl_id: str
    person_id: int
    facility_id: int
    med_type: str
    setl_date: datetime.date
    dise_codg: str
    ext_rx: bool
    acct_used_flag: str
    psn_type: str
    hosp_lv: str
    status: str
    created_at: int  # microseconds since the epoch (Micros)
    reversed_at: int | None
    policy_version_id: int
    benefit_rule_id: int | None
    year_start: datetime.date | None
    bucket: str
    sep_bucket: str
    cross_region: str
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    hifp_pay: Decimal
    oth_pay: Decimal
    sep_hifp_pay: Decimal
    act_pay_dedc: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal
    lines: list[engine.LineIn] = field(default_factory=list)


_ROW_FIELDS = [f for f in _Row.__dataclass_fields__ if f != "lines"]


@dataclass
class _Link:
    holder_id: int
    holder_psn_no: str
    begndate: datetime.date
    enddate: datetime.date | None

    def active_on(self, day: datetime.date) -> bool:
        return self.begndate <= day and (self.enddate is None or day <= self.enddate)


class _Timelines:
    """The balances of some accounts' pockets over a stretch of time, read from the ledger in two statements: the
    balance before the stretch, and every entry within it."""

    def __init__(self, account_ids: set[int], start: int, end: int) -> None:
        """`start`, `end`: microseconds since the epoch (Micros), both included."""
        self.before: dict[tuple[int, str], Decimal] = {}
        self.times: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.balances: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
        if not account_ids:
            return
        ids = sorted(account_ids)
        start_at, end_at = micros_instant(start), micros_instant(end)
        last = {pocket: Subquery(LedgerEntry.objects.filter(account_id=OuterRef("pk"), pocket=pocket,
                                                            created_at__lt=start_at)
                                 .order_by("-id").values("balance_after")[:1]) for pocket in POCKETS}
        for i in range(0, len(ids), CHUNK):
            if connection.vendor == "postgresql":
                # One pass over the accounts' entries before the stretch, the last of each pocket kept (a lookup
                # per account and pocket costs several times more).
                for pk, pocket, balance in (
                        LedgerEntry.objects.filter(account_id__in=ids_in(ids[i:i + CHUNK]), created_at__lt=start_at)
                        .order_by("account_id", "pocket", "-id").distinct("account_id", "pocket")
                        .values_list("account_id", "pocket", "balance_after")):
                    self.before[(pk, pocket)] = balance
            else:
                for pk, *balances in (PersonalAccount.objects.filter(pk__in=ids_in(ids[i:i + CHUNK]))
                                      .annotate(**last).values_list("pk", *POCKETS)):
                    for pocket, balance in zip(POCKETS, balances, strict=True):
                        self.before[(pk, pocket)] = balance if balance is not None else ZERO
            for account_id, pocket, at, balance in (
                    LedgerEntry.objects.filter(account_id__in=ids_in(ids[i:i + CHUNK]), created_at__gte=start_at,
                                               created_at__lte=end_at)
                    .order_by("id").values_list("account_id", "pocket", Micros("created_at"), "balance_after")):
                self.times[(account_id, pocket)].append(at)
                self.balances[(account_id, pocket)].append(balance)

    def at(self, account_id: int, pocket: str, moment: int) -> Decimal:
        """The pocket's balance just before `moment`."""
        key = (account_id, pocket)
        i = bisect.bisect_left(self.times.get(key, ()), moment)
        return self.balances[key][i - 1] if i else self.before.get(key, ZERO)


class Replay:
    """One replay over a set of settlements, in the order they were made.

    `version`: the rules to settle them under; None: each under the version it was made under (an audit).
    `region_admdvs`: the region whose policy `version` stands for (relatives insured there draw on their accounts
    under its mutual-aid rule; relatives elsewhere under their own region's version in force)."""

    def __init__(self, *, version: PolicyVersion | None, region_admdvs: str = "") -> None:
        self.version = policy_version_full(version.pk) if version is not None else None
        self.region_admdvs = region_admdvs
        self.counters: dict[tuple[int, datetime.date | None, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        self.actual_counters: dict[tuple[int, datetime.date | None, str], list[Decimal]] = defaultdict(
            lambda: [ZERO, ZERO])
        self.extra: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
        self._reversals: list[tuple[datetime.datetime, int]] = []
        self._undo: dict[int, tuple[list[tuple[tuple, Decimal, Decimal]], list[tuple[tuple, Decimal, Decimal]],
                                    dict[tuple[int, str], Decimal]]] = {}
        self._versions: dict[int, PolicyVersion] = {}
        self._terms: dict[tuple, BenefitTerms | PolicyError] = {}
        self._rules: dict[int, tuple[Decimal, Decimal | None]] = {}
        self._holder_pockets: dict[tuple[str, datetime.date], tuple[str, ...]] = {}
        self._options: dict[int, engine.EngineOptions] = {}
        self._sep_terms: dict[int, SepPayTerms | None] = {}
        self._year_starts: dict[tuple[int, datetime.date], datetime.date] = {}
        self._groups: dict[tuple[str, bool], str] = {}

    # --- versions and terms -------------------------------------------------------------------------------------

    def _version_of(self, row: _Row) -> PolicyVersion:
        if self.version is not None:
            return self.version
        if row.policy_version_id not in self._versions:
            self._versions[row.policy_version_id] = policy_version_full(row.policy_version_id)
        return self._versions[row.policy_version_id]

    def _terms_for(self, version: PolicyVersion, row: _Row, retire_date: datetime.date | None) -> BenefitTerms:
        key = (version.pk, row.psn_type, retire_date, row.hosp_lv, row.med_type, row.ext_rx, row.dise_codg)
        if key not in self._terms:
            try:
                self._terms[key] = benefit_rule_for(version=version, psn_type=row.psn_type, retire_date=retire_date,
                                                    facility_level=row.hosp_lv, med_type=row.med_type,
                                                    ext_rx=row.ext_rx, dise_code=row.dise_codg)
            except PolicyError as e:
                self._terms[key] = e
        found = self._terms[key]
        if isinstance(found, PolicyError):
            raise found
        return found

    def _holder_allowed(self, admdvs: str, day: datetime.date) -> tuple[str, ...]:
        """The pockets a relative insured in `admdvs` may pay from on `day` (CONTRACT.md: the holder's region's
        version; the replayed version for the replayed region)."""
        if not admdvs:
            return ()
        if self.version is not None and admdvs == self.region_admdvs:
            return tuple(self.version.mulaid_pockets)
        key = (admdvs, day)
        if key not in self._holder_pockets:
            try:
                self._holder_pockets[key] = tuple(policy_version_resolved(admdvs, day).mulaid_pockets)
            except PolicyError:
                self._holder_pockets[key] = ()
        return self._holder_pockets[key]

    def _actual_limits(self, rule_id: int | None) -> tuple[Decimal, Decimal | None]:
        if rule_id is None:
            return ZERO, None
        if rule_id not in self._rules:
            rule = BenefitRule.objects.only("deductible", "annual_cap").get(pk=rule_id)
            self._rules[rule_id] = (rule.deductible, rule.annual_cap)
        return self._rules[rule_id]

    # --- the run ------------------------------------------------------------------------------------------------

    def run(self, ids: Sequence[int], report: Callable[[int], bool],
            progress: Callable[[int], None] | None = None) -> Iterator[Replayed]:
        """Replay the settlements `ids` (in the order they were made: `settlements_in_order`) and yield those for
        which `report(id)` is true. `progress(n)` is called after each chunk with the number replayed so far."""
        for start in range(0, len(ids), CHUNK):
            chunk = _load(ids[start:start + CHUNK])
            yield from self._chunk(chunk, report)
            if progress is not None:
                progress(min(start + CHUNK, len(ids)))

    def _chunk(self, rows: list[_Row], report: Callable[[int], bool]) -> Iterator[Replayed]:
        if not rows:
            return
        person_ids = {r.person_id for r in rows}
        enrollments = dict(Enrollment.objects.filter(person_id__in=ids_in(list(person_ids)), insutype=InsuType.EMPLOYEE)
                           .values_list("person_id", "retire_date"))
        links: dict[int, list[_Link]] = defaultdict(list)
        for relative_id, holder_id, psn_no, begndate, enddate in (
                FamilyLink.objects.filter(relative_id__in=ids_in(list(person_ids))).order_by("order", "id")
                .values_list("relative_id", "holder_id", "holder__psn_no", "begndate", "enddate")):
            links[relative_id].append(_Link(holder_id, psn_no, begndate, enddate))
        holder_ids = {link.holder_id for ls in links.values() for link in ls}
        holder_region = dict(Enrollment.objects.filter(person_id__in=ids_in(list(holder_ids)),
                                                       insutype=InsuType.EMPLOYEE)
                             .values_list("person_id", "region__admdvs"))
        account_of = dict(PersonalAccount.objects.filter(person_id__in=ids_in(list(person_ids | holder_ids)))
                          .values_list("person_id", "pk"))
        timelines = _Timelines(set(account_of.values()), rows[0].created_at, rows[-1].created_at)
        drawn: dict[str, dict[tuple[int, str], Decimal]] = defaultdict(dict)
        setl_ids = Settlement.objects.filter(pk__in=ids_in(r.id for r in rows)).values("setl_id")
        for setl_id, account_id, pocket, amount in (
                LedgerEntry.objects.filter(ref_type="settlement", ref_id__in=Subquery(setl_ids),
                                           kind__in=SETTLEMENT_DEBITS).values_list("ref_id", "account_id", "pocket",
                                                                                   "amount")):
            key = (account_id, pocket)
            drawn[setl_id][key] = drawn[setl_id].get(key, ZERO) - amount
        settled = SettlementStatus.SETTLED.value
        for row in rows:
            while self._reversals and self._reversals[0][0] < row.created_at:
                self._reverse(heapq.heappop(self._reversals)[1])
            result = self._one(row, retire_date=enrollments.get(row.person_id), links=links.get(row.person_id, []),
                               holder_region=holder_region, account_of=account_of, timelines=timelines,
                               drawn=drawn.get(row.setl_id, {}))
            if row.reversed_at is not None:
                heapq.heappush(self._reversals, (row.reversed_at, row.id))
            if row.status == settled and report(row.id):
                yield result

    def _reverse(self, settlement_id: int) -> None:
        counters, actual_counters, extra = self._undo.pop(settlement_id)
        for key, dedc, hifp in counters:
            self.counters[key][0] -= dedc
            self.counters[key][1] -= hifp
        for key, dedc, hifp in actual_counters:
            self.actual_counters[key][0] -= dedc
            self.actual_counters[key][1] -= hifp
        for key, amount in extra.items():
            self.extra[key] -= amount

    def _one(self, row: _Row, *, retire_date: datetime.date | None, links: list[_Link],
             holder_region: dict[int, str], account_of: dict[int, int], timelines: _Timelines,
             drawn: dict[tuple[int, str], Decimal]) -> Replayed:
        version = self._version_of(row)
        day = row.setl_date
        refused = ""
        retired = row.psn_type in RETIRED_PSN_TYPES
        try:
            terms = self._terms_for(version, row, retire_date if retired else None)
        except PolicyError as e:
            refused = e.err_code
            terms = BenefitTerms(version_code=version.code, fund_pays=False, facility_level=row.hosp_lv)
        # An unfiled visit in another region (as it was settled): the replayed version refuses it or lowers its rates.
        rate_cut = ZERO
        if row.cross_region == CrossRegion.UNFILED and terms.fund_pays:
            cut = version.unfiled_rate_cut
            if cut is None:
                refused = ClaimError.CROSS_REGION_NOT_FILED
                terms = BenefitTerms(version_code=version.code, fund_pays=False, facility_level=row.hosp_lv)
            else:
                rate_cut = cut
        version_id = version.pk
        options = self._options.get(version_id)
        if options is None:
            options = self._options[version_id] = engine.EngineOptions.of(version)
            self._sep_terms[version_id] = sep_pay_terms_for(version)
        sep_terms: SepPayTerms | None = None
        if terms.fund_pays and any(line.sep_pay for line in row.lines):
            sep_terms = self._sep_terms[version_id]
        year_start = self._year_starts.get((version_id, day))
        if year_start is None:
            year_start = self._year_starts[(version_id, day)] = version.benefit_year_start_for(day)
        bucket = terms.bucket if terms.fund_pays else ""
        sep_bucket = sep_terms.bucket if sep_terms is not None else ""

        def pockets(account_id: int) -> engine.Pockets:
            values = [max(ZERO, timelines.at(account_id, p, row.created_at) - self.extra[(account_id, p)])
                      for p in POCKETS]
            return engine.Pockets(current=values[0], historical=values[1])

        own_account = account_of.get(row.person_id)
        acct_used = row.acct_used_flag == "1"
        own = pockets(own_account) if own_account is not None and acct_used else (
            engine.Pockets() if own_account is not None else None)
        payers = []
        holder_account: dict[str, int] = {}
        if acct_used:
            for link in links:
                if not link.active_on(day):
                    continue
                allowed = self._holder_allowed(holder_region.get(link.holder_id, ""), day)
                account_id = account_of.get(link.holder_id)
                if allowed and account_id is not None and link.holder_psn_no not in holder_account:
                    holder_account[link.holder_psn_no] = account_id
                    payers.append(engine.MulaidPayer(psn_no=link.holder_psn_no, pockets=pockets(account_id),
                                                     allowed=allowed))
        counter = self.counters[(row.person_id, year_start, bucket)]
        sep_counter = self.counters[(row.person_id, year_start, sep_bucket)]
        result = engine.adjudicate(
            lines=row.lines, terms=terms, options=options,
            accumulator=engine.Accumulator(dedc_used=counter[0], hifp_paid=counter[1]) if bucket else
            engine.Accumulator(), own=own, acct_used=acct_used, mulaid_payers=payers, sep_terms=sep_terms,
            sep_accumulator=engine.Accumulator(dedc_used=sep_counter[0], hifp_paid=sep_counter[1]) if sep_bucket
            else engine.Accumulator(), rate_cut=rate_cut, explain=False)

        # The run's counters, and the flags of the deductible met and the cap reached.
        undo_counters = []
        dedc_met = cap_reached = False
        if bucket:
            before_dedc, before_hifp = counter
            counter[0] += result.accumulator_delta.dedc
            counter[1] += result.accumulator_delta.hifp
            undo_counters.append(((row.person_id, year_start, bucket), result.accumulator_delta.dedc,
                                  result.accumulator_delta.hifp))
            dedc_met = terms.deductible > 0 and before_dedc < terms.deductible <= counter[0]
            cap_reached = terms.annual_cap is not None and before_hifp < terms.annual_cap <= counter[1]
        if sep_bucket:
            sep_counter[1] += result.sep_accumulator_delta.hifp
            undo_counters.append(((row.person_id, year_start, sep_bucket), ZERO, result.sep_accumulator_delta.hifp))

        # What really happened to the counters, for the same flags of the real settlement.
        undo_actual = []
        actual_dedc_met = actual_cap_reached = False
        if row.bucket:
            deductible, cap = self._actual_limits(row.benefit_rule_id)
            real = self.actual_counters[(row.person_id, row.year_start, row.bucket)]
            before_dedc, before_hifp = real
            real[0] += row.act_pay_dedc
            real[1] += row.hifp_pay - row.sep_hifp_pay
            undo_actual.append(((row.person_id, row.year_start, row.bucket), row.act_pay_dedc,
                                row.hifp_pay - row.sep_hifp_pay))
            actual_dedc_met = deductible > 0 and before_dedc < deductible <= real[0]
            actual_cap_reached = cap is not None and before_hifp < cap <= real[1]

        # What the replay drew from each pocket beyond what the real settlement drew.
        extra: dict[tuple[int, str], Decimal] = dict(drawn)
        extra = {key: -amount for key, amount in extra.items()}
        for debit in result.debits:
            account_id = own_account if debit.payer == engine.OWN else holder_account[debit.payer]
            key = (account_id, debit.pocket)
            extra[key] = extra.get(key, ZERO) + debit.amount
        extra = {key: amount for key, amount in extra.items() if amount}
        for key, amount in extra.items():
            self.extra[key] += amount
        if row.reversed_at is not None:
            self._undo[row.id] = (undo_counters, undo_actual, extra)

        group = self._groups.get((row.med_type, row.ext_rx))
        if group is None:
            group = self._groups[(row.med_type, row.ext_rx)] = clearing_group_of(row.med_type, row.ext_rx)
        return Replayed(
            settlement_id=row.id, setl_id=row.setl_id, person_id=row.person_id, facility_id=row.facility_id,
            setl_date=day, hosp_lv=row.hosp_lv, med_type_group=group,
            enrollee_class=terms.enrollee_class, medfee_sumamt=row.medfee_sumamt, refused=refused,
            actual=Amounts(fund_pay_sumamt=row.fund_pay_sumamt, hifp_pay=row.hifp_pay, oth_pay=row.oth_pay,
                           sep_hifp_pay=row.sep_hifp_pay, act_pay_dedc=row.act_pay_dedc, acct_pay=row.acct_pay,
                           acct_mulaid_pay=row.acct_mulaid_pay, psn_cash_pay=row.psn_cash_pay,
                           cap_reached=actual_cap_reached, dedc_met=actual_dedc_met),
            whatif=Amounts(fund_pay_sumamt=result.fund_pay_sumamt, hifp_pay=result.hifp_pay, oth_pay=result.oth_pay,
                           sep_hifp_pay=result.sep_hifp_pay, act_pay_dedc=result.act_pay_dedc,
                           acct_pay=result.acct_pay, acct_mulaid_pay=result.acct_mulaid_pay,
                           psn_cash_pay=result.psn_cash_pay, cap_reached=cap_reached, dedc_met=dedc_met))


def _load(ids: Sequence[int]) -> list[_Row]:
    """The settlements `ids` with their lines, in the order they were made (two statements)."""
    fields = [Micros(name) if name in ("created_at", "reversed_at") else name for name in _ROW_FIELDS]
    rows = [_Row(*values) for values in Settlement.objects.filter(pk__in=ids_in(ids)).order_by("created_at", "id")
            .values_list(*fields)]
    by_id = {row.id: row for row in rows}
    for (settlement_id, item_code, item_id, level, selfpay_prop, uplmt, sep_pay, qty, price,
         forbidden) in (SettlementLine.objects.filter(settlement_id__in=ids_in(ids)).order_by("settlement_id", "id")
                        .values_list("settlement_id", "item_code", "item_id", "chrg_item_lv", "selfpay_prop",
                                     "pric_uplmt_amt", "sep_pay", "qty", "price", "acct_pay_forbidden")):
        by_id[settlement_id].lines.append(engine.LineIn(
            item_code=item_code, qty=qty, price=price, chrg_item_lv=level if item_id is not None else None,
            selfpay_prop=selfpay_prop, pric_uplmt_amt=uplmt, acct_pay_forbidden=forbidden, sep_pay=sep_pay))
    return rows


def settlements_in_order(filters: Q, *, ordered: bool = True) -> list[int]:
    """The ids of the settlements matching `filters`, in the order they were made (`ordered` False: in no
    particular order)."""
    found = Settlement.objects.filter(filters)
    return list((found.order_by("created_at", "id") if ordered else found.order_by()).values_list("pk", flat=True))


def families_apart(ids: list[int], parts: int) -> list[list[int]]:
    """`ids` (in the order they were made) split into `parts` lists, each keeping that order, such that the
    settlements of a family (persons linked as holder and relative, however far) fall in one part: a replay never
    reads another family's counters or accounts, so the parts replay apart exactly as together."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for holder, relative in FamilyLink.objects.values_list("holder_id", "relative_id"):
        a, b = find(holder), find(relative)
        if a != b:
            parent[max(a, b)] = min(a, b)
    out: list[list[int]] = [[] for _ in range(parts)]
    for i in range(0, len(ids), 50_000):
        chunk = ids[i:i + 50_000]
        person_of = dict(Settlement.objects.filter(pk__in=ids_in(chunk)).values_list("pk", "person_id"))
        for pk in chunk:
            out[find(person_of[pk]) % parts].append(pk)
    return out


def replay_window(*, region_id: int, insutype: str, year_start: datetime.date, end: datetime.date,
                  backdated: bool = True, ordered: bool = True) -> list[int]:
    """Every settlement of a region's enrollees (of `insutype`) that could have moved the counters of a settlement
    with a service date from `year_start` to `end`: those dated from `year_start` to `end`, and the backdated ones
    dated up to SETTLEMENT_BACKDATE_DAYS later (they may have been settled first). Reversed ones too (they
    counted until their reversal). `backdated` False: those dated from `year_start` to `end` only."""
    later = end + datetime.timedelta(days=settings.SETTLEMENT_BACKDATE_DAYS + 1) if backdated else end
    return settlements_in_order(Q(policy_version__region_id=region_id, policy_version__insutype=insutype,
                                  setl_date__gte=year_start, setl_date__lte=later), ordered=ordered)


def settlements_readjudicate(*, settlement_ids: Iterable[int]) -> list[Replayed]:
    """The given settlements adjudicated again under the version each was made under, from their enrollees'
    benefit years replayed as they happened: every amount equals the stored one unless something changed since
    (a rule of a published version, a stored amount, the engine). The nightly audit compares them (`differs`)."""
    wanted = set(settlement_ids)
    if not wanted:
        return []
    stored = list(Settlement.objects.filter(pk__in=wanted).values_list("person_id", "year_start", "setl_date",
                                                                         "created_at"))
    if not stored:
        return []
    persons = {p for p, _, _, _ in stored}
    start = min(y or d for _, y, d, _ in stored)
    # Everything made before the last of them counts, whatever its service date: a bill dated later in the year
    # but settled (and perhaps reversed) before one of them moved the counters it was settled against.
    last_made = max(c for _, _, _, c in stored)
    # The whole history of these enrollees in the window, and of everybody whose accounts pay for them.
    relatives = set(FamilyLink.objects.filter(Q(relative_id__in=persons) | Q(holder_id__in=persons))
                    .values_list("holder_id", "relative_id").distinct())
    family = persons | {p for pair in relatives for p in pair}
    ids = settlements_in_order(Q(person_id__in=family, setl_date__gte=start, created_at__lte=last_made)
                               & Q(policy_version__isnull=False))
    return list(Replay(version=None).run(ids, report=wanted.__contains__))

