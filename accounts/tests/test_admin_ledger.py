import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from accounts.credits import credits_run_month
from accounts.models import Contribution, CreditRun, LedgerEntry, PersonalAccount
from accounts.roles import roles_sync
from accounts.tests.conftest import contribution, enrollee

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def credited(seeded):
    e = enrollee(seeded["310000"], brdy=D(1980, 1, 1))
    contribution(e, "2024-03", "10000.00")
    credits_run_month(month=D(2024, 3, 1), admdvs="310000")
    return e


def _client(username: str, group: str) -> Client:
    roles_sync()
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["contribution", "personalaccount", "ledgerentry", "creditrun"])
def test_pages_render(admin_client, credited, model):
    obj = {"contribution": Contribution, "personalaccount": PersonalAccount, "ledgerentry": LedgerEntry,
           "creditrun": CreditRun}[model].objects.first()
    assert admin_client.get(reverse(f"admin:accounts_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:accounts_{model}_change", args=[obj.pk])).status_code == 200


def test_person_page_shows_the_pockets_and_latest_entries(admin_client, credited):
    html = admin_client.get(reverse("admin:accounts_person_change", args=[credited.person.pk])).content.decode()
    assert "200.00" in html and f"?account__id__exact={credited.person.account.pk}" in html


def test_ledger_is_read_only_even_for_a_superuser(admin_client, credited):
    entry = LedgerEntry.objects.get()
    url = reverse("admin:accounts_ledgerentry_change", args=[entry.pk])
    assert admin_client.post(url, {"amount": "999.00"}).status_code == 403
    assert admin_client.post(reverse("admin:accounts_ledgerentry_delete", args=[entry.pk])).status_code == 403
    assert admin_client.get(reverse("admin:accounts_ledgerentry_add")).status_code == 403
    assert LedgerEntry.objects.get().amount == Decimal("200.00")


def test_opening_balance_import_page_for_the_account_officer_only(credited):
    url = reverse("admin:accounts_ledgerentry_import")
    assert _client("officer", "account_officer").get(url).status_code == 200
    assert _client("clerk", "registry_clerk").get(url).status_code == 403
    assert _client("reader", "read_only").get(url).status_code == 403


def test_starting_a_credit_run_from_the_admin(admin_client, seeded, django_capture_on_commit_callbacks):
    e = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    contribution(e, "2024-03", "10000.00")
    url = reverse("admin:accounts_creditrun_start")
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"month": "2024/03"}).status_code == 200  # form error, nothing started
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"month": "2024-03", "region": seeded["370100"].pk})
    assert response.status_code == 302
    run = CreditRun.objects.get()
    # JN-2024: 10,000 × 2% = 200.00.
    assert (run.status, run.entries_created, run.amount_total) == ("done", 1, Decimal("200.00"))
    page = admin_client.get(reverse("admin:accounts_creditrun_changelist")).content.decode()
    assert 'value="100"' in page


def test_a_reader_cannot_start_a_credit_run(seeded):
    assert _client("reader", "read_only").get(reverse("admin:accounts_creditrun_start")).status_code == 403


def test_the_person_page_dates_ledger_entries_in_shanghai_time(admin_client) -> None:
    """An entry made at 07:16 on 1 December in Shanghai is 23:16 on 30 November in UTC: the page says 1 December."""
    from accounts.ledger import account_correct
    from accounts.tests.factories import PersonFactory

    person = PersonFactory()
    with time_machine.travel(datetime.datetime(2026, 11, 30, 23, 16, tzinfo=datetime.UTC), tick=False):
        account_correct(person=person, pocket="historical", amount=Decimal("12.34"), reason="test funds")
    html = admin_client.get(reverse("admin:accounts_person_change", args=[person.pk])).content.decode()
    assert "2026-12-01 07:16</a></td>" in html and "2026-11-30" not in html  # the ledger on the page, at Shanghai time
