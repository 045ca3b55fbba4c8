"""Admin lists of large tables are not counted with COUNT(*) when unfiltered on PostgreSQL (the planner's estimate
is used); filtered lists and SQLite are counted exactly."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Person
from accounts.tests.factories import PersonFactory
from core.admin import EstimatedCountPaginator

pytestmark = pytest.mark.django_db


def test_filtered_lists_are_counted_exactly():
    PersonFactory.create_batch(3)
    paginator = EstimatedCountPaginator(Person.objects.filter(psn_name__startswith="").order_by("pk"), 50)
    assert paginator.count == 3


@pytest.mark.postgres
def test_an_unfiltered_large_table_is_counted_from_the_estimate(monkeypatch):
    PersonFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_person")
    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_BELOW", 1)  # 3 rows stand for millions
    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(Person.objects.order_by("pk"), 50).count
    # After ANALYZE the estimate of a 3-row table is its row count; no COUNT(*) was run.
    assert count == 3
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


@pytest.mark.postgres
def test_small_tables_are_counted_exactly_even_unfiltered():
    PersonFactory.create_batch(2)
    with CaptureQueriesContext(connection) as queries:
        assert EstimatedCountPaginator(Person.objects.order_by("pk"), 50).count == 2
    assert any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
