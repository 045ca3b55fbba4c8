"""Admin lists of large tables are not counted with COUNT(*) on PostgreSQL: unfiltered from the planner's estimate,
filtered exactly up to a bound and beyond it from the estimate; SQLite counts exactly. Their date hierarchy offers
the periods between the first and last date (two index reads), not a DISTINCT over every row."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Person
from accounts.tests.factories import PersonFactory
from claims.models import Settlement
from claims.tests.factories import FacilityFactory
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


@pytest.mark.postgres
def test_a_long_filtered_list_is_counted_up_to_the_bound_then_estimated(monkeypatch):
    PersonFactory.create_batch(5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_person")
    monkeypatch.setattr(EstimatedCountPaginator, "FILTERED_EXACT_BELOW", 2)  # 5 rows stand for millions
    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(Person.objects.filter(psn_name__startswith="").order_by("pk"), 50).count
    # At most 3 rows counted (LIMIT 3), then the planner's estimate of the filtered query: after ANALYZE, 5.
    assert count == 5
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 3" in counts[0]


@pytest.mark.postgres
def test_a_short_filtered_list_is_counted_exactly(monkeypatch):
    PersonFactory.create_batch(2)
    monkeypatch.setattr(EstimatedCountPaginator, "FILTERED_EXACT_BELOW", 2)
    assert EstimatedCountPaginator(Person.objects.filter(psn_name__startswith="").order_by("pk"), 50).count == 2


def test_the_date_hierarchy_offers_the_periods_from_the_first_to_the_last_date(admin_client):
    facility, person = FacilityFactory(), PersonFactory()
    for n, day in enumerate(["2023-05-01", "2025-02-03", "2025-04-20"]):
        Settlement.objects.create(setl_id=f"S{n}", facility=facility, medins_setl_id=f"M{n}", request_digest="x",
                                  person=person, med_type="11", setl_date=day, response={})
    url = reverse("admin:claims_settlement_changelist")
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url).content.decode()
    assert not any("DISTINCT" in q["sql"].upper() for q in queries.captured_queries)
    # 2024 has no settlement but lies between the first (2023) and the last (2025): offered, and shows none.
    assert set(re.findall(r"setl_date__year=(\d+)", page)) == {"2023", "2024", "2025"}
    page = admin_client.get(url, {"setl_date__year": "2025"}).content.decode()
    assert set(re.findall(r"setl_date__month=(\d+)", page)) == {"2", "3", "4"}
    assert list(admin_client.get(url, {"setl_date__year": "2024"}).context["cl"].result_list) == []
    page = admin_client.get(url, {"setl_date__year": "2025", "setl_date__month": "4"}).content.decode()
    assert set(re.findall(r"setl_date__day=(\d+)", page)) == {"20"}
