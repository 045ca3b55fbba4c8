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
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, BooleanField, Func, OuterRef, Q, QuerySet, Subquery
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
    benefit_rule_for,
    clearing_group_of,
    policy_version_full,
    sep_pay_terms_for,
)

CHUNK = 5000
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def any_of(column: str, values: Iterable[int] | Iterable[str]) -> Q | RawSQL:
    """A filter: `column` (a bigint or text column) is one of `values`. On PostgreSQL `column = ANY(array)`, which
    the planner answers with the column's index: `IN (SELECT unnest(array))` of thousands of values was planned as
    a scan of the whole table hashed against them (every ledger entry, person or account read for each chunk of
    5,000 settlements: a replay's cost growing with the square of its size)."""
    values = list(values)
    if connection.vendor != "postgresql":
        return Q(**{f"{column}__in": values})
    if values and isinstance(values[0], str):
        array, kind = _text_array(values), "text"
    else:
        array, kind = "{" + ",".join(map(str, values)) + "}", "bigint"
    return RawSQL(f"{connection.ops.quote_name(column)} = ANY(%s::{kind}[])", (array,), output_field=BooleanField())


def _text_array(values: Iterable[str]) -> str:
    """PostgreSQL's text form of an array of strings (one parameter, not one a value)."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _raw(sql: str, params: Sequence) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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


# A stored settlement as the replay reads it: one tuple, these columns in this order (created_at and reversed_at as
# microseconds since the epoch, Micros); the eight amounts last, in whatif.models.AMOUNTS's order (row[AMOUNTS_AT:]).
_ROW_FIELDS = ("id", "setl_id", "person_id", "facility_id", "med_type", "setl_date", "dise_codg", "ext_rx",
               "acct_used_flag", "psn_type", "hosp_lv", "status", "created_at", "reversed_at", "policy_version_id",
               "benefit_rule_id", "year_start", "bucket", "sep_bucket", "cross_region", "medfee_sumamt",
               *Amounts.MONEY)
AMOUNTS_AT = _ROW_FIELDS.index("fund_pay_sumamt")


@dataclass
class _Link:
    holder_id: int
    holder_psn_no: str
    begndate: datetime.date
    enddate: datetime.date | None

    def active_on(self, day: datetime.date) -> bool:
        return self.begndate <= day and (self.enddate is None or day <= self.enddate)


class _Ledger:
    """The balances of the accounts' pockets as a replay moves forward in time, from the ledger.

    `whole` (a region's run: most accounts take part): the balance of each pocket before the replay's
    first settlement (looked up once an account, when first needed), then every entry in the order made, read
    window by window (each chunk's, from the previous chunk's last settlement to its own last), every account's, so
    that what is known of an account stays current between the chunks that need it: the cost is the ledger's
    entries of the replayed time, read once, not the history of each chunk's accounts again. Otherwise (a few
    families' histories, the audit's): each chunk's accounts only, their balances before the chunk and their
    entries within it."""

    def __init__(self, *, whole: bool) -> None:
        self.whole = whole
        self.state: dict[tuple[int, str], Decimal] = {}  # each pocket's balance at `end`
        self.looked_up: set[int] = set()
        self.start: int | None = None  # microseconds since the epoch (Micros), as `end`
        self.end: int | None = None
        self.before: dict[tuple[int, str], Decimal] = {}  # the window's accounts: balances before their entries
        self.times: dict[tuple[int, str], list[int]] = {}
        self.balances: dict[tuple[int, str], list[Decimal]] = {}

    def advance(self, account_ids: set[int], start: int, end: int) -> None:
        """Read the entries up to `end`, keeping those of `account_ids` apart, so `at` answers for them at any
        moment from `start` (not before the previous `end`) to `end`."""
        if not self.whole:
            self.state, self.looked_up, self.start, self.end = {}, set(), start, None
        elif self.start is None:
            self.start = start
        self._look_up([a for a in account_ids if a not in self.looked_up])
        entries = LedgerEntry.objects.order_by("created_at", "id")
        if not self.whole:
            entries = entries.filter(any_of("account_id", account_ids))
        start_at = micros_instant(self.start)
        entries = (entries.filter(created_at__gte=start_at) if self.end is None
                   else entries.filter(created_at__gt=micros_instant(self.end)))
        state, before, times, balances = self.state, {}, {}, {}
        for account_id, pocket, at, balance in _tuples(
                entries.filter(created_at__lte=micros_instant(end))
                .values_list("account_id", "pocket", Micros("created_at"), "balance_after")):
            key = (account_id, pocket)
            if account_id in account_ids:
                found = times.get(key)
                if found is None:
                    before[key] = state.get(key, ZERO)
                    times[key] = [at]
                    balances[key] = [balance]
                else:
                    found.append(at)
                    balances[key].append(balance)
            state[key] = balance
        self.before, self.times, self.balances, self.end = before, times, balances, end

    def _look_up(self, account_ids: list[int]) -> None:
        """The balances before the replay's start of accounts not seen yet (an entry read since is newer)."""
        start_at = micros_instant(self.start)
        for i in range(0, len(account_ids), CHUNK):
            part = account_ids[i:i + CHUNK]
            if connection.vendor == "postgresql":
                # Each account's entries by its (account, id) index, the last of each pocket kept: a LATERAL join
                # is planned as an index lookup per account (one statement over all the accounts' entries was
                # planned as a scan of the whole ledger).
                found = _raw(f"""SELECT a.id, e.pocket, e.balance_after FROM unnest(%s::bigint[]) AS a(id)
                                 CROSS JOIN LATERAL (SELECT DISTINCT ON (pocket) pocket, balance_after
                                                     FROM {LedgerEntry._meta.db_table}
                                                     WHERE account_id = a.id AND created_at < %s
                                                     ORDER BY pocket, id DESC) e""",
                             ["{" + ",".join(map(str, part)) + "}", start_at])
            else:
                last = {pocket: Subquery(LedgerEntry.objects.filter(account_id=OuterRef("pk"), pocket=pocket,
                                                                    created_at__lt=start_at)
                                         .order_by("-id").values("balance_after")[:1]) for pocket in POCKETS}
                found = [(pk, pocket, balance) for pk, *pockets in
                         PersonalAccount.objects.filter(pk__in=part).annotate(**last).values_list("pk", *POCKETS)
                         for pocket, balance in zip(POCKETS, pockets, strict=True) if balance is not None]
            for account_id, pocket, balance in found:
                self.state.setdefault((account_id, pocket), balance)
        self.looked_up.update(account_ids)

    def at(self, key: tuple[int, str], moment: int) -> Decimal:
        """The pocket's balance just before `moment`."""
        times = self.times.get(key)
        if times is None:
            return self.state.get(key, ZERO)
        i = bisect.bisect_left(times, moment)
        return self.balances[key][i - 1] if i else self.before[key]


