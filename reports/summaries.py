"""The summary tables behind the reports: kept current by the settlement services, rebuilt set-based by jobs.

`settlement_applied` is called by `claims.services` inside the settle (+1) and reverse (−1) transactions, as their
last statement: it takes the summary rows' locks after the accumulator and account locks, in one atomic upsert
(`INSERT … ON CONFLICT DO UPDATE`, on PostgreSQL and SQLite alike), so two tills never deadlock on it.

Each incremental table has a direct aggregate over `claims_settlement` (`*_direct`): the rebuild inserts exactly
that, and the tests prove the incremental rows equal it.

Personal-account flows come from the ledger, which credit runs write in bulk where no hook can reach, and which
the settlement path must not spend a statement more on. A month's summary (`account_flows_rebuild`) holds the
entries written before the end of the last closed day (Asia/Shanghai, `closed_days_end`); the report adds those
written since, read live from the ledger by the same query (`account_flows_live`: today's entries, found through
the `created_at` index). So the report follows every settlement, credit run and import at once, and never counts
an entry twice or misses one that committed after its summary was made (a day is summed 15 minutes or more after
it ended). A credit run's and an import's months are summarised when they finish (so that a month with nothing
before them counts as summarised), every month written to is summed again at night (`account_flows_sweep`), and
each rebuild records who or what asked for it.
"""

import datetime
import time
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, QuerySet, Sum, Value
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.models import EntryKind, FamilyLink, LedgerEntry, PersonalAccount, RelativeContribution
from claims.models import Settlement, SettlementStatus
from core.money import fen
from policies.models import CreditRule
from reports.models import (
    POOLED_FUND,
    SUPPLEMENTARY_FUND,
    AccountFlow,
    FacilityMonth,
    FlowDirection,
    FundExpenditure,
    RebuildTrigger,
    SummaryRebuild,
)

FUND_FIELDS = {POOLED_FUND: "hifp_pay", SUPPLEMENTARY_FUND: "oth_pay"}
FACILITY_MONEY = ("medfee_sumamt", "hifp_pay", "oth_pay", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay",
                  "psn_cash_pay")
FUND_KEY = ("month", "region_id", "fund_type", "hosp_lv", "enrollee_class", "med_type")
FACILITY_KEY = ("month", "facility_id", "med_type", "dise_codg")
INCOME_KINDS = (EntryKind.CREDIT_IN_SERVICE, EntryKind.CREDIT_RETIRED, EntryKind.OPENING_BALANCE)
SPENDING_KINDS = (EntryKind.SETTLEMENT, EntryKind.MULAID_SETTLEMENT, EntryKind.RELATIVE_CONTRIBUTION)


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_next(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = month_next(month)
    return months


def _upsert_sql(table: str, key: tuple[str, ...], values: dict[str, object], rows: int) -> str:
    """Add `rows` rows (key values then the additive values) to `table`, creating missing rows: one statement."""
    columns = [*key, *values]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * rows)
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in values)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


FACILITY_VALUES = dict.fromkeys(("settlements", *FACILITY_MONEY), 0)
FUND_VALUES = {"settlements": 0, "amount": 0}


