"""Does a settlement cost more, and do the admin's lists get slower, as history piles up? One PostgreSQL database
grown to each size in turn (default 1M, 10M and 50M settlements and as many ledger entries), measured at each.

Recreates its own database (the name in DATABASE_URL must contain "bench"), migrates and runs `seed_demo` (as
bench/settle.py), then for each size:

1. grows `claims_settlement` and `accounts_ledgerentry` to that many rows with set-based `INSERT … SELECT
   generate_series`, batches of a million rows of each table on `--threads` connections at once: settled
   general-outpatient visits spread over 2019-01-01 to 2026-10-31 at the demo facilities, for the demo persons, and a
   debit entry per settlement. The stored answer and explanation are empty JSON: a real answer is about 800 bytes,
   which would make 50M settlements some 55 GB of table alone (storage, for the capacity plan) but changes nothing on
   the keyed paths measured here. The indexes are those of production (the migrations'); for a large step they are
   dropped first and built again afterwards, as many at once as there are loading connections (what a bulk load
   does), then both tables are VACUUM ANALYZEd (what autovacuum does);
2. settles `--n` requests one at a time through the WSGI application in process (bench/settle_profile.py):
   application and PostgreSQL backend CPU per settlement, p50/p99 wall time, statements per settlement; then 200
   more for the shared buffers each touches (pg_stat_database), and the buffers of each SELECT of one of them
   (EXPLAIN (ANALYZE, BUFFERS)). CPU and buffers do not depend on the machine's load; wall times do;
3. opens the admin change lists of settlements and ledger entries as a superuser (Django's test client, production
   settings): the first page and filtered pages, each `--admin-repeats` times, the best and the worst, with the
   SQL time, PostgreSQL CPU and shared buffers of the best.

Prints a row per size with the load average and the database's size, then drops the database (unless --keep).
`--measure-only` measures a kept database as it is (steps 2 and 3, nothing added, nothing dropped).
The generated history is not a book that balances (`ledger_verify()` is not expected to hold): only its volume and
its spread over keys matter here.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/growth_bench .venv/bin/python bench/growth.py
"""

import argparse
import contextlib
import datetime
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/growth_bench")

from bench import settle_profile  # noqa: E402, I001  (first: production settings, Django set up)
from bench.settle import SETTLEMENTS, admin_connection, database_prepare, requests_make, say  # noqa: E402

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import LedgerEntry  # noqa: E402
from claims.models import Facility, Settlement  # noqa: E402

HISTORY_FROM = datetime.date(2019, 1, 1)
HISTORY_DAYS = (datetime.date(2026, 10, 31) - HISTORY_FROM).days + 1
BATCH = 1_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000, 50_000_000],
                        help="rows of settlements and of ledger entries at each step (default 1M 10M 50M)")
    parser.add_argument("--n", type=int, default=1000, help="settlements measured at each size (default 1000)")
    parser.add_argument("--admin-repeats", type=int, default=3, help="times each admin page is opened (default 3)")
    parser.add_argument("--reuse-db", action="store_true", help="keep the database (and rows) of a previous run")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--max-gb", type=float, default=35, help="stop before a step that would pass this size")
    parser.add_argument("--threads", type=int, default=2,
                        help="connections loading rows and building indexes at once (default 2)")
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the database as it is (kept, no rows added; implies --reuse-db --keep)")
    return parser.parse_args()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def db_size() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return cursor.fetchone()[0]


def rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


# --- the history ----------------------------------------------------------------------------------------------

def _columns(model: type, given: dict[str, str], given_params: dict[str, object] | None = None,
             ) -> tuple[list[str], list[str], list[object]]:
    """Column names, SQL expressions and their parameters in order for an INSERT of `model` rows: the expressions
    in `given` (by column; a `%s` in one takes its value from `given_params`), NULL for the other nullable columns,
    each other column's Python default as a parameter."""
    names, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(field.column)
        if field.column in given:
            expressions.append(given[field.column])
            if "%s" in given[field.column]:
                params.append((given_params or {})[field.column])
        elif field.null:
            expressions.append("NULL")
        else:
            expressions.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    return names, expressions, params


