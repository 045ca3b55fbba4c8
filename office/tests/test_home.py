"""The home page: the figures of a small hand-computed book (reports/tests/conftest.py `book`), each linking to a
list that counts the same rows; what waits for the user by role; the policy version about to end; Celery's
internals out of the app list."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import CreditRun
from core.models import ImportJob
from policies.models import PolicyStatus, PolicyVersion
from reports.models import Alert, AlertStatus, Rule, SubjectType
from reports.tests.conftest import user_in

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _at(day: datetime.date) -> time_machine.travel:
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(10, 0), tzinfo=SHANGHAI), tick=False)


def _home(client: Client, day: datetime.date):  # noqa: ANN202
    with _at(day):
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response.context["dashboard"]


def _listed(client: Client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["cl"].result_count


def test_todays_and_this_months_settlements_by_payer(admin_client: Client, book: dict) -> None:
    board = _home(admin_client, datetime.date(2025, 3, 15))
    # Today, 2025-03-15: only d (p3, Shanghai level 3): 1,000.00 billed, deductible 500.00, fund 70% × 500.00 =
    # 350.00, no account money, so 650.00 cash.
    # March 2025, settled and not reversed: a, b, c, d, e, f (h was reversed):
    #   billed 500 + 600 + 100 + 1,000 + 100 + 150 = 2,450.00
    #   pooled fund 210 + 240 + 70 + 350 = 870.00; own account: e 100.00; relatives' accounts: f 150.00;
    #   cash a 290 + b 360 + c 30 + d 650 = 1,330.00 (870 + 100 + 150 + 1,330 = 2,450).
    assert [(f.label, f.value) for f in board.settlements.figures] == [("settled today", 1),
                                                                      ("settled this month", 6)]
    got = {p["label"]: (p["today"], p["month"]) for p in board.payers}
    assert got == {
        "pooled fund": (Decimal("350.00"), Decimal("870.00")),
        "local supplementary fund": (Decimal("0.00"), Decimal("0.00")),
        "personal account": (Decimal("0.00"), Decimal("100.00")),
        "relatives' accounts (mutual aid)": (Decimal("0.00"), Decimal("150.00")),
        "cash": (Decimal("650.00"), Decimal("1330.00")),
        "billed in all": (Decimal("1000.00"), Decimal("2450.00")),
    }
    # Each count links to the settlement list filtered the same way.
    today, month = board.settlements.figures
    assert _listed(admin_client, today.url) == 1
    assert _listed(admin_client, month.url) == 6


def test_the_home_page_shows_the_figures_and_the_chart(admin_client: Client, book: dict) -> None:
    with _at(datetime.date(2025, 3, 15)):
        html = admin_client.get(reverse("admin:index")).content.decode()
    assert "870.00" in html and "1330.00" in html and "2450.00" in html
    assert 'class="report-chart"' in html
    assert "setl_date__day=15" in html and "setl_date__month=3" in html


def test_a_fund_figure_links_to_the_expenditure_report_of_the_month(admin_client: Client, book: dict) -> None:
    board = _home(admin_client, datetime.date(2025, 3, 15))
    pooled = next(p for p in board.payers if p["label"] == "pooled fund")
    assert pooled["month_url"] == reverse("admin:reports_fundexpenditure_changelist") + \
        "?month=2025-03&fund_type=310100"
    response = admin_client.get(pooled["month_url"])
    assert response.context["totals"][-1] == Decimal("870.00")


def test_what_waits_for_a_supervisor_and_an_import_clerk(book: dict) -> None:
    supervisor = user_in("supervisor", "sup")
    person = book["persons"]["p1"]
    for key, status in (("a", AlertStatus.OPEN), ("b", AlertStatus.OPEN), ("c", AlertStatus.DISMISSED)):
        Alert.objects.create(rule=Rule.FREQUENT_VISITS, subject_type=SubjectType.PERSON, subject_key=key,
                             person=person, period_start=datetime.date(2025, 3, 1),
                             period_end=datetime.date(2025, 3, 31), status=status)
    client = Client()
    client.force_login(supervisor)
    board = _home(client, datetime.date(2025, 3, 15))
    waiting = next(t for t in board.tiles if t.key == "waiting")
    assert [(f.label, f.value) for f in waiting.figures] == [("supervision alerts to review", 2)]
    assert _listed(client, waiting.figures[0].url) == 2


def test_failed_imports_and_credit_runs_wait_for_the_operator(admin_client: Client, db: None) -> None:
    admin = User.objects.get(username="admin")
    with _at(datetime.date(2026, 11, 20)):  # 11 days before: no longer shown
        ImportJob.objects.create(kind="roster", file="x.csv", status=ImportJob.Status.FAILED, started_by=admin)
    with _at(datetime.date(2026, 11, 30)):
        ImportJob.objects.create(kind="roster", file="y.csv", status=ImportJob.Status.FAILED, started_by=admin)
        ImportJob.objects.create(kind="roster", file="z.csv", status=ImportJob.Status.DONE, started_by=admin)
        ImportJob.objects.create(kind="balances", file="b.csv", status=ImportJob.Status.PENDING, started_by=admin)
        CreditRun.objects.create(kind=CreditRun.Kind.CREDITS, period=datetime.date(2026, 11, 1),
                                 status=CreditRun.Status.FAILED)
        stalled = CreditRun.objects.create(kind=CreditRun.Kind.CREDITS, period=datetime.date(2026, 12, 1),
                                           chunks_total=4, chunks_done=1)
    board = _home(admin_client, datetime.date(2026, 12, 1))
    waiting = next(t for t in board.tiles if t.key == "waiting")
    figures = {f.label: f for f in waiting.figures}
    assert figures["imports failed in the last 7 days"].value == 1
    assert _listed(admin_client, figures["imports failed in the last 7 days"].url) == 1
    assert figures["money imports awaiting approval"].value == 1
    assert _listed(admin_client, figures["money imports awaiting approval"].url) == 1
    assert figures["credit runs failed in the last 7 days"].value == 1
    assert _listed(admin_client, figures["credit runs failed in the last 7 days"].url) == 1
    (stall,) = [f for f in waiting.figures if f.label.startswith("credit run ")]
    assert stall.value == "1/4"
    assert stall.url == reverse("admin:accounts_creditrun_change", args=[stalled.pk])


def test_a_policy_version_ending_with_nothing_after_it(admin_client: Client, world: dict) -> None:
    # SH-2023-07 is in force until 2026-12-31 and nothing is published after it: 30 days left on 2026-12-01.
    board = _home(admin_client, datetime.date(2026, 12, 1))
    warnings = next(t for t in board.tiles if t.key == "warnings")
    assert [(f.label, f.value) for f in warnings.figures] == [
        ("上海市: policy SH-2023-07 ends 2026-12-31 and no version follows it", 30)]
    sh = PolicyVersion.objects.get(code="SH-2023-07")
    assert _listed(admin_client, warnings.figures[0].url) == PolicyVersion.objects.filter(region=sh.region).count()
    # 61 days before the end it is not yet a warning.
    board = _home(admin_client, datetime.date(2026, 10, 31))
    assert not next(t for t in board.tiles if t.key == "warnings").figures
    # A published successor ends the warning (a draft does not).
    successor = PolicyVersion.objects.get(pk=sh.pk)
    successor.pk, successor.code, successor.status = None, "SH-2027-01", PolicyStatus.DRAFT
    successor.effective_from, successor.effective_to = datetime.date(2027, 1, 1), None
    successor.save()
    board = _home(admin_client, datetime.date(2026, 12, 1))
    assert len(next(t for t in board.tiles if t.key == "warnings").figures) == 1
    PolicyVersion.objects.filter(pk=successor.pk).update(status=PolicyStatus.PUBLISHED)
    board = _home(admin_client, datetime.date(2026, 12, 1))
    assert not next(t for t in board.tiles if t.key == "warnings").figures


def test_celery_internals_are_off_the_app_list_but_reachable_for_superusers(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:index"))
    labels = [app["app_label"] for app in response.context["app_list"]]
    assert "django_celery_beat" not in labels and "accounts" in labels
    url = reverse("admin:app_list", args=["django_celery_beat"])
    assert url in response.content.decode()
    assert admin_client.get(url).status_code == 200


def test_a_clerk_sees_no_figures_they_may_not_open(db: None) -> None:
    clerk = user_in("registry_clerk", "clerk")
    client = Client()
    client.force_login(clerk)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    board = response.context["dashboard"]
    assert (board.settlements is None) is not clerk.has_perm("claims.view_settlement")
    assert [t.key for t in board.tiles] == ["waiting"] if not clerk.has_perm("policies.view_policyversion") \
        else ["waiting", "warnings"]
    assert reverse("admin:app_list", args=["django_celery_beat"]) not in response.content.decode()
