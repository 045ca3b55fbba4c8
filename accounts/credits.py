"""Credit runs and rollover: set-based SQL over chunks of enrollments, each chunk its own transaction.

A run computes, for each region, the policy version in force on the first day of the month and each of its credit
rules that is due that month, and per rule and chunk issues a handful of statements:

1. open accounts for the chunk's enrollees that have none, and lock the chunk's accounts (PostgreSQL:
   `FOR UPDATE`, in primary-key order);
2. `INSERT … SELECT` one entry per eligible enrollee that has no entry for that rule and period yet;
3. `UPDATE … FROM` the accounts by the entries just made (PostgreSQL: 2 and 3 are one statement, with the
   chunk's totals, the balances moved first and the entries made from their new values).

The unique constraint (account, credit rule, period) makes a second run, a redelivered task or the re-run of an
interrupted one credit nothing twice; a chunk that fails rolls back whole, and the next run picks it up.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Max, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.events import credit_run_finished
from accounts.models import (
    Contribution,
    CreditRun,
    CreditRunChunk,
    Enrollment,
    EntryKind,
    InsuStatus,
    InsuType,
    LedgerEntry,
    Person,
    PersonalAccount,
)
from accounts.mulaid import status_on_sql
from core.money import fen
from policies.errors import PolicyError
from policies.models import (
    IN_SERVICE_PSN_TYPES,
    RETIRED_PSN_TYPES,
    CreditBasis,
    CreditFrequency,
    CreditRule,
    PolicyVersion,
    Region,
)
from policies.selectors import credit_amount, policy_version_in_force

DEFAULT_CHUNK_SIZE = 50_000
# A running credit run with no chunk committed for this long has lost its worker (a chunk of 50,000 enrollees
# takes seconds: bench/RESULTS.md); the periodic check queues its missing chunks again.
STALE_AFTER = datetime.timedelta(minutes=5)

# The error of a stalled run planned before runs kept their plan: stored as the catalog's English, shown in the
# reader's language (CreditRun.error_label).
UNPLANNED_RUN = gettext_noop(
    "This run was started before credit runs kept the plan of their chunks, so it cannot be resumed: it is closed. "
    "Start the month's credits (or the rollover) again: what this run already did is not done twice.")

# Test hook: called with (run, chunk number) before each chunk commits; raising aborts that chunk.
chunk_hook: Callable[[CreditRun, int], None] | None = None


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def previous_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def years_before(day: datetime.date, years: int) -> datetime.date:
    """The same day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class DueCredit:
    """One rule due in a month: who gets it and how much (a constant, or a share of each contribution base)."""

    rule: CreditRule
    version: PolicyVersion
    kind: str
    constant: Decimal | None  # None: a share of the month's contribution base, computed per row
    first_retired_month_only: bool  # a prorated first annual credit after a mid-year retirement


def credits_due(*, version: PolicyVersion, month: datetime.date) -> list[DueCredit]:
    """The credit rules of `version` due in `month` (its first day), with their amounts where constant."""
    due = []
    start_of_year = month_start(version.benefit_year_start_for(month))
    for rule in version.credit_rules.all():
        retired_rule = rule.psn_type_set <= set(RETIRED_PSN_TYPES)
        kind = EntryKind.CREDIT_RETIRED if retired_rule else EntryKind.CREDIT_IN_SERVICE
        if rule.frequency == CreditFrequency.MONTHLY:
            constant = None if rule.basis == CreditBasis.CLCT_BASE_SHARE else credit_amount(rule=rule,
                                                                                        credited_month=month)
            due.append(DueCredit(rule, version, kind, constant, False))
        elif month == start_of_year:
            due.append(DueCredit(rule, version, kind, credit_amount(rule=rule, credited_month=month), False))
        elif rule.prorate_first_year:
            months = version.months_left_in_benefit_year(month)
            due.append(DueCredit(rule, version, kind,
                                 credit_amount(rule=rule, credited_month=month, prorate_months=months), True))
    return due


def _effective_psn_type_sql(month: datetime.date) -> tuple[str, list]:
    """SQL for the person type that counts for a month: a retired type counts as its in-service type until the
    month after retire_date (the retired credit starts the month after retirement)."""
    sql = ("CASE WHEN e.psn_type IN (%s, %s) AND e.retire_date < %s THEN e.psn_type "
           "WHEN e.psn_type = %s THEN %s WHEN e.psn_type = %s THEN %s ELSE e.psn_type END")
    return sql, [*RETIRED_PSN_TYPES, month, RETIRED_PSN_TYPES[0], IN_SERVICE_PSN_TYPES[0],
                 RETIRED_PSN_TYPES[1], IN_SERVICE_PSN_TYPES[1]]