def _setl_id(i: str = "g.i") -> str:
    return (f"to_char(DATE '{HISTORY_FROM}' + ({i} * 7919 %% {HISTORY_DAYS})::int, 'YYYYMMDD') "
            f"|| upper(substr(md5({i}::text), 1, 16))")


def settlements_insert(first: int, last: int, answer: str) -> tuple[str, list]:
    """Settlements number first..last of the history: facility and person spread over the demo ones, service dates
    over eight benefit years, amounts of a small visit; `answer` as the stored answer."""
    day = f"(DATE '{HISTORY_FROM}' + (g.i * 7919 %% {HISTORY_DAYS})::int)"
    total = "(20 + (g.i %% 400))::numeric(12,2)"
    given = {
        "setl_id": _setl_id(), "facility_id": "f.a[1 + (g.i * 31 %% array_length(f.a, 1))]",
        "medins_setl_id": "'HIST-' || g.i", "request_digest": "md5(g.i::text) || md5((-g.i)::text)",
        "status": "'settled'", "person_id": "p.a[1 + (hashint8(g.i) & 2147483647) %% array_length(p.a, 1)]",
        "insutype": "'310'", "psn_type": "'11'", "med_type": "'11'", "setl_date": day, "bucket": "'general'",
        "year_start": f"date_trunc('year', {day})::date", "hosp_lv": "'3'",
        "medfee_sumamt": total, "inscp_scp_amt": total, "psn_part_amt": total, "acct_pay": total,
        "response": "%s::jsonb", "explanation": "'[]'::jsonb",
        "created_at": f"{day}::timestamptz + interval '10 hours'",
    }
    names, expressions, params = _columns(Settlement, given, {"response": answer})
    return f"""
        INSERT INTO {Settlement._meta.db_table} ({", ".join(names)})
        SELECT {", ".join(expressions)}
        FROM generate_series(%s::bigint, %s::bigint) AS g(i),
             (SELECT array_agg(id ORDER BY id) AS a FROM {Facility._meta.db_table}) AS f,
             (SELECT array_agg(person_id ORDER BY person_id) AS a FROM accounts_personalaccount) AS p""", \
        [*params, first, last]


def entries_insert(first: int, last: int) -> tuple[str, list]:
    """Ledger entries number first..last: the debit of settlement i from an account spread over the demo ones."""
    day = f"(DATE '{HISTORY_FROM}' + (g.i * 7919 %% {HISTORY_DAYS})::int)"
    given = {
        "account_id": "a.a[1 + (hashint8(g.i) & 2147483647) %% array_length(a.a, 1)]", "kind": "'settlement'",
        "pocket": "CASE WHEN g.i %% 5 = 0 THEN 'historical' ELSE 'current' END",
        "amount": "-(20 + (g.i %% 400))::numeric(12,2)", "balance_after": "(g.i %% 3000)::numeric(12,2)",
        "ref_type": "'settlement'", "ref_id": _setl_id(), "reason": "''",
        "created_at": f"{day}::timestamptz + interval '10 hours'",
    }
    names, expressions, params = _columns(LedgerEntry, given)
    return f"""
        INSERT INTO {LedgerEntry._meta.db_table} ({", ".join(names)})
        SELECT {", ".join(expressions)}
        FROM generate_series(%s::bigint, %s::bigint) AS g(i),
             (SELECT array_agg(id ORDER BY id) AS a FROM accounts_personalaccount) AS a""", [*params, first, last]


PENDING = "growth_bench_pending_index"  # the statements that build the dropped indexes again, until they have run


