"""Celery task of what-if runs: thin, it takes a run id and calls the service."""

from celery import shared_task

from whatif.services import whatif_run_execute


@shared_task(acks_late=True)
def whatif_run_task(run_id: int) -> str:
    """Run one what-if run. Not retried: a redelivered message finds the run already taken."""
    run = whatif_run_execute(run_id=run_id)
    return run.status if run is not None else "skipped"
