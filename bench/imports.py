"""Benchmark of imports on PostgreSQL (issue 6): rosters, family links and opening balances.

Generates rosters of N rows with valid ID numbers, then, in a database of its own (dropped and created afresh: the
name in DATABASE_URL must contain "bench"), times `manage.py import_csv roster` as a separate process for a first
import and a re-import of the same file (peak RSS of the process from wait4), optionally a file of the same size
with 1% bad rows (nothing may be imported; the bad rows are counted from the command's output), and, on a
20,000-row file, django-import-export's resource import (`RosterResource.import_data`, the admin's row-by-row
path) for comparison.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_imports .venv/bin/python bench/imports.py \
        --n 100000 --n 1000000 --bad 1000000 --compare 20000

`--links N` and `--balances N` time `import_csv family_links` and `import_csv balances` on an N-row file the same
way (first import, re-import, then the file with 10% of its rows changed), each in a fresh database holding a
roster of 0.7 N enrollees imported first (not timed). Family links: spouses linked both ways among the enrollees,
each couple's child (a new person, named once, linked to both parents: orders 1 and 2) and, for every other
couple, a parent (a new person); changed: 10% of the rows get an end date. Balances: both pockets for Shanghai
enrollees, the historical pocket for Jinan's, amounts 0 to 5,000 (1% zero); changed: 10% other amounts, which the
import refuses (an opening balance is set once: exit 1, every changed row named, nothing written), so that run
times the validation of a refused file; `ledger_verify()` after each run. `--rowwise M` also times a first import
of the file's first M rows set-based and through the row-by-row path the two kinds used before (each in a fresh
database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_imports .venv/bin/python bench/imports.py \
        --links 100000 --balances 100000 --rowwise 10000 --compare 0

`--profile N` profiles instead (cProfile in CPU time, in this process): a first import and a re-import of an
N-row roster in a fresh database, with the process's and PostgreSQL's CPU and the statements by time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_imports_prof_bench .venv/bin/python bench/imports.py \
        --profile 100000
"""

import argparse
import csv
import datetime
import io
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")  # DEBUG keeps every query in memory

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from core.certno import certno_make  # noqa: E402

HEADER = ["psn_no", "certno", "psn_name", "gend", "brdy", "psn_type", "insuplc_admdvs", "emp_no", "emp_name",
          "clct_base", "begndate", "retire_date", "psn_insu_stas"]
AREAS = {"310000": ["310101", "310104", "310105", "310106", "310107", "310110"],
         "370100": ["370102", "370103", "370104", "370105"]}
D = datetime.date


def say(text: str) -> None:
    print(text, flush=True)


