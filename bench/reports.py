"""Benchmark of the reports on PostgreSQL (issue 7, item 5).

Builds a database of its own (dropped and created afresh: the name in DATABASE_URL must contain "bench") with
`--settlements` settlements (default 10,000,000) over 24 service months, their ledger debits (own account, mutual
aid, reversals) and a monthly credit per enrollee, all loaded with COPY (indexes and constraints dropped during the
load and rebuilt after). Then builds the summary tables set-based (the rebuild jobs), and times every report
through the same `report_run` the admin page and the API use, plus the direct aggregate the summaries replace.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_reports .venv/bin/python bench/reports.py
"""

import argparse
import datetime
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")  # DEBUG keeps every query in memory

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from policies.models import CreditRule, PolicyVersion, Region  # noqa: E402
from reports.definitions import REPORTS, report_run  # noqa: E402
from reports.summaries import (  # noqa: E402
    account_flows_rebuild,
    fund_expenditure_direct,
    months_between,
    settlement_summaries_rebuild,
)

D = datetime.date
FIRST, LAST = D(2023, 7, 1), D(2025, 6, 1)
CHUNK = 200_000


def say(text: str) -> None:
    print(text, flush=True)


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


def sql(statement: str, params: list | None = None) -> list:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def copy(table: str, columns: list[str], rows) -> int:  # noqa: ANN001
    """COPY an iterator of tuples (None → NULL) into `table`, in chunks."""
    n = 0
    raw = connection.connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
        buffer = []
        for row in rows:
            buffer.append("\t".join("\\N" if v is None else str(v) for v in row))
            n += 1
            if len(buffer) == CHUNK:
                out.write("\n".join(buffer) + "\n")
                buffer = []
        if buffer:
            out.write("\n".join(buffer) + "\n")
    return n


class Unindexed:
    """Drop a table's secondary indexes and constraints (not the primary key) for a bulk load; put them back."""

    def __init__(self, *tables: str) -> None:
        self.tables = tables
        self.constraints: list[tuple[str, str, str]] = []
        self.indexes: list[str] = []

    def __enter__(self) -> "Unindexed":
        for table in self.tables:
            for name, definition in sql("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                        "WHERE conrelid = %s::regclass AND contype IN ('f', 'u', 'c')", [table]):
                self.constraints.append((table, name, definition))
                sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, definition in sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND "
                                        "indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype = 'p')",
                                        [table]):
                self.indexes.append(definition)
                sql(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *exc: object) -> None:
        for definition in self.indexes:
            sql(definition)
        for table, name, definition in self.constraints:
            sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table in self.tables:
            sql(f"ANALYZE {table}")


def fen(n: int) -> str:
    return f"{n // 100}.{n % 100:02d}"