# The chunk's candidates: a temporary table of the transaction that credits the chunk.
CANDIDATES = "credit_chunk_candidates"


def _of_types(type_sql: str, type_params: list, types: set[str]) -> tuple[str, list]:
    """SQL true for the person types `types` (false for none)."""
    if not types:
        return "1 = 0", []
    return f"({type_sql}) IN ({', '.join(['%s'] * len(types))})", [*type_params, *sorted(types)]


def _candidates_create(*, region_id: int, lo: int, hi: int, month: datetime.date, credits: list[DueCredit]) -> None:
    """Gather the chunk's candidates (`_candidates_sql`) into CANDIDATES, once for all the month's rules."""
    select_sql, params = _candidates_sql(region_id=region_id, lo=lo, hi=hi, month=month, credits=credits)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
        cursor.execute(f"CREATE TEMPORARY TABLE {CANDIDATES} AS {select_sql}", params)


def _candidates_sql(*, region_id: int, lo: int, hi: int, month: datetime.date,
                    credits: list[DueCredit]) -> tuple[str, list]:
    """The SELECT of the chunk's enrollees insured and active in `month`, for all the month's rules at once: their
    person, account (NULL where none is open yet), person type for the month, retirement date, birth date and
    the contribution base of their paid contribution for the month (NULL: none paid). The birth date is looked up
    only for the person types of a rule with an age bound among `credits`, the contribution only for those of a
    rule paid as a share of it (NULL for the others, whom no rule reads it for).

    The account is read before the chunk opens any: the rules' statements find the account by the person, and only
    the checks for missing credits (before any opening) read it.

    The enrollments are read by their id range; everything else is looked up per enrollee by a unique key (scalar
    subqueries: one index probe each, whatever the statistics say). Each rule then reads this table instead of
    evaluating the dated status and the joins again, and no plan of the chunk depends on how the planner estimates
    the status subquery's selectivity (it guessed one row: nested loops over sequential scans of every person)."""
    month_end = next_month(month) - datetime.timedelta(days=1)
    type_sql, type_params = _effective_psn_type_sql(month)
    # The status on the credited month: on its first day, or on the first day insured for one who joined in it.
    status_sql = status_on_sql("e", "(CASE WHEN e.begndate > %s THEN e.begndate ELSE %s END)")
    accounts, persons = PersonalAccount._meta.db_table, Person._meta.db_table
    aged_sql, aged_params = _of_types(type_sql, type_params, {
        t for c in credits if c.rule.age_min is not None or c.rule.age_max is not None for t in c.rule.psn_type_set})
    shared_sql, shared_params = _of_types(type_sql, type_params, {
        t for c in credits if c.constant is None for t in c.rule.psn_type_set})
    return f"""
            SELECT e.person_id,
                   (SELECT a.id FROM {accounts} a WHERE a.person_id = e.person_id) AS account_id,
                   {type_sql} AS psn_type, e.retire_date,
                   CASE WHEN {aged_sql} THEN (SELECT p.brdy FROM {persons} p WHERE p.id = e.person_id) END AS brdy,
                   CASE WHEN {shared_sql} THEN (SELECT c.clct_base FROM {Contribution._meta.db_table} c
                                                WHERE c.person_id = e.person_id AND c.period = %s
                                                  AND c.clct_base > 0 AND c.psn_clct_amt > 0) END AS clct_base
            FROM {Enrollment._meta.db_table} e
            WHERE e.region_id = %s AND e.insutype = %s AND e.id BETWEEN %s AND %s
              AND e.begndate <= %s AND (e.enddate IS NULL OR e.enddate >= %s) AND {status_sql} = %s
        """, [*type_params, *aged_params, *shared_params, month, region_id, InsuType.EMPLOYEE, lo, hi, month_end,
              month, month, month, InsuStatus.ACTIVE]  # noqa: S608  (table names from the models; values are parameters)


@dataclass(frozen=True)
class _RuleSql:
    """Who among the CANDIDATES (`t`) a due credit goes to, and how much: conditions and amount with their
    parameters."""

    where: str
    params: list
    amount_sql: str
    amount_params: list


