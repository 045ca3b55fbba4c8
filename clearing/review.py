"""Claim review (审核): a batch of a region's settlements of one month, chosen by a random share (with a seed, so
the same draw can be made again), by fund payments above a threshold, by supervision alerts or by hand; a reviewer
decides each line; closing the batch turns the fund's share of what was refused into deductions on the facilities'
statements, and, where the policy version says so, extrapolates a random sample's error rate to the rest of the
facility's month.

The fund's share of a refused amount is the share the fund paid of the part of the bill the line belongs to: for a
separately paid drug, the fund's payment for those drugs over their amount; for any other line, the rest of the fund
payments over the rest of the bill. So refusing a whole bill deducts exactly what the fund paid for it.
"""

import datetime
import random
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Settlement, SettlementLine, SettlementStatus
from clearing.errors import ClearingError
from clearing.models import (
    Decision,
    Deduction,
    DeductionKind,
    ReviewBatch,
    ReviewDecision,
    ReviewItem,
    ReviewSelection,
    ReviewStatus,
)
from clearing.statements import deduction_place, month_bounds
from core.money import ZERO, fen
from policies.models import InsuType, Region


def _month_settlements(region: Region, month: datetime.date):  # noqa: ANN202
    first, last = month_bounds(month)
    return Settlement.objects.filter(facility__region=region, setl_date__range=(first, last),
                                     status=SettlementStatus.SETTLED)


@transaction.atomic
def review_batch_create(*, region: Region, month: datetime.date, selection: str, user,  # noqa: ANN001
                        share: Decimal | None = None, seed: int | None = None, threshold: Decimal | None = None,
                        setl_ids: list[str] | None = None) -> ReviewBatch:
    """Make a review batch of the region's live settlements of the month: `random` draws round(share × count) of
    them with `seed`; `threshold` takes those whose fund payments exceed it; `alert` those named as evidence by a
    supervision alert not dismissed; `manual` the `setl_ids` given (each must be one of the month's)."""
    first, _last = month_bounds(month)
    settlements = _month_settlements(region, first)
    if selection == ReviewSelection.RANDOM:
        if share is None or not (Decimal(0) < share <= Decimal(1)):
            raise ClearingError(ClearingError.INVALID_REQUEST, _("a random batch needs a share above 0 and at most 1"))
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        ids = sorted(settlements.values_list("id", flat=True))
        chosen = random.Random(seed).sample(ids, int(fen(share * len(ids)).to_integral_value()))
    elif selection == ReviewSelection.THRESHOLD:
        if threshold is None or threshold < 0:
            raise ClearingError(ClearingError.INVALID_REQUEST, _("a threshold batch needs a threshold of at least 0"))
        chosen = list(settlements.filter(fund_pay_sumamt__gt=threshold).values_list("id", flat=True))
    elif selection == ReviewSelection.ALERT:
        from reports.models import AlertEvidence, AlertStatus

        named = AlertEvidence.objects.filter(settlement_id=OuterRef("pk")).exclude(
            alert__status=AlertStatus.DISMISSED)
        chosen = list(settlements.filter(Exists(named)).values_list("id", flat=True))
    elif selection == ReviewSelection.MANUAL:
        wanted = {s.strip() for s in setl_ids or [] if s.strip()}
        found = dict(settlements.filter(setl_id__in=wanted).values_list("setl_id", "id"))
        missing = sorted(wanted - set(found))
        if missing:
            raise ClearingError(ClearingError.INVALID_REQUEST,
                                _("not live settlements of %(region)s in %(month)s: %(ids)s")
                                % {"region": region.admdvs, "month": f"{first:%Y-%m}", "ids": ", ".join(missing)})
        chosen = list(found.values())
    else:
        raise ClearingError(ClearingError.INVALID_REQUEST,
                            _("unknown selection %(selection)s") % {"selection": selection})
    if not chosen:
        raise ClearingError(ClearingError.NOTHING_SELECTED,
                            _("the selection finds no settlement of %(region)s in %(month)s")
                            % {"region": region.admdvs, "month": f"{first:%Y-%m}"})
    batch = ReviewBatch.objects.create(region=region, month=first, selection=selection, share=share, seed=seed,
                                       threshold=threshold, created_by=user)
    ReviewItem.objects.bulk_create([ReviewItem(batch=batch, settlement_id=pk) for pk in sorted(chosen)])
    return batch


