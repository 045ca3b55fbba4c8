"""The person, whole: the person's page shows the last year's settlements, this benefit year's accumulators and
the last twelve months' contributions beside the registry, links, recognitions and the account."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.ledger import account_correct
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


def _ledger(html: str) -> str:
    start = html.index('id="person-ledger"')
    return html[start:html.index("</fieldset>", start)]


def test_the_person_page_shows_the_ledger_filtered_and_paged(admin_client: Client, book: dict) -> None:
    """The holder's account in the book: 500.00 put in by a correction (test funds), then f, the child's 150.00 bill
    paid from it (mutual aid); 23 corrections of 1.00 more make 25 entries, two pages of 20."""
    holder = book["persons"]["holder"]
    for number in range(23):
        account_correct(person=holder, pocket="historical", amount=Decimal("1.00"), reason=f"test {number}")
    url = reverse("admin:accounts_person_change", args=[holder.pk])
    html = admin_client.get(url).content.decode()
    ledger = _ledger(html)
    # Balances by pocket stay: 500.00 − 150.00 + 23.00 = 373.00 in the historical pocket.
    assert "373.00" in html
    assert "25 entries" in ledger and ledger.count("<tr>") == 1 + 20
    assert "ledger_page=2" in ledger
    page_2 = admin_client.get(url, {"ledger_page": "2"}).content.decode()
    page_2 = _ledger(page_2)
    assert page_2.count("<tr>") == 1 + 5 and "500.00" in page_2  # the oldest five, the first correction among them
    only_mulaid = admin_client.get(url, {"ledger_kind": "mulaid_settlement"}).content.decode()
    only_mulaid = _ledger(only_mulaid)
    assert "1 entry" in only_mulaid and "-150.00" in only_mulaid and "350.00" in only_mulaid
    assert only_mulaid.count("<tr>") == 2
    nothing = admin_client.get(url, {"ledger_pocket": "current"}).content.decode()
    assert "No entry matches these filters." in nothing
    # A value the filter does not know is ignored, not an error.
    assert admin_client.get(url, {"ledger_kind": "nonsense", "ledger_page": "x"}).status_code == 200