def _rule_sql(*, credit: DueCredit, month: datetime.date) -> _RuleSql | None:
    """The SQL of a due credit over the CANDIDATES; None when its amount is zero (nobody is credited)."""
    rule = credit.rule
    types = sorted(rule.psn_type_set)
    where = [f"t.psn_type IN ({', '.join(['%s'] * len(types))})"]
    params: list = [*types]
    if rule.age_min is not None:
        where.append("t.brdy <= %s")
        params.append(years_before(month, rule.age_min))
    if rule.age_max is not None:
        where.append("t.brdy > %s")
        params.append(years_before(month, rule.age_max + 1))
    if credit.first_retired_month_only:
        # Retired in the month before (first retired month is this one) and after the version came into force.
        where += ["t.retire_date >= %s", "t.retire_date < %s", "t.retire_date >= %s"]
        params += [previous_month(month), month, credit.version.effective_from]
    if credit.constant is None:
        # Half-up rounding to the fen in integer arithmetic, the same on PostgreSQL and SQLite:
        # fen(base × rate) = (base in fen × rate in 1/10000 + 5000) div 10000, in fen.
        rate_bp = int(rule.rate * 10000)
        if rule.rate * 10000 != rate_bp:
            raise PolicyError(PolicyError.INVALID_REQUEST, _("a credit share has at most four decimal places"))
        # Dividing by 100.0 (not 100) keeps SQLite from integer division.
        amount_sql = f"((CAST(ROUND(t.clct_base * 100) AS BIGINT) * {rate_bp} + 5000) / 10000) / 100.0"
        where.append("t.clct_base IS NOT NULL")  # no paid contribution, no credit
        amount_params: list = []
    else:
        if credit.constant <= 0:
            return None
        amount_sql, amount_params = "%s", [credit.constant]
    return _RuleSql(where=" AND ".join(where), params=params, amount_sql=amount_sql, amount_params=amount_params)


def _missing_sql(*, credit: DueCredit, q: _RuleSql, month: datetime.date) -> tuple[str, list]:
    """SQL true for a candidate (`t`) due the credit that has no entry for it yet: one probe of ledger_credit_once."""
    return (f"""({q.where} AND (t.account_id IS NULL
                 OR NOT EXISTS (SELECT 1 FROM {LedgerEntry._meta.db_table} x WHERE x.account_id = t.account_id
                                AND x.credit_rule_id = %s AND x.period = %s)))""",  # noqa: S608
            [*q.params, credit.rule.pk, month])


def _chunk_missing_any(*, region_id: int, lo: int, hi: int, month: datetime.date,
                       credits: list[tuple[DueCredit, _RuleSql]]) -> bool:
    """Whether any of the chunk's enrollees due a credit has no entry for it yet, read straight from the
    enrollments (no CANDIDATES table written), stopping at the first one: a re-run of a month already credited ends
    each chunk here, having written nothing; a first run stops at the chunk's first enrollee (no account yet)."""
    select_sql, params = _candidates_sql(region_id=region_id, lo=lo, hi=hi, month=month,
                                         credits=[credit for credit, _q in credits])
    missing = [_missing_sql(credit=credit, q=q, month=month) for credit, q in credits]
    # OFFSET 0 keeps the candidates a subquery of their own (PostgreSQL): each lookup made once per enrollee, not
    # once per rule that reads its column.
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM ({select_sql}{fence}) t WHERE "
                       + " OR ".join(sql for sql, _p in missing) + ")",
                       [*params, *(p for _sql, ps in missing for p in ps)])
        return bool(cursor.fetchone()[0])


def _credit_missing(*, credit: DueCredit, q: _RuleSql, month: datetime.date) -> bool:
    """Whether a candidate in CANDIDATES due the credit has no entry for it yet. Read only, no lock and no write,
    stopping at the first one missing: a chunk some of whose credits are there (its enrollees changed since it was
    credited) credits only the rules with one missing."""
    missing, params = _missing_sql(credit=credit, q=q, month=month)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {CANDIDATES} t WHERE {missing})", params)  # noqa: S608
        return bool(cursor.fetchone()[0])


def _one_statement() -> bool:
    """Whether a rule's entries and balances are written by one statement (PostgreSQL's data-modifying CTEs); the
    tests compare it with the three statements SQLite runs."""
    return connection.vendor == "postgresql"


