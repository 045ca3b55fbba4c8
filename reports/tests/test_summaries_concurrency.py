"""On PostgreSQL: many tills settling and reversing at once into the same summary rows (one facility, one month)
lose nothing and never deadlock: the summaries equal the direct aggregates afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_reports .venv/bin/pytest reports -m postgres
"""

import random
import threading

import pytest
from django.db import connections

from claims.models import Settlement
from claims.services import settlement_create, settlement_reverse
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
