"""Benchmark of clearing on PostgreSQL (issue 14): a month of `--settlements` settlements (default 1,000,000)
across `--facilities` facilities (default 500) of Jinan under JN-2024 (one enrollee in five a resident under
JN-R-2024, the resident fund's), with signings (capitation), M03900
recognitions (per disease), one settlement in fifty with separately paid drug lines and one in a hundred reversed,
all written set-based (generate_series). Then times `run_clearing` for the month (the build), its second run (nothing
changes), and checks the invariant: the statements' lines hold exactly the fund payments of the live settlements.

Builds a database of its own (dropped and created afresh: the name in DATABASE_URL must contain "bench") and drops
it at the end (--keep keeps it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_clearing .venv/bin/python bench/clearing.py
    ... bench/clearing.py --settlements 100000      # a smaller month

Prints, for the build and the second run, the wall time, the CPU time of this process and of its PostgreSQL backend
(/proc/<pid>/stat of pg_backend_pid(), so PostgreSQL must run on this host; parallel workers are off unless
--parallel, so that the backend's CPU is all of PostgreSQL's) and the load average; the CPU figures are the fair
ones on a shared machine. Target (issue 14): 1,000,000 settlements across 500 facilities in under 30 s.
"""

import argparse
import datetime
import io
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from clearing.statements import statements_build  # noqa: E402
from policies.models import PolicyVersion, Region  # noqa: E402


def say(text: str) -> None:
    print(text, flush=True)


def sql(statement: str, params: list | None = None) -> list:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def database_recreate() -> None:
    settings = connection.settings_dict
    name = settings["NAME"]
    if connection.vendor != "postgresql" or "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    params = {"dbname": "postgres", "user": settings["USER"], "host": settings["HOST"] or None,
              "port": settings["PORT"] or None, "password": settings["PASSWORD"] or None}
    connection.close()
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    call_command("seed_policies", stdout=io.StringIO())


def load(n: int, facilities: int, persons: int) -> None:
    region = Region.objects.get(admdvs="370100").pk
    version = PolicyVersion.objects.get(code="JN-2024").pk
    resident = PolicyVersion.objects.get(code="JN-R-2024").pk
    # Facilities: every third a level-1 hospital (capitation), then levels 2 and 3.
    sql("""INSERT INTO claims_facility (fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, region_id, begndate,
                                        online_service)
           SELECT 'B' || lpad(i::text, 6, '0'), 'bench ' || i, '1', (1 + i %% 3)::text, %s, '2020-01-01', false
           FROM generate_series(1, %s) i""", [region, facilities])
    sql("""INSERT INTO accounts_person (psn_no, certno, psn_name, gend, brdy, created_at)
           SELECT 'BP' || lpad(i::text, 9, '0'), 'BC' || lpad(i::text, 16, '0'), 'p' || i, '1', '1980-01-01', now()
           FROM generate_series(1, %s) i""", [persons])
    # One enrollee in five a resident (390, its own fund and version), the others employees (310).
    pmin = sql("SELECT min(id) FROM accounts_person")[0][0]
    sql("""INSERT INTO accounts_enrollment (person_id, insutype, psn_type, region_id, begndate, psn_insu_stas)
           SELECT id, CASE WHEN (id - %s) %% 5 = 4 THEN '390' ELSE '310' END,
                  CASE WHEN (id - %s) %% 5 = 4 THEN '' ELSE '1101' END, %s, '2010-01-01', '1'
           FROM accounts_person""", [pmin, pmin, region])
    fmin = sql("SELECT min(id) FROM claims_facility")[0][0]
    # Half the enrollees signed with a level-1 facility (facility ids fmin + 3k are level 1: i % 3 = 0 → level 1).
    sql("""INSERT INTO clearing_signing (person_id, facility_id, begndate)
           SELECT p.id, %s + 3 * ((p.id - %s) %% (%s / 3)), '2024-01-01' FROM accounts_person p
           WHERE (p.id - %s) %% 2 = 0""", [fmin + 2, pmin, facilities, pmin])
    disease = sql("SELECT id FROM claims_disease WHERE opsp_dise_code = 'M03900'")
    if not disease:
        sql("""INSERT INTO claims_disease (opsp_dise_code, opsp_dise_name, opsp_dise_majcls_name, recognition_criteria)
               VALUES ('M03900', '高血压', '', '')""")
        disease = sql("SELECT id FROM claims_disease WHERE opsp_dise_code = 'M03900'")
    sql("""INSERT INTO claims_recognition (person_id, disease_id, facility_id, begndate, criteria, decision_note,
                                           evidence, source, status)
           SELECT p.id, %s, %s + (p.id - %s) %% %s, '2024-01-01', '', '', '', 'import', 'approved'
           FROM accounts_person p
           WHERE (p.id - %s) %% 10 = 1""", [disease[0][0], fmin, pmin, facilities, pmin])
    # Settlements: person i % persons at facility i % facilities; one in ten chronic M03900, one in fifty with
    # separately paid drugs (630.00 of the fund's 700.00), one in a hundred reversed.
    sql("""INSERT INTO claims_settlement (setl_id, facility_id, medins_setl_id, request_digest, status, person_id,
               insutype, psn_type, med_type, setl_date, dise_codg, ext_rx, acct_used_flag, policy_version_id,
               enrollee_class, hosp_lv, bucket, sep_bucket, sep_hifp_pay, medfee_sumamt, fulamt_ownpay_amt,
               overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc, hifp_pay, oth_pay, fund_pay_sumamt,
               psn_part_amt, acct_pay, acct_mulaid_pay, psn_cash_pay, balc, response, explanation, created_at,
               reversal_reason, cross_region, late_reason, online)
           SELECT 'BS' || i, %(fmin)s + i %% %(f)s, 'M' || i, '',
               CASE WHEN i %% 100 = 0 THEN 'reversed' ELSE 'settled' END,
               %(pmin)s + i %% %(p)s, CASE WHEN i %% %(p)s %% 5 = 4 THEN '390' ELSE '310' END,
               CASE WHEN i %% %(p)s %% 5 = 4 THEN '' ELSE '1101' END,
               CASE WHEN i %% 10 = 1 THEN '14' ELSE '11' END,
               DATE '2025-03-01' + (i %% 31), CASE WHEN i %% 10 = 1 THEN 'M03900' ELSE '' END, false, '1',
               CASE WHEN i %% %(p)s %% 5 = 4 THEN %(r)s ELSE %(v)s END,
               'in_service', '1', 'general', CASE WHEN i %% 50 = 7 THEN 'sep_pay' ELSE '' END,
               CASE WHEN i %% 50 = 7 THEN 630.00 ELSE 0 END,
               CASE WHEN i %% 50 = 7 THEN 1300.00 ELSE 100.00 + i %% 200 END, 0, 0, 0,
               CASE WHEN i %% 50 = 7 THEN 1200.00 ELSE 100.00 + i %% 200 END, 0,
               CASE WHEN i %% 50 = 7 THEN 700.00 ELSE 70.00 END, 0,
               CASE WHEN i %% 50 = 7 THEN 700.00 ELSE 70.00 END,
               CASE WHEN i %% 50 = 7 THEN 600.00 ELSE 30.00 + i %% 200 END, 0, 0,
               CASE WHEN i %% 50 = 7 THEN 600.00 ELSE 30.00 + i %% 200 END, 0, '{}', '[]', now(), '', '', '', false
           FROM generate_series(1, %(n)s) i""", {"fmin": fmin, "f": facilities, "pmin": pmin, "p": persons,
                                                 "v": version, "r": resident, "n": n})
    sql("""INSERT INTO claims_settlementline (settlement_id, item_code, chrg_item_lv, selfpay_prop, sep_pay, qty,
               price, amount, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, acct_pay_forbidden)
           SELECT id, 'S70', '02', 0.1, true, 2, 500, 1000.00, 0, 0, 100.00, 900.00, false
           FROM claims_settlement WHERE sep_bucket <> ''
           UNION ALL
           SELECT id, 'A50', '01', 0, false, 1, medfee_sumamt, medfee_sumamt, 0, 0, 0, medfee_sumamt, false
           FROM claims_settlement WHERE sep_bucket = ''""")
    sql("ANALYZE")