def _credit_chunk(*, run: CreditRun, credit: DueCredit, q: _RuleSql, month: datetime.date) -> tuple[int, Decimal]:
    """Insert this rule's entries for the chunk's candidates and move the balances; returns (entries, amount)."""
    rule = credit.rule
    pocket_column = "balc_current" if rule.pocket == "current" else "balc_historical"
    ledger, accounts = LedgerEntry._meta.db_table, PersonalAccount._meta.db_table
    now = timezone.now()
    amount_sql, amount_params = q.amount_sql, q.amount_params
    insert = f"""
        INSERT INTO {ledger} (account_id, kind, pocket, amount, balance_after, period, policy_version_id,
                              credit_rule_id, run_id, ref_type, ref_id, reason, created_at)
        SELECT a.id, %s, %s, {amount_sql}, a.{pocket_column} + {amount_sql}, %s, %s, %s, %s, %s, %s, %s, %s
        FROM {CANDIDATES} t JOIN {accounts} a ON a.person_id = t.person_id
        WHERE {q.where}
    """  # noqa: S608  (table names from the models; every value is a parameter)
    insert_params = [credit.kind, rule.pocket, *amount_params, *amount_params, month, credit.version.pk, rule.pk,
                     run.pk, "credit_run", str(run.pk), rule.name[:200], now, *q.params]
    if _one_statement():
        # One statement: the balances, the entries they move by and the chunk's totals. The balance moves first
        # and its new value is the entry's balance_after: each account is found once, by its person (an INSERT
        # first found it again by id to move it). The chunk holds its accounts' row locks (taken in key order),
        # so no other transaction can credit them before this one commits, and the NOT EXISTS sees every entry
        # committed before the lock was granted; ledger_credit_once still refuses a second entry. OFFSET 0 keeps
        # the NOT EXISTS a probe per candidate: as an anti-join the planner scanned every account for each chunk.
        with connection.cursor() as cursor:
            cursor.execute(f"""
                WITH moved AS (
                    UPDATE {accounts} a SET {pocket_column} = a.{pocket_column} + {amount_sql}
                    FROM {CANDIDATES} t
                    WHERE a.person_id = t.person_id AND {q.where}
                      AND NOT EXISTS (SELECT 1 FROM {ledger} x WHERE x.account_id = a.id
                                      AND x.credit_rule_id = %s AND x.period = %s OFFSET 0)
                    RETURNING a.id, {amount_sql} AS amount, a.{pocket_column} AS balance_after
                ), credited AS (
                    INSERT INTO {ledger} (account_id, kind, pocket, amount, balance_after, period, policy_version_id,
                                          credit_rule_id, run_id, ref_type, ref_id, reason, created_at)
                    SELECT m.id, %s, %s, m.amount, m.balance_after, %s, %s, %s, %s, %s, %s, %s, %s FROM moved m
                    RETURNING amount
                )
                SELECT count(*), COALESCE(SUM(amount), 0) FROM credited
            """, [*amount_params, *q.params, rule.pk, month, *amount_params, credit.kind, rule.pocket, month,
                  credit.version.pk, rule.pk, run.pk, "credit_run", str(run.pk), rule.name[:200], now])  # noqa: S608
            created, total = cursor.fetchone()
        return created, fen(total)

    insert += f"""
          AND NOT EXISTS (SELECT 1 FROM {ledger} x
                          WHERE x.account_id = a.id AND x.credit_rule_id = %s AND x.period = %s)
    """  # noqa: S608
    insert_params += [rule.pk, month]
    just_made = (f"FROM {ledger} x WHERE x.run_id = %s AND x.credit_rule_id = %s AND x.period = %s "
                 f"AND x.account_id IN (SELECT a.id FROM {accounts} a JOIN {CANDIDATES} t "
                 "ON a.person_id = t.person_id)")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(insert, insert_params)
        created = cursor.rowcount
        if not created:
            return 0, Decimal(0)
        cursor.execute(f"UPDATE {accounts} SET {pocket_column} = {accounts}.{pocket_column} + x.amount "
                       f"{just_made} AND x.account_id = {accounts}.id", [run.pk, rule.pk, month])  # noqa: S608
        cursor.execute(f"SELECT SUM(x.amount) {just_made}", [run.pk, rule.pk, month])  # noqa: S608
        total = cursor.fetchone()[0]
    return created, fen(str(total or 0))


def _chunk_enrollees_sql() -> str:
    return (f"SELECT e.person_id FROM {Enrollment._meta.db_table} e "  # noqa: S608
            "WHERE e.region_id = %s AND e.insutype = %s AND e.id BETWEEN %s AND %s")


