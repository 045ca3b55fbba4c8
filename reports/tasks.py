"""Celery tasks of the reports: thin, they take a month and call the services (nightly by beat, and from the
admin's buttons)."""

import datetime

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.utils import timezone

from reports.summaries import account_flows_rebuild
from reports.supervision import supervision_run


def _month(month: str | None, default: datetime.date) -> datetime.date:
    return datetime.date.fromisoformat(f"{month}-01") if month else default.replace(day=1)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def account_flows_rebuild_task(month: str | None = None, user_id: int | None = None) -> int:
    """Rebuild the account income-and-spending summary of `month` (default: yesterday's month, so the first night
    of a month still completes the previous one) and of the current month; `user_id` is who asked for it (from
    the report page, or who started the credit run that wrote the month), none for the nightly schedule."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    months = {_month(month, yesterday)} if month else {_month(None, yesterday), _month(None, timezone.localdate())}
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return sum(account_flows_rebuild(month=m, user=user).rows for m in sorted(months))


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def supervision_run_task(month: str | None = None, rules: list[str] | None = None,
                         user_id: int | None = None) -> dict[str, int]:
    """Run the supervision rules over `month` (default: the month of yesterday); `user_id` is who asked for it
    (from the alerts page), none for the nightly schedule."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return supervision_run(month=_month(month, timezone.localdate() - datetime.timedelta(days=1)), rules=rules,
                           user=user)
