"""Concurrent settling and reversing on PostgreSQL: 16 threads, each with its own connection, 2,000 operations
against one family whose members pay for each other (the holder's and the spouse's accounts and every member's
accumulators contend), with duplicate requests sent by two threads at the same instant.

Afterwards nothing may be lost or doubled: the ledger explains every balance, no pocket is negative, every
accumulator equals the sum over the live settlements, each settlement's debits are its account payments, there is
one settlement per distinct medins_setl_id answered, and no deadlock or serialization failure ever surfaced.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_conc .venv/bin/pytest claims/tests/test_concurrency.py -s
"""

import random
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import IntegrityError, connections

from accounts.ledger import ledger_verify
from accounts.models import PersonalAccount
from claims import services
from claims.errors import ClaimError
from claims.models import Settlement, SettlementStatus
from claims.services import settlement_create, settlement_reverse
from claims.tests.conftest import D, fund
from claims.tests.test_settlement_properties import ITEM_CODES, books_check, make_family

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16
OPERATIONS = 2000
DUPLICATE_EVERY = 10  # every 10th operation of a thread is a duplicate sent by it and its pair at once
REVERSE_SHARE = 0.25
# Who may pay for whom (make_family's links): the holder for everyone else, the spouse for the holder and the child.
PAYERS = {"holder": (None, "spouse"), "spouse": (None, "holder"), "parent": (None, "holder"),
          "child": (None, "holder", "spouse")}


def bill(rng: random.Random, family: dict, medins_setl_id: str) -> tuple[str, dict]:
    level = rng.choice("123")
    patient = rng.choice(sorted(PAYERS))
    payer = rng.choice(PAYERS[patient])
    data = {"medins_setl_id": medins_setl_id, "psn_no": family[patient].psn_no,
            "med_type": rng.choice(("11", "13")), "setl_date": D(2025, rng.randint(1, 12), rng.randint(1, 28)),
            "acct_used_flag": rng.choice("110"),
            "items": [{"item_code": rng.choice(ITEM_CODES), "qty": Decimal(rng.randint(1, 2000)) / 100,
                       "price": Decimal(rng.randint(1, 12_000)) / 100} for _ in range(rng.randint(1, 4))]}
    if payer is not None:
        data["mulaid_psn_no"] = family[payer].psn_no
    return f"SH{level}", data


def test_concurrent_settlements_and_reversals_lose_nothing(world, monkeypatch):
    family = make_family(world["regions"]["310000"])
    fund(family["holder"], historical="50000.00")
    fund(family["spouse"], current="3000.00", historical="20000.00")
    facilities = world["facilities"]
    funded = sum((a.balc for a in PersonalAccount.objects.all()), Decimal(0))

    guard = threading.Lock()
    settled: list[str] = []  # setl_ids, for reversals
    answered: dict[tuple[str, str], list[tuple[dict, bool]]] = {}
    refusals: Counter = Counter()
    errors: list[str] = []
    pairs = [threading.Barrier(2, timeout=60) for _ in range(THREADS // 2)]
    per_thread = OPERATIONS // THREADS
    races = Counter()
    settle_once = services._settle

    def counting_settle(**kwargs: object) -> dict:
        try:
            return settle_once(**kwargs)
        except IntegrityError:
            with guard:
                races["unique constraint"] += 1
            raise

    monkeypatch.setattr(services, "_settle", counting_settle)

    def settle(code: str, data: dict) -> None:
        try:
            answer, created = settlement_create(facility=facilities[code], data=data)
        except ClaimError as e:
            with guard:
                refusals[e.err_code] += 1
            return
        with guard:
            answered.setdefault((code, data["medins_setl_id"]), []).append((answer, created))
            if created:
                settled.append(answer["setl_id"])

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            for k in range(per_thread):
                try:
                    if k % DUPLICATE_EVERY == 0:
                        # Both threads of the pair build the same request and send it at the same moment.
                        code, data = bill(random.Random(f"{n // 2}-{k}"), family, f"DUP-{n // 2}-{k}")
                        pairs[n // 2].wait()
                        settle(code, data)
                    elif rng.random() < REVERSE_SHARE and settled:
                        with guard:
                            setl_id = rng.choice(settled)
                        settlement_reverse(settlement=Settlement.objects.get(setl_id=setl_id), reason="test")
                    else:
                        settle(*bill(rng, family, f"T{n}-{k}"))
                except Exception as e:  # noqa: BLE001  (every unexpected failure is collected and reported)
                    with guard:
                        errors.append(f"thread {n}, op {k}: {type(e).__name__}: {e}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    print(f"\n{OPERATIONS} operations by {THREADS} threads in {seconds:.1f} s: {OPERATIONS / seconds:.0f} ops/s; "
          f"{len(settled)} settled, {Settlement.objects.filter(status=SettlementStatus.REVERSED).count()} reversed, "
          f"refusals {dict(refusals)}, duplicate races settled by the unique constraint {races['unique constraint']}, "
          f"errors {len(errors)}")

    deadlocks = [e for e in errors if "deadlock" in e.lower() or "serializ" in e.lower()]
    assert deadlocks == [], deadlocks[:5]
    assert errors == [], errors[:5]
    books_check()
    assert ledger_verify() == []
    assert refusals == Counter()
    assert Settlement.objects.count() == len(answered) == len(settled)
    for key, answers in answered.items():
        # A retry gets the first answer (JSONB: any key order), with the settlement's status now: another thread
        # may have reversed it between the two (CONTRACT.md: a repeated request of a reversed one says so).
        first = {k: v for k, v in answers[0][0].items() if k != "status"}
        assert all({k: v for k, v in a.items() if k != "status"} == first for a, _ in answers), key
        assert all(a["status"] in (answers[0][0]["status"], "reversed") for a, _ in answers), key
        assert sum(created for _, created in answers) == 1, key
    duplicates = [answers for (_, medins_setl_id), answers in answered.items() if medins_setl_id.startswith("DUP")]
    assert duplicates and all(len(answers) == 2 for answers in duplicates)
    live = Settlement.objects.filter(status=SettlementStatus.SETTLED)
    spent = sum((s.acct_pay + s.acct_mulaid_pay for s in live), Decimal(0))
    assert sum((a.balc for a in PersonalAccount.objects.all()), Decimal(0)) == funded - spent