def settlement_applied(settlement: Settlement, *, sign: int) -> None:
    """Add a settlement to the summary tables (`sign` +1 when settled, −1 when reversed). Call inside the
    settlement's transaction, after its other locks."""
    month = connection.ops.adapt_datefield_value(month_of(settlement.setl_date))
    fund_rows = []
    region_id = settlement.policy_version.region_id if settlement.policy_version_id else None
    if region_id is not None:
        for fund_type, name in FUND_FIELDS.items():
            amount = getattr(settlement, name)
            if amount:
                fund_rows.append((month, region_id, fund_type, settlement.hosp_lv, settlement.enrollee_class,
                                  settlement.med_type, sign, Decimal(sign) * amount))
    money = [Decimal(sign) * getattr(settlement, name) for name in FACILITY_MONEY]
    facility_row = (month, settlement.facility_id, settlement.med_type, settlement.dise_codg or "", sign, *money)
    facility_sql = _upsert_sql(FacilityMonth._meta.db_table, FACILITY_KEY, FACILITY_VALUES, 1)
    fund_params = [v for row in fund_rows for v in row]
    with connection.cursor() as cursor:
        if not fund_rows:
            cursor.execute(facility_sql, facility_row)
        elif connection.vendor == "postgresql":
            # Both upserts in one statement: a round trip less a settlement. The rows are locked in the order of
            # the two statements it replaces, the fund's and then the facility's (PostgreSQL runs a WITH's INSERT
            # that nothing reads after the main INSERT; test_summaries_lock_order), so that no till deadlocks with
            # another, nor with a node still running the two statements during a rolling deploy.
            fund_sql = _upsert_sql(FundExpenditure._meta.db_table, FUND_KEY, FUND_VALUES, len(fund_rows))
            cursor.execute(f"WITH facility AS ({facility_sql}) {fund_sql}", [*facility_row, *fund_params])
        else:
            cursor.execute(_upsert_sql(FundExpenditure._meta.db_table, FUND_KEY, FUND_VALUES, len(fund_rows)),
                           fund_params)
            cursor.execute(facility_sql, facility_row)


# --- direct aggregates and set-based rebuilds ---------------------------------------------------------------------

def _settled(first: datetime.date | None, last: datetime.date | None) -> QuerySet:
    qs = Settlement.objects.filter(status=SettlementStatus.SETTLED).order_by()
    if first is not None:
        qs = qs.filter(setl_date__gte=month_of(first))
    if last is not None:
        qs = qs.filter(setl_date__lt=month_next(month_of(last)))
    return qs


def fund_expenditure_direct(first: datetime.date | None = None, last: datetime.date | None = None,
                            ) -> list[QuerySet]:
    """What `FundExpenditure` holds, aggregated straight from the settlements: one queryset per fund type."""
    out = []
    for fund_type, name in FUND_FIELDS.items():
        out.append(_settled(first, last).filter(policy_version__isnull=False).exclude(**{name: 0})
                   .annotate(r_month=TruncMonth("setl_date"), r_region=F("policy_version__region_id"),
                             r_fund=Value(fund_type))
                   .values("hosp_lv", "enrollee_class", "med_type", "r_month", "r_region", "r_fund")
                   .annotate(r_settlements=Count("id"), r_amount=Sum(name)))
    return out


def facility_month_direct(first: datetime.date | None = None, last: datetime.date | None = None) -> QuerySet:
    """What `FacilityMonth` holds, aggregated straight from the settlements."""
    return (_settled(first, last).annotate(r_month=TruncMonth("setl_date"))
            .values("facility_id", "med_type", "dise_codg", "r_month")
            .annotate(r_settlements=Count("id"), **{f"r_{name}": Sum(name) for name in FACILITY_MONEY}))


def _insert_select(table: str, qs: QuerySet) -> int:
    """INSERT the rows of an aggregate queryset; its output names map to columns (`r_x` → `x`)."""
    query = qs.query
    names = [*query.values_select, *query.annotation_select]
    columns = [{"r_region": "region_id", "r_fund": "fund_type"}.get(n, n.removeprefix("r_")) for n in names]
    sql, params = query.sql_with_params()
    outer = ", ".join(f"sub.{n}" for n in names)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {outer} FROM ({sql}) sub", params)
        return cursor.rowcount


@transaction.atomic
def settlement_summaries_rebuild(*, first: datetime.date, last: datetime.date, user=None) -> int:  # noqa: ANN001
    """Replace the settlement summaries of the months `first`..`last` by the direct aggregate (repair, bulk loads).
    Takes a table lock on PostgreSQL so no settlement adds to a row being rebuilt."""
    started = time.perf_counter()
    first, last = month_of(first), month_of(last)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {FundExpenditure._meta.db_table}, {FacilityMonth._meta.db_table} "
                           "IN SHARE ROW EXCLUSIVE MODE")
    FundExpenditure.objects.filter(month__gte=first, month__lte=last).delete()
    FacilityMonth.objects.filter(month__gte=first, month__lte=last).delete()
    rows = sum(_insert_select(FundExpenditure._meta.db_table, qs) for qs in fund_expenditure_direct(first, last))
    rows += _insert_select(FacilityMonth._meta.db_table, facility_month_direct(first, last))
    seconds = Decimal(f"{time.perf_counter() - started:.3f}")
    SummaryRebuild.objects.bulk_create([SummaryRebuild(table="settlements", month=m, rows=rows, seconds=seconds,
                                                       rebuilt_by=user) for m in months_between(first, last)])
    return rows


