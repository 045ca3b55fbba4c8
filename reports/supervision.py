"""Supervision (基金监管): rules that look for patterns worth a reviewer's eye and raise alerts with their evidence.

Each rule is a set-based query over one month's settled settlements (or the facility summary) with thresholds
from `SupervisionSetting`; a finding names its subject (a person or a facility), its period, a score and the
settlements that show it. The score is the money at stake in yuan (the bills' total, or the amount the rule measures
when that is money), so that a reviewer works down one list by what could be lost: a rule's count (visits,
facilities, lines) stays in the finding's detail. An alert's rank comes before its score: a bill over its policy
version's plausibility limit is of the highest rank, whatever else is open.

`supervision_run` turns findings into alerts, once per rule, subject and period: a rerun refreshes an open alert and
never touches a reviewed one. `alert_review` records the decision.
"""

import datetime
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Person
from claims.models import Facility, FacilityType, Settlement, SettlementLine, SettlementStatus
from reports.models import (
    SUPERVISION_RUN,
    Alert,
    AlertEvidence,
    AlertRank,
    AlertStatus,
    FacilityMonth,
    Rule,
    SubjectType,
    SummaryRebuild,
    SupervisionSetting,
)
from reports.summaries import month_next

EVIDENCE_LIMIT = 200

# What each parameter means, and what a finding says (staff read them in the admin, in their language).
RULE_HELP: dict[str, Promise] = {
    Rule.MULTI_FACILITY_DAY: gettext_lazy(
        "min_count: distinct facilities one person settles at on one day"),
    Rule.FREQUENT_VISITS: gettext_lazy(
        "min_count: visits in the month at least; ratio: and more than ratio × the month's mean visits per person "
        "who settled"),
    Rule.MULAID_OUTLIER: gettext_lazy(
        "amount: a relative's mutual-aid spending in the month at least (yuan); ratio: and more than ratio × the "
        "mean of all relatives with mutual aid that month"),
    Rule.JUST_UNDER_CAP: gettext_lazy(
        "amount: the cap (yuan); ratio: the margin below it (0.05 = bills from 95 per cent of the cap up to, not "
        "including, the cap); min_count: such bills of one person in a month"),
    Rule.OVER_PRICE_LIMIT: gettext_lazy(
        "min_count: lines priced over the item's limit at a facility in the month; amount: and their over-limit "
        "total at least (yuan)"),
    Rule.PHARMACY_JUMP: gettext_lazy(
        "min_count: previous months averaged; ratio: this month's account-paid spending above ratio × that "
        "average; amount: and at least this much (yuan)"),
    Rule.IMPLAUSIBLE_BILL: gettext_lazy(
        "the limits are the policy version's (plausibility limit per bill line and per bill); min_count: such "
        "bills at a facility in the month"),
}
RULE_FINDING: dict[str, Promise] = {
    Rule.MULTI_FACILITY_DAY: gettext_lazy(
        "settled at %(facilities)s facilities on one day"),
    Rule.FREQUENT_VISITS: gettext_lazy(
        "%(visits)s visits in the month; the month's mean is %(mean_visits)s visits per person who settled"),
    Rule.MULAID_OUTLIER: gettext_lazy(
        "relatives' accounts paid %(mulaid_amount)s yuan for this person in the month; the mean of everyone helped "
        "by relatives that month is %(peer_mean)s yuan"),
    Rule.JUST_UNDER_CAP: gettext_lazy(
        "%(bills)s bills from %(from)s yuan up to, not including, the cap of %(cap)s yuan"),
    Rule.OVER_PRICE_LIMIT: gettext_lazy(
        "%(lines)s bill lines priced over the item's limit, %(overlmt_selfpay)s yuan over in all"),
    Rule.PHARMACY_JUMP: gettext_lazy(
        "accounts paid %(account_paid)s yuan this month; the average of the previous %(previous_months)s months is "
        "%(previous_average)s yuan"),
    Rule.IMPLAUSIBLE_BILL: gettext_lazy(
        "%(bills)s bills over their policy version's plausibility limit, %(total)s yuan in all"),
}
# Every alert is of normal rank but these.
RULE_RANK: dict[str, int] = {Rule.IMPLAUSIBLE_BILL: AlertRank.HIGHEST}

