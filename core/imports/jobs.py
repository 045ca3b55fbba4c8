"""Background import jobs: submit a file, run it (the Celery task calls `import_job_run`), report progress while it
runs, fail jobs whose worker died.

Progress is written while the import's transaction is open, so it cannot go through that transaction: on
PostgreSQL a monitor thread writes it, with the heartbeat, every `PROGRESS_SECONDS` through the thread's own
database connection (Django gives each thread its own, in autocommit: each update is a short transaction of its
own, visible at once). A second DB alias would do the same but needs a settings change for every deployment; the
thread also keeps the heartbeat going during long set-based statements, when the import itself cannot. On SQLite
(development, one writer at a time) the counts are written when the job ends.

A worker killed mid-import takes its connection with it: PostgreSQL rolls the import's transaction back, so
nothing is written. The job stays `running` with a heartbeat that no longer moves; `import_jobs_fail_stale` marks
such jobs failed (when a worker starts, and whenever the job list or a job page is shown).
"""

import datetime
import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.approvals import ApprovalError, approval_check, rejection_reason_clean
from core.imports.base import ImportOutcome, import_resource_class
from core.imports.engine import ImportProgress, import_file
from core.imports.events import import_job_written
from core.imports.messages import message_data, stored_gettext
from core.models import ImportJob

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 1.0
# A running job whose heartbeat is older than this has lost its worker (the monitor beats every second).
STALE_AFTER = datetime.timedelta(minutes=5)


APPROVE_PERMISSION = "core.approve_importjob"


def import_needs_approval(kind: str, *, dry_run: bool = False) -> bool:
    """Whether an import of KIND by staff waits for a second person's approval: it moves money (its resource says
    `moves_money`, e.g. opening balances) and is not a dry run. `import_csv`, the operators' tool, never waits."""
    return not dry_run and bool(getattr(import_resource_class(kind), "moves_money", False))


def _queue(job_id: int) -> None:
    from core.tasks import import_job_task

    transaction.on_commit(lambda: import_job_task.delay(job_id))


def import_job_submit(*, job: ImportJob, user: Any) -> ImportJob:
    """Save a new job (kind and file set) as started by `user` and queue its task once the upload is committed; a job
    that moves money waits, pending, for a second person's approval (`import_job_approve`), and nothing is read or
    written before."""
    with transaction.atomic():
        job.started_by = user if getattr(user, "pk", None) else None
        pending = import_needs_approval(job.kind, dry_run=job.dry_run)
        job.status = ImportJob.Status.PENDING if pending else ImportJob.Status.QUEUED
        job.save()
        if not pending:
            _queue(job.pk)
    return job


def _pending_job_locked(job_id: int, user: Any) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    approval_check(user=user, maker_id=job.started_by_id, permission=APPROVE_PERMISSION)
    if job.status != ImportJob.Status.PENDING:
        raise ApprovalError(ApprovalError.ALREADY_DECIDED,
                            _("import job %(id)s is no longer awaiting approval (%(status)s)")
                            % {"id": job.pk, "status": job.get_status_display()})
    return job


@transaction.atomic
def import_job_approve(*, job_id: int, user: Any) -> ImportJob:
    """A second person approves a pending job: it is queued, and runs once (the job row is locked here, and the task
    claims it queued → running). Refused for the job's maker, without `core.approve_importjob`, or once decided."""
    job = _pending_job_locked(job_id, user)
    job.status, job.reviewed_by, job.reviewed_at = ImportJob.Status.QUEUED, user, timezone.now()
    job.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    _queue(job.pk)
    return job


@transaction.atomic
def import_job_reject(*, job_id: int, user: Any, reason: str) -> ImportJob:
    """A second person rejects a pending job, saying why: it is never run."""
    reason = rejection_reason_clean(reason)
    job = _pending_job_locked(job_id, user)
    now = timezone.now()
    job.status, job.reviewed_by, job.reviewed_at, job.rejection_reason = ImportJob.Status.REJECTED, user, now, reason
    job.finished_at = now
    job.save(update_fields=["status", "reviewed_by", "reviewed_at", "rejection_reason", "finished_at"])
    return job


