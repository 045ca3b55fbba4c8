"""Benchmark of a month's credit run on PostgreSQL (issue 4, item 7).

Builds N enrollees in a database of its own (dropped and created afresh: the name in DATABASE_URL must contain
"bench"), loaded with COPY, then per month times the credit run, its re-run and `ledger_verify`, and checks the
entries against an expectation computed independently in SQL from the seeded rules (CONTRACT.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench .venv/bin/python bench/credits.py --n 1000000

Months default to 2025-01 (Shanghai's annual retired credits due, monthly credits in both regions) and 2025-02
(monthly credits, Shanghai's prorated first annual credit for January's retirements).
"""

import argparse
import cProfile
import datetime
import io
import multiprocessing
import os
import pstats
import random
import re
import resource
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")  # DEBUG keeps every query in memory

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts import events  # noqa: E402
from accounts.credits import (  # noqa: E402
    DEFAULT_CHUNK_SIZE,
    Chunk,
    credit_run_chunk,
    credit_run_complete_if_done,
    credit_run_create,
    credits_run_month,
)
from accounts.ledger import ledger_verify  # noqa: E402
from accounts.models import CreditRun  # noqa: E402
from core.certno import certno_gender, certno_make  # noqa: E402
from policies.models import Region  # noqa: E402
from reports.summaries import account_flows_rebuild  # noqa: E402

D = datetime.date
AREAS = {"310000": "310101", "370100": "370102"}
COPY_BATCH = 50_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="enrollees (default 1,000,000)")
    parser.add_argument("--month", action="append",
                        help="YYYY-MM, repeatable, run in this order (default: 2025-01 then 2025-02)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                        help=f"enrollment ids per chunk (default {DEFAULT_CHUNK_SIZE})")
    parser.add_argument("--seed", type=int, default=4, help="random seed of the data (default 4)")
    parser.add_argument("--template", action="store_true",
                        help="keep the loaded database as a template (<name>_tpl_v2_n<N>_s<seed>_<months>) and start "
                             "from it when it is there: setup in seconds instead of minutes on a repeat")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes taking the run's chunks, as Celery workers do (default 1: the run_credits "
                             "command's own loop, chunk after chunk)")
    parser.add_argument("--profile", action="store_true",
                        help="time every statement of the runs (summed by statement) and print the top of a cProfile")
    args = parser.parse_args()
    try:
        args.months = [D.fromisoformat(f"{m}-01") for m in (args.month or ["2025-01", "2025-02"])]
    except ValueError:
        parser.error("--month is YYYY-MM")
    return args


def say(text: str) -> None:
    print(text, flush=True)


def backend_pid() -> int:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def backend_cpu() -> float:
    """CPU seconds (user + system) of this connection's PostgreSQL backend so far (/proc: same host only)."""
    try:
        fields = Path(f"/proc/{backend_pid()}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """Run fn, print its wall time, this process's CPU and its PostgreSQL backend's CPU and the load average."""
    pid, cpu, db = backend_pid(), process_cpu(), backend_cpu()
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    # Worker processes (--workers) report their own CPU; this process's backend is then another one.
    db = f"{backend_cpu() - db:.1f} s" if backend_pid() == pid else "(in the workers)"
    say(f"  {label}: {seconds:.1f} s wall, CPU {process_cpu() - cpu:.1f} s app + {db} PostgreSQL, "
        f"load average {os.getloadavg()[0]:.1f}")
    return result, seconds


class StatementTimes:
    """Wall time of every statement on Django's connection, summed by statement (numbers and lists folded)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001, ANN204
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = re.sub(r"\s+", " ", sql).strip()
            key = re.sub(r"(%s, )+%s", "%s…", key)[:150]
            self.times[key][0] += 1
            self.times[key][1] += time.perf_counter() - start

    def report(self, top: int = 12) -> None:
        total = sum(t for _, t in self.times.values())
        say(f"  statements: {sum(n for n, _ in self.times.values())} taking {total:.1f} s")
        for key, (n, t) in sorted(self.times.items(), key=lambda item: -item[1][1])[:top]:
            say(f"    {t:7.2f} s {n:5d}x  {key}")
        self.times.clear()


# --- database ----------------------------------------------------------------------------------------------------

def admin_connect() -> psycopg.Connection:
    settings = connection.settings_dict
    params = {"dbname": "postgres", "user": settings["USER"], "host": settings["HOST"] or None,
              "port": settings["PORT"] or None, "password": settings["PASSWORD"] or None}
    return psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)