# Defaults; staff change the numbers in the admin.
DEFAULTS: dict[str, dict] = {
    Rule.MULTI_FACILITY_DAY: {"min_count": 3, "ratio": 0, "amount": 0},
    Rule.FREQUENT_VISITS: {"min_count": 10, "ratio": 3, "amount": 0},
    Rule.MULAID_OUTLIER: {"min_count": 0, "ratio": 3, "amount": 500},
    Rule.JUST_UNDER_CAP: {"min_count": 3, "ratio": "0.05", "amount": 200},
    Rule.OVER_PRICE_LIMIT: {"min_count": 1, "ratio": 0, "amount": 0},
    Rule.PHARMACY_JUMP: {"min_count": 3, "ratio": 2, "amount": 1000},
    Rule.IMPLAUSIBLE_BILL: {"min_count": 1, "ratio": 0, "amount": 0},
}


def alert_finding(alert: Alert) -> str:
    """What the alert's rule found, as a sentence in the active language (its raw numbers when the rule's sentence
    does not fit them, e.g. an alert of an older rule)."""
    try:
        return str(RULE_FINDING[alert.rule]) % alert.detail
    except (KeyError, TypeError, ValueError):
        return ", ".join(f"{k}: {v}" for k, v in sorted(alert.detail.items()))


def supervision_settings() -> dict[str, SupervisionSetting]:
    """Every rule's setting, creating missing ones with their defaults."""
    existing = {s.rule: s for s in SupervisionSetting.objects.all()}
    for rule, spec in DEFAULTS.items():
        if rule not in existing:
            with translation.override("en"):  # the stored copy; the admin shows RULE_HELP translated
                help_text = str(RULE_HELP[rule])
            existing[rule] = SupervisionSetting.objects.create(
                rule=rule, min_count=spec["min_count"], ratio=Decimal(str(spec["ratio"])),
                amount=Decimal(str(spec["amount"])), help=help_text)
    return existing


@dataclass
class Finding:
    subject_type: str
    subject_id: int
    period_start: datetime.date
    period_end: datetime.date
    score: Decimal
    settlement_ids: list[int]
    detail: dict = field(default_factory=dict)


def _yuan(value: Decimal | None) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _settled(first: datetime.date, last: datetime.date) -> QuerySet:
    return Settlement.objects.filter(status=SettlementStatus.SETTLED, setl_date__gte=first,
                                     setl_date__lte=last).order_by()


def _evidence(qs: QuerySet, **filters: object) -> dict[object, list[int]]:
    """Settlement ids grouped by the value of the single filter field given as `__in` (one query)."""
    (key, values), = filters.items()
    field_name = key.removesuffix("__in")
    out: dict[object, list[int]] = defaultdict(list)
    for pk, value in qs.filter(**{key: list(values)}).order_by("setl_date", "id").values_list("id", field_name):
        if len(out[value]) < EVIDENCE_LIMIT:
            out[value].append(pk)
    return out


def rule_multi_facility_day(s: SupervisionSetting, first: datetime.date, last: datetime.date) -> list[Finding]:
    hits = list(_settled(first, last).values("person_id", "setl_date")
                .annotate(n=Count("facility_id", distinct=True), stake=Sum("medfee_sumamt"))
                .filter(n__gte=max(s.min_count, 2)))
    if not hits:
        return []
    wanted = {(h["person_id"], h["setl_date"]) for h in hits}
    evidence: dict[tuple, list[int]] = defaultdict(list)
    for pk, person_id, day in (_settled(first, last).filter(person_id__in={p for p, _d in wanted})
                               .order_by("setl_date", "id").values_list("id", "person_id", "setl_date")):
        if (person_id, day) in wanted:
            evidence[(person_id, day)].append(pk)
    return [Finding(SubjectType.PERSON, h["person_id"], h["setl_date"], h["setl_date"], _yuan(h["stake"]),
                    evidence[(h["person_id"], h["setl_date"])], {"facilities": h["n"]}) for h in hits]