def _open_accounts_sql(*, region_id: int, lo: int, hi: int) -> int:
    """Open an account for each of the chunk's enrollees that has none; returns how many it opened."""
    accounts = PersonalAccount._meta.db_table
    if connection.vendor == "postgresql":
        # ON CONFLICT rather than NOT EXISTS: on the first run the accounts table is empty when the statement is
        # planned, and the anti-join rescanned every account the statement had just opened (quadratic).
        missing, conflict = "", "ON CONFLICT (person_id) DO NOTHING"
    else:
        missing, conflict = f"WHERE NOT EXISTS (SELECT 1 FROM {accounts} a WHERE a.person_id = e.person_id)", ""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {accounts} (person_id, balc_current, balc_historical, created_at)
            SELECT e.person_id, 0, 0, %s FROM ({_chunk_enrollees_sql()}) e {missing} {conflict}
        """, [timezone.now(), region_id, InsuType.EMPLOYEE, lo, hi])  # noqa: S608
        return cursor.rowcount


def _lock_accounts_sql(*, region_id: int, lo: int, hi: int) -> int:
    """Lock the chunk's accounts in primary-key order (PostgreSQL); returns how many it locked."""
    if connection.vendor != "postgresql":
        return 0  # SQLite locks the whole database for the writing transaction
    # The chunk's person ids as one array: an index lookup per enrollee whatever the statistics say (as a join,
    # the planner hashed the whole accounts table for every chunk).
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT a.id FROM {PersonalAccount._meta.db_table} a
            WHERE a.person_id = ANY (ARRAY({_chunk_enrollees_sql()})) ORDER BY a.id FOR UPDATE
        """, [region_id, InsuType.EMPLOYEE, lo, hi])  # noqa: S608
        return cursor.rowcount


def _open_and_lock_accounts(*, region_id: int, lo: int, hi: int) -> None:
    """Open an account for each of the chunk's enrollees that has none, and lock the chunk's accounts."""
    if connection.vendor != "postgresql":
        _open_accounts_sql(region_id=region_id, lo=lo, hi=hi)
        return
    locked = _lock_accounts_sql(region_id=region_id, lo=lo, hi=hi)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({_chunk_enrollees_sql()}) e",  # noqa: S608
                       [region_id, InsuType.EMPLOYEE, lo, hi])
        enrollees = cursor.fetchone()[0]
    if locked < enrollees:  # only on a chunk's first run, as a rule: opening costs a lookup per enrollee
        opened = _open_accounts_sql(region_id=region_id, lo=lo, hi=hi)
        # The accounts this transaction opened are seen by no other until it commits: nobody else can lock or
        # update them. Only when another transaction opened some of the chunk's accounts meanwhile (it committed
        # between the lock and the opening) are the chunk's accounts locked again.
        if locked + opened < enrollees:
            _lock_accounts_sql(region_id=region_id, lo=lo, hi=hi)


@dataclass(frozen=True)
class Chunk:
    region_id: int
    lo: int
    hi: int


def credit_run_plan(*, month: datetime.date, admdvs: str | None, chunk_size: int) -> list[Chunk]:
    """The chunks of a run: ranges of enrollment ids per region."""
    regions = Region.objects.all() if admdvs is None else Region.objects.filter(admdvs=admdvs)
    chunks = []
    for region in regions.order_by("admdvs"):
        bounds = Enrollment.objects.filter(region=region, insutype=InsuType.EMPLOYEE).aggregate(lo=Min("id"),
                                                                                               hi=Max("id"))
        if bounds["lo"] is None:
            continue
        for lo in range(bounds["lo"], bounds["hi"] + 1, chunk_size):
            chunks.append(Chunk(region.pk, lo, min(lo + chunk_size - 1, bounds["hi"])))
    return chunks


def credit_run_create(*, month: datetime.date, admdvs: str | None = None, user=None,  # noqa: ANN001
                      chunk_size: int = DEFAULT_CHUNK_SIZE) -> tuple[CreditRun, list[Chunk]]:
    """Record a credit run for `month` (any day of it) and plan its chunks."""
    month = month_start(month)
    region = Region.objects.get(admdvs=admdvs) if admdvs else None
    chunks = credit_run_plan(month=month, admdvs=admdvs, chunk_size=chunk_size)
    run = CreditRun.objects.create(kind=CreditRun.Kind.CREDITS, period=month, region=region,
                                   started_by=user if getattr(user, "is_authenticated", False) else None,
                                   chunks_total=len(chunks), plan=[[c.region_id, c.lo, c.hi] for c in chunks])
    return run, chunks


def _versions_by_region(month: datetime.date, region_ids: set[int]) -> dict[int, PolicyVersion | None]:
    versions: dict[int, PolicyVersion | None] = {}
    for region in Region.objects.filter(pk__in=region_ids):
        try:
            version = policy_version_in_force(region.admdvs, month)
        except PolicyError:
            version = None
        if version is not None:
            version = PolicyVersion.objects.prefetch_related("credit_rules", "reference_values").get(pk=version.pk)
        versions[region.pk] = version
    return versions


def _chunk_claim(*, run: CreditRun, number: int, worker: str) -> bool:
    """Record the chunk as this transaction's; False when an earlier delivery of it already committed (a second
    delivery running at the same time waits here for the first to commit or roll back)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {CreditRunChunk._meta.db_table} (run_id, number, worker, started_at, "  # noqa: S608
                       "finished_at, entries_created, amount_total) VALUES (%s, %s, %s, %s, %s, 0, 0) "
                       "ON CONFLICT (run_id, number) DO NOTHING", [run.pk, number, worker[:200], now, now])
        return cursor.rowcount == 1


