"""Benchmark of a what-if run on PostgreSQL (issue 17): a year of settlements re-adjudicated under a draft.

Builds, in a database of its own (dropped and created afresh: the name in DATABASE_URL must contain "bench"), a
Jinan year (2025, JN-2024) of N settlements for E enrollees at 300 facilities, set-based: INSERT … SELECT over
generate_series, every amount computed in SQL as the engine computes it (window sums over each enrollee's year for
the deductible, the caps and the account), with the settlements' lines and ledger entries (`load`: the big tables'
indexes built after their rows are in, the foreign keys' triggers off meanwhile). Then times `whatif_replay` under
the published JN-2024, which must reproduce every amount ("0 paid differently"; MISMATCH and exit 1 otherwise: the
SQL's arithmetic and the engine's agree to the fen), and under a draft whose level-1 deductible is 100 lower, with
`--processes` forked processes (families apart). Prints for each run the rows, the wall time, the CPU seconds of
the Python processes (this one and its forked children) and of the PostgreSQL backends serving the bench database,
the CPU per settlement, settlements/s and the load average; then pgbench TPC-B on a scratch database for the
machine's context (bench/settle.py's).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_whatif .venv/bin/python bench/whatif.py \\
        --settlements 1000000 --enrollees 200000 --processes 2
"""

import argparse
import datetime
import io
import os
import sys
import threading
import time
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

from accounts.models import Enrollment, LedgerEntry, Person, PersonalAccount  # noqa: E402
from bench import settle  # noqa: E402  (its pgbench)
from claims.models import Facility, Item, Settlement, SettlementLine  # noqa: E402
from policies.models import BenefitRule, FacilityLevel, MedGroup, PolicyVersion, Region  # noqa: E402
from policies.selectors import benefit_rule_for, policy_version_full, sep_pay_terms_for  # noqa: E402
from policies.services import policy_version_clone  # noqa: E402
from whatif.services import CONTRACT_AMOUNTS, whatif_replay  # noqa: E402

D = datetime.date
YEAR = 2025
ITEMS = [  # code, class, selfpay_prop, price limit, sep_pay
    ("A50", "01", Decimal("0"), Decimal("50.00"), False),
    ("B30", "02", Decimal("0.10"), Decimal("28.00"), False),
    ("C", "03", Decimal("0"), None, False),
    ("S70", "02", Decimal("0.10"), None, True),
]