def rule_frequent_visits(s: SupervisionSetting, first: datetime.date, last: datetime.date) -> list[Finding]:
    base = _settled(first, last)
    totals = base.aggregate(visits=Count("id"), persons=Count("person_id", distinct=True))
    if not totals["persons"]:
        return []
    mean = Decimal(totals["visits"]) / Decimal(totals["persons"])
    hits = [h for h in base.values("person_id").annotate(n=Count("id"), stake=Sum("medfee_sumamt"))
            .filter(n__gte=max(s.min_count, 1)) if Decimal(h["n"]) > s.ratio * mean]
    evidence = _evidence(base, person_id__in=[h["person_id"] for h in hits])
    return [Finding(SubjectType.PERSON, h["person_id"], first, last, _yuan(h["stake"]), evidence[h["person_id"]],
                    {"visits": h["n"], "mean_visits": f"{mean:.2f}"}) for h in hits]


def rule_mulaid_outlier(s: SupervisionSetting, first: datetime.date, last: datetime.date) -> list[Finding]:
    base = _settled(first, last).filter(acct_mulaid_pay__gt=0)
    totals = base.aggregate(amount=Sum("acct_mulaid_pay"), persons=Count("person_id", distinct=True))
    if not totals["persons"]:
        return []
    mean = Decimal(totals["amount"]).quantize(Decimal("0.01")) / Decimal(totals["persons"])
    hits = []
    for h in base.values("person_id").annotate(total=Sum("acct_mulaid_pay")):
        total = Decimal(h["total"]).quantize(Decimal("0.01"))
        if total >= s.amount and total > s.ratio * mean:
            hits.append((h["person_id"], total))
    evidence = _evidence(base, person_id__in=[p for p, _t in hits])
    return [Finding(SubjectType.PERSON, person_id, first, last, total, evidence[person_id],
                    {"mulaid_amount": f"{total:.2f}", "peer_mean": f"{mean:.2f}"}) for person_id, total in hits]


def rule_just_under_cap(s: SupervisionSetting, first: datetime.date, last: datetime.date) -> list[Finding]:
    if s.amount <= 0:
        return []
    low = (s.amount * (1 - s.ratio)).quantize(Decimal("0.01"))
    base = _settled(first, last).filter(medfee_sumamt__gte=low, medfee_sumamt__lt=s.amount)
    hits = list(base.values("person_id").annotate(n=Count("id"), stake=Sum("medfee_sumamt"))
                .filter(n__gte=max(s.min_count, 2)))
    evidence = _evidence(base, person_id__in=[h["person_id"] for h in hits])
    return [Finding(SubjectType.PERSON, h["person_id"], first, last, _yuan(h["stake"]), evidence[h["person_id"]],
                    {"bills": h["n"], "cap": f"{s.amount:.2f}", "from": f"{low:.2f}"}) for h in hits]


def rule_over_price_limit(s: SupervisionSetting, first: datetime.date, last: datetime.date) -> list[Finding]:
    lines = SettlementLine.objects.filter(
        settlement__status=SettlementStatus.SETTLED, settlement__setl_date__gte=first,
        settlement__setl_date__lte=last, item__pric_uplmt_amt__isnull=False,
        price__gt=F("item__pric_uplmt_amt")).order_by()
    hits = []
    for h in lines.values("settlement__facility_id").annotate(n=Count("id"), over=Sum("overlmt_selfpay")):
        over = Decimal(h["over"] or 0).quantize(Decimal("0.01"))
        if h["n"] >= max(s.min_count, 1) and over >= s.amount:
            hits.append((h["settlement__facility_id"], h["n"], over))
    evidence: dict[int, list[int]] = defaultdict(list)
    for facility_id, settlement_id in (lines.filter(settlement__facility_id__in=[f for f, _n, _o in hits])
                                       .values_list("settlement__facility_id", "settlement_id")
                                       .distinct().order_by("settlement_id")):
        if len(evidence[facility_id]) < EVIDENCE_LIMIT:
            evidence[facility_id].append(settlement_id)
    # The money at stake is what the lines were priced over their limits.
    return [Finding(SubjectType.FACILITY, facility_id, first, last, over, evidence[facility_id],
                    {"lines": n, "overlmt_selfpay": f"{over:.2f}"}) for facility_id, n, over in hits]


