"""Clearing runs and month audits started from the admin: a `ClearingJob` records who started what and when, the
work runs in a Celery task (in-process without a broker), and the job shows its state and result."""

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clearing.models import ClearingJob, JobKind, JobStatus
from policies.models import Region

logger = logging.getLogger(__name__)


def clearing_job_start(*, kind: str, month: datetime.date, user, region: Region | None = None) -> ClearingJob:  # noqa: ANN001
    """Record the job (queued, by `user`) and queue its task once the record is committed."""
    from clearing.tasks import clearing_job_task

    with transaction.atomic():
        job = ClearingJob.objects.create(kind=kind, month=month.replace(day=1), started_by=user,
                                         region=region if kind == JobKind.CLEARING else None)
        transaction.on_commit(lambda: clearing_job_task.delay(job.pk))
    return job


def clearing_job_run(job_id: int) -> ClearingJob:
    """Run a queued job: running (committed, so the admin shows it), the work in its own transaction, then done with
    its result, or failed with the error. A job already started is not run again (a redelivered task)."""
    from clearing.audit import audit_month
    from clearing.statements import statements_build

    with transaction.atomic():
        job = ClearingJob.objects.select_for_update(of=("self",)).select_related("region", "started_by").get(pk=job_id)
        if job.status != JobStatus.QUEUED:
            return job
        job.status = JobStatus.RUNNING
        job.save(update_fields=["status"])
    try:
        if job.kind == JobKind.CLEARING:
            job.result = str(statements_build(month=job.month, region=job.region))
        else:
            run = audit_month(month=job.month, user=job.started_by)
            job.audit_run = run
            job.result = _("%(checked)s settlements re-adjudicated, %(differences)s differ from what was paid") % {
                "checked": run.checked, "differences": run.differences}
        job.status = JobStatus.DONE
    except Exception as exc:  # the job records any failure for the one who started it
        logger.exception("clearing job %s failed", job.pk)
        job.status, job.result = JobStatus.FAILED, str(exc)[:2000] or exc.__class__.__name__
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "audit_run", "finished_at"])
    return job
