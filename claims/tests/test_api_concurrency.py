"""The partner API under attack-sized concurrency on PostgreSQL (issue 11, "Done when"): 16 threads × 300 mixed
requests (settle, reverse, a reversal again, the same bill again, and the same bill sent by two threads at the same
instant) against one family whose members pay for each other, through the whole HTTP stack (authentication, the
tie rule, the window, the serializers, the services), while a credit run credits the same accounts on real
Celery workers: the first is killed (SIGKILL) in the middle of a chunk, a second takes over, and the check for
stalled runs (what beat sends every 2 minutes) queues the dead worker's chunk again; nobody restarts the run.

Afterwards: every answer was 2xx, no 5xx and nothing unexpected; the run is done with each credit once;
`verify_ledger` is clean; POLICY.md's invariants hold for every settlement; every accumulator equals the sum over
the live settlements; every balance is the funding plus the credits less what the live settlements took: 0 fen off.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_edges TEST_CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/pytest claims/tests/test_api_concurrency.py -s
"""

import datetime
import io
import random
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, connections
from rest_framework.test import APIClient

from accounts.ledger import accounts_open
from accounts.models import CREDIT_KINDS, CreditRun, LedgerEntry, PersonalAccount
from accounts.tests.conftest import contribution
from claims.models import Settlement, SettlementStatus
from claims.partner import person_lookup_record
from claims.tests.conftest import D, enrollee
from claims.tests.test_settlement_properties import ITEM_CODES, books_check, make_family
from claims.tokens import partner_token_create
from core.tests.workers import CeleryWorkers, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("api_today")]

THREADS = 16
REQUESTS = 300  # per thread
DUPLICATE_EVERY = 10  # the pair's two threads send the same new bill at the same instant
SETTLEMENTS = "/api/v1/settlements/"
PAYERS = {"holder": (None, "spouse"), "spouse": (None, "holder"), "parent": (None, "holder"),
          "child": (None, "holder", "spouse")}
FACILITIES = ("JN1", "JN2", "JN3")
# Today is 2025-03-20 (api_today): the window is 2025-02-18 to 2025-03-20.
WINDOW_START = D(2025, 2, 18)


def bill(rng: random.Random, family: dict, medins_setl_id: str) -> tuple[str, dict]:
    patient = rng.choice(sorted(PAYERS))
    payer = rng.choice(PAYERS[patient])
    data = {"medins_setl_id": medins_setl_id, "psn_no": family[patient].psn_no,
            "med_type": rng.choice(("11", "13")),
            "setl_date": (WINDOW_START + datetime.timedelta(days=rng.randint(0, 30))).isoformat(),
            "acct_used_flag": rng.choice("110"),
            "items": [{"item_code": rng.choice(ITEM_CODES), "qty": str(rng.randint(1, 20)),
                       "price": f"{Decimal(rng.randint(1, 30_000)) / 100:.2f}"} for _ in range(rng.randint(1, 4))]}
    if payer is not None:
        data["mulaid_psn_no"] = family[payer].psn_no
    return rng.choice(FACILITIES), data


def credit_run_with_a_killed_worker(*, locked: int) -> tuple[CreditRun, list[str]]:
    """March 2025's credit run for Jinan, in chunks of 5 enrollments, on a real worker (its own process and
    connection, the broker of TEST_CELERY_BROKER_URL). The account of person `locked` is held locked meanwhile, so
    the worker's chunk that credits it waits with its transaction open: the worker is killed then (SIGKILL), the
    lock released, a second worker started; once it has done every other chunk, the check for stalled runs (beat's,
    here sent at once) queues the dead worker's chunk again, long before the broker's visibility timeout would."""
    def run() -> CreditRun | None:
        return CreditRun.objects.filter(period=D(2025, 3, 1), region__admdvs="370100").first()

    def wait(check) -> None:  # noqa: ANN001
        wait_for(check, seconds=240, interval=0.2)

    with CeleryWorkers() as workers:
        locker = workers.connect()
        first = workers.start("first")
        locker.execute(f"SELECT id FROM {PersonalAccount._meta.db_table} WHERE person_id = %s FOR UPDATE", [locked])
        locker_pid = locker.execute("SELECT pg_backend_pid()").fetchone()[0]
        workers.send("accounts.tasks.credits_month_task", "2025-03", "370100", chunk_size=5)

        def blocked() -> bool:  # the worker's chunk waits for the locker (asked on a connection of its own)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                               [locker_pid])
                return cursor.fetchone()[0] > 0

        wait(blocked)
        assert run().status == "running" and run().chunks_done < run().chunks_total
        workers.kill(first)
        locker.rollback()  # PostgreSQL rolls the dead worker's transaction back: nothing of its chunk stays

        workers.start("second")
        wait(lambda: run().chunks_done == run().chunks_total - 1)  # the dead one's message is still held
        assert run().status == "running"
        time.sleep(1.5)
        workers.send("accounts.tasks.credit_runs_resume_stale_task", older_than_seconds=1)
        wait(lambda: run().status != "running")
    return run(), workers.outputs