def _flows_sql(spans: list[tuple[datetime.date, datetime.datetime | None, datetime.datetime | None]], *,
               insert: bool) -> tuple[str, list]:
    """The account flows of the ledger entries in `spans`, set-based (one SELECT … GROUP BY): each span is a month
    and the instants its entries were written from (inclusive) and before; None leaves that side open. An entry's
    month is its `period` (the credited month, the service date) or, without one, the month it was written in.
    A rebuild INSERTs the rows into AccountFlow (`insert`); the report SELECTs the entries written since."""
    t = {m.__name__: m._meta.db_table for m in (LedgerEntry, PersonalAccount, CreditRule, Settlement,
                                                 RelativeContribution, FamilyLink, AccountFlow)}
    enrollment = PersonalAccount._meta.get_field("person").related_model._meta.get_field("enrollments")
    enrollment_table = enrollment.related_model._meta.db_table
    income = ", ".join(f"'{k}'" for k in INCOME_KINDS)
    spending = ", ".join(f"'{k}'" for k in SPENDING_KINDS)
    ops = connection.ops
    day = "CAST(%s AS date)" if connection.vendor == "postgresql" else "%s"  # SQLite's CAST would make it a number
    conditions, month_cases, next_cases, params, month_params, next_params = [], [], [], [], [], []
    for month, written_from, written_before in spans:
        following = month_next(month)
        first, after = ops.adapt_datefield_value(month), ops.adapt_datefield_value(following)
        condition = ("((e.period >= %s AND e.period < %s) OR "
                     "(e.period IS NULL AND e.created_at >= %s AND e.created_at < %s))")
        span_params = [first, after, ops.adapt_datetimefield_value(_aware(month)),
                       ops.adapt_datetimefield_value(_aware(following))]
        for bound, op in ((written_from, ">="), (written_before, "<")):
            if bound is not None:
                condition += f" AND e.created_at {op} %s"
                span_params.append(ops.adapt_datetimefield_value(bound))
        conditions.append(condition)
        params += span_params
        month_cases.append(f"WHEN {condition} THEN {day}")
        month_params += [*span_params, first]
        next_cases.append(f"WHEN {condition} THEN {day}")
        next_params += [*span_params, after]
    # Written since the earliest bound: the created_at index finds the day's entries without reading the rest.
    froms = [span[1] for span in spans if span[1] is not None]
    since = " AND e.created_at >= %s" if len(froms) == len(spans) else ""
    since_params = [ops.adapt_datetimefield_value(min(froms))] if since else []
    head = (f"INSERT INTO {t['AccountFlow']} (month, region_id, direction, kind, credit_rule, relation, entries, "
            "amount) " if insert else "")
    sql = f"""{head}
        SELECT x.m, x.region_id,
               CASE WHEN x.k IN ({income}) THEN '{FlowDirection.INCOME}'
                    WHEN x.k IN ({spending}) THEN '{FlowDirection.SPENDING}'
                    ELSE '{FlowDirection.OTHER}' END,
               x.k, x.rule, x.rel, SUM(x.sign), SUM(x.amount)
        FROM (
            SELECT e.m AS m, en.region_id AS region_id, e.k AS k, COALESCE(cr.name, '') AS rule,
                   COALESCE(fl.relation, '') AS rel,
                   CASE WHEN e.kind = '{EntryKind.REVERSAL}' THEN -1 ELSE 1 END AS sign, e.amount AS amount
            FROM (
                -- A reversal counts under the kind (and credit rule) of the entry it reverses: looked up for the
                -- few reversal rows only, never by hashing the whole ledger.
                SELECT e.*, CASE WHEN e.reverses_id IS NULL THEN e.kind ELSE
                                 (SELECT o.kind FROM {t['LedgerEntry']} o WHERE o.id = e.reverses_id) END AS k,
                       CASE WHEN e.reverses_id IS NULL THEN e.credit_rule_id ELSE
                                 (SELECT o.credit_rule_id FROM {t['LedgerEntry']} o WHERE o.id = e.reverses_id)
                            END AS rule_id,
                       CASE {" ".join(month_cases)} END AS m,
                       CASE {" ".join(next_cases)} END AS m_next
                FROM {t['LedgerEntry']} e
                WHERE ({" OR ".join(conditions)}){since}
            ) e
            JOIN {t['PersonalAccount']} a ON a.id = e.account_id
            LEFT JOIN {enrollment_table} en ON en.person_id = a.person_id AND en.insutype = '310'
            LEFT JOIN {t['CreditRule']} cr ON cr.id = e.rule_id
            -- A mutual-aid debit's period is its settlement's service date: only that month's settlements.
            LEFT JOIN {t['Settlement']} s ON e.k = '{EntryKind.MULAID_SETTLEMENT}' AND e.ref_type = 'settlement'
                 AND s.setl_id = e.ref_id AND s.setl_date >= e.m AND s.setl_date < e.m_next
            LEFT JOIN {t['RelativeContribution']} rc ON e.ref_type = 'relative_contribution'
                 AND CAST(rc.id AS VARCHAR(20)) = e.ref_id
            LEFT JOIN {t['FamilyLink']} fl ON fl.holder_id = a.person_id
                 AND fl.relative_id = COALESCE(s.person_id, rc.relative_id)
        ) x
        GROUP BY x.m, x.region_id, x.k, x.rule, x.rel"""
    return sql, [*month_params, *next_params, *params, *since_params]


