"""Every paid fen re-checked: a nightly audit re-adjudicates a sample of a day's settlements (on demand, all of a
month's) from their stored lines, the version each was made under and the accumulators before them, and records a
finding for each amount that differs from what was paid. The re-adjudication is the what-if app's replay
(`whatif.replay.settlements_readjudicate`), shared rather than written twice. The statements show the audit state of
their month (`clearing.selectors.audit_state`)."""

import datetime
import logging
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from claims.models import Settlement, SettlementStatus
from clearing.models import AuditFinding, AuditRun
from clearing.statements import month_bounds

logger = logging.getLogger(__name__)
AUDITED = ("fund_pay_sumamt", "hifp_pay", "oth_pay", "sep_hifp_pay", "act_pay_dedc", "acct_pay", "acct_mulaid_pay",
           "psn_cash_pay")
NIGHTLY_SHARE = Decimal("0.05")


@transaction.atomic
def audit_run(*, first_day: datetime.date, last_day: datetime.date, share: Decimal = Decimal("1"),
              seed: int | None = None, user=None) -> AuditRun:  # noqa: ANN001
    """Re-adjudicate `share` of the live settlements with service dates from `first_day` to `last_day` (drawn with
    `seed`) and record the differences. Any difference is logged as an error (the alert)."""
    from whatif.replay import settlements_readjudicate

    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    ids = sorted(Settlement.objects.filter(setl_date__range=(first_day, last_day), status=SettlementStatus.SETTLED)
                 .values_list("id", flat=True))
    if share < 1:
        ids = sorted(random.Random(seed).sample(ids, min(len(ids), max(1, round(share * len(ids))) if ids else 0)))
    scope = AuditRun.Scope.DAY if first_day == last_day else AuditRun.Scope.MONTH
    run = AuditRun.objects.create(scope=scope, first_day=first_day, last_day=last_day, sample_share=share,
                                  seed=seed, started_by=user)
    findings = []
    differing = set()
    for replayed in settlements_readjudicate(settlement_ids=ids):
        if not replayed.differs and not replayed.refused:
            continue
        differing.add(replayed.settlement_id)
        for name in AUDITED:
            paid, again = getattr(replayed.actual, name), getattr(replayed.whatif, name)
            if paid != again:
                findings.append(AuditFinding(run=run, settlement_id=replayed.settlement_id, field=name,
                                             paid=str(paid), recomputed=str(again)))
        if replayed.refused:
            findings.append(AuditFinding(run=run, settlement_id=replayed.settlement_id, field="refused",
                                         paid="", recomputed=replayed.refused))
    AuditFinding.objects.bulk_create(findings)
    run.checked, run.differences, run.finished_at = len(ids), len(differing), timezone.now()
    run.save()
    if differing:
        logger.error("settlement audit %s (%s to %s): %s of %s settlements differ from what was paid", run.pk,
                     first_day, last_day, len(differing), len(ids))
    return run


def audit_month(*, month: datetime.date, user=None) -> AuditRun:  # noqa: ANN001
    """All of a month's settlements (on demand)."""
    first, last = month_bounds(month)
    return audit_run(first_day=first, last_day=last, user=user)
