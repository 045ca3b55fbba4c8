"""Local time (issue 12, item 4): a correction made at 07:16 on 1 December in Shanghai is 23:16 on 30 November in
UTC; the ledger's list and entry page, the person page, the ledger export and the export's file name all say
1 December, and the home page's "today" is Shanghai's."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.exports import LedgerEntryExportResource
from accounts.ledger import account_correct
from accounts.models import LedgerEntry
from accounts.tests.factories import PersonFactory
from core.exports import SafeCSV

pytestmark = pytest.mark.django_db

# 2026-12-01 07:16 in Asia/Shanghai (UTC+8).
SHANGHAI_MORNING = datetime.datetime(2026, 11, 30, 23, 16, tzinfo=datetime.UTC)


@pytest.fixture
def entry() -> LedgerEntry:
    person = PersonFactory()
    with time_machine.travel(SHANGHAI_MORNING, tick=False):
        return account_correct(person=person, pocket="historical", amount=Decimal("12.34"), reason="test funds")


def test_the_ledger_pages_date_the_entry_1_december(admin_client: Client, entry: LedgerEntry) -> None:
    listing = admin_client.get(reverse("admin:accounts_ledgerentry_changelist")).content.decode()
    page = admin_client.get(reverse("admin:accounts_ledgerentry_change", args=[entry.pk])).content.decode()
    person = admin_client.get(reverse("admin:accounts_person_change", args=[entry.account.person_id])).content.decode()
    for html in (listing, page):  # the test settings' language is English: Django's "N j, Y, P"
        assert "Dec. 1, 2026, 7:16 a.m." in html and "Nov. 30" not in html
    assert "2026-12-01 07:16</a></td>" in person and "2026-11-30" not in person


def test_the_ledger_export_and_its_file_name_say_1_december(admin_client: Client, entry: LedgerEntry) -> None:
    dataset = LedgerEntryExportResource().export(queryset=LedgerEntry.objects.filter(pk=entry.pk))
    assert dataset.dict[0][str(LedgerEntryExportResource.fields["created_at"].column_name)] == "2026-12-01 07:16:00"

    request = RequestFactory().get("/")
    with time_machine.travel(SHANGHAI_MORNING, tick=False):
        name = admin.site._registry[LedgerEntry].get_export_filename(request, LedgerEntry.objects.all(), SafeCSV())
    assert name == "LedgerEntry-2026-12-01.csv"


def test_the_home_page_counts_shanghai_s_today(admin_client: Client) -> None:
    with time_machine.travel(SHANGHAI_MORNING, tick=False):
        html = admin_client.get(reverse("admin:index")).content.decode()
    assert "2026-12-01" in html and "2026-11-30" not in html
