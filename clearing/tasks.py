"""Celery tasks of clearing: thin, they take a period and call the services."""

import datetime

from celery import shared_task
from django.utils import timezone

from clearing.statements import last_full_month, statements_build


@shared_task(acks_late=True)
def clearing_month_task(month: str | None = None) -> str:
    """Build the statements of a month (the last full month when None): scheduled on the 2nd, after the 1st's
    credit run, and safe to run again (drafts that did not change are left untouched)."""
    day = datetime.date.fromisoformat(f"{month}-01") if month else last_full_month()
    return str(statements_build(month=day))


@shared_task(acks_late=True)
def audit_nightly_task(day: str | None = None) -> int:
    """Re-adjudicate a sample of yesterday's settlements (scheduled nightly)."""
    from clearing.audit import NIGHTLY_SHARE, audit_run

    when = datetime.date.fromisoformat(day) if day else timezone.localdate() - datetime.timedelta(days=1)
    return audit_run(first_day=when, last_day=when, share=NIGHTLY_SHARE).pk


@shared_task(acks_late=True)
def clearing_job_task(job_id: int) -> str:
    """A clearing run or month audit started from the admin (`clearing.jobs`)."""
    from clearing.jobs import clearing_job_run

    return clearing_job_run(job_id).status