def say(text: str) -> None:
    print(text, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settlements", type=int, default=1_000_000, help="settlements (default 1,000,000)")
    parser.add_argument("--enrollees", type=int, default=200_000, help="enrollees (default 200,000)")
    parser.add_argument("--processes", type=int, default=2, help="replay processes (default 2)")
    parser.add_argument("--seed", type=int, default=17, help="random seed of the data (default 17)")
    parser.add_argument("--reuse-db", action="store_true",
                        help="time the replays on the database left last time (no data made)")
    parser.add_argument("--versions", choices=("both", "published", "draft"), default="both",
                        help="which runs to time: the published JN-2024 (checked to the fen), the draft, or both "
                             "(default)")
    parser.add_argument("--pgbench-seconds", type=int, default=20, help="pgbench TPC-B run (default 20 s)")
    parser.add_argument("--no-pgbench", action="store_true", help="skip pgbench")
    return parser.parse_args()


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving the bench database while a run lasts: sampled every 0.2 s
    from /proc (PostgreSQL runs on this machine), so backends of the forked processes that come and go are counted
    up to their last sample (each lives as long as its process's replay)."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.first: dict[int, float] = {}
        self.stop = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.name = connection.settings_dict["NAME"]
        self.thread = threading.Thread(target=self.sample_loop, daemon=True)

    def used(self, pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self.tick

    def sample(self, admin: psycopg.Connection) -> None:
        pids = [pid for (pid,) in admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                 [self.name]).fetchall()]
        for pid in pids:
            cpu = self.used(pid)
            if cpu is not None:
                self.first.setdefault(pid, cpu)
                self.seen[pid] = cpu

    def sample_loop(self) -> None:
        with settle.admin_connection() as admin:
            while not self.stop.is_set():
                self.sample(admin)
                self.stop.wait(0.2)
            self.sample(admin)

    def __enter__(self) -> "BackendCpu":
        with settle.admin_connection() as admin:
            self.sample(admin)  # the backends already there count from now
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(cpu - self.first[pid] for pid, cpu in self.seen.items())


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
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def insert_select(model: type, exprs: dict[str, str], source: str) -> int:
    """INSERT INTO the model's table SELECT …: each column from `exprs` (SQL over `source`) or, when not given, its
    field's default. Returns the rows inserted."""
    columns, values, params = [], [], []
    for f in model._meta.concrete_fields:
        columns.append(connection.ops.quote_name(f.column))
        if f.attname in exprs:
            values.append(exprs[f.attname].replace("%", "%%"))
        else:
            values.append("%s")
            params.append(f.get_db_prep_save(f.get_default(), connection))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
                       f"SELECT {', '.join(values)} FROM {source}", params)
        return cursor.rowcount


def terms_table(version: PolicyVersion) -> str:
    """The benefit terms of every (person type, facility level, medical type) the bench settles, as SQL VALUES
    (from benefit_rule_for, as settling reads them)."""
    rows = []
    for psn_type, retire_date in (("1101", None), ("1201", D(2015, 1, 1))):
        for level, med_type in (("1", "11"), ("1", "13"), ("2", "11"), ("2", "13"), ("3", "11"), ("3", "13"),
                                (FacilityLevel.PHARMACY.value, "41")):
            t = benefit_rule_for(version=version, psn_type=psn_type, retire_date=retire_date,
                                 facility_level=level, med_type=med_type)
            rows.append(f"('{psn_type}', '{level}', '{med_type}', {str(t.fund_pays).lower()}, '{t.bucket}', "
                        f"'{t.enrollee_class}', {t.deductible}::numeric, {t.rate}::numeric, "
                        f"{'NULL' if t.annual_cap is None else t.annual_cap}::numeric, "
                        f"{t.supplementary_share_above_cap}::numeric, {t.rule_id or 'NULL'}::bigint)")
    return ("(VALUES " + ", ".join(rows) + ") AS t(psn_type, hosp_lv, med_type, fund_pays, bucket, enrollee_class, "
            "deductible, rate, annual_cap, share, rule_id)")


def load(args: argparse.Namespace) -> None:
    """A year of settlements made in SQL (INSERT … SELECT over generate_series), every amount computed as the engine
    computes it (POLICY.md's order of payers) with window sums over each enrollee's year: the deductible met, the
    annual caps and the account drawn are clamped running sums (each visit adds a non-negative amount), which is
    exactly the engine's visit-by-visit arithmetic for the terms this bench uses. Each enrollee goes to hospitals of
    one level (so the deductible of their year is one number), 12% of visits are pharmacy purchases (no fund), and
    every account pays from its historical pocket (JN-2024: no current-year pocket first, out-of-scope cost payable
    by the account). The published version's replay then checks this arithmetic against the engine's, to the fen."""
    version = policy_version_full(PolicyVersion.objects.get(code="JN-2024").pk)
    sep = sep_pay_terms_for(version)
    if version.current_pocket_first or not version.acct_pays_out_of_scope or sep is None or sep.annual_cap is None:
        sys.exit("JN-2024 is not the version this bench's arithmetic assumes (no current-year pocket first, "
                 "out-of-scope cost payable by the account, separately paid drugs with a cap)")
    if args.settlements > 300 * args.enrollees:
        sys.exit("at most 300 settlements an enrollee (a day of the year each)")
    region = Region.objects.get(admdvs="370100")
    start = time.perf_counter()
    n, e = args.settlements, args.enrollees
    # Room for the year's sorts and temporary tables (before the session's first temporary table), and for
    # building the indexes once after the rows are in (instead of an insertion into each for every row).
    sql("SET work_mem = '128MB'")
    sql("SET temp_buffers = '512MB'")
    sql("SET maintenance_work_mem = '512MB'")
    big = [model._meta.db_table for model in (Person, Enrollment, PersonalAccount, LedgerEntry, Settlement,
                                              SettlementLine)]
    indexes = sql("SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                  "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS "
                  "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", [big])
    for name, _definition in indexes:
        sql(f"DROP INDEX {name}")
    now = "'2026-01-01 00:00+00'::timestamptz"
    items = {}
    for code, level, prop, limit, sep_pay in ITEMS:
        items[code] = Item.objects.create(item_code=code, item_name=f"Bench {code}", chrg_item_lv=level,
                                          selfpay_prop=prop, pric_uplmt_amt=limit, sep_pay_flag=sep_pay).pk
    insert_select(Facility, {
        "id": "g", "fixmedins_code": "'W' || lpad(g::text, 6, '0')", "fixmedins_name": "'Bench facility ' || g",
        "fixmedins_type": "CASE WHEN g > 270 THEN '2' ELSE '1' END",
        "hosp_lv": "CASE WHEN g > 270 THEN '' ELSE (1 + g % 3)::text END", "region_id": str(region.pk),
        "begndate": "DATE '2000-01-01'", "enddate": "NULL"}, "generate_series(1, 300) g")
    sql("SET max_parallel_workers_per_gather = 0")  # one process draws the random numbers: the seed decides them
    sql("SELECT setseed(%s)", [(args.seed % 1000) / 1000])
    insert_select(Person, {
        "id": "g", "psn_no": "'W' || lpad(g::text, 9, '0')", "certno": "lpad(g::text, 18, '0')",
        "psn_name": "'Bench ' || g", "gend": "'1'",
        "brdy": "CASE WHEN g % 4 = 0 THEN DATE '1955-01-01' ELSE DATE '1985-01-01' END", "created_at": now},
        f"generate_series(1, {e}) g")
    insert_select(Enrollment, {
        "id": "g", "person_id": "g", "insutype": "'310'",
        "psn_type": "CASE WHEN g % 4 = 0 THEN '1201' ELSE '1101' END", "region_id": str(region.pk),
        "clct_base": "CASE WHEN g % 4 = 0 THEN NULL ELSE 8000.00 END", "begndate": "DATE '2010-01-01'",
        "retire_date": "CASE WHEN g % 4 = 0 THEN DATE '2015-01-01' END", "psn_insu_stas": "'1'",
        "employer_id": "NULL", "enddate": "NULL"}, f"generate_series(1, {e}) g")
    sql(f"CREATE TEMP TABLE bench_opening AS SELECT g AS person_id, "
        f"round(floor(random() * 300000)::int::numeric / 100, 2) AS balance FROM generate_series(1, {e}) g")
    # The visits: enrollee p's j-th visit falls in the j-th of k equal stretches of the year.
    sql(f"""CREATE TEMP TABLE bench_visit AS
        SELECT v.*, DATE '{YEAR}-01-01' + (v.j * 365 / v.k) + floor(v.r1 * (365 / v.k))::int AS setl_date,
               v.r2 < 0.12 AS pharmacy
        FROM (SELECT g AS id, 1 + (g - 1) % {e} AS person_id, (g - 1) / {e} AS j,
                     {n // e} + CASE WHEN 1 + (g - 1) % {e} <= {n % e} THEN 1 ELSE 0 END AS k,
                     random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6
              FROM generate_series(1, {n}) g) v""")
    sql(f"""CREATE TEMP TABLE bench_line AS
        SELECT row_number() OVER (ORDER BY l.settlement_id, l.k) AS id, l.*, round(l.qty * l.price, 2) AS amount
        FROM (SELECT v.id AS settlement_id, g.k, i.code, i.cls, i.prop, i.lim, i.sep,
                     (1 + floor(random() * 6)::int)::numeric AS qty,
                     round((500 + floor(random() * 8500)::int)::numeric / 100, 2) AS price
              FROM bench_visit v
              CROSS JOIN LATERAL (SELECT k, floor(random() * {len(ITEMS)})::int AS item
                                  FROM generate_series(1, 1 + floor(v.r5 * 3)::int) k) g
              JOIN (VALUES {", ".join(f"({i}, '{code}', '{cls}', {prop}::numeric, "
                                      f"{'NULL' if lim is None else lim}::numeric, {str(s).lower()})"
                                      for i, (code, cls, prop, lim, s) in enumerate(ITEMS))})
                   AS i(n, code, cls, prop, lim, sep) ON i.n = g.item) l""")
    # CONTRACT.md's line rule, as claims.engine.split_line.
    sql("""CREATE TEMP TABLE bench_part AS
        SELECT y.*, amount - fulamt - overlmt - pre AS inscp
        FROM (SELECT l.*, CASE WHEN cls = '03' THEN amount ELSE 0 END AS fulamt, x.overlmt,
                     CASE WHEN cls = '02' THEN round((amount - x.overlmt) * prop, 2) ELSE 0 END AS pre
              FROM bench_line l,
                   LATERAL (SELECT CASE WHEN cls <> '03' AND lim IS NOT NULL
                                        THEN round(greatest(0, price - lim) * qty, 2) ELSE 0 END) AS x(overlmt)) y""")
    sql("DROP TABLE bench_line")
    sql("ANALYZE bench_visit")
    sql("ANALYZE bench_part")
    level = "CASE WHEN v.pharmacy THEN 'pharmacy' ELSE (1 + v.person_id % 3)::text END"
    # Facility: a pharmacy (271–300), else a hospital of the enrollee's level (pk % 3 = level - 1).
    sql(f"""CREATE TEMP TABLE bench_bill AS
        SELECT v.id, v.person_id, v.j, v.setl_date, {level} AS hosp_lv,
               CASE WHEN v.pharmacy THEN 271 + floor(v.r3 * 30)::int
                    ELSE 3 * floor(v.r3 * 90)::int + v.person_id % 3 + CASE WHEN v.person_id % 3 = 0 THEN 3 ELSE 0 END
               END AS facility_id,
               CASE WHEN v.pharmacy THEN '41' WHEN v.r4 < 0.25 THEN '13' ELSE '11' END AS med_type,
               v.r6 > 0.05 AS acct_used, CASE WHEN v.person_id % 4 = 0 THEN '1201' ELSE '1101' END AS psn_type,
               TIMESTAMPTZ '{YEAR}-01-01 01:00+00' + (v.setl_date - DATE '{YEAR}-01-01') * INTERVAL '1 day'
                 + (v.person_id % 30000) * INTERVAL '1 second' + v.j * INTERVAL '1 microsecond' AS created_at,
               p.medfee, p.fulamt, p.overlmt, p.pre, p.inscp, p.sep_inscp, p.has_sep
        FROM bench_visit v JOIN (SELECT settlement_id, sum(amount) AS medfee, sum(fulamt) AS fulamt,
                                        sum(overlmt) AS overlmt, sum(pre) AS pre, sum(inscp) AS inscp,
                                        sum(CASE WHEN sep THEN inscp ELSE 0 END) AS sep_inscp, bool_or(sep) AS has_sep
                                 FROM bench_part GROUP BY settlement_id) p ON p.settlement_id = v.id""")
    sql("ANALYZE bench_bill")
    # Who pays, visit by visit in each enrollee's order: running sums clamped at the deductible, the caps and the
    # account's opening balance.
    w = "OVER (PARTITION BY person_id ORDER BY created_at, id ROWS UNBOUNDED PRECEDING)"
    sql(f"""CREATE TEMP TABLE bench_paid AS
        WITH o AS (
            SELECT bb.*, t.fund_pays, t.bucket, t.enrollee_class, t.deductible, t.rate, t.annual_cap, t.share,
                   t.rule_id, ob.balance,
                   CASE WHEN t.fund_pays AND bb.has_sep THEN round(bb.sep_inscp * {sep.rate}, 2) ELSE 0 END AS sep_due,
                   CASE WHEN NOT t.fund_pays THEN 0 WHEN bb.has_sep THEN bb.inscp - bb.sep_inscp
                        ELSE bb.inscp END AS rest
            FROM bench_bill bb JOIN bench_opening ob USING (person_id)
            JOIN {terms_table(version)} USING (psn_type, hosp_lv, med_type)),
        q AS (SELECT o.*, sum(rest) {w} AS sr FROM o),
        r AS (SELECT q.*, CASE WHEN fund_pays THEN least(deductible, sr) - least(deductible, sr - rest)
                               ELSE 0 END AS dedc FROM q),
        x AS (SELECT r.*, CASE WHEN fund_pays THEN round((rest - dedc) * rate, 2) ELSE 0 END AS due FROM r),
        y AS (SELECT x.*, sum(due) {w} AS sdue, sum(sep_due) {w} AS ssep FROM x),
        z AS (SELECT y.*, CASE WHEN fund_pays THEN least(annual_cap, sdue) - least(annual_cap, sdue - due)
                               ELSE 0 END AS hifp,
                          CASE WHEN fund_pays AND has_sep
                               THEN least({sep.annual_cap}, ssep) - least({sep.annual_cap}, ssep - sep_due)
                               ELSE 0 END AS sep_hifp FROM y),
        a AS (SELECT z.*, CASE WHEN fund_pays THEN round((due - hifp) * share, 2) ELSE 0 END AS oth FROM z),
        f AS (SELECT a.*, hifp + oth + sep_hifp AS fund,
                     CASE WHEN acct_used THEN medfee - hifp - oth - sep_hifp ELSE 0 END AS p FROM a),
        s AS (SELECT f.*, sum(p) {w} AS sp FROM f),
        g AS (SELECT s.*, least(balance, sp) - least(balance, sp - p) AS acct FROM s)
        SELECT g.*, medfee - fund AS psn_part, medfee - fund - acct AS cash, balance - least(balance, sp) AS balc
        FROM g""")
    say(f"  {n:,} settlements and their amounts computed in SQL ({time.perf_counter() - start:.0f} s)")
    # The rows below are made consistent by construction (every id they name exists): the foreign keys' triggers
    # (a lookup a row, queued to the end of each statement) are off while they go in.
    sql("SET session_replication_role = replica")
    insert_select(PersonalAccount, {
        "id": "person_id", "person_id": "person_id", "balc_current": "0",
        "balc_historical": "coalesce(m.balc, o.balance)", "created_at": now},
        "bench_opening o LEFT JOIN (SELECT person_id, min(balc) AS balc FROM bench_paid GROUP BY person_id) m "
        "USING (person_id)")
    opening_at = f"TIMESTAMPTZ '{YEAR - 1}-12-31 12:00+00'"
    insert_select(LedgerEntry, {
        "id": "row_number() OVER (ORDER BY person_id)", "account_id": "person_id", "kind": "'opening_balance'",
        "pocket": "'historical'", "amount": "balance", "balance_after": "balance", "period": f"DATE '{YEAR - 1}-12-31'",
        "reason": "'bench'", "created_at": opening_at}, "bench_opening WHERE balance > 0")
    opened = sql("SELECT count(*) FROM bench_opening WHERE balance > 0")[0][0]
    setl_id = "to_char(setl_date, 'YYYYMMDD') || lpad(upper(to_hex(id)), 16, '0')"
    insert_select(LedgerEntry, {
        "id": f"{opened} + row_number() OVER (ORDER BY id)", "account_id": "person_id", "kind": "'settlement'",
        "pocket": "'historical'", "amount": "-acct", "balance_after": "balc", "period": "setl_date",
        "policy_version_id": str(version.pk), "ref_type": "'settlement'", "ref_id": setl_id,
        "created_at": "created_at + INTERVAL '1 millisecond'"}, "bench_paid WHERE acct > 0")
    insert_select(Settlement, {
        "id": "id", "setl_id": setl_id, "facility_id": "facility_id", "medins_setl_id": "id::text",
        "request_digest": "'bench'", "status": "'settled'", "person_id": "person_id", "insutype": "'310'",
        "psn_type": "psn_type", "med_type": "med_type", "setl_date": "setl_date", "dise_codg": "''",
        "ext_rx": "false", "acct_used_flag": "CASE WHEN acct_used THEN '1' ELSE '0' END",
        "policy_version_id": str(version.pk), "benefit_rule_id": "rule_id", "enrollee_class": "enrollee_class",
        "hosp_lv": "hosp_lv", "bucket": "CASE WHEN fund_pays THEN bucket ELSE '' END",
        "year_start": f"CASE WHEN fund_pays THEN DATE '{YEAR}-01-01' END",
        "sep_bucket": f"CASE WHEN fund_pays AND has_sep THEN '{sep.bucket}' ELSE '' END", "sep_hifp_pay": "sep_hifp",
        "response": "'{}'::jsonb", "explanation": "'[]'::jsonb", "created_at": "created_at", "reversed_at": "NULL",
        "medfee_sumamt": "medfee", "fulamt_ownpay_amt": "fulamt", "overlmt_selfpay": "overlmt",
        "preselfpay_amt": "pre", "inscp_scp_amt": "inscp", "act_pay_dedc": "dedc", "hifp_pay": "hifp + sep_hifp",
        "oth_pay": "oth", "fund_pay_sumamt": "fund", "psn_part_amt": "psn_part", "acct_pay": "acct",
        "acct_mulaid_pay": "0", "psn_cash_pay": "cash", "balc": "balc"}, "bench_paid")
    item_case = "CASE code " + " ".join(f"WHEN '{code}' THEN {pk}" for code, pk in items.items()) + " END"
    insert_select(SettlementLine, {
        "id": "id", "settlement_id": "settlement_id", "item_code": "code", "item_id": item_case,
        "chrg_item_lv": "cls", "selfpay_prop": "prop", "pric_uplmt_amt": "lim", "sep_pay": "sep", "qty": "qty",
        "price": "price", "amount": "amount", "fulamt_ownpay_amt": "fulamt", "overlmt_selfpay": "overlmt",
        "preselfpay_amt": "pre", "inscp_scp_amt": "inscp", "acct_pay_forbidden": "false"}, "bench_part")
    sql("SET session_replication_role = DEFAULT")
    lines = sql("SELECT count(*) FROM bench_part")[0][0]
    debits = sql("SELECT count(*) FROM bench_paid WHERE acct > 0")[0][0]
    say(f"  rows inserted ({time.perf_counter() - start:.0f} s)")
    for _name, definition in indexes:
        sql(definition)
    for model in (Facility, Person, Enrollment, PersonalAccount, LedgerEntry, Settlement, SettlementLine):
        sql(f"ANALYZE {model._meta.db_table}")
        sql(f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "
            f"(SELECT max(id) FROM {model._meta.db_table}))")
    for table in ("bench_opening", "bench_visit", "bench_part", "bench_bill", "bench_paid"):
        sql(f"DROP TABLE {table}")
    say(f"  {n:,} settlements, {lines:,} lines, {debits + opened:,} ledger entries for {e:,} enrollees loaded in "
        f"{time.perf_counter() - start:.0f} s")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    args = parse_args()
    say(f"bench/whatif.py {datetime.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average "
        f"{load_average()}")
    if not args.reuse_db:
        database_recreate()
        say(f"making {args.settlements:,} settlements for {args.enrollees:,} enrollees")
        load(args)
    region = Region.objects.get(admdvs="370100")
    published = PolicyVersion.objects.get(code="JN-2024")
    draft = PolicyVersion.objects.filter(code="JN-BENCH-DRAFT").first()
    if draft is None:
        draft = policy_version_clone(version=published, code="JN-BENCH-DRAFT", actor=None)
        for rule in BenefitRule.objects.filter(version=draft, med_group=MedGroup.GENERAL,
                                               facility_level=FacilityLevel.LEVEL_1):
            rule.deductible -= 100
            rule.save()
    versions = {"both": (published, draft), "published": (published,), "draft": (draft,)}[args.versions]
    failed = False
    rows = []
    for version in versions:
        say(f"{version.code}: load average before {load_average()}")
        start, cpu = time.perf_counter(), os.times()
        with BackendCpu() as backends:
            outcome = whatif_replay(version=version, region=region, month_from=D(YEAR, 1, 1),
                                    month_to=D(YEAR, 12, 1), processes=args.processes)
        seconds = time.perf_counter() - start
        after = os.times()
        python = sum(getattr(after, k) - getattr(cpu, k) for k in ("user", "system", "children_user",
                                                                     "children_system"))
        total = outcome.total
        n = max(total.settlements, 1)
        rows.append((version.code, total.settlements, seconds, python, backends.seconds, load_average()))
        say(f"{version.code}: {total.settlements:,} settlements re-adjudicated in {seconds:.1f} s "
            f"({total.settlements / seconds:,.0f}/s, {args.processes} processes), {total.changed:,} paid differently; "
            f"CPU: Python {python:.1f} s ({python * 1e6 / n:,.0f} µs a settlement), PostgreSQL "
            f"{backends.seconds:.1f} s ({backends.seconds * 1e6 / n:,.0f} µs a settlement); load average after "
            f"{load_average()}")
        for name in CONTRACT_AMOUNTS:
            say(f"  {name:16} paid {total.amount('actual', name):>16,.2f}   under {version.code} "
                f"{total.amount('whatif', name):>16,.2f}")
        if version == published and total.changed:
            say("  MISMATCH: the published version does not reproduce what was paid")
            failed = True
    connection.close()
    pg = None if args.no_pgbench else settle.pgbench(args.pgbench_seconds)
    say("")
    say("| run | settlements | wall s | settlements/s | CPU s Python | CPU s PostgreSQL | CPU µs a settlement "
        "(Python + PostgreSQL) | load average after |")
    say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for code, n, seconds, python, db, load_after in rows:
        say(f"| {code}, {args.processes} processes | {n:,} | {seconds:.1f} | {n / seconds:,.0f} | {python:.1f} | "
            f"{db:.1f} | {python * 1e6 / max(n, 1):,.0f} + {db * 1e6 / max(n, 1):,.0f} | {load_after} |")
    if pg is not None:
        say(f"| pgbench TPC-B -s 10 -c 8 -j 2 -T {args.pgbench_seconds} | | | {pg['tps']:.0f} tps | | | "
            f"latency average {pg['latency']:.1f} ms | {load_average()} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
