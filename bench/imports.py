"""Benchmark of roster imports on PostgreSQL (issue 6, item 4).

Generates rosters of N rows with valid ID numbers, then, in a database of its own (dropped and created afresh: the
name in DATABASE_URL must contain "bench"), times `manage.py import_csv roster` as a separate process for a first
import and a re-import of the same file (peak RSS of the process from wait4), optionally a file of the same size
with 1% bad rows (nothing may be imported; the bad rows are counted from the command's output), and, on a
20,000-row file, django-import-export's resource import (`RosterResource.import_data`, the admin's row-by-row
path) for comparison.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_imports .venv/bin/python bench/imports.py \
        --n 100000 --n 1000000 --bad 1000000 --compare 20000
"""

import argparse
import csv
import datetime
import io
import os
import random
import subprocess
import sys
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


def run_command(kind: str, path: Path) -> tuple[float, float, int, list[str]]:
    """`manage.py import_csv KIND PATH` in its own process: seconds, peak RSS in MiB, exit status, stdout lines.
    Also says the process's own CPU seconds and the load average (other work on the machine slows the wall
    clock, not the CPU time)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "manage.py", "import_csv", kind, str(path)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"})
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    say(f"    (import_csv process CPU {usage.ru_utime + usage.ru_stime:.1f} s; load average "
        f"{os.getloadavg()[0]:.1f})")
    return seconds, usage.ru_maxrss / 1024, process.returncode, output.splitlines()


def time_resource_import(path: Path) -> tuple[float, str]:
    """django-import-export's import of the same file through RosterResource (the admin's confirm step)."""
    from core.imports import import_file_rowwise

    start = time.perf_counter()
    outcome = import_file_rowwise("roster", path, dry_run=False)
    return time.perf_counter() - start, outcome.summary() if outcome.ok else outcome.errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="roster rows, repeatable (default 100,000)")
    parser.add_argument("--bad", type=int, action="append", default=[],
                        help="also import a roster of this many rows with 1%% bad rows (repeatable)")
    parser.add_argument("--compare", type=int, default=20_000,
                        help="rows of the file imported both ways for comparison (0: skip; default 20,000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measure (default 1)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/medins-bench-imports"), help="where files go")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    for n in args.n or [100_000]:
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
