"""Nothing stale or anonymous: a credit run started from the admin records who started it, and the account
income-and-spending summary of its month is rebuilt when it finishes, recorded with the same person and the run,
while the report shows the run's credits at once (read live); so is the month of an imported balances file; a
supervision run names who started it; a report over months not summarised names them."""

import datetime
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import CreditRun
from accounts.tests.conftest import contribution, enrollee, seeded  # noqa: F401
from core.imports.jobs import import_job_approve, import_job_submit
from core.models import ImportJob
from reports.definitions import REPORTS, report_run
from reports.models import SummaryRebuild
from reports.summaries import account_flows_rebuild

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
    # The run's month is summarised when it ends (recorded in its starter's name), up to the end of yesterday; the
    # run's entries, written today, are read live until the night's sweep.
    rebuild = SummaryRebuild.objects.get(table="account_flows", month=D(2024, 3, 1))
    assert (rebuild.rebuilt_by, rebuild.trigger, rebuild.source) == (admin, "credit_run", str(run.pk))
    _form, result = report_run(REPORTS["account-flows"], {"month": "2024-03"})
    assert [(r["kind"], r["entries"], r["income"]) for r in result.rows] == [
        ("credit_in_service", 1, Decimal("200.00"))]
    assert "by admin" in result.notes[-1]
    page = admin_client.get(reverse("admin:accounts_creditrun_changelist")).content.decode()
    assert "admin" in page


def test_a_credit_run_started_by_a_command_says_so_rather_than_a_blank(
        admin_client: Client, seeded: dict) -> None:  # noqa: F811
    """`run_credits` (as beat and seed_demo start it) has no user: the list names the schedule or a command; over
    every region, the region column says so."""
    e = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    contribution(e, "2024-03", "10000.00")
    call_command("run_credits", "--month", "2024-03", stdout=io.StringIO())
    assert CreditRun.objects.get().started_by is None
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with translation.override("en"):  # the middleware leaves the cookie's language active: put it back after
        page = admin_client.get(reverse("admin:accounts_creditrun_changelist")).content.decode()
    assert "定时任务或命令行" in page
    # The run covered every region (no region given): the region column says so instead of "-".
    assert "全部统筹地区" in page


def test_a_report_over_months_not_summarised_says_which(seeded: dict) -> None:  # noqa: F811
    account_flows_rebuild(month=D(2024, 3, 1), trigger="by_hand")
    _form, result = report_run(REPORTS["account-flows"], {"month_from": "2024-02", "month_to": "2024-04"})
    assert result.notes[0] == ("Not summarised yet, so missing from the figures: 2024-02, 2024-04. "
                               "Run the rebuild for them.")
    assert result.notes[1].startswith("Entries written before ") and "by hand)" in result.notes[1]
    _form, result = report_run(REPORTS["account-flows"], {"month": "2024-03"})
    assert len(result.notes) == 1 and result.notes[0].endswith("those written since are read live from the ledger.")


def test_an_imported_balances_file_refreshes_the_summary_of_its_month_in_its_maker_s_name(
        seeded: dict, settings: object, tmp_path: object, django_capture_on_commit_callbacks: object) -> None:  # noqa: F811
    """An opening balance of 88,888.00 as of 2024-06-30, approved by a second person: June 2024's account flows
    show it as income without a rebuild by hand, recorded as rebuilt by the officer who uploaded the file."""
    settings.MEDIA_ROOT = tmp_path / "media"
    holder = enrollee(seeded["310000"], brdy=D(1980, 1, 1)).person
    officer = User.objects.create_user("officer", is_staff=True)
    approver = User.objects.create_user("approver", is_staff=True, is_superuser=True)
    job = ImportJob(kind="balances")
    job.file.save("b.csv", ContentFile(f"psn_no,pocket,amount,as_of\n{holder.psn_no},historical,88888.00,2024-06-30\n"
                                       .encode()), save=False)
    import_job_submit(job=job, user=officer)
    with django_capture_on_commit_callbacks(execute=True):
        import_job_approve(job_id=job.pk, user=approver)
    assert ImportJob.objects.get(pk=job.pk).status == "done"
    rebuild = SummaryRebuild.objects.get(table="account_flows", month=D(2024, 6, 1))
    assert (rebuild.rebuilt_by, rebuild.trigger, rebuild.source) == (officer, "import_job", str(job.pk))
    _form, result = report_run(REPORTS["account-flows"], {"month": "2024-06"})
    assert [(r["direction"], r["kind"], r["entries"], r["income"]) for r in result.rows] == [
        ("income", "opening_balance", 1, Decimal("88888.00"))]


def test_a_supervision_run_started_from_the_admin_names_who_started_it(
        admin_client: Client, seeded: dict, django_capture_on_commit_callbacks: object) -> None:  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:reports_alert_run"), {"month": "2024-03"})
    assert response.status_code == 302
    run = SummaryRebuild.objects.get(table="supervision")
    assert (run.month, run.rebuilt_by) == (D(2024, 3, 1), User.objects.get(username="admin"))
    listing = admin_client.get(reverse("admin:reports_summaryrebuild_changelist")).content.decode()
    assert "supervision rules" in listing