class Replay:
    """One replay over a set of settlements, in the order they were made.

    `version`: the rules to settle them under; None: each under the version it was made under (an audit).
    `region_admdvs`: the region whose policy `version` stands for (relatives insured there draw on their accounts
    under its mutual-aid rule; relatives elsewhere under their own region's version in force). `whole`: a replay of
    a region's settlements (many accounts): the ledger of the time replayed is read whole, once, rather than each
    chunk's accounts' history (_Ledger); the balances are the same either way."""

    def __init__(self, *, version: PolicyVersion | None, region_admdvs: str = "", whole: bool = False) -> None:
        self.version = policy_version_full(version.pk) if version is not None else None
        self.region_admdvs = region_admdvs
        # [deductible used, fund paid] of each (person, benefit-year start, bucket): the replay's and the real ones.
        self.counters: dict[tuple[int, datetime.date | None, str], list[Decimal]] = {}
        self.actual_counters: dict[tuple[int, datetime.date | None, str], list[Decimal]] = {}
        self.extra: dict[tuple[int, str], Decimal] = {}
        self._ledger = _Ledger(whole=whole)
        self._reversals: list[tuple[int, int]] = []
        self._undo: dict[int, tuple[list[tuple[tuple, Decimal, Decimal]], list[tuple[tuple, Decimal, Decimal]],
                                    dict[tuple[int, str], Decimal]]] = {}
        self._versions: dict[int, PolicyVersion] = {}
        self._terms: dict[tuple, tuple] = {}
        self._rules: dict[int | None, tuple[Decimal, Decimal | None]] = {None: (ZERO, None)}
        self._holder_pockets: dict[tuple[str, datetime.date], tuple[str, ...]] = {}
        self._year_starts: dict[tuple[int, datetime.date], datetime.date] = {}
        self._groups: dict[tuple[str, bool], str] = {}

    # --- versions and terms -------------------------------------------------------------------------------------

    def _version_of(self, version_id: int) -> PolicyVersion:
        if self.version is not None:
            return self.version
        if version_id not in self._versions:
            self._versions[version_id] = policy_version_full(version_id)
        return self._versions[version_id]

    def _settling(self, key: tuple) -> tuple:
        """What a settlement of `key` (version id, person type, retire date if retired, facility level, medical
        type, external prescription, disease, unfiled visit in another region) settles with: (terms, the error
        code of a refusal or "", rate cut, engine options, separately paid drugs' terms or None, bucket,
        enrollee class, version)."""
        version_id, psn_type, retire_date, hosp_lv, med_type, ext_rx, dise_codg, unfiled = key
        version = self._version_of(version_id)
        refused = ""
        try:
            terms = benefit_rule_for(version=version, psn_type=psn_type, retire_date=retire_date,
                                     facility_level=hosp_lv, med_type=med_type, ext_rx=ext_rx, dise_code=dise_codg)
        except PolicyError as e:
            refused = e.err_code
            terms = BenefitTerms(version_code=version.code, fund_pays=False, facility_level=hosp_lv)
        # An unfiled visit in another region (as it was settled): the replayed version refuses it or lowers its rates.
        rate_cut = ZERO
        if unfiled and terms.fund_pays:
            cut = version.unfiled_rate_cut
            if cut is None:
                refused = ClaimError.CROSS_REGION_NOT_FILED
                terms = BenefitTerms(version_code=version.code, fund_pays=False, facility_level=hosp_lv)
            else:
                rate_cut = cut
        sep_terms = sep_pay_terms_for(version) if terms.fund_pays else None
        return (terms, refused, rate_cut, engine.EngineOptions.of(version), sep_terms,
                terms.bucket if terms.fund_pays else "", terms.enrollee_class, version)

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
        if rule_id not in self._rules:
            rule = BenefitRule.objects.only("deductible", "annual_cap").get(pk=rule_id)
            self._rules[rule_id] = (rule.deductible, rule.annual_cap)
        return self._rules[rule_id]

    def group_of(self, med_type: str, ext_rx: bool) -> str:
        group = self._groups.get((med_type, ext_rx))
        if group is None:
            group = self._groups[(med_type, ext_rx)] = clearing_group_of(med_type, ext_rx)
        return group

    # --- the run ------------------------------------------------------------------------------------------------

    def run(self, ids: Sequence[int], report: Callable[[int], bool],
            progress: Callable[[int], None] | None = None) -> Iterator[Replayed]:
        """Replay the settlements `ids` (in the order they were made: `settlements_in_order`) and yield those for
        which `report(id)` is true. `progress(n)` is called after each chunk with the number replayed so far."""
        for row, enrollee_class, refused, whatif, flags in self.results(ids, report=report, progress=progress):
            actual = row[AMOUNTS_AT:]
            yield Replayed(
                settlement_id=row[0], setl_id=row[1], person_id=row[2], facility_id=row[3], setl_date=row[5],
                hosp_lv=row[10], med_type_group=self.group_of(row[4], row[7]), enrollee_class=enrollee_class,
                medfee_sumamt=row[AMOUNTS_AT - 1], refused=refused,
                actual=Amounts(*actual, dedc_met=bool(flags[0]), cap_reached=bool(flags[1])),
                whatif=Amounts(*whatif, dedc_met=bool(flags[2]), cap_reached=bool(flags[3])))

    def results(self, ids: Sequence[int], *, report: Callable[[int], bool] | None = None,
                period: tuple[datetime.date, datetime.date] | None = None,
                progress: Callable[[int], None] | None = None) -> Iterator[tuple]:
        """`run`'s results as plain tuples, for sums over a million: (the stored row (_ROW_FIELDS), the enrollee
        class replayed, the refusal's error code or "", the eight amounts replayed (whatif.models.AMOUNTS), the flags
        (deductible met, cap reached) paid and replayed as four 0/1). Reported: the settled (not reversed) ones whose
        id `report` accepts, or whose service date is within `period` (first and last day)."""
        for start in range(0, len(ids), CHUNK):
            rows, lines, sep_ids = _load(ids[start:start + CHUNK])
            yield from self._chunk(rows, lines, sep_ids, report, period)
            if progress is not None:
                progress(min(start + CHUNK, len(ids)))

    def _chunk(self, rows: list[tuple], lines: dict[int, list[engine.LineRow]], sep_ids: set[int],
               report: Callable[[int], bool] | None,
               period: tuple[datetime.date, datetime.date] | None) -> Iterator[tuple]:
        if not rows:
            return
        person_ids = list({r[2] for r in rows})
        enrollments = dict(_tuples(Enrollment.objects.filter(any_of("person_id", person_ids),
                                                             insutype=InsuType.EMPLOYEE).order_by()
                                   .values_list("person_id", "retire_date")))
        links: dict[int, list[_Link]] = defaultdict(list)
        for relative_id, holder_id, psn_no, begndate, enddate in _tuples(
                FamilyLink.objects.filter(any_of("relative_id", person_ids)).order_by("order", "id")
                .values_list("relative_id", "holder_id", "holder__psn_no", "begndate", "enddate")):
            links[relative_id].append(_Link(holder_id, psn_no, begndate, enddate))
        holder_ids = {link.holder_id for ls in links.values() for link in ls}
        holder_region = dict(_tuples(Enrollment.objects.filter(any_of("person_id", holder_ids),
                                                               insutype=InsuType.EMPLOYEE).order_by()
                                     .values_list("person_id", "region__admdvs"))) if holder_ids else {}
        account_of = dict(_tuples(PersonalAccount.objects.filter(any_of("person_id", [*person_ids, *holder_ids]))
                                  .order_by().values_list("person_id", "pk")))
        ledger = self._ledger
        ledger.advance(set(account_of.values()), rows[0][12], rows[-1][12])
        # What each real settlement drew from each pocket, negative (as its ledger entries say).
        drawn: dict[str, dict[tuple[int, str], Decimal]] = {}
        if connection.vendor == "postgresql":
            # A LATERAL join: an index lookup a settlement (`ref_id = ANY(…)` was planned as a scan of the whole
            # ledger at a million entries).
            debits = _raw(f"""SELECT e.ref_id, e.account_id, e.pocket, e.amount FROM unnest(%s::text[]) AS r(ref_id)
                              CROSS JOIN LATERAL (SELECT ref_id, account_id, pocket, amount
                                                  FROM {LedgerEntry._meta.db_table}
                                                  WHERE ref_type = 'settlement' AND ref_id = r.ref_id
                                                    AND kind IN (%s, %s)) e""",
                          [_text_array(r[1] for r in rows), *SETTLEMENT_DEBITS])
        else:
            debits = LedgerEntry.objects.filter(ref_id__in=[r[1] for r in rows], ref_type="settlement",
                                                kind__in=SETTLEMENT_DEBITS).values_list("ref_id", "account_id",
                                                                                         "pocket", "amount")
        for setl_id, account_id, pocket, amount in debits:
            mine = drawn.setdefault(setl_id, {})
            mine[(account_id, pocket)] = mine.get((account_id, pocket), ZERO) + amount

        settled = SettlementStatus.SETTLED.value
        unfiled_value = CrossRegion.UNFILED.value
        first_day, last_day = period if period is not None else (None, None)
        reversals, counters, actual_counters, extra_all = (self._reversals, self.counters, self.actual_counters,
                                                           self.extra)
        settling, year_starts, at = self._terms, self._year_starts, ledger.at
        adjudicate, no_lines = engine.adjudicate_amounts, ()
        fixed_version = self.version

        def balance(account_id: int, pocket: str, moment: int) -> Decimal:
            """The pocket's balance before `moment` less what the replay drew from it beyond the real settlements."""
            key = (account_id, pocket)
            value = at(key, moment) - extra_all.get(key, ZERO)
            return value if value > 0 else ZERO

        for row in rows:
            (sid, setl_id, person_id, _facility_id, med_type, day, dise_codg, ext_rx, acct_used_flag, psn_type,
             hosp_lv, status, created, reversed_at, version_id, rule_id, row_year_start, row_bucket, _sep_bucket,
             cross_region) = row[:20]
            while reversals and reversals[0][0] < created:
                self._reverse(heapq.heappop(reversals)[1])
            retire_date = enrollments.get(person_id) if psn_type in RETIRED_PSN_TYPES else None
            key = (fixed_version.pk if fixed_version is not None else version_id, psn_type, retire_date, hosp_lv,
                   med_type, ext_rx, dise_codg, cross_region == unfiled_value)
            found = settling.get(key)
            if found is None:
                found = settling[key] = self._settling(key)
            terms, refused, rate_cut, options, sep_terms, bucket, enrollee_class, version = found
            if sep_terms is not None and sid not in sep_ids:
                sep_terms = None
            year_start = year_starts.get((key[0], day))
            if year_start is None:
                year_start = year_starts[(key[0], day)] = version.benefit_year_start_for(day)

            own_account = account_of.get(person_id)
            acct_used = acct_used_flag == "1"
            if own_account is None:
                own = None
            elif acct_used:
                own = (balance(own_account, engine.CURRENT, created), balance(own_account, engine.HISTORICAL, created))
            else:
                own = (ZERO, ZERO)
            payers = []
            holder_account: dict[str, int] = {}
            if acct_used and person_id in links:
                for link in links[person_id]:
                    if not link.active_on(day):
                        continue
                    allowed = self._holder_allowed(holder_region.get(link.holder_id, ""), day)
                    account_id = account_of.get(link.holder_id)
                    if allowed and account_id is not None and link.holder_psn_no not in holder_account:
                        holder_account[link.holder_psn_no] = account_id
                        payers.append(engine.MulaidPayer(
                            psn_no=link.holder_psn_no, allowed=allowed,
                            pockets=engine.Pockets(current=balance(account_id, engine.CURRENT, created),
                                                   historical=balance(account_id, engine.HISTORICAL, created))))
            counter_key = (person_id, year_start, bucket)
            counter = counters.get(counter_key) if bucket else None
            if bucket and counter is None:
                counter = counters[counter_key] = [ZERO, ZERO]
            sep_key = (person_id, year_start, sep_terms.bucket) if sep_terms is not None else None
            sep_counter = counters.get(sep_key) if sep_key is not None else None
            if sep_key is not None and sep_counter is None:
                sep_counter = counters[sep_key] = [ZERO, ZERO]
            result = adjudicate(
                lines=lines.get(sid, no_lines), terms=terms, options=options,
                dedc_used=counter[0] if counter is not None else ZERO,
                hifp_paid=counter[1] if counter is not None else ZERO, own=own, acct_used=acct_used,
                mulaid_payers=payers, sep_terms=sep_terms,
                sep_hifp_paid=sep_counter[1] if sep_counter is not None else ZERO, rate_cut=rate_cut)

            # The run's counters, and the flags of the deductible met and the cap reached.
            undo_counters = []
            dedc_met = cap_reached = 0
            if counter is not None:
                before_dedc, before_hifp = counter
                counter[0] = before_dedc + result.dedc
                counter[1] = before_hifp + result.hifp
                if reversed_at is not None:
                    undo_counters.append((counter_key, result.dedc, result.hifp))
                deductible, cap = terms.deductible, terms.annual_cap
                dedc_met = deductible > 0 and before_dedc < deductible <= counter[0]
                cap_reached = cap is not None and before_hifp < cap <= counter[1]
            if sep_counter is not None:
                sep_counter[1] += result.sep_hifp
                if reversed_at is not None:
                    undo_counters.append((sep_key, ZERO, result.sep_hifp))

            # What really happened to the counters, for the same flags of the real settlement.
            undo_actual = []
            actual_dedc_met = actual_cap_reached = 0
            if row_bucket:
                deductible, cap = self._actual_limits(rule_id)
                real_key = (person_id, row_year_start, row_bucket)
                real = actual_counters.get(real_key)
                if real is None:
                    real = actual_counters[real_key] = [ZERO, ZERO]
                before_dedc, before_hifp = real
                act_pay_dedc, hifp_paid = row[AMOUNTS_AT + 4], row[AMOUNTS_AT + 1] - row[AMOUNTS_AT + 3]
                real[0] = before_dedc + act_pay_dedc
                real[1] = before_hifp + hifp_paid
                if reversed_at is not None:
                    undo_actual.append((real_key, act_pay_dedc, hifp_paid))
                actual_dedc_met = deductible > 0 and before_dedc < deductible <= real[0]
                actual_cap_reached = cap is not None and before_hifp < cap <= real[1]

            # What the replay drew from each pocket beyond what the real settlement drew.
            extra: dict[tuple[int, str], Decimal] = {}
            real_drawn = drawn.get(setl_id)
            if real_drawn is not None or result.debits:
                extra = dict(real_drawn) if real_drawn is not None else {}
                for payer, pocket, amount in result.debits:
                    key = (own_account if payer == engine.OWN else holder_account[payer], pocket)
                    extra[key] = extra.get(key, ZERO) + amount
                extra = {key: amount for key, amount in extra.items() if amount}
                for key, amount in extra.items():
                    extra_all[key] = extra_all.get(key, ZERO) + amount
            if reversed_at is not None:
                self._undo[sid] = (undo_counters, undo_actual, extra)
                heapq.heappush(reversals, (reversed_at, sid))
            if status == settled and (day >= first_day and day <= last_day if period is not None else report(sid)):
                yield (row, enrollee_class, refused, result[:8],
                       (actual_dedc_met, actual_cap_reached, dedc_met, cap_reached))

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


