"""Nothing stale or anonymous: a credit run started from the admin records who started it, and the account
income-and-spending summary of its month is rebuilt when it finishes, recorded with the same person; a report
over months not summarised names them."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import CreditRun
from accounts.tests.conftest import contribution, enrollee, seeded  # noqa: F401
from reports.definitions import REPORTS, report_run
from reports.models import AccountFlow, SummaryRebuild

pytestmark = pytest.mark.django_db
D = datetime.date


def test_a_credit_run_started_from_the_admin_names_its_initiator_and_refreshes_the_summary(
        admin_client: Client, seeded: dict, django_capture_on_commit_callbacks: object) -> None:  # noqa: F811
    e = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    contribution(e, "2024-03", "10000.00")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:accounts_creditrun_start"),
                                     {"month": "2024-03", "region": seeded["370100"].pk})
    assert response.status_code == 302
    admin = User.objects.get(username="admin")
    run = CreditRun.objects.get()
    assert (run.status, run.started_by) == ("done", admin)
    # The month's account flows follow the run without a rebuild by hand: JN-2024, 10,000 × 2% = 200.00 income.
    rebuild = SummaryRebuild.objects.get(table="account_flows", month=D(2024, 3, 1))
    assert rebuild.rebuilt_by == admin
    assert AccountFlow.objects.get(month=D(2024, 3, 1), kind="credit_in_service").amount == Decimal("200.00")
    page = admin_client.get(reverse("admin:accounts_creditrun_changelist")).content.decode()
    assert "admin" in page


def test_a_report_over_months_not_summarised_says_which(seeded: dict) -> None:  # noqa: F811
    SummaryRebuild.objects.create(table="account_flows", month=D(2024, 3, 1))
    _form, result = report_run(REPORTS["account-flows"], {"month_from": "2024-02", "month_to": "2024-04"})
    assert result.notes[0] == ("Not summarised yet, so missing from the figures: 2024-02, 2024-04. "
                               "Run the rebuild for them.")
    assert result.notes[1].startswith("Last rebuilt ")
    _form, result = report_run(REPORTS["account-flows"], {"month": "2024-03"})
    assert len(result.notes) == 1 and result.notes[0].startswith("Last rebuilt ")
