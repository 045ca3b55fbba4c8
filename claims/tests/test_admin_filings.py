"""The cross-region filings admin: filters, search, the person page's inline, and queries that do not grow with
the rows."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import EnrollmentFactory, PersonFactory
from claims.models import CrossRegionFiling, FilingStatus
from claims.tests.test_admin import CHANGELIST_MAX_QUERIES, clerk, regions, roles  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def filings(regions: dict) -> list[CrossRegionFiling]:  # noqa: F811
    rows = []
    for i in range(30):
        person = PersonFactory(psn_no=f"P{i:04d}", psn_name=f"王{i}")
        EnrollmentFactory(person=person, region=regions["310000" if i % 2 else "370100"], employer=None)
        rows.append(CrossRegionFiling.objects.create(
            person=person, mdtrtarea_admvs="370000" if i % 2 else "310000",
            filing_type="temporary" if i % 3 else "long_term", begndate=datetime.date(2025, 1, 1),
            enddate=datetime.date(2025, 6, 30) if i % 5 == 0 else None,
            status=FilingStatus.CANCELLED if i == 7 else FilingStatus.ACTIVE))
    return rows


def test_filings_are_listed_filtered_and_searched(clerk: Client, filings: list, regions: dict,  # noqa: F811
                                                  django_assert_max_num_queries: object) -> None:
    url = reverse("admin:claims_crossregionfiling_changelist")
    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES + 2):
        assert clerk.get(url).status_code == 200
    html = clerk.get(url, {"mdtrtarea_admvs": "370000", "filing_type__exact": "long_term"}).content.decode()
    assert "P0003" in html and "P0002" not in html and "P0001" not in html
    assert "P0007" not in clerk.get(url, {"status__exact": "active"}).content.decode()
    assert "P0005" in clerk.get(url, {"q": "P0005"}).content.decode()
    for valid in ("today", "not_today"):
        assert clerk.get(url, {"valid": valid}).status_code == 200
    insured = clerk.get(url, {"person__enrollments__region__id__exact": regions["370100"].pk}).content.decode()
    assert "P0002" in insured and "P0003" not in insured


def test_the_person_page_shows_the_filings(clerk: Client, filings: list) -> None:  # noqa: F811
    filing = filings[3]
    html = clerk.get(reverse("admin:accounts_person_change", args=[filing.person.pk])).content.decode()
    assert "370000" in html and "crossregionfiling" in html
    assert clerk.get(reverse("admin:claims_crossregionfiling_change", args=[filing.pk])).status_code == 200