class JobMonitor:
    """Receives an import's progress (`update`, cheap: called after every batch) and, on PostgreSQL, writes the
    latest counts and a heartbeat from a thread with its own connection every `interval` seconds."""

    def __init__(self, job_id: int, *, interval: float = PROGRESS_SECONDS, threaded: bool | None = None) -> None:
        self.job_id = job_id
        self.interval = interval
        self.threaded = connection.vendor == "postgresql" if threaded is None else threaded
        self.latest: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def update(self, progress: ImportProgress) -> None:
        self.latest = {"rows_read": progress.rows_read, "rows_validated": progress.rows_validated,
                       "rows_written": progress.rows_written, "bad": progress.bad, "percent": progress.percent}

    def __enter__(self) -> "JobMonitor":
        if self.threaded:
            self._thread = threading.Thread(target=self._loop, name=f"import-job-{self.job_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self.write()
        finally:
            connection.close()  # this thread's connection

    def write(self) -> None:
        """One short transaction: the latest counts and the heartbeat."""
        try:
            ImportJob.objects.filter(pk=self.job_id, status=ImportJob.Status.RUNNING).update(
                heartbeat_at=timezone.now(), **self.latest)
        except Exception:  # a missed beat is not worth failing the import
            logger.warning("import job %s: progress not written", self.job_id, exc_info=True)


def _local_copy(job: ImportJob, directory: Path) -> Path:
    """The uploaded file as a local path (storages without paths are copied to `directory`)."""
    try:
        return Path(job.file.path)
    except NotImplementedError:
        target = directory / Path(job.file.name).name
        with job.file.open("rb") as source, target.open("wb") as out:
            shutil.copyfileobj(source, out)
        return target


def import_job_run(*, job_id: int, monitor_interval: float = PROGRESS_SECONDS) -> ImportJob | None:
    """Run a queued job: claim it (queued → running; a redelivered task finds it claimed and does nothing),
    import its file with `import_file`, then record the counts, the bad-rows file and the status: done when the
    file was imported, failed when it was refused (bad rows or unreadable) or the import crashed."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now)
    if not claimed:
        return None
    job = ImportJob.objects.select_related("started_by").get(pk=job_id)
    workdir = Path(tempfile.mkdtemp(prefix=f"import-job-{job_id}-"))
    bad_path = workdir / f"{job.kind}-{job_id}-bad-rows.csv"
    try:
        with JobMonitor(job_id, interval=monitor_interval) as monitor:
            outcome = import_file(job.kind, _local_copy(job, workdir), dry_run=job.dry_run, user=job.started_by,
                                  progress=monitor.update, bad_rows_path=bad_path)
        job.refresh_from_db()
        for name, value in monitor.latest.items():
            setattr(job, name, value)
        job.created, job.updated, job.unchanged, job.bad = (outcome.created, outcome.updated, outcome.unchanged,
                                                             outcome.bad)
        job.rows_read = job.rows_validated = outcome.rows
        job.rows_written = outcome.rows if outcome.ok and not job.dry_run else 0
        job.percent = 100
        if outcome.ok:
            job.status = ImportJob.Status.DONE
        else:
            job.status = ImportJob.Status.FAILED
            summary = stored_gettext(gettext_noop("%(bad)d bad row(s) out of %(rows)d: nothing imported"))
            lines = [summary % {"bad": outcome.bad, "rows": outcome.rows}] if outcome.bad else outcome.errors
            job.error = "\n".join(lines)
            job.error_messages = [message_data(line) for line in lines]
        if bad_path.exists():
            with bad_path.open("rb") as f:
                job.bad_rows.save(bad_path.name, File(f), save=False)
        job.finished_at = timezone.now()
        job.save()
        if job.status == ImportJob.Status.DONE and not job.dry_run:
            try:
                import_job_written(job)
            except Exception:  # the rows are in: a listener's failure must not mark the job failed
                logger.exception("a listener of import job %s failed", job_id)
        return job
    except Exception as e:
        logger.exception("import job %s failed", job_id)
        stopped = stored_gettext(gettext_noop("the import stopped with an error, nothing was imported: %(error)s"))
        import_job_fail(job_id=job_id, error=stopped % {"error": str(e)})
        return ImportJob.objects.get(pk=job_id)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def import_run_record(*, kind: str, path: Path, outcome: ImportOutcome, operator: str,
                      started_at: datetime.datetime) -> ImportJob:
    """Record an import that `import_csv` ran on the server (the operators' go-live tool: it applies at once) as a
    finished job with its operator, so that it is listed with the staff's imports."""
    now = timezone.now()
    written = outcome.rows if outcome.ok and not outcome.dry_run else 0
    lines = [path.name, *outcome.errors[:20]] if not outcome.ok else []
    return ImportJob.objects.create(
        kind=kind, file="", dry_run=outcome.dry_run, operator=operator[:150],
        status=ImportJob.Status.DONE if outcome.ok else ImportJob.Status.FAILED, started_at=started_at,
        finished_at=now, heartbeat_at=now, percent=100, rows_read=outcome.rows, rows_validated=outcome.rows,
        rows_written=written, created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged,
        bad=outcome.bad, error="\n".join(lines), error_messages=[message_data(line) for line in lines])


def import_job_fail(*, job_id: int, error: str) -> None:
    """Mark a job failed (its import's transaction has been rolled back: nothing of it is written); `error` is
    best a `core.imports.messages.Message`, kept to be read in each reader's language."""
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportJob.Status.DONE).update(
        status=ImportJob.Status.FAILED, error=error, error_messages=[message_data(error)], finished_at=timezone.now())


def import_jobs_fail_stale(*, older_than: datetime.timedelta = STALE_AFTER) -> int:
    """Fail every running job whose heartbeat is older than `older_than`: its worker died (a killed worker's
    import transaction is rolled back by PostgreSQL). Returns how many were failed."""
    now = timezone.now()
    cutoff = now - older_than
    stale = ImportJob.objects.filter(status=ImportJob.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
    error = stored_gettext(gettext_noop("the worker stopped during the import (no sign of life for %(minutes)s "
                                        "minutes); nothing was imported")) % {
        "minutes": round(older_than.total_seconds() / 60, 1)}
    return stale.update(status=ImportJob.Status.FAILED, finished_at=now, error=error,
                        error_messages=[message_data(error)])


def import_files_purge(*, keep_days: int | None = None) -> int:
    """Delete the uploaded file and the bad-rows file of every job that ended more than `keep_days` (default
    IMPORT_FILES_KEEP_DAYS) days ago, keeping the job's record; returns how many jobs' files were deleted. The files
    hold ID numbers and are no longer needed once the import is done or refused."""
    keep = settings.IMPORT_FILES_KEEP_DAYS if keep_days is None else keep_days
    cutoff = timezone.now() - datetime.timedelta(days=keep)
    purged = 0
    ended = [ImportJob.Status.DONE, ImportJob.Status.FAILED, ImportJob.Status.REJECTED]
    for job in ImportJob.objects.filter(status__in=ended,
                                        finished_at__lt=cutoff, files_deleted_at__isnull=True).order_by("pk"):
        for stored in (job.file, job.bad_rows):
            if stored:
                stored.delete(save=False)
        job.files_deleted_at = timezone.now()
        job.save(update_fields=["file", "bad_rows", "files_deleted_at"])
        purged += 1
    return purged