def _aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# The summaries hold whole days: a day is summed once it ended this long ago (its last writes committed).
CLOSED_DAY_MARGIN = datetime.timedelta(minutes=15)
FLOWS_LOCK = 7301  # pg_advisory_xact_lock(FLOWS_LOCK, yyyymm): one rebuild of a month at a time


def closed_days_end(now: datetime.datetime | None = None) -> datetime.datetime:
    """The end of the last closed day in Asia/Shanghai: the latest midnight at least CLOSED_DAY_MARGIN ago."""
    return _aware(timezone.localdate((now or timezone.now()) - CLOSED_DAY_MARGIN))


@transaction.atomic
def account_flows_rebuild(*, month: datetime.date, through: datetime.datetime | None = None, user=None,  # noqa: ANN001
                          trigger: str = "", source: str = "") -> SummaryRebuild:
    """Rebuild one month of `AccountFlow` from the ledger entries written before `through` (default: the end of
    the last closed day), set-based; recorded with who (`user`) or what (`trigger`, `source`) asked for it. The
    report adds the entries written since, live (`account_flows_live`)."""
    started = time.perf_counter()
    month = month_of(month)
    through = through or closed_days_end()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FLOWS_LOCK, month.year * 100 + month.month])
            cursor.execute("SET LOCAL jit = off")  # compiling this one-off plan cost more than running it
        AccountFlow.objects.filter(month=month).delete()
        sql, params = _flows_sql([(month, None, through)], insert=True)
        cursor.execute(sql, params)
        rows = cursor.rowcount
    return SummaryRebuild.objects.create(table="account_flows", month=month, rows=max(rows, 0), through=through,
                                         seconds=Decimal(f"{time.perf_counter() - started:.3f}"), rebuilt_by=user,
                                         trigger=trigger, source=source)


def account_flows_coverage(months: Iterable[datetime.date]) -> dict[datetime.date, SummaryRebuild]:
    """The latest rebuild of each of `months` that has one (months never summarised are left out)."""
    latest: dict[datetime.date, SummaryRebuild] = {}
    for rebuild in (SummaryRebuild.objects.filter(table="account_flows", month__in=list(months))
                    .exclude(through=None).select_related("rebuilt_by").order_by("month", "-rebuilt_at", "-id")):
        latest.setdefault(rebuild.month, rebuild)
    return latest


