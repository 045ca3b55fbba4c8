"""Celery tasks of background imports: thin, they take a job id and call `core.imports.jobs`."""

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from core.imports.jobs import import_files_purge, import_job_run, import_jobs_fail_stale


@shared_task(acks_late=True)
def import_job_task(job_id: int) -> str:
    """Run one import job. Not retried: a job either imports its whole file or nothing, and a redelivered message
    finds the job already claimed."""
    job = import_job_run(job_id=job_id)
    return job.status if job is not None else "skipped"


@shared_task
def import_jobs_fail_stale_task() -> int:
    """Fail running jobs whose worker died (for a periodic schedule)."""
    return import_jobs_fail_stale()


@shared_task
def import_files_purge_task() -> int:
    """Delete import files past their retention (for a periodic schedule)."""
    return import_files_purge()


@worker_ready.connect
def _fail_stale_jobs_on_worker_start(**kwargs: Any) -> None:
    import_jobs_fail_stale()
