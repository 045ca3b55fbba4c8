"""Celery tasks of clearing: thin, they take a period and call the services."""

import datetime

from celery import shared_task

from clearing.statements import last_full_month, statements_build


@shared_task(acks_late=True)
def clearing_month_task(month: str | None = None) -> str:
    """Build the statements of a month (the last full month when None): scheduled on the 2nd, after the 1st's
    credit run, and safe to run again (drafts that did not change are left untouched)."""
    day = datetime.date.fromisoformat(f"{month}-01") if month else last_full_month()
    return str(statements_build(month=day))