def database_recreate(template: str | None = None) -> bool:
    """Drop and create the bench database, from `template` when that database exists (True), else empty, migrated
    and seeded (False)."""
    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    connection.close()
    with admin_connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template and admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            # A template loaded by an older checkout gets this checkout's migrations, as production would.
            call_command("migrate", verbosity=0)
            return True
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    call_command("seed_policies", stdout=io.StringIO())
    return False


def template_save(template: str) -> None:
    name = connection.settings_dict["NAME"]
    connection.close()
    with admin_connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{template}"')
        admin.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')


# --- data --------------------------------------------------------------------------------------------------------

def random_day(rng: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    return first + datetime.timedelta(days=rng.randrange((last - first).days + 1))


def years_after(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def enrollees(n: int, months: list[datetime.date], seed: int):  # noqa: ANN201  (an iterator of tuples)
    """Yield (person row, enrollment row, its dated status row, contribution rows) for persons 1..n, as COPY text
    fields. Every enrollment has its dated status, as an import writes it (and migration 0011 wrote it for the
    enrollments before it): its present status from its begndate, so the status on any credited month is the
    present one, as EXPECTED_SQL reads it."""
    rng = random.Random(seed)
    regions = {r.admdvs: r.pk for r in Region.objects.filter(admdvs__in=AREAS)}
    serial: dict[str, int] = {}  # 14-digit area + birth date -> next 3-digit sequence: unique certno
    now = datetime.datetime.now(datetime.UTC).isoformat()
    first_month = min(months)
    for pk in range(1, n + 1):
        admdvs = "310000" if rng.random() < 0.6 else "370100"
        kind = rng.random()
        retire_date = None
        if kind < 0.77:  # in service, 20 to 60
            psn_type = "1101" if kind < 0.72 else "1103"
            brdy = random_day(rng, D(1965, 1, 1), D(2004, 12, 31))
        else:  # retired, 55 to 95; a few retiring around the benchmarked months
            psn_type = "1201" if kind < 0.97 else "1203"
            if rng.random() < 0.02:
                retire_date = random_day(rng, previous_month_of(first_month), months[-1] + datetime.timedelta(27))
                brdy = years_after(retire_date, -rng.choice((55, 60)))
            else:
                brdy = random_day(rng, D(1930, 1, 1), D(1969, 12, 31))
                retire_date = min(years_after(brdy, rng.choice((50, 55, 60))), D(2024, 11, 30))
        prefix = AREAS[admdvs] + brdy.strftime("%Y%m%d")
        seq = serial.get(prefix, 0)
        if seq > 999:
            raise RuntimeError(f"more than 1000 persons born {brdy} in {admdvs}")
        serial[prefix] = seq + 1
        certno = certno_make(f"{prefix}{seq:03d}")
        person = (pk, f"B{pk:09d}", certno, f"Bench {pk}", certno_gender(certno), brdy.isoformat(), now)

        status, enddate, begndate = "1", None, random_day(rng, D(2000, 1, 1), D(2020, 12, 31))
        roll = rng.random()
        if roll < 0.02:
            status = "2"  # suspended
        elif roll < 0.03:
            status, enddate = "4", D(2024, 6, 30)  # terminated
        elif roll < 0.04:
            begndate = months[-1] + datetime.timedelta(days=rng.randrange(20))  # joins in the last month
        base = Decimal(rng.randrange(300_000, 3_500_000)) / 100
        enrollment = (pk, pk, "310", psn_type, regions[admdvs], base if retire_date is None else None,
                      begndate.isoformat(), enddate.isoformat() if enddate else None,
                      retire_date.isoformat() if retire_date else None, status)

        status_row = (pk, begndate.isoformat(), status, now)

        contributions = []
        for month in months:
            in_service = retire_date is None or retire_date >= month
            if in_service and begndate <= month.replace(day=28) and rng.random() < 0.97:  # 3% unpaid
                contributions.append((pk, month.isoformat(), base, (base * Decimal("0.02")).quantize(Decimal("0.01")),
                                      (base * Decimal("0.09")).quantize(Decimal("0.01"))))
        yield person, enrollment, status_row, contributions


def previous_month_of(month: datetime.date) -> datetime.date:
    return (month - datetime.timedelta(days=1)).replace(day=1)


def copy_line(row: tuple) -> str:
    return "\t".join(r"\N" if v is None else str(v) for v in row) + "\n"


def load(n: int, months: list[datetime.date], seed: int) -> dict[str, int]:
    """COPY persons, enrollments and contributions in one pass (three COPY streams would need three passes or
    three connections; buffering each batch keeps memory flat)."""
    connection.ensure_connection()
    raw = connection.connection
    counts = {"persons": 0, "contributions": 0}
    columns = {
        "accounts_person": "id, psn_no, certno, psn_name, gend, brdy, created_at",
        "accounts_enrollment": "id, person_id, insutype, psn_type, region_id, clct_base, begndate, enddate, "
                               "retire_date, psn_insu_stas",
        "accounts_enrollmentstatus": "enrollment_id, stas_date, psn_insu_stas, created_at",
        "accounts_contribution": "person_id, period, clct_base, psn_clct_amt, emp_clct_amt",
    }
    buffers: dict[str, list[str]] = {table: [] for table in columns}

    def flush() -> None:
        with raw.cursor() as cursor:
            for table, lines in buffers.items():
                if lines:
                    with cursor.copy(f"COPY {table} ({columns[table]}) FROM STDIN") as copy:
                        copy.write("".join(lines))
                    lines.clear()

    with raw.transaction():
        for person, enrollment, status, contributions in enrollees(n, months, seed):
            buffers["accounts_person"].append(copy_line(person))
            buffers["accounts_enrollment"].append(copy_line(enrollment))
            buffers["accounts_enrollmentstatus"].append(copy_line(status))
            buffers["accounts_contribution"].extend(copy_line(c) for c in contributions)
            counts["persons"] += 1
            counts["contributions"] += len(contributions)
            if len(buffers["accounts_person"]) >= COPY_BATCH:
                flush()
        flush()
        with raw.cursor() as cursor:
            for table in ("accounts_person", "accounts_enrollment", "accounts_enrollmentstatus"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    raw.execute("VACUUM ANALYZE")  # Django's connection is in autocommit mode; production tables are analysed
    return counts


# --- expectation and checks ----------------------------------------------------------------------------------------

# Who should get which credit of the seeded rules in month %(m)s, written from CONTRACT.md without the run's SQL:
# SH-2023-07 (310000): in service 2% of the month's base, current pocket; retired, aged 74 and under 1,680 a year,
#   75 and over 1,890 a year, on 1 January, or prorated (months left in the year / 12) the month after a
#   retirement on or after 2023-07-01.
# JN-2024 (370100): in service 2% of the month's base; retired 2% (under 70) or 2.5% (70 and over) of 3,200 a month,
#   historical pocket.
# In service in a month: not a retired type, or retired on or after its first day. Age: completed years on the
# month's first day. Insured: status active, begndate up to the month's end, enddate from its first day.
EXPECTED_SQL = """
WITH m AS (SELECT %(m)s::date AS first, (%(m)s::date + interval '1 month' - interval '1 day')::date AS last),
enrollee AS (
    SELECT e.person_id, r.admdvs, e.retire_date,
           e.psn_type IN ('1201', '1203') AND e.retire_date < m.first AS retired,
           date_part('year', age(m.first, p.brdy))::int AS age, m.first
    FROM accounts_enrollment e JOIN accounts_person p ON p.id = e.person_id
    JOIN policies_region r ON r.id = e.region_id, m
    WHERE e.insutype = '310' AND e.psn_insu_stas = '1' AND e.begndate <= m.last
      AND (e.enddate IS NULL OR e.enddate >= m.first)
)
SELECT x.person_id, x.rule, x.amount FROM (
    SELECT n.person_id, 'in-service: own contribution 2%%' AS rule, round(c.clct_base * 0.02, 2) AS amount
    FROM enrollee n JOIN accounts_contribution c ON c.person_id = n.person_id AND c.period = n.first
    WHERE NOT n.retired AND c.clct_base > 0
  UNION ALL
    SELECT n.person_id, CASE WHEN n.age <= 74 THEN 'retired, 74 and under' ELSE 'retired, 75 and over' END,
           CASE WHEN date_part('month', n.first) = 1 THEN CASE WHEN n.age <= 74 THEN 1680.00 ELSE 1890.00 END
                ELSE round((CASE WHEN n.age <= 74 THEN 1680.00 ELSE 1890.00 END)
                           * (13 - date_part('month', n.first))::int / 12, 2) END
    FROM enrollee n
    WHERE n.admdvs = '310000' AND n.retired
      AND (date_part('month', n.first) = 1
           OR (n.retire_date >= n.first - interval '1 month' AND n.retire_date >= '2023-07-01'))
  UNION ALL
    SELECT n.person_id, CASE WHEN n.age < 70 THEN 'retired, under 70: 2%% of the 2023 average basic pension'
                             ELSE 'retired, 70 and over: 2.5%% of the 2023 average basic pension' END,
           CASE WHEN n.age < 70 THEN 64.00 ELSE 80.00 END
    FROM enrollee n WHERE n.admdvs = '370100' AND n.retired
) x
"""

ACTUAL_SQL = """
SELECT a.person_id, r.name AS rule, l.amount
FROM accounts_ledgerentry l JOIN accounts_personalaccount a ON a.id = l.account_id
JOIN policies_creditrule r ON r.id = l.credit_rule_id
WHERE l.credit_rule_id IS NOT NULL AND l.period = %(m)s
"""


def check_month(month: datetime.date) -> tuple[int, list[str]]:
    """Compare the month's credit entries with the expectation, row by row. Returns (expected rows, problems)."""
    problems = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(f"SELECT rule, count(*), sum(amount) FROM ({EXPECTED_SQL}) t GROUP BY rule ORDER BY rule",
                       {"m": month})
        expected = {rule: (count, total) for rule, count, total in cursor.fetchall()}
        cursor.execute(f"SELECT rule, count(*), sum(amount), count(DISTINCT person_id) FROM ({ACTUAL_SQL}) t "
                       "GROUP BY rule ORDER BY rule", {"m": month})
        actual = {rule: (count, total, distinct) for rule, count, total, distinct in cursor.fetchall()}
        for rule in sorted(set(expected) | set(actual)):
            want, got = expected.get(rule, (0, 0)), actual.get(rule, (0, 0, 0))
            flag = "ok" if (want[0], want[1]) == (got[0], got[1]) and got[0] == got[2] else "MISMATCH"
            say(f"    {rule[:60]:60} expected {want[0]:>9,} {want[1]:>16,.2f}   entries {got[0]:>9,} "
                f"{got[1]:>16,.2f}  {flag}")
            if flag != "ok":
                problems.append(f"{month:%Y-%m} {rule}: expected {want}, got {got}")
        cursor.execute(f"""
            SELECT count(*) FILTER (WHERE a.person_id IS NULL), count(*) FILTER (WHERE e.person_id IS NULL),
                   count(*) FILTER (WHERE a.amount <> e.amount)
            FROM ({EXPECTED_SQL}) e FULL JOIN ({ACTUAL_SQL}) a ON a.person_id = e.person_id AND a.rule = e.rule
        """, {"m": month})  # noqa: S608
        missing, extra, wrong = cursor.fetchone()
    say(f"    row by row: {missing} missing, {extra} unexpected, {wrong} with another amount")
    if missing or extra or wrong:
        problems.append(f"{month:%Y-%m}: {missing} missing, {extra} unexpected, {wrong} wrong amounts")
    return sum(count for count, _total in expected.values()), problems


def _chunk_worker(job: tuple[int, int, int, int, int]) -> tuple[int, float, float]:
    """In a worker process: credit one chunk as `credit_chunk_task` does; returns (entries, process CPU, backend
    CPU) spent on it."""
    run_id, number, region_id, lo, hi = job
    cpu, db = process_cpu(), backend_cpu()
    run = CreditRun.objects.get(pk=run_id)
    created, _amount = credit_run_chunk(run=run, chunk=Chunk(region_id, lo, hi), number=number,
                                        worker=f"bench-{os.getpid()}")
    credit_run_complete_if_done(run_id=run_id)
    return created, process_cpu() - cpu, backend_cpu() - db


def _worker_start() -> None:
    connection.close()  # never the parent's socket: each worker opens its own connection


def credits_run_parallel(*, month: datetime.date, chunk_size: int, workers: int) -> CreditRun:
    """The run's chunks taken by `workers` forked processes, each with its own connection (Celery's fan-out
    without a broker); prints the workers' CPU, which `timed` does not see."""
    run, chunks = credit_run_create(month=month, chunk_size=chunk_size)
    jobs = [(run.pk, number, c.region_id, c.lo, c.hi) for number, c in enumerate(chunks, start=1)]
    connection.close()
    with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_start) as pool:
        results = pool.map(_chunk_worker, jobs, chunksize=1)
    cpu, db = sum(r[1] for r in results), sum(r[2] for r in results)
    say(f"    ({workers} workers: CPU {cpu:.1f} s in the workers + {db:.1f} s in their PostgreSQL backends)")
    run.refresh_from_db()
    return run


def vacuum_analyze() -> None:
    connection.ensure_connection()
    connection.connection.execute("VACUUM ANALYZE")  # autocommit, as in load()


def enrollments_count() -> int:
    """Employee-insurance enrollments: what a run (and its re-run) goes through."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_enrollment WHERE insutype = '310'")
        return cursor.fetchone()[0]


def main() -> None:
    args = parse_args()
    say(f"credits bench: n={args.n:,}, months {', '.join(f'{m:%Y-%m}' for m in args.months)}, "
        f"chunk size {args.chunk_size:,}, database {connection.settings_dict['NAME']}")
    setup_start = time.perf_counter()
    months = "_".join(f"{m:%Y%m}" for m in args.months)
    # v2: enrollments with their dated status (templates without them are not reused).
    template = (f"{connection.settings_dict['NAME']}_tpl_v2_n{args.n}_s{args.seed}_{months}" if args.template
                else None)
    from_template = database_recreate(template)
    if from_template:
        say(f"  from the template {template}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM accounts_person")
            persons = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM accounts_contribution")
            counts = {"persons": persons, "contributions": cursor.fetchone()[0]}
    else:
        counts, _ = timed("COPY persons, enrollments, contributions; VACUUM ANALYZE", load, args.n,
                                     args.months, args.seed)
        if template:
            template_save(template)
    setup_seconds = time.perf_counter() - setup_start
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    say(f"setup {setup_seconds:.1f} s: {counts['persons']:,} persons and enrollments, "
        f"{counts['contributions']:,} contributions; PostgreSQL {version}, {os.cpu_count()} cores")
    statements = StatementTimes() if args.profile else None
    if statements is not None:
        connection.execute_wrappers.append(statements)

    enrollments = enrollments_count()
    problems: list[str] = []
    for number, month in enumerate(args.months):
        say(f"\n{month:%Y-%m}")
        if number:
            # A month apart, production's autovacuum has vacuumed and analysed what the last run wrote (this server
            # runs with autovacuum off): without it the next run reads every account's dead version from the index
            # and plans against statistics of an empty ledger.
            timed("VACUUM ANALYZE (autovacuum's work in the month between)", vacuum_analyze)
        # The run's end queues the rebuild of the month's account flows (reports), a task of its own on the bulk
        # queue in production: timed here on its own, after the run and its re-run.
        listeners = list(events._listeners)
        events._listeners.clear()
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        if args.workers > 1:
            def run_month(**kwargs):  # noqa: ANN003, ANN202
                return credits_run_parallel(workers=args.workers, **kwargs)
        else:
            run_month = credits_run_month
        run, run_seconds = timed("run", run_month, month=month, chunk_size=args.chunk_size)
        if statements is not None:
            statements.report()
        rerun, rerun_seconds = timed("re-run", run_month, month=month, chunk_size=args.chunk_size)
        if profiler is not None:
            profiler.disable()
            statements.report()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
        events._listeners[:] = listeners
        timed("account flows rebuilt (the task the run's end queues)", account_flows_rebuild, month=month)
        found, verify_seconds = timed("ledger_verify", ledger_verify)
        say(f"  run:    {run.entries_created:>9,} entries, {run.amount_total:,} yuan, {run.chunks_total} chunks, "
            f"{run.entries_created / run_seconds:>9,.0f} entries/s, {enrollments / run_seconds:>9,.0f} enrollments/s"
            f" [{run.status}]")
        say(f"  re-run: {rerun.entries_created:>9,} entries, {enrollments / rerun_seconds:>9,.0f} enrollments/s "
            f"[{rerun.status}]")
        say(f"  ledger_verify: {len(found)} problems")
        expected, month_problems = check_month(month)
        problems += month_problems
        if run.status != "done" or rerun.status != "done":
            problems.append(f"{month:%Y-%m}: run {run.status} {run.error} / re-run {rerun.status} {rerun.error}")
        if run.entries_created != expected:
            problems.append(f"{month:%Y-%m}: the run counted {run.entries_created} entries, {expected} expected")
        if rerun.entries_created:
            problems.append(f"{month:%Y-%m}: the re-run created {rerun.entries_created} entries")
        if found:
            problems.append(f"{month:%Y-%m}: ledger_verify found {len(found)} problems, e.g. {found[0]}")
        say(f"  RESULT {month:%Y-%m} n={args.n} chunk={args.chunk_size} entries={run.entries_created} "
            f"run={run_seconds:.1f}s rerun={rerun_seconds:.1f}s verify={verify_seconds:.1f}s")
    say("")
    if problems:
        say("FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    say("all checks passed")


if __name__ == "__main__":
    main()
