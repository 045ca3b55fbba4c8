"""Celery tasks for credit runs and rollover: thin, they take ids or a period and call the services.

A month's run is fanned out one task per chunk; each chunk commits on its own and counts itself done, and the
last one to finish marks the run done. A redelivered chunk credits nothing twice (unique per enrollee, rule and
period)."""

import datetime

from celery import shared_task
from celery.utils.log import get_task_logger
from django.contrib.auth import get_user_model
from django.db import OperationalError, transaction
from django.utils import timezone

from accounts.credits import (
    DEFAULT_CHUNK_SIZE,
    STALE_AFTER,
    Chunk,
    credit_run_chunk,
    credit_run_complete_if_done,
    credit_run_create,
    credit_run_finish,
    credit_run_resume,
    credit_runs_stalled,
    rollover_run,
    rollover_run_chunk,
)
from accounts.models import CreditRun
from policies.errors import PolicyError
from policies.models import PolicyStatus, PolicyVersion

logger = get_task_logger(__name__)


# A chunk counts once however often it is delivered, so its message is acknowledged only after it ran, and a
# worker lost mid-chunk hands it back to the broker (config/settings/celery.py sets both for every task).
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=5)
def credit_chunk_task(self, run_id: int, region_id: int, lo: int, hi: int, number: int) -> int:  # noqa: ANN001
    run = CreditRun.objects.get(pk=run_id)
    logger.info("credit run %s chunk %s started on %s", run_id, number, self.request.hostname)
    try:
        created, _amount = credit_run_chunk(run=run, chunk=Chunk(region_id, lo, hi), number=number,
                                            worker=self.request.hostname or "")
    except OperationalError:
        raise
    except Exception as e:
        credit_run_finish(run=run, error=f"chunk {number}: {e}")
        raise
    credit_run_complete_if_done(run_id=run_id)
    return created


@shared_task(acks_late=True)
def credits_month_task(month: str | None = None, admdvs: str | None = None,
                       chunk_size: int = DEFAULT_CHUNK_SIZE, user_id: int | None = None) -> int:
    """Plan a month's credit run (this month when `month` is None) and queue one task per chunk. `user_id` is
    the member of staff who started it from the admin (none for the schedule)."""
    day = datetime.date.fromisoformat(f"{month}-01") if month else timezone.localdate().replace(day=1)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    with transaction.atomic():
        run, chunks = credit_run_create(month=day, admdvs=admdvs, chunk_size=chunk_size, user=user)
        for number, chunk in enumerate(chunks, start=1):
            args = (run.pk, chunk.region_id, chunk.lo, chunk.hi, number)
            transaction.on_commit(lambda args=args: credit_chunk_task.delay(*args))
    if not chunks:
        credit_run_finish(run=run)
    return run.pk


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=5)
def rollover_chunk_task(self, run_id: int, region_id: int, lo: int, hi: int, number: int) -> int:  # noqa: ANN001
    """A chunk of a stalled rollover, queued again by the check for stalled runs (a rollover runs in one task)."""
    run = CreditRun.objects.get(pk=run_id)
    try:
        created, _amount = rollover_run_chunk(run=run, chunk=Chunk(region_id, lo, hi), number=number,
                                              worker=self.request.hostname or "")
    except OperationalError:
        raise
    except Exception as e:
        credit_run_finish(run=run, error=f"chunk {number}: {e}")
        raise
    credit_run_complete_if_done(run_id=run_id)
    return created


@shared_task
def credit_runs_resume_stale_task(older_than_seconds: float | None = None) -> list[int]:
    """Queue again the missing chunks of every credit run that stalled (its worker died mid-chunk), so that the run
    completes without anyone starting it again; scheduled every few minutes. Returns the runs taken up."""
    older_than = STALE_AFTER if older_than_seconds is None else datetime.timedelta(seconds=older_than_seconds)
    resumed = []
    for run in credit_runs_stalled(older_than=older_than):
        task = credit_chunk_task if run.kind == CreditRun.Kind.CREDITS else rollover_chunk_task
        with transaction.atomic():
            missing = credit_run_resume(run_id=run.pk)
            for number, chunk in missing:
                args = (run.pk, chunk.region_id, chunk.lo, chunk.hi, number)
                transaction.on_commit(lambda task=task, args=args: task.delay(*args))
        if missing:
            logger.warning("credit run %s stalled: %s chunk(s) queued again", run.pk, len(missing))
            resumed.append(run.pk)
    return resumed


@shared_task(acks_late=True)
def rollover_due_task(day: str | None = None) -> list[int]:
    """Run the rollover of every region whose version in force keeps two pockets and starts its benefit year
    today (scheduled daily, before the month's credits)."""
    today = datetime.date.fromisoformat(day) if day else timezone.localdate()
    runs = []
    versions = PolicyVersion.objects.select_related("region").filter(
        status=PolicyStatus.PUBLISHED, two_pockets=True, effective_from__lte=today).exclude(effective_to__lt=today)
    for version in versions:
        if version.benefit_year_start_for(today) != today:
            continue
        try:
            runs.append(rollover_run(admdvs=version.region.admdvs, day=today).pk)
        except PolicyError:
            continue
    return runs
