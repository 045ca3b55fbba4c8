"""Reads of the accounts app for other pages (the admin's home page, the credit run list)."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from accounts.credits import STALE_AFTER, credit_runs_stalled
from accounts.models import CreditRun
from core.imports.jobs import STALE_AFTER as IMPORT_STALE_AFTER
from core.models import ImportJob


@dataclass(frozen=True)
class StalledWork:
    """Background work that stopped moving: credit runs with no chunk committed for a while (the check for stalled
    runs queues their missing chunks again), import jobs whose worker stopped beating, and import jobs that no worker
    has taken up (no worker on the queue)."""

    credit_runs: list[CreditRun] = field(default_factory=list)
    import_jobs: list[ImportJob] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.credit_runs or self.import_jobs)


def stalled_work(*, runs_older_than: datetime.timedelta = STALE_AFTER,
                 imports_older_than: datetime.timedelta = IMPORT_STALE_AFTER, limit: int = 20) -> StalledWork:
    """Stalled credit runs and import jobs, oldest first, at most `limit` of each (two queries)."""
    cutoff = timezone.now() - imports_older_than
    jobs = (ImportJob.objects.select_related("started_by")
            .filter(Q(status=ImportJob.Status.RUNNING)
                    & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
                    | Q(status=ImportJob.Status.QUEUED)  # approved jobs wait from their approval
                    & (Q(reviewed_at__lt=cutoff) | Q(reviewed_at__isnull=True, created_at__lt=cutoff)))
            .order_by("created_at"))
    return StalledWork(credit_runs=list(credit_runs_stalled(older_than=runs_older_than)[:limit]),
                       import_jobs=list(jobs[:limit]))