def indexes_drop(table: str) -> None:
    """Drop the table's indexes and unique constraints other than its primary key, keeping the statements that
    build them again in PENDING (in the same transaction: an interrupted run builds them on its next start)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
            WHERE x.indrelid = %s::regclass AND NOT x.indisprimary""", [table])
        for index, index_def, constraint, constraint_def in cursor.fetchall():
            if constraint:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
                again = f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraint_def}'
            else:
                cursor.execute(f'DROP INDEX "{index}"')
                again = index_def
            cursor.execute(f"INSERT INTO {PENDING} (statement) VALUES (%s)", [again])


def loader_connect() -> psycopg.Connection:
    """A connection of its own for one loading thread, its backend reniced (+10, idle I/O class): the load is the
    backend's work, not this process's, and the rest of the machine keeps working. The history is made of existing
    facilities, persons and accounts, so the FK checks (per-row triggers) are off; commits are not waited for (a
    crash loses the last batches, which the next run makes again: it starts from the largest HIST- number); each
    index build sorts in up to 2 GB and runs serially, as many at once as there are loading threads."""
    s = connection.settings_dict
    params = {"dbname": s["NAME"], "user": s["USER"], "host": s["HOST"], "port": s["PORT"], "password": s["PASSWORD"]}
    loader = psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)
    for setting in ("session_replication_role = replica", "synchronous_commit = off",
                    "maintenance_work_mem = '2GB'", "max_parallel_maintenance_workers = 0"):
        loader.execute(f"SET {setting}")
    pid = loader.execute("SELECT pg_backend_pid()").fetchone()[0]
    for command in (["renice", "-n", "10", "-p", str(pid)], ["ionice", "-c", "3", "-p", str(pid)]):
        if shutil.which(command[0]):
            subprocess.run(command, capture_output=True, check=False)
    return loader


Job = tuple[str, list[tuple[str, list | None]], bool]  # label, statements with their parameters, in a transaction


def in_parallel(jobs: list[Job], threads: int) -> None:
    """Run the jobs on `threads` connections at once, in the order given, each job's statements in one
    transaction (or none: VACUUM); the first failure stops the rest and is raised."""
    queue = list(reversed(jobs))
    lock = threading.Lock()
    failed: list[BaseException] = []
    started = time.perf_counter()

    def work() -> None:
        with loader_connect() as loader:
            while True:
                with lock:
                    if not queue or failed:
                        return
                    label, statements, atomic = queue.pop()
                began = time.perf_counter()
                try:
                    with loader.transaction() if atomic else contextlib.nullcontext():
                        for sql, params in statements:
                            loader.execute(sql, params)
                except BaseException as error:  # noqa: BLE001  (raised again below, in the main thread)
                    failed.append(error)
                    return
                size = loader.execute("SELECT pg_database_size(current_database())").fetchone()[0]
                say(f"    {label}: {time.perf_counter() - began:.0f} s (at {time.perf_counter() - started:.0f} s, "
                    f"{size / 2**30:.1f} GiB, load {load()})")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failed:
        raise failed[0]


_UNIQUE = re.compile(r'ALTER TABLE (\S+) ADD CONSTRAINT ("[^"]+") (UNIQUE \([^)]*\))$')


