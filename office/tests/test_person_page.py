"""The person, whole: the person's page shows the last year's settlements, this benefit year's accumulators and
the last twelve months' contributions beside the registry, links, recognitions and the account."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from claims.models import Settlement

pytestmark = pytest.mark.django_db


@time_machine.travel(datetime.datetime(2025, 3, 20, 10, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")), tick=False)
def test_the_person_page_shows_settlements_accumulators_and_contributions(admin_client: Client, book: dict) -> None:
    p1 = book["persons"]["p1"]
    html = admin_client.get(reverse("admin:accounts_person_change", args=[p1.pk])).content.decode()
    a, b = (Settlement.objects.get(setl_id=book[k]["setl_id"]) for k in ("a", "b"))
    assert a.setl_id in html and b.setl_id in html
    assert reverse("admin:claims_settlement_change", args=[a.pk]) in html
    # p1's general bucket, JN-2024 2025: deductible 200.00 (a), fund 210.00 (a) + 240.00 (b) = 450.00.
    assert "200.00" in html and "450.00" in html
    # The March 2025 contribution on a base of 10,000.00.
    assert "10000.00" in html
    assert "Settlements of the last 365 days" in html and "Accumulators of this benefit year" in html