def credit_run_chunk(*, run: CreditRun, chunk: Chunk, number: int, worker: str = "") -> tuple[int, Decimal]:
    """Credit one chunk in its own transaction and count it done, once however often it is delivered; returns
    (entries, amount). `worker` names who ran it (the Celery worker; blank for the command's own process)."""
    version = _versions_by_region(run.period, {chunk.region_id})[chunk.region_id]
    created, amount = 0, Decimal(0)
    with transaction.atomic():
        if not _chunk_claim(run=run, number=number, worker=worker):
            return 0, Decimal(0)
        if version is not None:
            if connection.vendor == "postgresql":
                # Every statement of the chunk finds rows by key for a range of enrollees: nested loops over
                # index probes. A hash or merge join, or a sequential scan planned while a first run's accounts
                # table was still empty by its statistics, would read a whole table (accounts, ledger) per
                # statement, rule or enrollee; JIT compiling these one-off plans cost more than running them.
                # work_mem: the ledger trigger's table of a statement's new entries (some 20,000, 4 MB) stays in
                # memory instead of a temporary file written once and read once per reference it checks.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off; SET LOCAL enable_hashjoin = off; "
                                   "SET LOCAL enable_mergejoin = off; SET LOCAL enable_seqscan = off; "
                                   "SET LOCAL work_mem = '32MB'")
            credits = [(credit, q) for credit in credits_due(version=version, month=run.period)
                       if (q := _rule_sql(credit=credit, month=run.period)) is not None]
            # A chunk whose credits are all there (a re-run) is neither locked nor written.
            due = []
            if credits and _chunk_missing_any(region_id=chunk.region_id, lo=chunk.lo, hi=chunk.hi,
                                              month=run.period, credits=credits):
                _candidates_create(region_id=chunk.region_id, lo=chunk.lo, hi=chunk.hi, month=run.period,
                                   credits=[credit for credit, _q in credits])
                due = [(credit, q) for credit, q in credits
                       if _credit_missing(credit=credit, q=q, month=run.period)]
            if due:
                _open_and_lock_accounts(region_id=chunk.region_id, lo=chunk.lo, hi=chunk.hi)
                for credit, q in due:
                    n, total = _credit_chunk(run=run, credit=credit, q=q, month=run.period)
                    created += n
                    amount += total
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
                if connection.vendor == "postgresql":  # for whatever else an enclosing transaction runs
                    cursor.execute("SET LOCAL jit TO DEFAULT; SET LOCAL enable_hashjoin TO DEFAULT; "
                                   "SET LOCAL enable_mergejoin TO DEFAULT; SET LOCAL enable_seqscan TO DEFAULT; "
                                   "SET LOCAL work_mem TO DEFAULT")
        if chunk_hook is not None:
            chunk_hook(run, number)
        CreditRunChunk.objects.filter(run=run, number=number).update(finished_at=timezone.now(),
                                                                    entries_created=created, amount_total=amount)
        CreditRun.objects.filter(pk=run.pk).update(chunks_done=F("chunks_done") + 1,
                                                   entries_created=F("entries_created") + created,
                                                   amount_total=F("amount_total") + amount)
    return created, amount


def credit_runs_stalled(*, older_than: datetime.timedelta = STALE_AFTER) -> QuerySet[CreditRun]:
    """Running runs with no sign of progress for `older_than`: no chunk committed, and not started or resumed, since
    then. A worker that died took its chunk's transaction with it (rolled back); the chunk's message comes back
    only after the broker's visibility timeout."""
    cutoff = timezone.now() - older_than
    return (CreditRun.objects.filter(status=CreditRun.Status.RUNNING, started_at__lt=cutoff)
            .annotate(last_chunk_at=Max("chunks__finished_at"))
            .filter(Q(last_chunk_at__isnull=True) | Q(last_chunk_at__lt=cutoff))
            .filter(Q(resumed_at__isnull=True) | Q(resumed_at__lt=cutoff))
            .select_related("region").order_by("started_at"))


@transaction.atomic
def credit_run_resume(*, run_id: int) -> list[tuple[int, Chunk]]:
    """Take up a stalled credit run: returns its chunks not yet committed, numbered, for the caller to queue again
    (each counts once, however often it is delivered), and records the resumption; a run whose chunks are all
    committed is marked done. A run planned before runs kept their plan (migration 0010) cannot be resumed, as its
    missing chunks cannot be told apart: it is closed as failed, saying so (`UNPLANNED_RUN`), instead of being
    flagged as stalled for ever; started again, the month (or the rollover) does what the run left undone, and
    nothing twice."""
    run = CreditRun.objects.select_for_update().filter(pk=run_id, status=CreditRun.Status.RUNNING).first()
    if run is None:
        return []
    if len(run.plan) != run.chunks_total:
        credit_run_finish(run=run, error=UNPLANNED_RUN)
        return []
    committed = set(CreditRunChunk.objects.filter(run=run).values_list("number", flat=True))
    missing = [(number, Chunk(*bounds)) for number, bounds in enumerate(run.plan, start=1)
               if number not in committed]
    if not missing:
        credit_run_complete_if_done(run_id=run.pk)
        return []
    CreditRun.objects.filter(pk=run.pk).update(resumed_at=timezone.now(), resumes=F("resumes") + 1)
    return missing