@transaction.atomic
def review_decide(*, item: ReviewItem, line: SettlementLine, decision: str, user,  # noqa: ANN001
                  refused_amount: Decimal = ZERO, reason: str = "") -> ReviewDecision:
    """Record (or change) the decision on one line of a reviewed settlement while its batch is open: accept, or
    refuse an amount above 0 and at most the line's, with a reason."""
    batch = ReviewBatch.objects.select_for_update().get(pk=item.batch_id)
    if batch.status != ReviewStatus.OPEN:
        raise ClearingError(ClearingError.REVIEW_BATCH_CLOSED, _("review batch %(batch)s is closed") % {"batch": batch})
    if line.settlement_id != item.settlement_id:
        raise ClearingError(ClearingError.INVALID_REQUEST, _("that line is not on the reviewed settlement"))
    if decision == Decision.ACCEPT:
        refused_amount, reason = ZERO, ""
    elif decision == Decision.REFUSE:
        if refused_amount is None or refused_amount <= 0 or refused_amount > line.amount \
                or fen(refused_amount) != refused_amount:
            raise ClearingError(ClearingError.INVALID_REQUEST,
                                _("the refused amount must be above 0 and at most the line's %(amount)s, in fen")
                                % {"amount": line.amount})
        if not reason.strip():
            raise ClearingError(ClearingError.INVALID_REQUEST, _("say why the line is refused"))
    else:
        raise ClearingError(ClearingError.INVALID_REQUEST, _("decide accept or refuse"))
    found, _created = ReviewDecision.objects.update_or_create(
        item=item, line=line, defaults={"decision": decision, "refused_amount": refused_amount,
                                        "reason": reason.strip(), "decided_by": user})
    return found


def fund_share(settlement: Settlement, refused: list[tuple[SettlementLine, Decimal]]) -> Decimal:
    """The fund's share of the refused amounts of a settlement's lines (the module's rule), at most what the fund
    paid for the bill."""
    lines = list(settlement.lines.all())
    sep_total = sum((line.amount for line in lines if line.sep_pay), ZERO) if settlement.sep_bucket else ZERO
    rest_total = settlement.medfee_sumamt - sep_total
    rest_fund = settlement.fund_pay_sumamt - settlement.sep_hifp_pay
    share = ZERO
    for line, amount in refused:
        if settlement.sep_bucket and line.sep_pay:
            share += amount * settlement.sep_hifp_pay / sep_total if sep_total else ZERO
        else:
            share += amount * rest_fund / rest_total if rest_total else ZERO
    return min(fen(share), settlement.fund_pay_sumamt)


