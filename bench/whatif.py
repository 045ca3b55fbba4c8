"""Benchmark of a what-if run on PostgreSQL (issue 17): a year of settlements re-adjudicated under a draft.

Builds, in a database of its own (dropped and created afresh: the name in DATABASE_URL must contain "bench"), a
Jinan year (2025, JN-2024) of N settlements for E enrollees at 300 facilities, each settlement computed by the engine
in its enrollee's order with its counters and account (so the stored amounts are what settling would have stored),
with its lines and ledger debits, loaded with COPY. Then times `whatif_replay` under the published JN-2024 (which
must reproduce every total: exit 1 otherwise) and under a draft whose level-1 deductible is 100 lower, with
`--processes` processes (families apart).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_whatif .venv/bin/python bench/whatif.py \\
        --settlements 1000000 --enrollees 200000 --processes 2
"""

import argparse
import datetime
import io
import os
import random
import sys
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

from accounts.models import LedgerEntry  # noqa: E402
from claims import engine  # noqa: E402
from claims.models import Item, Settlement, SettlementLine  # noqa: E402
from core.money import ZERO  # noqa: E402
from policies.models import BenefitRule, FacilityLevel, MedGroup, PolicyVersion, Region  # noqa: E402
from policies.selectors import benefit_rule_for, policy_version_full, sep_pay_terms_for  # noqa: E402
from policies.services import policy_version_clone  # noqa: E402
from whatif.services import CONTRACT_AMOUNTS, whatif_replay  # noqa: E402

D = datetime.date
YEAR = 2025
CHUNK = 100_000
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
    parser.add_argument("--reuse-db", action="store_true", help="time the replay on the database left last time")
    return parser.parse_args()


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


