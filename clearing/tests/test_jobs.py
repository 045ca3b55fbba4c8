"""The admin's buttons to run clearing for a region and month and to audit a month: only with their permission,
recorded with who started them, run in the background, their state and result on their page."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from accounts.roles import roles_sync
from clearing.jobs import clearing_job_run, clearing_job_start
from clearing.models import AuditRun, ClearingJob, Statement
from clearing.tests.test_statements import MARCH, month  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def login(name: str, group: str) -> tuple[Client, User]:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client, user


def test_a_clearing_officer_runs_clearing_and_an_audit_from_the_admin(month, django_capture_on_commit_callbacks):  # noqa: F811
    roles_sync()
    client, officer = login("officer", "clearing_officer")
    listing = client.get(reverse("admin:clearing_clearingjob_changelist")).content.decode()
    assert reverse("admin:clearing_clearingjob_start", args=["clearing"]) in listing
    assert reverse("admin:clearing_clearingjob_start", args=["audit"]) in listing
    assert reverse("admin:clearing_clearingjob_start", args=["clearing"]) in client.get(
        reverse("admin:clearing_statement_changelist")).content.decode()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("admin:clearing_clearingjob_start", args=["clearing"]),
                               {"region": month["region"].pk, "month": "2025-03"})
    assert len(callbacks) == 1
    job = ClearingJob.objects.get(kind="clearing")
    assert response.status_code == 302 and response["Location"] == reverse("admin:clearing_clearingjob_change",
                                                                           args=[job.pk])
    # The run built test_statements' March statement of JN1 (payable 884.00), and says who started it.
    assert (job.region, job.month, job.status, job.started_by, job.result) == (
        month["region"], MARCH, "done", officer, "created 1, rebuilt 0, unchanged 0, left as approved 0")
    assert job.finished_at is not None
    assert Statement.objects.get(month=MARCH).payable == Decimal("884.00")
    page = client.get(reverse("admin:clearing_clearingjob_change", args=[job.pk])).content.decode()
    assert "created 1, rebuilt 0" in page and 'http-equiv="refresh"' not in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:clearing_clearingjob_start", args=["audit"]), {"month": "2025-03"})
    audit_job = ClearingJob.objects.get(kind="audit")
    # March's four live settlements (A, B, D, E; G reversed) re-adjudicate to what was paid.
    run = AuditRun.objects.get()
    assert (audit_job.status, audit_job.audit_run, audit_job.started_by, run.started_by) == (
        "done", run, officer, officer)
    assert (run.checked, run.differences, audit_job.result) == (
        4, 0, "4 settlements re-adjudicated, 0 differ from what was paid")
    assert reverse("admin:clearing_auditrun_change", args=[run.pk]) in client.get(
        reverse("admin:clearing_clearingjob_changelist")).content.decode()
    assert client.get(reverse("admin:clearing_auditrun_change", args=[run.pk])).status_code == 200


def test_while_queued_the_page_reloads_itself_and_a_job_runs_once(month):  # noqa: F811
    roles_sync()
    client, officer = login("officer", "clearing_officer")
    job = clearing_job_start(kind="clearing", month=MARCH, user=officer)  # on_commit never fires in this test
    assert (job.status, job.region) == ("queued", None)
    assert 'http-equiv="refresh"' in client.get(reverse("admin:clearing_clearingjob_change",
                                                        args=[job.pk])).content.decode()
    assert clearing_job_run(job.pk).status == "done"
    # A redelivered task finds the job started and does nothing again.
    assert clearing_job_run(job.pk).result == "created 1, rebuilt 0, unchanged 0, left as approved 0"
    assert Statement.objects.count() == 1


def test_without_the_permission_there_is_no_button_and_no_run(month):  # noqa: F811
    roles_sync()
    client, _reader = login("reader", "read_only")
    assert client.get(reverse("admin:clearing_clearingjob_start", args=["clearing"])).status_code == 403
    assert client.post(reverse("admin:clearing_clearingjob_start", args=["audit"]),
                       {"month": "2025-03"}).status_code == 403
    assert reverse("admin:clearing_clearingjob_start", args=["clearing"]) not in client.get(
        reverse("admin:clearing_clearingjob_changelist")).content.decode()
    # The settlement auditor may audit a month but not run clearing.
    auditor, _user = login("auditor", "settlement_auditor")
    assert auditor.get(reverse("admin:clearing_clearingjob_start", args=["audit"])).status_code == 200
    assert auditor.get(reverse("admin:clearing_clearingjob_start", args=["clearing"])).status_code == 403
    assert not ClearingJob.objects.exists()


def test_each_list_offers_what_its_reader_may_start(month):  # noqa: F811
    """The links above the lists (clearing runs, audits, payment files), each shown only with its permission."""
    roles_sync()
    run, audit = (reverse("admin:clearing_clearingjob_start", args=[kind]) for kind in ("clearing", "audit"))
    pay = reverse("admin:clearing_paymentfile_make")
    lists = {name: reverse(f"admin:clearing_{name}_changelist")
             for name in ("statement", "clearingjob", "auditrun", "paymentfile")}
    offered = {"statement": [run], "clearingjob": [run, audit], "auditrun": [audit], "paymentfile": [pay]}
    officer, _user = login("officer", "clearing_officer")  # may run clearing, audit and pay
    for name, url in lists.items():
        page = officer.get(url).content.decode()
        assert [link for link in (run, audit, pay) if f'href="{link}"' in page] == offered[name], name
    auditor, _user = login("auditor", "settlement_auditor")  # may audit only
    for name in ("clearingjob", "auditrun"):
        page = auditor.get(lists[name]).content.decode()
        assert [link for link in (run, audit, pay) if f'href="{link}"' in page] == [audit], name
