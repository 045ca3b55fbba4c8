"""On PostgreSQL: many tills settling and reversing at once into the same summary rows (one facility, one month)
lose nothing and never deadlock: the summaries equal the direct aggregates afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_reports .venv/bin/pytest reports -m postgres
"""

import random
import threading
import time

import psycopg
import pytest
from django.db import connections, transaction

from claims.models import Settlement
from claims.services import settlement_create, settlement_reverse
from reports import summaries
from reports.models import FacilityMonth, FundExpenditure
from reports.tests.conftest import D, enrollee, fund, request
from reports.tests.test_summaries import facility_direct, facility_rows, fund_direct, fund_rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS, OPERATIONS = 8, 25


def test_concurrent_settles_and_reversals_keep_the_summaries_exact(world):
    jn = world["regions"]["370100"]
    people = [enrollee(jn, brdy=D(1980, 1, 1)).person for _ in range(THREADS)]
    for p in people:
        fund(p, historical="100000.00")
    facilities = [world["facilities"]["JN1"], world["facilities"]["JN2"]]
    errors: list[BaseException] = []

    def till(number: int) -> None:
        rng = random.Random(number)
        mine: list[str] = []
        try:
            for n in range(OPERATIONS):
                if mine and rng.random() < 0.3:
                    settlement_reverse(settlement=Settlement.objects.get(setl_id=mine.pop()), reason="t")
                    continue
                answer, _ = settlement_create(facility=rng.choice(facilities), data=request(
                    people[number].psn_no, ("A50", str(rng.randint(1, 9)), "50"), setl_date="2025-03-10",
                    medins_setl_id=f"T{number}-{n}"))
                mine.append(answer["setl_id"])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=till, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert fund_rows() == fund_direct() and facility_rows() == facility_direct()
    assert sum(r[4] for r in facility_rows()) == Settlement.objects.filter(status="settled").count()


def test_a_settlement_locks_the_fund_rows_before_the_facility_row(world):
    # The two upserts are one statement on PostgreSQL; the rows must still be locked in the order of the two
    # statements it replaced (fund, then facility), or a till would deadlock with a node running the old order
    # during a rolling deploy. A settlement whose facility row another transaction holds must already hold its
    # fund row while it waits for that.
    jn = world["regions"]["370100"]
    person = enrollee(jn, brdy=D(1980, 1, 1)).person
    fund(person, historical="1000.00")
    # 9 × 50.00 = 450.00 in scope, above the 200.00 deductible: the pooled fund pays, so both tables have a row.
    answer, _ = settlement_create(facility=world["facilities"]["JN1"], data=request(
        person.psn_no, ("A50", "9", "50"), setl_date="2025-03-10", medins_setl_id="LOCKS-1"))
    settlement = Settlement.objects.get(setl_id=answer["setl_id"])
    assert settlement.hifp_pay > 0
    params = connections["default"].get_connection_params()
    holder, prober = psycopg.connect(**params), psycopg.connect(**params)
    facility_table, fund_table = FacilityMonth._meta.db_table, FundExpenditure._meta.db_table
    holder.execute(f"SELECT 1 FROM {facility_table} WHERE facility_id = %s FOR UPDATE", [settlement.facility_id])
    errors: list[BaseException] = []

    def settle_summaries() -> None:
        try:
            with transaction.atomic():
                summaries.settlement_applied(settlement, sign=+1)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            connections.close_all()

    waiting = threading.Thread(target=settle_summaries)
    waiting.start()
    try:
        for _ in range(200):  # until it waits for the facility row (at most 10 s)
            # Only a wait for the holder's lock counts: other sessions on the server may be waiting for their own.
            if holder.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND %s = ANY (pg_blocking_pids(pid))",
                              [holder.info.backend_pid]).fetchone()[0]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the summaries never waited for the facility row")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            prober.execute(f"SELECT 1 FROM {fund_table} WHERE region_id = %s FOR UPDATE NOWAIT", [jn.pk])
    finally:
        holder.rollback()
        prober.rollback()  # had it locked the fund row (the wrong order), the settlement would wait for it
        waiting.join()
        holder.close()
        prober.close()
    assert errors == []