def rule_pharmacy_jump(s: SupervisionSetting, first: datetime.date, last: datetime.date) -> list[Finding]:
    months = max(s.min_count, 1)
    start = first
    for _i in range(months):
        start = (start - datetime.timedelta(days=1)).replace(day=1)
    rows = (FacilityMonth.objects.filter(facility__fixmedins_type=FacilityType.RETAIL_PHARMACY,
                                         month__gte=start, month__lte=first)
            .values("facility_id", "month").annotate(acct=Sum(F("acct_pay") + F("acct_mulaid_pay"))))
    now: dict[int, Decimal] = defaultdict(Decimal)
    before: dict[int, Decimal] = defaultdict(Decimal)
    for r in rows:
        (now if r["month"] == first else before)[r["facility_id"]] += Decimal(r["acct"] or 0)
    hits = []
    for facility_id, amount in now.items():
        amount = amount.quantize(Decimal("0.01"))
        average = (before[facility_id] / months).quantize(Decimal("0.01"))
        if average > 0 and amount >= s.amount and amount > s.ratio * average:
            hits.append((facility_id, amount, average))
    base = _settled(first, last).filter(Q(acct_pay__gt=0) | Q(acct_mulaid_pay__gt=0))
    evidence = {facility_id: list(base.filter(facility_id=facility_id)
                                  .order_by((F("acct_pay") + F("acct_mulaid_pay")).desc(), "id")
                                  .values_list("id", flat=True)[:EVIDENCE_LIMIT]) for facility_id, _a, _v in hits}
    return [Finding(SubjectType.FACILITY, facility_id, first, last, amount, evidence[facility_id],
                    {"account_paid": f"{amount:.2f}", "previous_average": f"{average:.2f}",
                     "previous_months": months}) for facility_id, amount, average in hits]


def rule_implausible_bill(s: SupervisionSetting, first: datetime.date, last: datetime.date) -> list[Finding]:
    """Settled bills over their policy version's plausibility limits (a bill's total, or one line's amount): bills
    settled before the limits were set or lowered; new ones are refused (claims.services.plausibility_check)."""
    over_line = SettlementLine.objects.filter(settlement=OuterRef("pk"),
                                              amount__gt=OuterRef("policy_version__plausible_line_max"))
    base = _settled(first, last).filter(policy_version__isnull=False).filter(
        Q(medfee_sumamt__gt=F("policy_version__plausible_bill_max")) | Exists(over_line))
    hits = list(base.values("facility_id").annotate(n=Count("id"), stake=Sum("medfee_sumamt"))
                .filter(n__gte=max(s.min_count, 1)))
    evidence = _evidence(base, facility_id__in=[h["facility_id"] for h in hits])
    return [Finding(SubjectType.FACILITY, h["facility_id"], first, last, _yuan(h["stake"]),
                    evidence[h["facility_id"]], {"bills": h["n"], "total": f"{_yuan(h['stake']):.2f}"})
            for h in hits]


RULES: dict[str, Callable[[SupervisionSetting, datetime.date, datetime.date], list[Finding]]] = {
    Rule.MULTI_FACILITY_DAY: rule_multi_facility_day,
    Rule.FREQUENT_VISITS: rule_frequent_visits,
    Rule.MULAID_OUTLIER: rule_mulaid_outlier,
    Rule.JUST_UNDER_CAP: rule_just_under_cap,
    Rule.OVER_PRICE_LIMIT: rule_over_price_limit,
    Rule.PHARMACY_JUMP: rule_pharmacy_jump,
    Rule.IMPLAUSIBLE_BILL: rule_implausible_bill,
}