def roster_rows(n: int, seed: int, *, bad_every: int = 0):  # noqa: ANN201  (an iterator of lists)
    """N roster rows with unique valid ID numbers: 72% in service (1101), 5% flexible (1103), 23% retired
    (1201); 5,000 employers. With `bad_every`, every that-many-th row carries one error of a few kinds."""
    rng = random.Random(seed)
    days = (D(2004, 12, 31) - D(1940, 1, 1)).days
    used: set[str] = set()
    for i in range(1, n + 1):
        admdvs = "310000" if i % 5 < 3 else "370100"
        while True:
            brdy = D(1940, 1, 1) + datetime.timedelta(days=rng.randrange(days))
            certno = certno_make(f"{rng.choice(AREAS[admdvs])}{brdy:%Y%m%d}{rng.randrange(1000):03d}")
            if certno not in used:
                used.add(certno)
                break
        gend = "1" if int(certno[16]) % 2 else "2"
        kind = rng.random()
        emp = f"E{admdvs[:2]}{rng.randrange(2500):05d}"
        row = ["", certno, f"职工{i}", gend, brdy.isoformat(), "1101", admdvs, emp, f"单位{emp}",
               f"{rng.randrange(3000, 30000)}.00", "2015-01-01", "", "1"]
        if kind > 0.77:
            retire = D(min(brdy.year + 60, 2024), brdy.month, 1)
            row[5], row[9], row[11] = "1201", "", retire.isoformat()
        elif kind > 0.72:
            row[5], row[7], row[8] = "1103", "", ""
        if bad_every and i % bad_every == 0:
            problem = (i // bad_every) % 4
            if problem == 0:
                row[3] = "3"
            elif problem == 1:
                row[10] = "2015/01/01"
            elif problem == 2:
                row[6] = "999999"
            else:
                row[9], row[5], row[11] = "abc", "1101", ""
        yield row


def write_roster(path: Path, n: int, seed: int, *, bad_every: int = 0) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(roster_rows(n, seed, bad_every=bad_every))
    return path


def database_recreate() -> None:
    settings = connection.settings_dict
    name = settings["NAME"]
    if connection.vendor != "postgresql" or "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    connection.close()
    params = {"dbname": "postgres", "user": settings["USER"], "host": settings["HOST"] or None,
              "port": settings["PORT"] or None, "password": settings["PASSWORD"] or None}
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    call_command("seed_policies", stdout=io.StringIO())
    connection.close()


class BackendCpu(threading.Thread):
    """Samples, every 0.1 s until stopped, the CPU seconds of the PostgreSQL backends serving the bench database
    (but this process's own), from /proc: the last sample of each backend is what it used (a backend's last tenth
    of a second after its final sample is not counted)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.used: dict[int, float] = {}
        self.done = threading.Event()
        settings = connection.settings_dict
        self.params = {"dbname": settings["NAME"], "user": settings["USER"], "host": settings["HOST"] or None,
                       "port": settings["PORT"] or None, "password": settings["PASSWORD"] or None}

    def run(self) -> None:
        with psycopg.connect(**{k: v for k, v in self.params.items() if v}, autocommit=True) as conn:
            while not self.done.is_set():
                pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = "
                                                       "current_database() AND pid <> pg_backend_pid()")]
                for pid in pids:
                    try:
                        self.used[pid] = backend_cpu(pid)
                    except OSError:
                        continue
                self.done.wait(0.1)

    def stop(self) -> float:
        self.done.set()
        self.join()
        return sum(self.used.values())


def backend_cpu(pid: int) -> float:
    """CPU seconds a PostgreSQL backend on this host has used (/proc/<pid>/stat: user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_command(kind: str, path: Path) -> tuple[float, float, int, list[str]]:
    """`manage.py import_csv KIND PATH` in its own process: seconds, peak RSS in MiB, exit status, stdout lines.
    Also says the process's own CPU seconds, its PostgreSQL backend's and the load average (other work on the
    machine slows the wall clock, not the CPU time)."""
    connection.close()  # only the import's backend serves the bench database meanwhile
    backends = BackendCpu()
    backends.start()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "manage.py", "import_csv", kind, str(path)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"})
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    db = backends.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    say(f"    (import_csv process CPU {usage.ru_utime + usage.ru_stime:.1f} s, its PostgreSQL backend {db:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f})")
    return seconds, usage.ru_maxrss / 1024, process.returncode, output.splitlines()


def time_resource_import(path: Path) -> tuple[float, str]:
    """django-import-export's import of the same file through RosterResource (the admin's confirm step)."""
    from core.imports import import_file_rowwise

    start = time.perf_counter()
    outcome = import_file_rowwise("roster", path, dry_run=False)
    return time.perf_counter() - start, outcome.summary() if outcome.ok else outcome.errors[0]


def enrollees_setup(args: argparse.Namespace, n: int) -> list[tuple[str, str, str]]:
    """A fresh database with a roster of n enrollees (imported by `import_csv roster`, not timed); their psn_no,
    certno and region code, in person order."""
    from accounts.models import Enrollment

    path = args.dir / f"roster-{n}.csv"
    if not path.exists():
        write_roster(path, n, args.seed)
    database_recreate()
    seconds, _rss, status, out = run_command("roster", path)
    if status:
        sys.exit(f"roster setup failed: {out[-1] if out else ''}")
    say(f"  setup: roster of {n:,} enrollees in {seconds:.1f} s")
    persons = list(Enrollment.objects.order_by("person_id")
                   .values_list("person__psn_no", "person__certno", "region__admdvs"))
    connection.close()
    return persons


def family_link_rows(persons: list[tuple[str, str, str]], n: int, seed: int) -> list[list[str]]:
    """n family-link rows over the enrollees (see the module docstring); new relatives born outside the roster's
    years (children 2005 to 2023, parents 1920 to 1939), so their ID numbers are new."""
    rng = random.Random(seed)
    used = {certno for _psn_no, certno, _admdvs in persons}

    def new_certno(admdvs: str, first: D, last: D) -> str:
        while True:
            day = first + datetime.timedelta(days=rng.randrange((last - first).days))
            certno = certno_make(f"{rng.choice(AREAS[admdvs])}{day:%Y%m%d}{rng.randrange(1000):03d}")
            if certno not in used:
                used.add(certno)
                return certno

    rows: list[list[str]] = []
    for j in range(0, len(persons) - 1, 2):
        (a, a_certno, admdvs), (b, b_certno, _) = persons[j], persons[j + 1]
        child = new_certno(admdvs, D(2005, 1, 1), D(2023, 12, 31))
        rows += [[a, b_certno, "", "spouse", "2020-01-01", ""], [b, a_certno, "", "spouse", "2020-01-01", ""],
                 [a, child, f"子女{j}", "child", "2020-01-01", ""], [b, child, "", "child", "2020-01-01", ""]]
        if j % 4 == 0:
            rows.append([a, new_certno(admdvs, D(1920, 1, 1), D(1939, 12, 31)), f"父母{j}", "parent", "2021-06-01",
                         ""])
        if len(rows) >= n:
            return rows[:n]
    sys.exit(f"{len(persons):,} enrollees give only {len(rows):,} family-link rows")


def balance_rows(persons: list[tuple[str, str, str]], n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    rows: list[list[str]] = []
    for psn_no, _certno, admdvs in persons:
        for pocket in ("current", "historical") if admdvs == "310000" else ("historical",):
            cents = 0 if rng.random() < 0.01 else rng.randrange(1, 500_000)
            rows.append([psn_no, pocket, f"{cents // 100}.{cents % 100:02d}", "2024-06-30"])
            if len(rows) >= n:
                return rows
    sys.exit(f"{len(persons):,} enrollees give only {len(rows):,} balance rows")


def changed_rows(kind: str, rows: list[list[str]], seed: int) -> list[list[str]]:
    """Every tenth row changed: an end date for a family link, another amount for a balance (refused)."""
    rng = random.Random(seed)
    changed = [list(row) for row in rows]
    for row in changed[::10]:
        if kind == "family_links":
            row[5] = "2025-12-31"
        else:
            cents = rng.randrange(1, 500_000)
            row[2] = f"{cents // 100}.{cents % 100:02d}"
    return changed


def write_rows(path: Path, kind: str, rows: list[list[str]]) -> Path:
    from core.imports import import_resource_class

    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(import_resource_class(kind).columns)
        writer.writerows(rows)
    return path


def time_rowwise_import(kind: str, path: Path) -> tuple[float, str]:
    """The same file through the row-by-row `ResourceWriter` these kinds used before their set-based writers
    (django-import-export's save path after the streaming validation), in this process."""
    from unittest import mock

    from core.imports import import_file, writers

    start = time.perf_counter()
    with mock.patch.dict(writers.WRITERS, {kind: writers.ResourceWriter}):
        outcome = import_file(kind, path, dry_run=False)
    seconds = time.perf_counter() - start
    connection.close()
    return seconds, outcome.summary() if outcome.ok else outcome.errors[0]


def bench_kind(args: argparse.Namespace, kind: str, n: int) -> None:
    """First import, re-import and a changed file of n rows of `kind` (family_links or balances)."""
    from accounts.ledger import ledger_verify

    for attempt in range(1, args.repeat + 1):
        say(f"{kind} of {n:,} rows, run {attempt}")
        persons = enrollees_setup(args, int(n * 0.7))
        rows = (family_link_rows if kind == "family_links" else balance_rows)(persons, n, args.seed)
        path = write_rows(args.dir / f"{kind}-{n}.csv", kind, rows)
        changed = write_rows(args.dir / f"{kind}-{n}-changed.csv", kind, changed_rows(kind, rows, args.seed))
        for label, file in (("first import", path), ("re-import", path), ("10% changed", changed)):
            seconds, rss, status, out = run_command(kind, file)
            say(f"  {label}: {seconds:.1f} s, {n / seconds:,.0f} rows/s, peak RSS {rss:,.0f} MiB, "
                f"exit {status}: {out[-1] if out else ''}")
            if kind == "balances":
                start = time.perf_counter()
                problems = ledger_verify()
                say(f"    ledger_verify: {len(problems)} problem(s) in {time.perf_counter() - start:.1f} s")
                connection.close()
    if args.rowwise:
        m = min(args.rowwise, n)
        say(f"{kind}: the first {m:,} rows, first import, set-based and row by row (fresh database each)")
        for label in ("import_csv (set-based)", "row by row (ResourceWriter, in process)"):
            persons = enrollees_setup(args, int(n * 0.7))
            rows = (family_link_rows if kind == "family_links" else balance_rows)(persons, n, args.seed)
            path = write_rows(args.dir / f"{kind}-{n}-first-{m}.csv", kind, rows[:m])
            if label.startswith("import_csv"):
                seconds, _rss, _status, out = run_command(kind, path)
                summary = out[-1] if out else ""
            else:
                seconds, summary = time_rowwise_import(kind, path)
            say(f"  {label}: {seconds:.1f} s, {m / seconds:,.0f} rows/s: {summary}")


def profile_roster(args: argparse.Namespace, n: int) -> None:
    """cProfile of `import_file("roster", …)` in this process, first import and re-import of the n-row file, in a
    fresh database: the process's CPU (getrusage) and its PostgreSQL backend's (from /proc), and the functions
    that take the most of it (cumulative and own time)."""
    import cProfile
    import pstats
    import resource

    from core.imports import import_file

    path = args.dir / f"roster-{n}.csv"
    if not path.exists():
        write_roster(path, n, args.seed)
    database_recreate()
    for label in ("first import", "re-import"):
        connection.close()
        backends = BackendCpu()
        backends.start()
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        profiler = cProfile.Profile(time.process_time)  # CPU time: a loaded machine inflates wall time
        statements: dict[str, list[float]] = {}
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]

        def timed(execute, sql, params, many, context, statements=statements, backend=backend):  # noqa: ANN001, ANN202
            start_statement, start_cpu = time.perf_counter(), backend_cpu(backend)
            try:
                return execute(sql, params, many, context)
            finally:
                spent = statements.setdefault(" ".join(sql.split())[:110], [0.0, 0.0, 0])
                spent[0] += time.perf_counter() - start_statement
                spent[1] += backend_cpu(backend) - start_cpu
                spent[2] += 1

        profiler.enable()
        with connection.execute_wrapper(timed):
            outcome = import_file("roster", path, dry_run=False)
        profiler.disable()
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        connection.close()
        db = backends.stop()
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        say(f"profile, {label} of {n:,} rows: {seconds:.1f} s wall (profiled), process CPU {cpu:.1f} s, "
            f"PostgreSQL {db:.1f} s, load average {os.getloadavg()[0]:.1f}: "
            f"{outcome.summary() if outcome.ok else outcome.errors[:3]}")
        say(f"  statements by their backend's CPU (of {db:.1f} s; the rest is COPY and the COMMIT's deferred "
            f"foreign-key checks), then wall time:")
        for text, (spent, cpu, count) in sorted(statements.items(), key=lambda item: -item[1][1])[:12]:
            say(f"    {cpu:6.2f} s CPU {spent:6.2f} s  x{count:<4d} {text}")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(args.profile_lines)
        stats.sort_stats("tottime").print_stats(args.profile_lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append",
                        help="roster rows, repeatable (default 100,000 unless --links or --balances is given)")
    parser.add_argument("--bad", type=int, action="append", default=[],
                        help="also import a roster of this many rows with 1%% bad rows (repeatable)")
    parser.add_argument("--compare", type=int, default=20_000,
                        help="rows of the file imported both ways for comparison (0: skip; default 20,000)")
    parser.add_argument("--links", type=int, action="append", default=[],
                        help="also time a family_links file of this many rows (repeatable)")
    parser.add_argument("--balances", type=int, action="append", default=[],
                        help="also time a balances file of this many rows (repeatable)")
    parser.add_argument("--rowwise", type=int, default=0,
                        help="with --links or --balances: also time a first import of this many of the rows both "
                             "set-based and through the row-by-row path they replaced (0: skip, the default)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measure (default 1)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/medins-bench-imports"), help="where files go")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--profile", type=int, default=0,
                        help="instead of the timings: cProfile a first import and a re-import of a roster of this "
                             "many rows in this process (fresh database), with the process's and PostgreSQL's CPU")
    parser.add_argument("--profile-lines", type=int, default=35, help="functions listed per profile ordering")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.profile:
        profile_roster(args, args.profile)
        return

    for n in args.n or ([] if args.links or args.balances else [100_000]):
        path = args.dir / f"roster-{n}.csv"
        if not path.exists():
            start = time.perf_counter()
            write_roster(path, n, args.seed)
            say(f"generated {path} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.0f} s")
        for attempt in range(1, args.repeat + 1):
            say(f"roster of {n:,} rows, run {attempt}")
            database_recreate()
            for label in ("first import", "re-import"):
                seconds, rss, status, out = run_command("roster", path)
                say(f"  {label}: {seconds:.1f} s, {n / seconds:,.0f} rows/s, peak RSS {rss:,.0f} MiB, "
                    f"exit {status}: {out[-1] if out else ''}")

    for n in args.bad:
        path = args.dir / f"roster-{n}-bad1pct.csv"
        if not path.exists():
            write_roster(path, n, args.seed + 1, bad_every=100)
        say(f"roster of {n:,} rows with 1% bad rows")
        database_recreate()
        seconds, rss, status, out = run_command("roster", path)
        rows_reported = len({line.split(",")[0] for line in out if line.startswith("row ")})
        from accounts.models import Person

        say(f"  {seconds:.1f} s, {n / seconds:,.0f} rows/s, peak RSS {rss:,.0f} MiB, exit {status}, "
            f"{rows_reported:,} bad rows reported, persons in the database afterwards: {Person.objects.count()}")

    for n in args.links:
        bench_kind(args, "family_links", n)
    for n in args.balances:
        bench_kind(args, "balances", n)

    if args.compare:
        path = args.dir / f"roster-{args.compare}.csv"
        if not path.exists():
            write_roster(path, args.compare, args.seed)
        say(f"comparison on {args.compare:,} rows")
        database_recreate()
        seconds, rss, status, out = run_command("roster", path)
        say(f"  import_csv (streaming, set-based): {seconds:.1f} s, {args.compare / seconds:,.0f} rows/s: {out[-1]}")
        database_recreate()
        seconds, summary = time_resource_import(path)
        say(f"  django-import-export RosterResource.import_data: {seconds:.1f} s, "
            f"{args.compare / seconds:,.0f} rows/s: {summary}")


if __name__ == "__main__":
    main()