def credit_run_complete_if_done(*, run_id: int) -> bool:
    """Mark a running run done once every chunk is counted (whoever counted the last one), and tell the listeners
    (`accounts.events`)."""
    completed = bool(CreditRun.objects.filter(pk=run_id, status=CreditRun.Status.RUNNING,
                                              chunks_done=F("chunks_total"))
                     .update(status=CreditRun.Status.DONE, finished_at=timezone.now()))
    if completed:
        run = CreditRun.objects.get(pk=run_id)
        transaction.on_commit(lambda: credit_run_finished(run))
    return completed


def credit_run_finish(*, run: CreditRun, error: str = "") -> CreditRun:
    """Mark a run done (or failed with its error) once its chunks are through."""
    run.refresh_from_db()
    run.status = CreditRun.Status.FAILED if error else CreditRun.Status.DONE
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    transaction.on_commit(lambda: credit_run_finished(run))
    return run


def credits_run_month(*, month: datetime.date, admdvs: str | None = None, user=None,  # noqa: ANN001
                      chunk_size: int = DEFAULT_CHUNK_SIZE,
                      progress: Callable[[CreditRun], None] | None = None) -> CreditRun:
    """Every credit due in `month`, in this process, chunk after chunk. A failed chunk stops the run (marked
    failed, with what was committed before it kept); running it again completes it without crediting twice."""
    run, chunks = credit_run_create(month=month, admdvs=admdvs, user=user, chunk_size=chunk_size)
    for number, chunk in enumerate(chunks, start=1):
        try:
            credit_run_chunk(run=run, chunk=chunk, number=number)
        except Exception as e:
            return credit_run_finish(run=run, error=f"chunk {number}: {e}")
        if progress is not None:
            run.refresh_from_db()
            progress(run)
    return credit_run_finish(run=run)


# --- rollover ---------------------------------------------------------------------------------------------------