def index_jobs(builds: list[tuple[int, str]]) -> list[Job]:
    """The jobs that build the pending indexes, as many at once as there are threads: `CREATE INDEX` takes a
    SHARE lock, which other builds on the table share, but `ALTER TABLE … ADD CONSTRAINT … UNIQUE` locks the table
    out for the whole build; so a unique constraint's index is built by `CREATE UNIQUE INDEX` under the constraint's
    name, and the constraint is added on it afterwards (`ADD CONSTRAINT … UNIQUE USING INDEX`: a catalog change,
    the same constraint and index as the migrations'). A build that an interrupted run finished is skipped
    (IF NOT EXISTS); the constraint's PENDING row goes with the constraint, an index's with the index. The ledger's
    first, then the settlements' text keys (the longest sorts), so that the threads end together."""
    jobs = []
    for pk, statement in sorted(builds, key=lambda b: (Settlement._meta.db_table in b[1],
                                                       not ("setl_id" in b[1] or "ref_id" in b[1]), b[0])):
        unique = _UNIQUE.match(statement)
        if unique:
            table, name, columns = unique.groups()
            jobs.append((statement[:100], [(f"CREATE {columns.split(' ')[0]} INDEX IF NOT EXISTS {name} ON {table} "
                                            f"{columns.split(' ', 1)[1]}", None)], True))
        elif statement.startswith("ALTER TABLE"):
            continue  # another kind of constraint: after the indexes, as it is
        else:
            jobs.append((statement[:100], [(statement.replace(" INDEX ", " INDEX IF NOT EXISTS ", 1), None),
                                           (f"DELETE FROM {PENDING} WHERE id = %s", [pk])], True))
    return jobs


def constraint_jobs(builds: list[tuple[int, str]]) -> list[Job]:
    """The constraints of PENDING, each added on its index (built by index_jobs) or, for another kind, as it is;
    a constraint that already exists is skipped."""
    jobs = []
    for pk, statement in builds:
        if not statement.startswith("ALTER TABLE"):
            continue
        unique = _UNIQUE.match(statement)
        table, name = statement.split(" ")[2], statement.split('"')[1]
        add = (f'ALTER TABLE {table} ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{name}"' if unique else statement)
        jobs.append((statement[:100], [(f"""DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_constraint
                                           WHERE conrelid = '{table}'::regclass AND conname = '{name}')
                                           THEN {add}; END IF; END $$""", None),
                                       (f"DELETE FROM {PENDING} WHERE id = %s", [pk])], True))
    return jobs