def _tuples(queryset: QuerySet) -> list[tuple]:
    """A values_list queryset's rows. On PostgreSQL its SQL run on a plain cursor: the driver's values (Decimal,
    date, int) as they come, without the ORM's per-row converters (none of these columns has one there)."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _load(ids: Sequence[int]) -> tuple[list[tuple], dict[int, list[engine.LineRow]], set[int]]:
    """The settlements `ids` in the order they were made (_ROW_FIELDS), the lines of each, and which of them have a
    separately paid drug (two statements)."""
    fields = [Micros(name) if name in ("created_at", "reversed_at") else name for name in _ROW_FIELDS]
    rows = _tuples(Settlement.objects.filter(any_of("id", ids)).order_by("created_at", "id").values_list(*fields))
    lines: dict[int, list[engine.LineRow]] = {}
    sep_ids = set()
    line_row = engine.LineRow
    for (settlement_id, item_code, item_id, level, selfpay_prop, uplmt, sep_pay, qty, price,
         forbidden) in _tuples(SettlementLine.objects.filter(any_of("settlement_id", ids))
                               .order_by("settlement_id", "id")
                               .values_list("settlement_id", "item_code", "item_id", "chrg_item_lv", "selfpay_prop",
                                            "pric_uplmt_amt", "sep_pay", "qty", "price", "acct_pay_forbidden")):
        line = line_row(item_code, qty, price, level if item_id is not None else None, selfpay_prop, uplmt,
                        forbidden, sep_pay)
        found = lines.get(settlement_id)
        if found is None:
            lines[settlement_id] = [line]
        else:
            found.append(line)
        if sep_pay:
            sep_ids.add(settlement_id)
    return rows, lines, sep_ids


def settlements_in_order(filters: Q, *, ordered: bool = True, persons: bool = False) -> list:
    """The ids of the settlements matching `filters`, in the order they were made (`ordered` False: in no
    particular order); `persons`: (id, person id) pairs."""
    found = Settlement.objects.filter(filters)
    found = found.order_by("created_at", "id") if ordered else found.order_by()
    if persons:
        return _tuples(found.values_list("pk", "person_id"))
    return [pk for (pk,) in _tuples(found.values_list("pk"))]


def families_apart(ids: list[int], parts: int) -> list[list[int]]:
    """`ids` (in the order they were made) split into `parts` lists, each keeping that order, such that the
    settlements of a family (persons linked as holder and relative, however far) fall in one part: a replay never
    reads another family's counters or accounts, so the parts replay apart exactly as together."""
    person_of: dict[int, int] = {}
    for i in range(0, len(ids), 50_000):
        person_of.update(_tuples(Settlement.objects.filter(any_of("id", ids[i:i + 50_000])).order_by()
                                 .values_list("pk", "person_id")))
    return families_apart_pairs([(pk, person_of[pk]) for pk in ids], parts)


def families_apart_pairs(pairs: Iterable[tuple[int, int]], parts: int) -> list[list[int]]:
    """families_apart of (settlement id, person id) pairs."""
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
    appends = [part.append for part in out]
    for pk, person_id in pairs:
        appends[(find(person_id) if person_id in parent else person_id) % parts](pk)
    return out


def replay_window(*, region_id: int, insutype: str, year_start: datetime.date, end: datetime.date,
                  backdated: bool = True, ordered: bool = True, persons: bool = False) -> list:
    """Every settlement of a region's enrollees (of `insutype`) that could have moved the counters of a settlement
    with a service date from `year_start` to `end`: those dated from `year_start` to `end`, and the backdated ones
    dated up to SETTLEMENT_BACKDATE_DAYS later (they may have been settled first). Reversed ones too (they
    counted until their reversal). `backdated` False: those dated from `year_start` to `end` only. `persons`:
    (id, person id) pairs."""
    later = end + datetime.timedelta(days=settings.SETTLEMENT_BACKDATE_DAYS + 1) if backdated else end
    return settlements_in_order(Q(policy_version__region_id=region_id, policy_version__insutype=insutype,
                                  setl_date__gte=year_start, setl_date__lte=later), ordered=ordered,
                                persons=persons)


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