def _subject_keys(findings: list[Finding]) -> dict[tuple[str, int], str]:
    person_ids = [f.subject_id for f in findings if f.subject_type == SubjectType.PERSON]
    facility_ids = [f.subject_id for f in findings if f.subject_type == SubjectType.FACILITY]
    keys = {(SubjectType.PERSON, pk): code for pk, code in
            Person.objects.filter(pk__in=person_ids).values_list("pk", "psn_no")}
    keys |= {(SubjectType.FACILITY, pk): code for pk, code in
             Facility.objects.filter(pk__in=facility_ids).values_list("pk", "fixmedins_code")}
    return keys


@transaction.atomic
def _alerts_write(rule: str, findings: list[Finding]) -> int:
    keys = _subject_keys(findings)
    rank = RULE_RANK.get(rule, AlertRank.NORMAL)
    written = 0
    for f in findings:
        subject_key = keys[(f.subject_type, f.subject_id)]
        alert, created = Alert.objects.select_for_update().get_or_create(
            rule=rule, subject_key=subject_key, period_start=f.period_start,
            defaults={"subject_type": f.subject_type, "period_end": f.period_end, "score": f.score, "rank": rank,
                      "detail": f.detail,
                      "person_id": f.subject_id if f.subject_type == SubjectType.PERSON else None,
                      "facility_id": f.subject_id if f.subject_type == SubjectType.FACILITY else None})
        if not created:
            if alert.status != AlertStatus.OPEN:
                continue
            alert.period_end, alert.score, alert.detail, alert.rank = f.period_end, f.score, f.detail, rank
            alert.save(update_fields=["period_end", "score", "detail", "rank", "updated_at"])
            alert.evidence.exclude(settlement_id__in=f.settlement_ids).delete()
        AlertEvidence.objects.bulk_create([AlertEvidence(alert=alert, settlement_id=pk) for pk in f.settlement_ids],
                                          ignore_conflicts=True)
        written += 1
    return written


def supervision_run(*, month: datetime.date, rules: list[str] | None = None, user=None) -> dict[str, int]:  # noqa: ANN001
    """Run the enabled rules (or `rules`) over one month; returns the alerts raised or refreshed per rule. The run
    is recorded among the summary rebuilds (`supervision`) with who started it (none for the nightly schedule)."""
    started = time.perf_counter()
    first = month.replace(day=1)
    last = month_next(first) - datetime.timedelta(days=1)
    settings = supervision_settings()
    out = {}
    for rule, check in RULES.items():
        setting = settings[rule]
        if (rules is not None and rule not in rules) or (rules is None and not setting.enabled):
            continue
        out[str(rule)] = _alerts_write(rule, check(setting, first, last))
    SummaryRebuild.objects.create(table=SUPERVISION_RUN, month=first, rows=sum(out.values()), rebuilt_by=user,
                                  seconds=Decimal(f"{time.perf_counter() - started:.3f}"))
    return out


@transaction.atomic
def alert_review(*, alert: Alert, status: str, note: str, user) -> Alert:  # noqa: ANN001
    """Record a reviewer's decision (confirmed or dismissed) with a note. Supervisors only."""
    if not user.has_perm("reports.review_alert"):
        raise PermissionDenied
    if status not in (AlertStatus.CONFIRMED, AlertStatus.DISMISSED):
        raise ValueError(_("An alert is reviewed as confirmed or dismissed."))
    if not note.strip():
        raise ValueError(_("A review needs a note."))
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    alert.status, alert.note, alert.reviewer, alert.reviewed_at = status, note.strip(), user, timezone.now()
    alert.save(update_fields=["status", "note", "reviewer", "reviewed_at", "updated_at"])
    return alert