def account_flows_live(through: dict[datetime.date, datetime.datetime]) -> list[dict]:
    """The account flows of the entries written since each month's summary (`through`: month → instant), summed
    by the rebuild's own query: the report adds them to the summary rows."""
    if not through:
        return []
    sql, params = _flows_sql([(month, instant, None) for month, instant in sorted(through.items())], insert=False)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [{"month": m if isinstance(m, datetime.date) else datetime.date.fromisoformat(str(m)[:10]),
             "region_id": region_id, "direction": direction, "kind": kind, "credit_rule": rule, "relation": rel,
             "entries": int(entries), "amount": fen(Decimal(str(amount)))}
            for m, region_id, direction, kind, rule, rel, entries, amount in rows]


def _written_months(since: datetime.datetime | None, before: datetime.datetime) -> set[datetime.date]:
    """The months of the entries written in [since, before) (every month of the ledger without `since`)."""
    written = LedgerEntry.objects.filter(created_at__lt=before)
    if since is not None:
        written = written.filter(created_at__gte=since)
    months = set(written.exclude(period=None).dates("period", "month"))
    months |= {timezone.localtime(at).date() for at in written.filter(period=None).datetimes("created_at", "month")}
    return {month_of(m) for m in months}


def account_flows_sweep(*, through: datetime.datetime | None = None) -> list[SummaryRebuild]:
    """The nightly rebuild: every month with ledger entries written since the last sweep (a late bill's month,
    an opening balance's), and the current month, summed up to the end of the last closed day; a month already
    summed that far is left alone. Recorded as the schedule's."""
    through = through or closed_days_end()
    last = (SummaryRebuild.objects.filter(table="account_flows", trigger=RebuildTrigger.SCHEDULE)
            .exclude(through=None).order_by("-through").values_list("through", flat=True).first())
    months = _written_months(last, through) | {month_of(timezone.localdate())}
    done = account_flows_coverage(months)
    return [account_flows_rebuild(month=m, through=through, trigger=RebuildTrigger.SCHEDULE)
            for m in sorted(months) if m not in done or done[m].through < through]


def credit_run_finished(run) -> None:  # noqa: ANN001
    """A credit run wrote the ledger in bulk: summarise its month (in the background with a broker), recorded as
    rebuilt by whoever started the run. Its entries, written today, are read live until the night's sweep."""
    from reports.tasks import account_flows_rebuild_task

    transaction.on_commit(lambda: account_flows_rebuild_task.delay(
        f"{run.period:%Y-%m}", user_id=run.started_by_id, trigger=RebuildTrigger.CREDIT_RUN, source=str(run.pk)))


def import_job_written(job) -> None:  # noqa: ANN001
    """An import of opening balances wrote ledger entries dated by their `as_of`: summarise those months (in the
    background with a broker), recorded as rebuilt by whoever started the import."""
    if job.kind != "balances":
        return
    from reports.tasks import account_flows_rebuild_task

    months = (LedgerEntry.objects.filter(kind=EntryKind.OPENING_BALANCE, created_at__gte=job.started_at)
              .exclude(period=None).dates("period", "month"))
    for month in months:
        transaction.on_commit(lambda m=f"{month:%Y-%m}": account_flows_rebuild_task.delay(
            m, user_id=job.started_by_id, trigger=RebuildTrigger.IMPORT_JOB, source=str(job.pk)))


def account_flows_rebuild_months(*, months: Iterable[datetime.date], user=None) -> list[SummaryRebuild]:  # noqa: ANN001
    return [account_flows_rebuild(month=m, user=user) for m in months]


def last_rebuilt(table: str, months: Iterable[datetime.date] | None = None) -> SummaryRebuild | None:
    qs = SummaryRebuild.objects.filter(table=table)
    if months is not None:
        qs = qs.filter(month__in=list(months))
    return qs.order_by("-rebuilt_at").first()