def text(value: object) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def copy(model: type, rows: list[dict]) -> None:
    """COPY dicts (attname → value) into the model's table; every concrete column must be given."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields]
    missing = [f.attname for f in fields if f.attname not in rows[0]]
    if missing:
        sys.exit(f"{model.__name__}: no value for {missing}")
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.connection.cursor() as cursor, cursor.copy(
            f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as out:
        for i in range(0, len(rows), CHUNK):
            out.write("".join("\t".join(text(row[f.attname]) for f in fields) + "\n" for row in rows[i:i + CHUNK]))


def load(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    region = Region.objects.get(admdvs="370100")
    version = policy_version_full(PolicyVersion.objects.get(code="JN-2024").pk)
    options = engine.EngineOptions.of(version)
    sep_terms = sep_pay_terms_for(version)
    now = datetime.datetime.now(datetime.UTC)
    start = time.perf_counter()
    items = {}
    for code, level, prop, limit, sep in ITEMS:
        items[code] = Item.objects.create(item_code=code, item_name=f"Bench {code}", chrg_item_lv=level,
                                          selfpay_prop=prop, pric_uplmt_amt=limit, sep_pay_flag=sep)
    facilities = []
    for pk in range(1, 301):
        pharmacy = pk > 270
        facilities.append({"id": pk, "fixmedins_code": f"W{pk:06d}", "fixmedins_name": f"Bench facility {pk}",
                           "fixmedins_type": "2" if pharmacy else "1", "hosp_lv": "" if pharmacy else str(1 + pk % 3),
                           "region_id": region.pk, "begndate": "2000-01-01", "enddate": None})
    from claims.models import Facility

    extra = {f.attname: f.get_default() for f in Facility._meta.concrete_fields if f.attname not in facilities[0]}
    copy(Facility, [{**f, **extra} for f in facilities])

    from accounts.models import Enrollment, Person, PersonalAccount

    def defaults(model: type, given: dict) -> dict:
        return {f.attname: f.get_default() for f in model._meta.concrete_fields if f.attname not in given}

    persons, enrollments, accounts, ledger = [], [], [], []
    balances, retired = {}, {}
    for pk in range(1, args.enrollees + 1):
        is_retired = pk % 4 == 0
        retired[pk] = is_retired
        person = {"id": pk, "psn_no": f"W{pk:09d}", "certno": f"{pk:018d}", "psn_name": f"Bench {pk}", "gend": "1",
                  "brdy": "1955-01-01" if is_retired else "1985-01-01", "created_at": now}
        persons.append({**person, **defaults(Person, person)})
        enrollment = {"id": pk, "person_id": pk, "insutype": "310", "psn_type": "1201" if is_retired else "1101",
                      "region_id": region.pk, "clct_base": None if is_retired else "8000.00",
                      "begndate": "2010-01-01", "retire_date": "2015-01-01" if is_retired else None,
                      "psn_insu_stas": "1", "employer_id": None, "enddate": None}
        enrollments.append({**enrollment, **defaults(Enrollment, enrollment)})
        balances[pk] = Decimal(rng.randrange(0, 300_000)) / 100
    entry_id = 0
    opening_at = datetime.datetime(YEAR - 1, 12, 31, 12, tzinfo=datetime.UTC)
    ledger_defaults = None
    for pk, balance in balances.items():
        if balance:
            entry_id += 1
            entry = {"id": entry_id, "account_id": pk, "kind": "opening_balance", "pocket": "historical",
                     "amount": balance, "balance_after": balance, "period": D(YEAR - 1, 12, 31),
                     "policy_version_id": None, "credit_rule_id": None, "run_id": None, "reverses_id": None,
                     "ref_type": "", "ref_id": "", "reason": "bench", "created_at": opening_at,
                     "created_by_id": None}
            ledger_defaults = ledger_defaults or defaults(LedgerEntry, entry)
            ledger.append({**entry, **ledger_defaults})
    say(f"  {args.enrollees:,} enrollees ({time.perf_counter() - start:.0f} s)")

    days = [D(YEAR, 1, 1) + datetime.timedelta(days=d) for d in range(365)]
    hospitals = [f for f in facilities if f["fixmedins_type"] == "1"]
    pharmacies = [f for f in facilities if f["fixmedins_type"] == "2"]
    terms_cache: dict[tuple, object] = {}
    settlements, lines = [], []
    line_id = 0
    settlement_defaults = line_defaults = None
    per_person = [args.settlements // args.enrollees + (1 if pk <= args.settlements % args.enrollees else 0)
                  for pk in range(1, args.enrollees + 1)]
    setl_pk = 0
    for pk in range(1, args.enrollees + 1):
        own_balance = balances[pk]
        counters: dict[str, list[Decimal]] = {}
        offset = datetime.timedelta(seconds=pk % 30_000)
        for n, day in enumerate(sorted(rng.sample(days, per_person[pk - 1]))):
            setl_pk += 1
            pharmacy = rng.random() < 0.12
            facility = rng.choice(pharmacies if pharmacy else hospitals)
            level = FacilityLevel.PHARMACY.value if pharmacy else facility["hosp_lv"]
            med_type = "41" if pharmacy else rng.choice(("11", "11", "11", "13"))
            psn_type = "1201" if retired[pk] else "1101"
            key = (psn_type, level, med_type)
            if key not in terms_cache:
                terms_cache[key] = benefit_rule_for(version=version, psn_type=psn_type,
                                                    retire_date=D(2015, 1, 1) if retired[pk] else None,
                                                    facility_level=level, med_type=med_type)
            terms = terms_cache[key]
            bill = [rng.choice(ITEMS) for _ in range(rng.randint(1, 3))]
            line_ins = [engine.LineIn(item_code=code, qty=Decimal(rng.randint(1, 6)),
                                      price=Decimal(rng.randrange(500, 9000)) / 100, chrg_item_lv=cls,
                                      selfpay_prop=prop, pric_uplmt_amt=limit, sep_pay=sep)
                        for code, cls, prop, limit, sep in bill]
            bucket = terms.bucket if terms.fund_pays else ""
            use_sep = terms.fund_pays and any(line.sep_pay for line in line_ins)
            acc = counters.setdefault(bucket, [ZERO, ZERO])
            sep_acc = counters.setdefault(sep_terms.bucket, [ZERO, ZERO])
            acct_used = rng.random() > 0.05
            result = engine.adjudicate(
                lines=line_ins, terms=terms, options=options,
                accumulator=engine.Accumulator(acc[0], acc[1]) if bucket else engine.Accumulator(),
                own=engine.Pockets(current=ZERO, historical=own_balance), acct_used=acct_used, mulaid_payers=[],
                sep_terms=sep_terms if use_sep else None,
                sep_accumulator=engine.Accumulator(sep_acc[0], sep_acc[1]))
            if bucket:
                acc[0] += result.accumulator_delta.dedc
                acc[1] += result.accumulator_delta.hifp
            if result.sep_bucket:
                sep_acc[1] += result.sep_accumulator_delta.hifp
            created = datetime.datetime(day.year, day.month, day.day, 1, tzinfo=datetime.UTC) + offset
            created += datetime.timedelta(microseconds=n)
            setl_id = f"{day:%Y%m%d}{setl_pk:016X}"
            row = {"id": setl_pk, "setl_id": setl_id, "facility_id": facility["id"], "medins_setl_id": str(setl_pk),
                   "request_digest": "bench", "status": "settled", "person_id": pk, "insutype": "310",
                   "psn_type": psn_type, "med_type": med_type, "setl_date": day, "dise_codg": "", "ext_rx": False,
                   "acct_used_flag": "1" if acct_used else "0", "policy_version_id": version.pk,
                   "benefit_rule_id": terms.rule_id, "enrollee_class": terms.enrollee_class, "hosp_lv": level,
                   "bucket": bucket, "year_start": D(YEAR, 1, 1) if bucket else None,
                   "sep_bucket": result.sep_bucket, "sep_hifp_pay": result.sep_hifp_pay, "response": "{}",
                   "explanation": "[]", "created_at": created, "reversed_at": None, "reversal_reason": "",
                   "reversed_by_id": None,
                   **{name: getattr(result, name) for name in (
                       "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
                       "act_pay_dedc", "hifp_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
                       "acct_mulaid_pay", "psn_cash_pay", "balc")}}
            settlement_defaults = settlement_defaults or defaults(Settlement, row)
            settlements.append({**row, **settlement_defaults})
            for line, out in zip(line_ins, result.lines, strict=True):
                line_id += 1
                lrow = {"id": line_id, "settlement_id": setl_pk, "item_code": line.item_code,
                        "item_id": items[line.item_code].pk, "chrg_item_lv": out.chrg_item_lv,
                        "selfpay_prop": line.selfpay_prop, "pric_uplmt_amt": line.pric_uplmt_amt,
                        "sep_pay": line.sep_pay, "qty": line.qty, "price": line.price, "amount": out.amount,
                        "fulamt_ownpay_amt": out.fulamt_ownpay_amt, "overlmt_selfpay": out.overlmt_selfpay,
                        "preselfpay_amt": out.preselfpay_amt, "inscp_scp_amt": out.inscp_scp_amt,
                        "acct_pay_forbidden": out.acct_pay_forbidden}
                line_defaults = line_defaults or defaults(SettlementLine, lrow)
                lines.append({**lrow, **line_defaults})
            for debit in result.debits:
                own_balance -= debit.amount
                entry_id += 1
                ledger.append({**ledger_defaults, "id": entry_id, "account_id": pk, "kind": "settlement",
                               "pocket": debit.pocket, "amount": -debit.amount, "balance_after": own_balance,
                               "period": day, "policy_version_id": version.pk, "credit_rule_id": None,
                               "run_id": None, "reverses_id": None, "ref_type": "settlement", "ref_id": setl_id,
                               "reason": "", "created_at": created + datetime.timedelta(milliseconds=1),
                               "created_by_id": None})
        account = {"id": pk, "person_id": pk, "balc_current": ZERO, "balc_historical": own_balance,
                   "created_at": now}
        accounts.append({**account, **defaults(PersonalAccount, account)})
        if pk % 20_000 == 0:
            say(f"  {pk:,} enrollees' years settled by the engine ({time.perf_counter() - start:.0f} s)")
    say(f"  {len(settlements):,} settlements, {len(lines):,} lines, {len(ledger):,} ledger entries computed "
        f"({time.perf_counter() - start:.0f} s); loading")
    for model, rows in ((Person, persons), (Enrollment, enrollments), (PersonalAccount, accounts),
                        (LedgerEntry, ledger), (Settlement, settlements), (SettlementLine, lines)):
        copy(model, rows)
        sql(f"ANALYZE {model._meta.db_table}")
        sql(f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "
            f"(SELECT max(id) FROM {model._meta.db_table}))")
    say(f"  loaded in {time.perf_counter() - start:.0f} s")


def main() -> None:
    args = parse_args()
    if not args.reuse_db:
        database_recreate()
        say(f"loading {args.settlements:,} settlements for {args.enrollees:,} enrollees")
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
    load_avg = os.getloadavg()
    say(f"load average before the runs: {load_avg[0]:.1f} {load_avg[1]:.1f} {load_avg[2]:.1f}")
    failed = False
    for version in (published, draft):
        start, cpu = time.perf_counter(), os.times()
        outcome = whatif_replay(version=version, region=region, month_from=D(YEAR, 1, 1),
                                month_to=D(YEAR, 12, 1), processes=args.processes)
        seconds = time.perf_counter() - start
        after = os.times()
        used = sum(getattr(after, k) - getattr(cpu, k) for k in ("user", "system", "children_user",
                                                                   "children_system"))
        total = outcome.total
        say(f"{version.code}: {total.settlements:,} settlements re-adjudicated in {seconds:.1f} s "
            f"({total.settlements / seconds:,.0f}/s, {args.processes} processes), {total.changed:,} paid differently; "
            f"Python CPU {used:.1f} s ({used * 1e6 / max(total.settlements, 1):,.0f} µs a settlement, PostgreSQL's "
            "own CPU not counted)")
        for name in CONTRACT_AMOUNTS:
            say(f"  {name:16} paid {total.amount('actual', name):>16,.2f}   under {version.code} "
                f"{total.amount('whatif', name):>16,.2f}")
        if version == published and total.changed:
            say("  MISMATCH: the published version does not reproduce what was paid")
            failed = True
    load_avg = os.getloadavg()
    say(f"load average after the runs: {load_avg[0]:.1f} {load_avg[1]:.1f} {load_avg[2]:.1f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