def grow(target: int, answer: str, threads: int) -> None:
    """Both tables up to `target` history rows (the measured settlements and the demo's own come on top), loaded
    in batches of BATCH rows on `threads` connections at once; for a large step the indexes are dropped first and
    built again afterwards (what a bulk load does), then both tables are VACUUM ANALYZEd (what autovacuum does)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(substr(medins_setl_id, 6)::bigint), 0) FROM {Settlement._meta.db_table} "
                       "WHERE medins_setl_id LIKE 'HIST-%%'")
        have = cursor.fetchone()[0]
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {PENDING} (id serial PRIMARY KEY, statement text NOT NULL)")
        cursor.execute(f"SELECT count(*) FROM {PENDING}")
        pending = cursor.fetchone()[0]
    if have >= target and not pending:
        return
    started = time.perf_counter()
    if target - have > have and not pending:  # a large step: build the indexes afterwards, sorted, not row by row
        with transaction.atomic():
            indexes_drop(Settlement._meta.db_table)
            indexes_drop(LedgerEntry._meta.db_table)
    jobs = []
    for first in range(have + 1, target + 1, BATCH):
        last = min(first + BATCH - 1, target)
        jobs.append((f"rows {first:,}–{last:,}", [settlements_insert(first, last, answer), entries_insert(first, last)],
                     True))
    in_parallel(jobs, threads)
    say(f"  rows loaded in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, statement FROM {PENDING} ORDER BY id")
        builds = cursor.fetchall()
    in_parallel(index_jobs(builds), threads)
    in_parallel(constraint_jobs(builds), 1)
    in_parallel([(f"VACUUM (ANALYZE) {table}", [(f"VACUUM (ANALYZE) {table}", None)], False)
                 for table in (Settlement._meta.db_table, LedgerEntry._meta.db_table)], threads)
    say(f"  grown to {target:,} in {time.perf_counter() - started:.0f} s; database {db_size() / 2**30:.1f} GiB")


# --- the measurements -----------------------------------------------------------------------------------------

def backend_cpu() -> float:
    """CPU seconds (user + system) of this process's PostgreSQL backend so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def buffers() -> int:
    """Shared buffers touched (hit or read) in this database so far, this backend's own counts included: they are
    flushed to the statistics when it goes idle after pg_stat_force_next_flush(). Nothing else connects to a bench
    database while it measures, so the difference of two readings is this backend's work in between (the readings
    themselves touch a few catalog pages, the same at every size)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT blks_hit + blks_read FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def settlement_buffers(work: list[tuple[str, bytes]]) -> tuple[float, float, list[tuple[int, str]]]:
    """Settle `work` one at a time through the WSGI application in process (after the measured run, so caches and
    connections are warm) and return the shared buffers and the statements per settlement, and the buffers of
    each SELECT of the last settlement by EXPLAIN (ANALYZE, BUFFERS), in a transaction rolled back (the other
    statements insert one row or update a few keyed rows: their buffers are index descents, in the total)."""
    app = get_wsgi_application()
    statements: list[tuple[str, object]] = []
    count = [0]

    def record(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        count[0] += 1
        statements.append((sql, params))
        return execute(sql, params, many, context)

    status: list[str] = []
    before = buffers()
    with connection.execute_wrapper(record):
        for token, body in work:
            del statements[:], status[:]
            environ = {"REQUEST_METHOD": "POST", "PATH_INFO": SETTLEMENTS, "SERVER_NAME": "127.0.0.1",
                       "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
                       "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json",
                       "CONTENT_LENGTH": str(len(body)), "HTTP_ACCEPT": "application/json",
                       "HTTP_AUTHORIZATION": f"Token {token}", "wsgi.input": io.BytesIO(body),
                       "wsgi.errors": sys.stderr}
            b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
            if not status[0].startswith("201"):
                sys.exit(f"unexpected answer {status[0]} to a settlement")
    touched = buffers() - before
    per_select = []
    for sql, params in statements:
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
            plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            per_select.append((plan["Shared Hit Blocks"] + plan["Shared Read Blocks"], " ".join(sql.split())))
            transaction.set_rollback(True)
    return touched / len(work), count[0] / len(work), per_select


def admin_pages(repeats: int) -> dict[str, tuple[float, float, float, float, int]]:
    """Each admin page, as a superuser: the best and the worst time (ms), and of the best its SQL time (ms: the part
    that could grow with the tables; the rest is rendering 50 rows), its PostgreSQL backend CPU (ms) and the shared
    buffers it touched (the last two do not depend on the machine's load)."""
    user = get_user_model().objects.filter(username="growth_bench_admin").first()
    if user is None:
        user = get_user_model().objects.create_superuser("growth_bench_admin", "growth@example.invalid",
                                                         "growth-bench-only")
    facility = Facility.objects.order_by("pk").first()
    pages = {
        "settlements": "/admin/claims/settlement/",
        "settlements of a facility": f"/admin/claims/settlement/?facility__id__exact={facility.pk}",
        "settlements of a year": "/admin/claims/settlement/?setl_date__year=2024",
        "ledger entries": "/admin/accounts/ledgerentry/",
        "ledger entries, historical pocket": "/admin/accounts/ledgerentry/?pocket__exact=historical",
    }
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    out = {}
    for name, url in pages.items():
        times = []
        for _ in range(repeats):
            sql = [0.0]

            def timed(execute, query, params, many, context, sql=sql):  # noqa: ANN001, ANN202
                began = time.perf_counter()
                try:
                    return execute(query, params, many, context)
                finally:
                    sql[0] += time.perf_counter() - began

            touched, cpu, started = buffers(), backend_cpu(), time.perf_counter()
            with connection.execute_wrapper(timed):
                response = client.get(url, secure=True)
            wall = (time.perf_counter() - started) * 1000
            times.append((wall, sql[0] * 1000, (backend_cpu() - cpu) * 1000, buffers() - touched))
            if response.status_code != 200:
                sys.exit(f"{url}: {response.status_code}")
        best = min(times)
        out[name] = (best[0], max(times)[0], best[1], best[2], best[3])
    return out


def measure(n: int, repeats: int, rng: random.Random) -> dict:
    """The figures of one size: settle_profile's CPU, wall and statements per settlement over `n` settlements,
    the buffers per settlement over 200 more, and the admin pages."""
    connection.close()
    work, lookups = requests_make(n + 100 + 200, f"G{int(time.time())}", rng)
    load_before = load()
    r = settle_profile.measure(work[:n + 100], lookups)
    per_settlement, statements, selects = settlement_buffers(work[n + 100:])
    pages = admin_pages(repeats)
    say("    buffers of each SELECT of a settlement (EXPLAIN ANALYZE): "
        + "; ".join(f"{touched} {sql[:70]}" for touched, sql in selects))
    return {**r, "buffers": per_settlement, "buffer_statements": statements, "selects": selects, "pages": pages,
            "gib": db_size() / 2**30, "load": f"{load_before} / {load()}",
            "settlements": rows(Settlement._meta.db_table), "entries": rows(LedgerEntry._meta.db_table)}


def main() -> None:
    args = parse_args()
    say(f"bench/growth.py {datetime.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average {load()}")
    database_prepare(args.reuse_db or args.measure_only)
    if args.reuse_db or args.measure_only:
        # A kept database is brought to the code's migrations (those of this bench's tables are catalog changes).
        call_command("migrate", verbosity=1)
    answer = json.dumps({})  # see the module's docstring
    rng = random.Random(16)
    results = []
    try:
        for size in [None] if args.measure_only else args.sizes:
            if size is not None:
                free = shutil.disk_usage("/var/lib/postgresql").free if Path("/var/lib/postgresql").exists() else None
                say(f"growing to {size:,} (database {db_size() / 2**30:.1f} GiB"
                    + (f", {free / 2**30:.0f} GiB free on disk" if free else "") + ")")
                if results and results[-1]["gib"] * size / results[-1]["settlements"] > args.max_gb:
                    say(f"  stopped: about {results[-1]['gib'] * size / results[-1]['settlements']:.0f} GiB > --max-gb")
                    break
                grow(size, answer, args.threads)
            row = measure(args.n, args.admin_repeats, rng)
            results.append(row)
            say(f"  {row['settlements']:,}: application {row['app']:.2f} ms, PostgreSQL {row['db']:.2f} ms CPU per "
                f"settlement, {row['buffers']:.0f} buffers, p50 {row['p50']:.1f} ms, p99 {row['p99']:.1f} ms, "
                f"{row['statements']:.1f} statements; "
                + ", ".join(f"{k} {lo:.0f}-{hi:.0f} ms (SQL {q:.0f}, CPU {c:.0f}, {b} buffers)"
                            for k, (lo, hi, q, c, b) in row["pages"].items())
                + f"; load {row['load']}")
    finally:
        if not (args.keep or args.measure_only):
            connection.close()
            with admin_connection() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{connection.settings_dict["NAME"]}" WITH (FORCE)')
            say("database dropped")
    if not results:
        return
    names = list(results[0]["pages"])
    say("")
    say("| settlements | ledger entries | database GiB | app CPU ms | PostgreSQL CPU ms | buffers | statements "
        "| p50 ms | p99 ms | " + " | ".join(f"admin: {n}, ms (SQL ms, PostgreSQL CPU ms, buffers)" for n in names)
        + " | load average (before / after) |")
    say("| " + " | ".join(["---:"] * (9 + len(names)) + ["---"]) + " |")
    for r in results:
        say(f"| {r['settlements']:,} | {r['entries']:,} | {r['gib']:.1f} | {r['app']:.2f} | {r['db']:.2f} | "
            f"{r['buffers']:.0f} | {r['statements']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
            + " | ".join("{:.0f}–{:.0f} ({:.0f}, {:.0f}, {:,})".format(*r["pages"][n]) for n in names)
            + f" | {r['load']} |")


if __name__ == "__main__":
    main()