def load(n_settlements: int, n_persons: int, seed: int) -> None:
    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.UTC).isoformat()
    regions = {r.admdvs: r.pk for r in Region.objects.all()}
    versions = {v.code: v for v in PolicyVersion.objects.all()}
    months = months_between(FIRST, LAST)

    # Facilities: 1,800 hospitals (levels 1–3) and 200 pharmacies, 60% in Shanghai.
    facilities = []
    for pk in range(1, 2001):
        admdvs = "310000" if pk % 10 < 6 else "370100"
        pharmacy = pk > 1800
        facilities.append((pk, f"B{pk:06d}", f"Bench facility {pk}", "2" if pharmacy else "1",
                           "" if pharmacy else str(1 + pk % 3), regions[admdvs], "2000-01-01", None))
    copy("claims_facility", ["id", "fixmedins_code", "fixmedins_name", "fixmedins_type", "hosp_lv", "region_id",
                             "begndate", "enddate"], facilities)
    hospitals = {a: [f for f in facilities if f[3] == "1" and f[5] == regions[a]] for a in regions}
    pharmacies = {a: [f for f in facilities if f[3] == "2" and f[5] == regions[a]] for a in regions}

    # Persons, enrollments, accounts (account id = person id).
    persons = []
    for pk in range(1, n_persons + 1):
        admdvs = "310000" if pk % 10 < 6 else "370100"
        retired = pk % 4 == 0
        persons.append((pk, admdvs, retired))
    copy("accounts_person", ["id", "psn_no", "certno", "psn_name", "gend", "brdy", "created_at"],
         ((pk, f"B{pk:09d}", f"{pk:018d}", f"Bench {pk}", "1", "1960-01-01" if r else "1985-01-01", now)
          for pk, _a, r in persons))
    copy("accounts_enrollment", ["id", "person_id", "insutype", "psn_type", "region_id", "clct_base", "begndate",
                                 "retire_date", "psn_insu_stas"],
         ((pk, pk, "310", "1201" if r else "1101", regions[a], None if r else "8000.00", "2010-01-01",
           "2020-01-01" if r else None, "1") for pk, a, r in persons))
    copy("accounts_personalaccount", ["id", "person_id", "balc_current", "balc_historical", "created_at"],
         ((pk, pk, "0", "1000.00", now) for pk, _a, _r in persons))
    # Family links: the last 2% of persons are relatives of the person before them (child).
    relatives = list(range(n_persons - n_persons // 50 + 1, n_persons + 1))
    copy("accounts_familylink", ["holder_id", "relative_id", "relation", "begndate", '"order"'],
         ((pk - n_persons // 50, pk, "child", "2020-01-01", 0) for pk in relatives))
    say(f"  {n_persons:,} persons, 2,000 facilities, {len(relatives):,} family links")

    def version_of(admdvs: str, day: D) -> PolicyVersion:
        if admdvs == "310000":
            return versions["SH-2023-07"]
        return versions["JN-2022"] if day.year < 2024 else versions["JN-2024"]

    days = [FIRST + datetime.timedelta(days=d) for d in range((LAST.replace(day=28) - FIRST).days + 1)]
    ledger: list[tuple] = []
    entry_id = 0

    def settlements():  # noqa: ANN202
        nonlocal entry_id
        for pk in range(1, n_settlements + 1):
            person_id, admdvs, retired = persons[rng.randrange(n_persons)]
            day = days[rng.randrange(len(days))]
            roll = rng.random()
            med_type = "41" if roll < 0.15 else "14" if roll < 0.25 else "13" if roll < 0.30 else "11"
            facility = rng.choice(pharmacies[admdvs] if med_type == "41" else hospitals[admdvs])
            medfee = rng.randrange(2_000, 200_000)
            hifp = 0 if med_type == "41" else medfee * rng.choice((0, 50, 60, 70, 75)) // 100
            oth = medfee // 20 if admdvs == "310000" and rng.random() < 0.01 else 0
            personal = medfee - hifp - oth
            mulaid = personal if person_id in relative_set else 0
            acct = 0 if mulaid else personal * rng.choice((0, 50, 100)) // 100
            cash = personal - acct - mulaid
            version = version_of(admdvs, day)
            status = "reversed" if rng.random() < 0.02 else "settled"
            setl_id = f"{day:%Y%m%d}{pk:016X}"
            bucket = "" if med_type == "41" else ("M03900" if med_type == "14" else "general")
            for amount, kind, account in ((acct, "settlement", person_id),
                                          (mulaid, "mulaid_settlement", person_id - n_persons // 50)):
                if amount:
                    entry_id += 1
                    ledger.append((entry_id, account, kind, "historical", "-" + fen(amount), "0", day, version.pk,
                                   None, None, None, "settlement", setl_id, "", now, None))
                    if status == "reversed":
                        entry_id += 1
                        ledger.append((entry_id, account, "reversal", "historical", fen(amount), "0", day,
                                       version.pk, None, None, entry_id - 1, "settlement", setl_id, "", now, None))
            yield (pk, setl_id, facility[0], str(pk), "x", status, person_id, "310", "1201" if retired else "1101",
                   med_type, day, "M03900" if med_type == "14" else "", "f", "1", version.pk, None,
                   "retired" if retired and version.code != "SH-2023-07" else
                   ("retired_from_2001" if retired else "in_service"), facility[4] or "pharmacy", bucket,
                   None, fen(medfee), "0", "0", "0", fen(medfee), "0", fen(hifp), fen(oth), fen(hifp + oth),
                   fen(personal), fen(acct), fen(mulaid), fen(cash), "0", "{}", "[]", now,
                   now if status == "reversed" else None, "", None)

    relative_set = set(relatives)
    columns = ["id", "setl_id", "facility_id", "medins_setl_id", "request_digest", "status", "person_id", "insutype",
               "psn_type", "med_type", "setl_date", "dise_codg", "ext_rx", "acct_used_flag", "policy_version_id",
               "benefit_rule_id", "enrollee_class", "hosp_lv", "bucket", "year_start", "medfee_sumamt",
               "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay",
               "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc",
               "response", "explanation", "created_at", "reversed_at", "reversal_reason", "reversed_by_id"]
    ledger_columns = ["id", "account_id", "kind", "pocket", "amount", "balance_after", "period", "policy_version_id",
                      "credit_rule_id", "run_id", "reverses_id", "ref_type", "ref_id", "reason", "created_at",
                      "created_by_id"]
    start = time.perf_counter()
    with Unindexed("claims_settlement", "accounts_ledgerentry"):
        loaded = 0
        batch = 1_000_000
        gen = settlements()
        while loaded < n_settlements:
            def take(limit: int = batch):  # noqa: ANN202
                for _i, row in zip(range(limit), gen, strict=False):
                    yield row
            loaded += copy("claims_settlement", columns, take())
            copy("accounts_ledgerentry", ledger_columns, ledger)
            ledger.clear()
            say(f"  {loaded:,} settlements loaded ({time.perf_counter() - start:.0f} s)")
        # A monthly credit for every enrollee (the credit rule of their version and class).
        any_rule = {code: [r.pk for r in CreditRule.objects.filter(version__code=code)] for code in versions}
        credits = 0

        def credit_rows():  # noqa: ANN202
            nonlocal entry_id, credits
            for month in months:
                for person_id, admdvs, _retired in persons:
                    version = version_of(admdvs, month)
                    entry_id += 1
                    credits += 1
                    yield (entry_id, person_id, "credit_in_service", "current", "160.00", "160.00", month,
                           version.pk, any_rule[version.code][0], None, None, "", "", "", now, None)
        copy("accounts_ledgerentry", ledger_columns, credit_rows())
        say(f"  {credits:,} credits loaded; rebuilding indexes and constraints "
            f"({time.perf_counter() - start:.0f} s)")
    for table in ("claims_settlement", "accounts_ledgerentry", "claims_facility", "accounts_person",
                  "accounts_enrollment", "accounts_personalaccount", "accounts_familylink"):
        sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    say(f"  load done in {time.perf_counter() - start:.0f} s")


def timed(fn, repeat: int = 5) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settlements", type=int, default=10_000_000)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="skip the load: time the reports on the existing data")
    args = parser.parse_args()
    figures = []
    if not args.reuse:
        database_recreate()
    say(f"PostgreSQL {connection.connection.info.server_version if connection.connection else ''}, "
        f"database {connection.settings_dict['NAME']}")
    if not args.reuse:
        start = time.perf_counter()
        load(args.settlements, args.persons, args.seed)
        figures.append(("load (COPY, indexes rebuilt)", time.perf_counter() - start))
        start = time.perf_counter()
        rows = settlement_summaries_rebuild(first=FIRST, last=LAST)
        figures.append((f"settlement summaries rebuilt set-based, 24 months ({rows:,} rows)",
                        time.perf_counter() - start))
        say(f"  settlement summaries: {rows:,} rows in {figures[-1][1]:.1f} s")
        start = time.perf_counter()
        # Up to now: the bench wrote its whole ledger today, which the default (the end of yesterday) would leave to
        # the report's live part.
        flows = [account_flows_rebuild(month=m, through=timezone.now()) for m in months_between(FIRST, LAST)]
        figures.append((f"account flows rebuilt, 24 months, one INSERT…SELECT each "
                        f"(slowest month {max(f.seconds for f in flows)} s)", time.perf_counter() - start))
        say(f"  account flows: {sum(f.rows for f in flows):,} rows in {figures[-1][1]:.1f} s")
    sql("ANALYZE")
    n = sql("SELECT count(*) FROM claims_settlement")[0][0]
    say(f"{n:,} settlements; {sql('SELECT count(*) FROM accounts_ledgerentry')[0][0]:,} ledger entries")
    year = {"month_from": "2024-07", "month_to": "2025-06"}
    cases = [
        ("expenditure", "fund expenditure, 12 months, all dimensions", year),
        ("expenditure", "fund expenditure, one month, one region", {"month": "2025-03", "region": "370100"}),
        ("account-flows", "account income and spending, 12 months", year),
        ("account-flows", "account income and spending, one month, one region",
         {"month": "2025-03", "region": "310000"}),
        ("mutual-aid", "family mutual aid, 12 months", year),
        ("chronic-diseases", "chronic diseases, 12 months", year),
        ("facilities", "facilities ranked by fund paid, 12 months, top 20", year),
        ("reconciliation", "one facility's reconciliation, one month", {"month": "2025-03", "facility": "B000001"}),
    ]
    for name, label, params in cases:
        seconds, (form, result) = timed(lambda name=name, params=params: report_run(REPORTS[name], params))
        assert result is not None, form.errors
        figures.append((f"report: {label} ({len(result.rows)} rows)", seconds))
        say(f"  {label}: {seconds * 1000:.1f} ms ({len(result.rows)} rows)")
    seconds, _ = timed(lambda: [list(qs) for qs in fund_expenditure_direct(D(2024, 7, 1), D(2025, 6, 1))], repeat=1)
    figures.append(("for comparison: the same fund expenditure aggregated directly from the settlements", seconds))
    say(f"  direct aggregate over the settlements: {seconds:.1f} s")
    say("\n| what | time |\n| --- | --- |")
    for label, seconds in figures:
        say(f"| {label} | {seconds * 1000:.1f} ms |" if seconds < 1 else f"| {label} | {seconds:.1f} s |")


if __name__ == "__main__":
    main()
