"""Background import jobs: the admin's upload, job page and bad-rows download, the same results as the command,
progress visible while the import runs, the stale-job rule, and a worker killed mid-import."""

import csv
import datetime
import io
import threading
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Enrollment, Person
from accounts.resources import RosterResource
from accounts.roles import roles_sync
from core.imports import engine
from core.imports.jobs import import_files_purge, import_job_run, import_jobs_fail_stale
from core.models import ImportJob
from core.tests.test_imports_common import HEADERS, make_regions, roster_row, run_import, write_csv
from core.tests.workers import CeleryWorkers


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def roster_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS["roster"])
    writer.writerows([row.get(c, "") for c in HEADERS["roster"]] for row in rows)
    return out.getvalue().encode()


def staff(username: str, group: str) -> tuple[Client, User]:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def clerk(db):
    roles_sync()
    make_regions()
    return staff("clerk", "registry_clerk")


def upload(client: Client, kind: str, name: str, content: bytes, capture) -> ImportJob:
    with capture(execute=True):
        response = client.post(reverse("admin:core_importjob_add"),
                               {"kind": kind, "file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content.decode()[:3000]
    job = ImportJob.objects.latest("created_at")
    assert response["Location"] == reverse("admin:core_importjob_change", args=[job.pk])
    return job


@pytest.mark.django_db
def test_a_clerk_uploads_a_roster_and_gets_the_commands_result(clerk, tmp_path,
                                                               django_capture_on_commit_callbacks):
    client, user = clerk
    rows = [roster_row(n) for n in range(1, 41)]
    path = write_csv(tmp_path / "roster.csv", "roster", rows)
    assert run_import("roster", path, dry_run=True) == (
        0, ["roster: created 40, updated 0, unchanged 0 (dry run, nothing written)"])

    job = upload(client, "roster", "roster.csv", path.read_bytes(), django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert (job.status, job.started_by, job.created, job.updated, job.unchanged, job.bad) == (
        "done", user, 40, 0, 0, 0)
    assert (job.rows_read, job.rows_validated, job.rows_written, job.percent) == (40, 40, 40, 100)
    assert Person.objects.count() == 40 and Person.history.filter(history_user=user).count() == 40
    # The command sees what the job wrote.
    assert run_import("roster", path) == (0, ["roster: created 0, updated 0, unchanged 40"])

    page = client.get(reverse("admin:core_importjob_change", args=[job.pk])).content.decode()
    assert "roster.csv" in page and 'id="job-created">40<' in page and "progressbar" in page
    progress = client.get(reverse("admin:core_importjob_progress", args=[job.pk])).json()
    assert progress == {"status": "done", "finished": True, "percent": 100, "rows_read": 40, "rows_validated": 40,
                        "rows_written": 40, "created": 40, "updated": 0, "unchanged": 0, "bad": 0}
    listing = client.get(reverse("admin:core_importjob_changelist")).content.decode()
    assert "clerk" in listing and "roster" in listing


@pytest.mark.django_db
def test_bad_rows_are_offered_for_download_with_the_commands_messages(clerk, tmp_path,
                                                                      django_capture_on_commit_callbacks):
    client, _user = clerk
    rows = [roster_row(n) for n in range(1, 31)]
    rows[2]["gend"] = "7"
    rows[10].update(begndate="2015/01/01", insuplc_admdvs="000000")
    rows[20]["clct_base"] = "abc"
    path = write_csv(tmp_path / "roster.csv", "roster", rows)
    status, command_lines = run_import("roster", path)
    assert status == 1 and len(command_lines) == 4

    job = upload(client, "roster", "roster.csv", path.read_bytes(), django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert (job.status, job.bad, job.created, job.rows_read, job.rows_written) == ("failed", 3, 0, 30, 0)
    assert "3 bad row(s) out of 30: nothing imported" in job.error
    assert Person.objects.count() == 0
    response = client.get(reverse("admin:core_importjob_bad_rows", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text)))
    assert [r["row"] for r in records] == ["4", "12", "22"]
    job_lines = [f"row {r['row']}, column {message.replace(': ', ', column ', 1).split(', column ', 1)[0]}: "
                 f"{message.split(': ', 1)[1]}" for r in records for message in r["errors"].split("; ")]
    assert job_lines == command_lines
    page = client.get(reverse("admin:core_importjob_change", args=[job.pk])).content.decode()
    assert reverse("admin:core_importjob_bad_rows", args=[job.pk]) in page

    # 90 days (IMPORT_FILES_KEEP_DAYS) after the job ended its two files, which hold ID numbers, are deleted; the
    # job's record stays. A job that ended 89 days ago keeps its files.
    recent = upload(client, "roster", "roster2.csv", path.read_bytes(), django_capture_on_commit_callbacks)
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - datetime.timedelta(days=90, minutes=1))
    ImportJob.objects.filter(pk=recent.pk).update(finished_at=timezone.now() - datetime.timedelta(days=89))
    job.refresh_from_db()
    stored = [Path(job.file.path), Path(job.bad_rows.path)]
    assert all(f.exists() for f in stored)
    assert import_files_purge() == 1 and import_files_purge() == 0
    job.refresh_from_db()
    recent.refresh_from_db()
    assert not any(f.exists() for f in stored) and not job.file and not job.bad_rows and job.files_deleted_at
    assert (job.status, job.bad, job.rows_read) == ("failed", 3, 30)
    assert recent.file and recent.bad_rows and Path(recent.file.path).exists() and recent.files_deleted_at is None
    assert client.get(reverse("admin:core_importjob_bad_rows", args=[job.pk])).status_code == 404
    page = client.get(reverse("admin:core_importjob_change", args=[job.pk])).content.decode()
    assert "its retention ended" in page and reverse("admin:core_importjob_bad_rows", args=[job.pk]) not in page


@pytest.mark.django_db
def test_who_may_upload_and_see_jobs(clerk, django_capture_on_commit_callbacks):
    client, _user = clerk
    reader, _reader_user = staff("reader", "read_only")
    assert reader.get(reverse("admin:core_importjob_add")).status_code == 403
    catalog_user = User.objects.create_user("catalog", is_staff=True)
    catalog_user.user_permissions.add(Permission.objects.get(codename="add_item"))
    catalog = Client()
    catalog.force_login(catalog_user)
    form = catalog.get(reverse("admin:core_importjob_add")).context["adminform"].form
    assert [value for value, _label in form.fields["kind"].choices] == ["items"]
    response = catalog.post(reverse("admin:core_importjob_add"),
                            {"kind": "roster", "file": SimpleUploadedFile("r.csv", roster_csv([roster_row(1)]))})
    assert response.status_code == 200 and not ImportJob.objects.exists()
    job = upload(client, "roster", "r.csv", roster_csv([roster_row(1)]), django_capture_on_commit_callbacks)
    assert reader.get(reverse("admin:core_importjob_change", args=[job.pk])).status_code in (302, 403, 404)
    assert reader.get(reverse("admin:core_importjob_bad_rows", args=[job.pk])).status_code in (302, 403, 404)


@pytest.mark.django_db
def test_a_redelivered_task_does_not_run_a_claimed_job():
    make_regions()
    job = ImportJob.objects.create(kind="roster", status=ImportJob.Status.RUNNING)
    job.file.save("r.csv", ContentFile(roster_csv([roster_row(1)])))
    assert import_job_run(job_id=job.pk) is None
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_running_jobs_without_a_recent_heartbeat_are_failed():
    now = timezone.now()
    stale = ImportJob.objects.create(kind="roster", status="running", started_at=now - datetime.timedelta(hours=1),
                                     heartbeat_at=now - datetime.timedelta(minutes=6))
    never = ImportJob.objects.create(kind="roster", status="running", started_at=now - datetime.timedelta(hours=1))
    fresh = ImportJob.objects.create(kind="roster", status="running", started_at=now - datetime.timedelta(hours=1),
                                     heartbeat_at=now - datetime.timedelta(seconds=30))
    done = ImportJob.objects.create(kind="roster", status="done", heartbeat_at=now - datetime.timedelta(days=1))
    queued = ImportJob.objects.create(kind="roster")

    assert import_jobs_fail_stale() == 2

    statuses = {j.pk: (j.status, bool(j.error)) for j in ImportJob.objects.all()}
    assert statuses == {stale.pk: ("failed", True), never.pk: ("failed", True), fresh.pk: ("running", False),
                        done.pk: ("done", False), queued.pk: ("queued", False)}
    assert import_jobs_fail_stale(older_than=datetime.timedelta(seconds=10)) == 1  # now `fresh` too


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_from_another_connection_while_the_import_runs(monkeypatch):
    make_regions()
    monkeypatch.setattr(engine, "BATCH_ROWS", 100)
    validate = RosterResource.preload_for_validation

    def slow_preload(self, dataset):
        time.sleep(0.05)
        validate(self, dataset)

    monkeypatch.setattr(RosterResource, "preload_for_validation", slow_preload)
    job = ImportJob.objects.create(kind="roster")
    job.file.save("r.csv", ContentFile(roster_csv([roster_row(n) for n in range(1, 1501)])))
    seen = []
    runner = threading.Thread(target=lambda: (import_job_run(job_id=job.pk, monitor_interval=0.05),
                                              connection.close()))
    runner.start()
    while runner.is_alive():
        current = ImportJob.objects.values_list("status", "rows_read", "percent").get(pk=job.pk)
        seen.append((*current, Person.objects.count()))
        time.sleep(0.02)
    runner.join()
    during = [s for s in seen if s[0] == "running" and 0 < s[1] < 1500]
    assert len({s[1] for s in during}) >= 3, seen  # several batches' counts, each from a committed update
    assert all(s[3] == 0 for s in during)  # while the import's own transaction had written nothing visible
    assert [p for _s, _r, p, _c in during] == sorted(p for _s, _r, p, _c in during)
    job.refresh_from_db()
    assert (job.status, job.created, job.rows_written) == ("done", 1500, 1500)


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_leaves_nothing_and_the_job_failed(media, tmp_path):
    make_regions()
    job = ImportJob.objects.create(kind="roster")
    job.file.save("big.csv", ContentFile(roster_csv([roster_row(n) for n in range(1, 60_001)])))
    with CeleryWorkers(env={"DJANGO_MEDIA_ROOT": str(media)}) as workers:
        worker = workers.start()
        workers.send("core.tasks.import_job_task", job.pk)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status != "queued" and job.rows_read > 0:
                break
            time.sleep(0.1)
        # Killed while it runs: reading (rows_read below 60,000) or, since reading got fast, often already writing
        # its one transaction (every row read, its progress shown, nothing committed). Either way nothing may be left.
        assert (job.status, job.rows_read > 0) == ("running", True), job.__dict__
        workers.kill(worker)
    output = "".join(workers.outputs)
    time.sleep(1.5)
    assert (Person.objects.count(), Enrollment.objects.count(), Person.history.count()) == (0, 0, 0), output
    job.refresh_from_db()
    assert job.status == "running"  # nobody could say otherwise: the worker is gone
    assert import_jobs_fail_stale(older_than=datetime.timedelta(seconds=1)) == 1
    job.refresh_from_db()
    assert job.status == "failed" and "worker stopped" in job.error