def _rollover_chunk(*, run: CreditRun, region_id: int, lo: int, hi: int) -> tuple[int, Decimal]:
    """Move the current-year pocket of the chunk's accounts into the historical pocket: two entries each."""
    ledger, accounts, enrollments = LedgerEntry._meta.db_table, PersonalAccount._meta.db_table, \
        Enrollment._meta.db_table
    day, now = run.period, timezone.now()
    chunk_accounts = (f"SELECT a2.id FROM {accounts} a2 JOIN {enrollments} e ON e.person_id = a2.person_id "
                      "WHERE e.region_id = %s AND e.insutype = %s AND e.id BETWEEN %s AND %s")  # noqa: S608
    chunk_params = [region_id, InsuType.EMPLOYEE, lo, hi]
    # Stored as the catalog's English, shown in the reader's language (LedgerEntry.reason_label).
    common = [run.pk, "credit_run", str(run.pk), gettext_noop("rollover at benefit-year start"), now]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {ledger} (account_id, kind, pocket, amount, balance_after, period, run_id, ref_type, ref_id,
                                  reason, created_at)
            SELECT a.id, %s, 'current', -a.balc_current, 0, %s, %s, %s, %s, %s, %s
            FROM {accounts} a
            WHERE a.id IN ({chunk_accounts}) AND a.balc_current > 0
              AND NOT EXISTS (SELECT 1 FROM {ledger} x WHERE x.account_id = a.id AND x.kind = %s
                              AND x.pocket = 'current' AND x.period = %s)
        """, [EntryKind.ROLLOVER, day, *common, *chunk_params, EntryKind.ROLLOVER, day])  # noqa: S608
        moved = cursor.rowcount
        if not moved:
            return 0, Decimal(0)
        cursor.execute(f"""
            INSERT INTO {ledger} (account_id, kind, pocket, amount, balance_after, period, run_id, ref_type, ref_id,
                                  reason, created_at)
            SELECT a.id, %s, 'historical', a.balc_current, a.balc_historical + a.balc_current, %s, %s, %s, %s, %s, %s
            FROM {accounts} a JOIN {ledger} x ON x.account_id = a.id AND x.run_id = %s AND x.kind = %s
                                              AND x.pocket = 'current' AND x.period = %s
            WHERE a.id IN ({chunk_accounts})
        """, [EntryKind.ROLLOVER, day, *common, run.pk, EntryKind.ROLLOVER, day, *chunk_params])  # noqa: S608
        cursor.execute(f"""
            UPDATE {accounts} SET balc_historical = {accounts}.balc_historical + {accounts}.balc_current,
                                  balc_current = 0
            FROM {ledger} x
            WHERE x.account_id = {accounts}.id AND x.run_id = %s AND x.kind = %s AND x.pocket = 'current'
              AND x.period = %s AND x.account_id IN ({chunk_accounts})
        """, [run.pk, EntryKind.ROLLOVER, day, *chunk_params])  # noqa: S608
    total = (LedgerEntry.objects.filter(run=run, kind=EntryKind.ROLLOVER, pocket="historical",
                                        account__person__enrollments__insutype=InsuType.EMPLOYEE,
                                        account__person__enrollments__region_id=region_id,
                                        account__person__enrollments__id__range=(lo, hi))
             .aggregate(total=Sum("amount"))["total"])
    return 2 * moved, fen(total or 0)


def year_rolled_over(*, region_id: int, person_id: int, next_year_start: datetime.date,
                     today: datetime.date) -> bool:
    """Whether the current-year pocket of a benefit year ending the day before `next_year_start` has been moved
    into the historical pocket (CONTRACT.md: the pockets of the service date's benefit year): the person's account
    has a rollover entry from then on, or the region's rollover from then on is done. Before `next_year_start`
    nothing can have been rolled, and no query is made (the settlement path's usual case)."""
    if today < next_year_start:
        return False
    return (LedgerEntry.objects.filter(account__person_id=person_id, kind=EntryKind.ROLLOVER,
                                       period__gte=next_year_start).exists()
            or CreditRun.objects.filter(kind=CreditRun.Kind.ROLLOVER, region_id=region_id, period__gte=next_year_start,
                                        status=CreditRun.Status.DONE).exists())


def rollover_run(*, admdvs: str, day: datetime.date, user=None,  # noqa: ANN001
                 chunk_size: int = DEFAULT_CHUNK_SIZE) -> CreditRun:
    """Move every current-year pocket of the region into the historical pocket at benefit-year start, where the
    version in force keeps two pockets. Idempotent: a second run on the same date moves nothing.

    Raises PolicyError when no version is in force or `day` is not the start of its benefit year."""
    region = Region.objects.get(admdvs=admdvs)
    version = policy_version_in_force(admdvs, day)
    if version.benefit_year_start_for(day) != day:
        raise PolicyError(PolicyError.INVALID_REQUEST,
                          _("%(day)s is not a benefit-year start of %(code)s (it starts each year on %(start)s)")
                          % {"day": day, "code": version.code,
                             "start": f"{version.benefit_year_start_month:02d}-{version.benefit_year_start_day:02d}"})
    chunks = credit_run_plan(month=day, admdvs=admdvs, chunk_size=chunk_size) if version.two_pockets else []
    run = CreditRun.objects.create(kind=CreditRun.Kind.ROLLOVER, period=day, region=region,
                                   started_by=user if getattr(user, "is_authenticated", False) else None,
                                   chunks_total=len(chunks), plan=[[c.region_id, c.lo, c.hi] for c in chunks])
    for number, chunk in enumerate(chunks, start=1):
        try:
            rollover_run_chunk(run=run, chunk=chunk, number=number)
        except Exception as e:
            return credit_run_finish(run=run, error=f"chunk {number}: {e}")
    return credit_run_finish(run=run)


def rollover_run_chunk(*, run: CreditRun, chunk: Chunk, number: int, worker: str = "") -> tuple[int, Decimal]:
    """Move one chunk's current-year pockets in its own transaction and count it done, once however often it runs
    (a stalled rollover is resumed chunk by chunk like a credit run); returns (entries, amount)."""
    with transaction.atomic():
        if not _chunk_claim(run=run, number=number, worker=worker):
            return 0, Decimal(0)
        _lock_accounts_sql(region_id=chunk.region_id, lo=chunk.lo, hi=chunk.hi)
        created, amount = _rollover_chunk(run=run, region_id=chunk.region_id, lo=chunk.lo, hi=chunk.hi)
        if chunk_hook is not None:
            chunk_hook(run, number)
        CreditRunChunk.objects.filter(run=run, number=number).update(finished_at=timezone.now(),
                                                                    entries_created=created, amount_total=amount)
        CreditRun.objects.filter(pk=run.pk).update(chunks_done=F("chunks_done") + 1,
                                                   entries_created=F("entries_created") + created,
                                                   amount_total=F("amount_total") + amount)
    return created, amount