def test_16_threads_of_api_requests_and_a_credit_run_lose_nothing(world):
    region = world["regions"]["370100"]
    family = make_family(region)
    # The credit run credits March 2025 to the family and to 40 other enrollees (2% of 10,000.00 = 200.00 each).
    others = [enrollee(region, brdy=D(1985, 1, 1)) for _ in range(40)]
    for e in others:
        contribution(e, "2025-03", "10000.00")
    for person in (family["holder"], family["spouse"], family["stranger"]):
        contribution(person.enrollments.get(), "2025-03", "10000.00")
    accounts_open(person_ids=[e.person_id for e in others])
    funded = sum((a.balc for a in PersonalAccount.objects.all()), Decimal(0))
    tokens = {}
    for code in FACILITIES:
        facility = world["facilities"][code]
        tokens[code] = partner_token_create(facility=facility)[1]
        for person in family.values():
            person_lookup_record(facility=facility, person=person)

    guard = threading.Lock()
    settled: dict[str, str] = {}  # setl_id -> facility code
    answered: dict[tuple[str, str], list[dict]] = {}
    statuses: Counter = Counter()
    errors: list[str] = []
    pairs = [threading.Barrier(2, timeout=120) for _ in range(THREADS // 2)]

    def clients() -> dict[str, APIClient]:
        out = {}
        for code, raw in tokens.items():
            out[code] = APIClient()
            out[code].credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        return out

    def expect(response, allowed: tuple[int, ...], what: str) -> dict | None:  # noqa: ANN001
        with guard:
            statuses[response.status_code] += 1
            if response.status_code not in allowed:
                errors.append(f"{what}: {response.status_code} {response.content[:300]!r}")
                return None
        return response.json()

    def settle(api: dict[str, APIClient], code: str, data: dict) -> None:
        answer = expect(api[code].post(SETTLEMENTS, data, format="json"), (200, 201), f"settle {data}")
        if answer is not None:
            with guard:
                answered.setdefault((code, data["medins_setl_id"]), []).append(answer)
                settled.setdefault(answer["setl_id"], code)

    def worker(n: int) -> None:
        rng = random.Random(n)
        api = clients()
        sent: list[tuple[str, dict]] = []
        try:
            for k in range(REQUESTS):
                roll = rng.random()
                if k % DUPLICATE_EVERY == 0:
                    code, data = bill(random.Random(f"{n // 2}-{k}"), family, f"DUP-{n // 2}-{k}")
                    pairs[n // 2].wait()
                    settle(api, code, data)
                elif roll < 0.25 and settled:
                    with guard:
                        setl_id = rng.choice(sorted(settled))
                        code = settled[setl_id]
                    answer = expect(api[code].post(f"{SETTLEMENTS}{setl_id}/reversal/", {"reason": "test"},
                                                   format="json"), (200,), f"reverse {setl_id}")
                    if answer is not None and answer["status"] != "reversed":
                        errors.append(f"reverse {setl_id}: {answer['status']}")
                elif roll < 0.35 and sent:
                    settle(api, *rng.choice(sent))  # the same bill again: its first answer, status as it is now
                else:
                    code, data = bill(rng, family, f"T{n}-{k}")
                    sent.append((code, data))
                    settle(api, code, data)
        except Exception as e:  # noqa: BLE001  (every unexpected failure is collected and reported)
            with guard:
                errors.append(f"thread {n}: {type(e).__name__}: {e}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    start, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    try:
        run, outputs = credit_run_with_a_killed_worker(locked=others[20].person_id)
    finally:
        for t in threads:
            t.join()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"\n{THREADS * REQUESTS} requests by {THREADS} threads and a credit run in {seconds:.1f} s "
          f"({cpu:.1f} s CPU in this process); statuses {dict(statuses)}; {len(settled)} settled, "
          f"{Settlement.objects.filter(status=SettlementStatus.REVERSED).count()} reversed; the run's chunks "
          f"by worker {sorted(Counter(w.split('@')[0] for w in run.chunks.values_list('worker', flat=True)).items())}")

    assert errors == [], errors[:5]
    assert sum(statuses.values()) == THREADS * REQUESTS and max(statuses) < 300
    # Each credit once (JN-2024): 43 in-service enrollees with a March contribution, 2% × 10,000.00 = 200.00 each,
    # and the retired parent, 73 on 2025-03-01, 80.00: 43 × 200.00 + 80.00 = 8,680.00 in 44 entries; the killed
    # worker's chunk done by the second worker after one resume.
    assert (run.status, run.chunks_done, run.entries_created, run.amount_total, run.resumes) == (
        "done", run.chunks_total, 44, Decimal("8680.00"), 1), (run.error, outputs)
    credited = sum((e.amount for e in LedgerEntry.objects.filter(kind__in=CREDIT_KINDS)), Decimal(0))
    assert credited == Decimal("8680.00")

    books_check()  # invariants, accumulators = live settlements, each settlement's debits and reversals
    output = io.StringIO()
    call_command("verify_ledger", stdout=output)  # exits 1 on any difference
    assert output.getvalue().startswith("ledger clean")
    assert Settlement.objects.count() == len(answered) == len(settled)
    for key, answers in answered.items():
        first = {k: v for k, v in answers[0].items() if k != "status"}
        assert all({k: v for k, v in a.items() if k != "status"} == first for a in answers), key
    duplicates = [answers for (_, medins_setl_id), answers in answered.items() if medins_setl_id.startswith("DUP")]
    assert duplicates and all(len(answers) >= 2 for answers in duplicates)
    live = Settlement.objects.filter(status=SettlementStatus.SETTLED)
    spent = sum((s.acct_pay + s.acct_mulaid_pay for s in live), Decimal(0))
    assert sum((a.balc for a in PersonalAccount.objects.all()), Decimal(0)) == funded + credited - spent
