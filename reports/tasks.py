"""Celery tasks of the reports: thin, they take a month and call the services (nightly by beat, and from the
admin's buttons)."""

import datetime

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.utils import timezone

from reports.models import RebuildTrigger
from reports.summaries import account_flows_rebuild, account_flows_sweep
from reports.supervision import supervision_run


def _month(month: str | None, default: datetime.date) -> datetime.date:
    return datetime.date.fromisoformat(f"{month}-01") if month else default.replace(day=1)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def account_flows_rebuild_task(month: str | None = None, user_id: int | None = None, trigger: str = "",
                               source: str = "") -> int:
    """Summarise the account income and spending of `month` up to the end of the last closed day, recorded with
    who asked (`user_id`: from the report page, or who started the credit run or import that wrote the month) and
    what (`trigger`, `source`); without a month, the nightly sweep of every month written to since the last one."""
    if month is None:
        return sum(rebuild.rows for rebuild in account_flows_sweep())
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return account_flows_rebuild(month=_month(month, timezone.localdate()), user=user,
                                 trigger=trigger or RebuildTrigger.BY_HAND, source=source).rows


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def supervision_run_task(month: str | None = None, rules: list[str] | None = None,
                         user_id: int | None = None) -> dict[str, int]:
    """Run the supervision rules over `month` (default: the month of yesterday); `user_id` is who asked for it
    (from the alerts page), none for the nightly schedule."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return supervision_run(month=_month(month, timezone.localdate() - datetime.timedelta(days=1)), rules=rules,
                           user=user)