@transaction.atomic
def review_batch_close(*, batch: ReviewBatch, user) -> list[Deduction]:  # noqa: ANN001
    """Close an open batch whose every line is decided: each settlement with refused lines gets a deduction of the
    fund's share (reasons joined), placed on its month's open statement or the facility's next one. A random batch
    under a version that extrapolates adds, per facility, the sample's error rate (fund share refused ÷ fund
    payments sampled) times the facility's other fund payments of the month."""
    batch = ReviewBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != ReviewStatus.OPEN:
        raise ClearingError(ClearingError.REVIEW_BATCH_CLOSED, _("review batch %(batch)s is closed") % {"batch": batch})
    undecided = (SettlementLine.objects.filter(settlement__in=batch.items.values("settlement_id"))
                 .exclude(pk__in=ReviewDecision.objects.filter(item__batch=batch).values("line_id")).count())
    if undecided:
        raise ClearingError(ClearingError.REVIEW_UNDECIDED,
                            _("%(n)s line(s) of the batch are not decided yet") % {"n": undecided})
    items = list(batch.items.select_related("settlement__facility", "settlement__policy_version")
                 .prefetch_related("settlement__lines", "decisions__line"))
    deductions = []
    sample: dict[int, dict] = defaultdict(lambda: {"fund": ZERO, "refused": ZERO, "n": 0, "ids": [],
                                                   "extrapolate": False})
    for item in items:
        settlement = item.settlement
        facility_sample = sample[settlement.facility_id]
        facility_sample["fund"] += settlement.fund_pay_sumamt
        facility_sample["n"] += 1
        facility_sample["ids"].append(settlement.pk)
        facility_sample["extrapolate"] |= bool(settlement.policy_version and
                                               settlement.policy_version.review_extrapolate)
        refused = [(d.line, d.refused_amount) for d in item.decisions.all() if d.decision == Decision.REFUSE]
        if not refused:
            continue
        amount = fund_share(settlement, refused)
        facility_sample["refused"] += amount
        if not amount:
            continue
        reasons = "; ".join(f"{d.line.item_code} {d.refused_amount}: {d.reason}" for d in item.decisions.all()
                            if d.decision == Decision.REFUSE)
        deduction = Deduction.objects.create(
            facility_id=settlement.facility_id, month=batch.month, kind=DeductionKind.REVIEW, settlement=settlement,
            insutype=settlement.insutype or InsuType.EMPLOYEE.value, amount=amount, reason=reasons[:300],
            review_batch=batch, created_by=user)
        deduction_place(deduction)
        deductions.append(deduction)
    if batch.selection == ReviewSelection.RANDOM:
        deductions += _extrapolate(batch, sample, user)
    batch.status, batch.closed_by, batch.closed_at = ReviewStatus.CLOSED, user, timezone.now()
    batch.save()
    return deductions


def _extrapolate(batch: ReviewBatch, sample: dict[int, dict], user) -> list[Deduction]:  # noqa: ANN001
    """Per facility, the sample's error rate times the month's other fund payments, one deduction per fund
    (insurance type) the rest was paid from: one aggregate for every facility sampled."""
    first, last = month_bounds(batch.month)
    wanted = [pk for pk, drawn in sample.items() if drawn["extrapolate"] and drawn["refused"] and drawn["fund"]]
    drawn_ids = [pk for facility_id in wanted for pk in sample[facility_id]["ids"]]
    rests = (Settlement.objects.filter(facility_id__in=wanted, setl_date__range=(first, last),
                                       status=SettlementStatus.SETTLED).exclude(pk__in=drawn_ids)
             .annotate(fund=Coalesce(NullIf("insutype", Value("")), Value(InsuType.EMPLOYEE.value)))
             .values("facility_id", "fund").annotate(total=Sum("fund_pay_sumamt"))
             .values_list("facility_id", "fund", "total").order_by("facility_id", "fund"))
    deductions = []
    for facility_id, insutype, rest in rests:
        drawn = sample[facility_id]
        rate = drawn["refused"] / drawn["fund"]
        amount = fen(rate * rest)
        if not amount:
            continue
        deduction = Deduction.objects.create(
            facility_id=facility_id, month=batch.month, kind=DeductionKind.EXTRAPOLATED, settlement=None,
            insutype=insutype, amount=amount, review_batch=batch, created_by=user,
            reason=(_("error rate %(rate)s of a random sample (%(refused)s refused of %(fund)s in %(n)s "
                      "settlements) applied to the month's other fund payments %(rest)s")
                    % {"rate": f"{rate:.4%}", "refused": drawn["refused"], "fund": fen(drawn["fund"]),
                       "n": drawn["n"], "rest": fen(rest)})[:300])
        deduction_place(deduction)
        deductions.append(deduction)
    return deductions