def backend_cpu() -> float:
    """CPU seconds (user + system) used so far by this connection's PostgreSQL backend."""
    pid = sql("SELECT pg_backend_pid()")[0][0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, step) -> object:  # noqa: ANN001
    """Run `step`, print its wall time, this process's and the backend's CPU, and the load average."""
    wall, cpu, pg = time.monotonic(), process_cpu(), backend_cpu()
    result = step()
    wall, cpu, pg = time.monotonic() - wall, process_cpu() - cpu, backend_cpu() - pg
    say(f"{label}: {result}; wall {wall:.1f} s, CPU: process {cpu:.1f} s + PostgreSQL {pg:.1f} s = "
        f"{cpu + pg:.1f} s; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return result


def database_drop() -> None:
    settings = connection.settings_dict
    connection.close()
    params = {"dbname": "postgres", "user": settings["USER"], "host": settings["HOST"] or None,
              "port": settings["PORT"] or None, "password": settings["PASSWORD"] or None}
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{settings["NAME"]}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settlements", type=int, default=1_000_000,
                        help="the month's settlements (the size of the run; default 1,000,000)")
    parser.add_argument("--facilities", type=int, default=500, help="facilities they are spread over (default 500)")
    parser.add_argument("--persons", type=int, default=200_000, help="enrollees (default 200,000)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (dropped by default)")
    parser.add_argument("--parallel", action="store_true",
                        help="let PostgreSQL use parallel workers (off by default: their CPU would not be counted)")
    args = parser.parse_args()
    database_recreate()
    if not args.parallel:
        sql("SET max_parallel_workers_per_gather = 0")
    failed = True
    try:
        started = time.monotonic()
        load(args.settlements, args.facilities, args.persons)
        say(f"loaded {args.settlements:,} settlements, {args.facilities} facilities, {args.persons:,} enrollees "
            f"in {time.monotonic() - started:.1f} s; load average {os.getloadavg()[0]:.1f}")
        month = datetime.date(2025, 3, 1)
        timed("run_clearing 2025-03", lambda: statements_build(month=month))
        second = timed("again (nothing changed)", lambda: statements_build(month=month))
        [(lines_fund, live_fund, statements)] = sql("""
            SELECT (SELECT sum(l.fund_pay_sumamt) FROM clearing_statementline l),
                   (SELECT sum(fund_pay_sumamt) FROM claims_settlement WHERE status = 'settled'),
                   (SELECT count(*) FROM clearing_statement)""")
        say(f"invariant: {statements} statements; lines' fund payments {lines_fund} = live settlements' "
            f"{live_fund}: {lines_fund == live_fund}")
        failed = lines_fund != live_fund or bool(second.created or second.rebuilt)
    finally:
        if not args.keep:
            database_drop()
            say(f"dropped {connection.settings_dict['NAME']}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
