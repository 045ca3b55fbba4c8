"""Clearing statements (CONTRACT.md "Clearing with facilities"): built for a month from a few set-based aggregates,
then reviewed, approved by another user and paid.

A month's figures come from one aggregate of its live settlements grouped by facility, policy version, medical
type, disease and whether the enrollee was signed with the facility (or recognised there for the disease) on the
month's first day (with the separately paid drug lines' amount of the few bills that have any), and one count
each of the signed and recognised enrollees. The grouped rows are few (facilities × versions × types), so the
payment methods are applied to them in Python; nothing is read per settlement.
"""

import calendar
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Facility, Recognition, Settlement, SettlementLine, SettlementStatus
from clearing.models import (
    FROZEN_STATUSES,
    ClrWay,
    Deduction,
    FundEntryKind,
    FundLedgerEntry,
    LineGroup,
    Signing,
    Statement,
    StatementAction,
    StatementEvent,
    StatementLine,
    StatementStatus,
)
from core.money import ZERO, fen
from policies.models import (
    ClearingGroup,
    ClearingWay,
    FacilityLevel,
    PaymentMethod,
    PolicyStatus,
    PolicyVersion,
    Region,
)


class ClearingError(Exception):
    """A clearing step refused, with a message for the user."""


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def facility_level(facility: Facility) -> str:
    """The payment-method level of a facility: its hospital level, or `pharmacy`."""
    return FacilityLevel.PHARMACY.value if facility.is_pharmacy else facility.hosp_lv


def med_type_group(med_type: str, ext_rx: bool) -> str:
    """CONTRACT.md: `general` 11, 13 and 41 with `ext_rx`; `chronic` 14; `pharmacy` 41 without."""
    if med_type == "14":
        return ClearingGroup.CHRONIC.value
    if med_type == "41" and not ext_rx:
        return ClearingGroup.PHARMACY.value
    return ClearingGroup.GENERAL.value


class Methods:
    """The payment methods of some policy versions, looked up by version, facility level, group and disease: the
    facility's own level before `any`, a disease's own row before the group's; no row: itemised."""

    def __init__(self, version_ids: Iterable[int]) -> None:
        self.rows: dict[tuple[int, str, str, str], tuple[str, Decimal | None]] = {
            (m.version_id, m.facility_level, m.med_type_group, m.dise_code): (m.clr_way, m.rate)
            for m in PaymentMethod.objects.filter(version_id__in=set(version_ids))}

    def way(self, version_id: int | None, level: str, group: str, dise: str = "") -> tuple[str, Decimal | None]:
        if version_id is not None:
            for key in ((level, group, dise), (FacilityLevel.ANY.value, group, dise), (level, group, ""),
                        (FacilityLevel.ANY.value, group, "")):
                found = self.rows.get((version_id, *key))
                if found is not None and (found[0] != ClearingWay.PER_DISEASE or key[2] == dise):
                    return found
        return ClearingWay.ITEMISED.value, None


@dataclass
class LineFigures:
    count: int = 0
    medfee_sumamt: Decimal = ZERO
    fund_pay_sumamt: Decimal = ZERO
    amount: Decimal = ZERO

    def as_tuple(self) -> tuple:
        return self.count, fen(self.medfee_sumamt), fen(self.fund_pay_sumamt), fen(self.amount)


@dataclass
class FacilityMonth:
    """A facility's figures for a month, as the statement will hold them."""

    lines: dict[tuple[str, str, str], LineFigures] = field(default_factory=lambda: defaultdict(LineFigures))
    settlements_count: int = 0
    medfee_sumamt: Decimal = ZERO
    fund_pay_sumamt: Decimal = ZERO
    acct_pay: Decimal = ZERO
    cash_payamt: Decimal = ZERO

    def line_tuples(self) -> dict[tuple[str, str, str], tuple]:
        return {key: figures.as_tuple() for key, figures in self.lines.items()}


def _valid_on(first: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}begndate__lte": first}) & (Q(**{f"{prefix}enddate__isnull": True})
                                                     | Q(**{f"{prefix}enddate__gte": first}))


def _versions_in_force(first: datetime.date) -> dict[tuple[int, str], int]:
    """(region id, insutype) → the published version in force on `first`."""
    rows = PolicyVersion.objects.filter(status=PolicyStatus.PUBLISHED, effective_from__lte=first).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=first)).values_list("region_id", "insutype", "id")
    return {(region_id, insutype): pk for region_id, insutype, pk in rows}


def month_figures(*, month: datetime.date, facilities: dict[int, Facility]) -> dict[int, FacilityMonth]:
    """The month's figures of each facility of `facilities` (id → facility) that has any: three aggregates."""
    first, last = month_bounds(month)
    ids = list(facilities)
    settlements = Settlement.objects.filter(setl_date__range=(first, last), status=SettlementStatus.SETTLED,
                                            facility_id__in=ids)
    signed = Signing.objects.filter(_valid_on(first), facility_id=OuterRef("facility_id"),
                                    person_id=OuterRef("person_id"))
    recognised = Recognition.objects.approved().filter(_valid_on(first), facility_id=OuterRef("facility_id"),
                                            person_id=OuterRef("person_id"),
                                            disease__opsp_dise_code=OuterRef("dise_codg"))
    # The separately paid drugs' amount of a settlement that has any (a sep_bucket), read only for those.
    sep_amount = (SettlementLine.objects.filter(settlement_id=OuterRef("pk"), sep_pay=True).values("settlement_id")
                  .annotate(total=Sum("amount")).values("total"))
    has_sep = ~Q(sep_bucket="")
    groups = (settlements.annotate(signed=Exists(signed), recognised=Exists(recognised),
                                   sep_medfee=Case(When(has_sep, then=Subquery(sep_amount)), default=Value(ZERO)))
              .values("facility_id", "policy_version_id", "med_type", "ext_rx", "dise_codg", "signed", "recognised")
              .annotate(n=Count("id"), medfee=Sum("medfee_sumamt"), fund=Sum("fund_pay_sumamt"),
                        sep=Sum("sep_hifp_pay"), sep_n=Count("id", filter=has_sep), sep_medfee=Sum("sep_medfee"),
                        acct=Sum(F("acct_pay") + F("acct_mulaid_pay")), cash=Sum("psn_cash_pay"))
              .order_by())
    groups = list(groups)

    in_force = _versions_in_force(first)
    # The enrolment valid on the first day names the version (region and insurance type) the enrollee settles under.
    enrolled = _valid_on(first, "person__enrollments__")
    signings = (Signing.objects.filter(_valid_on(first), facility_id__in=ids).filter(enrolled)
                .values("facility_id", region=F("person__enrollments__region_id"),
                        insutype=F("person__enrollments__insutype"))
                .annotate(n=Count("person_id", distinct=True)).order_by())
    recognitions = (Recognition.objects.approved().filter(_valid_on(first), facility_id__in=ids).filter(enrolled)
                    .values("facility_id", dise=F("disease__opsp_dise_code"),
                            region=F("person__enrollments__region_id"),
                            insutype=F("person__enrollments__insutype"))
                    .annotate(n=Count("person_id", distinct=True)).order_by())
    signings, recognitions = list(signings), list(recognitions)
    methods = Methods({row["policy_version_id"] for row in groups if row["policy_version_id"]} | set(in_force.values()))

    months: dict[int, FacilityMonth] = defaultdict(FacilityMonth)
    for row in groups:
        facility = facilities[row["facility_id"]]
        level = facility_level(facility)
        group = med_type_group(row["med_type"], row["ext_rx"])
        dise = row["dise_codg"] if group == ClearingGroup.CHRONIC else ""
        way, _rate = methods.way(row["policy_version_id"], level, group, dise)
        if way == ClearingWay.CAPITATION and row["signed"]:
            key = (ClrWay.CAPITATION.value, group, "")
        elif way == ClearingWay.PER_DISEASE and row["recognised"]:
            key = (ClrWay.PER_DISEASE.value, group, dise)
        else:
            key = (ClrWay.ITEMISED.value, group, "")
        paid_apart = row["sep"] or ZERO
        line = months[facility.pk].lines[key]
        # A bill with separately paid drugs stands on two lines: its other lines here, those drugs on their own.
        line.medfee_sumamt += row["medfee"] - (row["sep_medfee"] or ZERO)
        line.fund_pay_sumamt += row["fund"] - paid_apart
        if key[0] == ClrWay.ITEMISED:
            line.count += row["n"]
            line.amount += row["fund"] - paid_apart
        if row["sep_n"]:
            sep = months[facility.pk].lines[(ClrWay.SEP_PAY.value, LineGroup.SEP_PAY.value, "")]
            sep.count += row["sep_n"]
            sep.medfee_sumamt += row["sep_medfee"] or ZERO
            sep.fund_pay_sumamt += paid_apart
            sep.amount += paid_apart
        totals = months[facility.pk]
        totals.settlements_count += row["n"]
        totals.medfee_sumamt += row["medfee"]
        totals.fund_pay_sumamt += row["fund"]
        totals.acct_pay += row["acct"]
        totals.cash_payamt += row["cash"]

    # Capitation and per disease pay for enrollees, whether or not they came: the rate of the version their
    # enrolment settles under (region and insurance type), for the facility's level.
    for row in signings:
        facility = facilities[row["facility_id"]]
        way, rate = methods.way(in_force.get((row["region"], row["insutype"])), facility_level(facility),
                                ClearingGroup.GENERAL.value)
        if way == ClearingWay.CAPITATION:
            line = months[facility.pk].lines[(ClrWay.CAPITATION.value, LineGroup.GENERAL.value, "")]
            line.count += row["n"]
            line.amount += rate * row["n"]
    for row in recognitions:
        facility = facilities[row["facility_id"]]
        way, rate = methods.way(in_force.get((row["region"], row["insutype"])), facility_level(facility),
                                ClearingGroup.CHRONIC.value, row["dise"])
        if way == ClearingWay.PER_DISEASE:
            line = months[facility.pk].lines[(ClrWay.PER_DISEASE.value, LineGroup.CHRONIC.value, row["dise"])]
            line.count += row["n"]
            line.amount += rate * row["n"]
    return months


def _event(statement: Statement, action: str, actor=None, detail: str = "") -> None:  # noqa: ANN001
    StatementEvent.objects.create(statement=statement, action=action, actor=actor, detail=detail)


def _stored_lines(statement: Statement) -> dict[tuple[str, str, str], tuple]:
    return {(line.clr_way, line.med_type_group, line.dise_code):
            (line.count, line.medfee_sumamt, line.fund_pay_sumamt, line.amount) for line in statement.lines.all()}


TOTALS = ("settlements_count", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "cash_payamt")


def _totals(figures: FacilityMonth) -> dict:
    return {name: getattr(figures, name) if name == "settlements_count" else fen(getattr(figures, name))
            for name in TOTALS}


def _recompute_payable(statement: Statement, lines_amount: Decimal | None = None) -> None:
    if lines_amount is None:
        lines_amount = statement.lines.aggregate(total=Coalesce(Sum("amount"), Value(ZERO)))["total"]
    statement.lines_amount = fen(lines_amount)
    statement.deducted = fen(statement.deductions.aggregate(total=Coalesce(Sum("amount"), Value(ZERO)))["total"])
    statement.payable = statement.lines_amount - statement.deducted


@dataclass
class BuildResult:
    created: int = 0
    rebuilt: int = 0
    unchanged: int = 0
    frozen: int = 0

    def __str__(self) -> str:
        return (f"created {self.created}, rebuilt {self.rebuilt}, unchanged {self.unchanged}, "
                f"left as approved {self.frozen}")


@transaction.atomic
def statements_build(*, month: datetime.date, region: Region | None = None,
                     facility: Facility | None = None) -> BuildResult:
    """Build or rebuild the month's statements of a region (every region when None; one facility when given).
    Approved and paid statements are left as they are; a draft whose figures did not change is left untouched (so
    a second run changes nothing); a reviewed one whose figures changed goes back to draft. Deductions waiting for
    an open statement (of this month or before) are put on it."""
    first, _last = month_bounds(month)
    scope = Facility.objects.all()
    if region is not None:
        scope = scope.filter(region=region)
    if facility is not None:
        scope = scope.filter(pk=facility.pk)
    facilities = {f.pk: f for f in scope}
    existing = {s.facility_id: s for s in Statement.objects.select_for_update().filter(
        month=first, facility_id__in=list(facilities)).order_by("pk")}
    figures = month_figures(month=first, facilities=facilities)
    waiting = set(Deduction.objects.filter(statement__isnull=True, month__lte=first,
                                           facility_id__in=list(facilities)).values_list("facility_id", flat=True))
    result = BuildResult()
    now = timezone.now()
    for facility_id in sorted(set(figures) | set(existing) | waiting):
        statement = existing.get(facility_id)
        if statement is not None and statement.status in FROZEN_STATUSES:
            result.frozen += 1
            continue
        month_figs = figures.get(facility_id, FacilityMonth())
        wanted = month_figs.line_tuples()
        if statement is None:
            statement = Statement.objects.create(facility_id=facility_id, month=first, built_at=now,
                                                 **_totals(month_figs))
            action = StatementAction.BUILT
            result.created += 1
        else:
            picks_up = facility_id in waiting
            if (_stored_lines(statement) == wanted and not picks_up
                    and all(getattr(statement, k) == v for k, v in _totals(month_figs).items())):
                result.unchanged += 1
                continue
            statement.lines.all().delete()
            for name, value in _totals(month_figs).items():
                setattr(statement, name, value)
            action = StatementAction.REBUILT
            result.rebuilt += 1
        StatementLine.objects.bulk_create([
            StatementLine(statement=statement, clr_way=way, med_type_group=group, dise_code=dise, count=count,
                          medfee_sumamt=medfee, fund_pay_sumamt=fund, amount=amount)
            for (way, group, dise), (count, medfee, fund, amount) in sorted(wanted.items())])
        Deduction.objects.filter(statement__isnull=True, month__lte=first, facility_id=facility_id).update(
            statement=statement)
        detail = ""
        if statement.status == StatementStatus.REVIEWED:
            statement.status = StatementStatus.DRAFT
            statement.reviewed_by, statement.reviewed_at = None, None
            detail = _("its figures changed after review: back to draft")
        statement.built_at = now
        _recompute_payable(statement, sum((t[3] for t in wanted.values()), ZERO))
        statement.save()
        _event(statement, action, detail=detail)
    return result


def _locked(statement: Statement) -> Statement:
    return Statement.objects.select_for_update().select_related("facility").get(pk=statement.pk)


def _check_current(statement: Statement) -> None:
    """Refuse to pass on a statement whose month's settlements changed since it was built."""
    figures = month_figures(month=statement.month, facilities={statement.facility_id: statement.facility})
    wanted = figures.get(statement.facility_id, FacilityMonth()).line_tuples()
    if _stored_lines(statement) != wanted:
        raise ClearingError(_("the settlements of %(month)s at %(facility)s changed since the statement was built: "
                              "run clearing for the month again and review it")
                            % {"month": f"{statement.month:%Y-%m}", "facility": statement.facility.fixmedins_code})


@transaction.atomic
def statement_review(*, statement: Statement, user) -> Statement:  # noqa: ANN001
    """Mark a draft statement reviewed by `user` (its figures must still be the month's)."""
    statement = _locked(statement)
    if statement.status != StatementStatus.DRAFT:
        raise ClearingError(_("only a draft statement can be reviewed; %(statement)s is %(status)s")
                            % {"statement": statement, "status": statement.get_status_display()})
    _check_current(statement)
    statement.status = StatementStatus.REVIEWED
    statement.reviewed_by, statement.reviewed_at = user, timezone.now()
    statement.save()
    _event(statement, StatementAction.REVIEWED, user)
    return statement


@transaction.atomic
def statement_approve(*, statement: Statement, user) -> Statement:  # noqa: ANN001
    """Approve a reviewed statement: by another user than the reviewer (maker-checker), its figures still the
    month's. From now on it never changes; the region's fund owes the facility its payable (a ledger entry)."""
    statement = _locked(statement)
    if statement.status != StatementStatus.REVIEWED:
        raise ClearingError(_("only a reviewed statement can be approved; %(statement)s is %(status)s")
                            % {"statement": statement, "status": statement.get_status_display()})
    if statement.reviewed_by_id == user.pk:
        raise ClearingError(_("you reviewed %(statement)s: another user must approve it") % {"statement": statement})
    _check_current(statement)
    statement.status = StatementStatus.APPROVED
    statement.approved_by, statement.approved_at = user, timezone.now()
    statement.save()
    FundLedgerEntry.objects.create(region_id=statement.facility.region_id, facility_id=statement.facility_id,
                                   statement=statement, month=statement.month, kind=FundEntryKind.OWED,
                                   amount=statement.payable, created_by=user)
    _event(statement, StatementAction.APPROVED, user)
    return statement


def last_full_month(today: datetime.date | None = None) -> datetime.date:
    today = today or timezone.localdate()
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def settlement_paid_by_statement(settlement: Settlement) -> Decimal:
    """What a statement of the settlement's month pays for it: its fund payments when itemised, only the separately
    paid drugs' share when capitation or per-disease payment covers the visit (the same rules as `month_figures`)."""
    first, _last = month_bounds(settlement.setl_date)
    level = facility_level(settlement.facility)
    group = med_type_group(settlement.med_type, settlement.ext_rx)
    dise = settlement.dise_codg if group == ClearingGroup.CHRONIC else ""
    way, _rate = Methods([settlement.policy_version_id] if settlement.policy_version_id else []).way(
        settlement.policy_version_id, level, group, dise)
    covered = False
    if way == ClearingWay.CAPITATION:
        covered = Signing.objects.filter(_valid_on(first), facility_id=settlement.facility_id,
                                         person_id=settlement.person_id).exists()
    elif way == ClearingWay.PER_DISEASE:
        covered = Recognition.objects.approved().filter(_valid_on(first), facility_id=settlement.facility_id,
                                             person_id=settlement.person_id,
                                             disease__opsp_dise_code=settlement.dise_codg).exists()
    return settlement.sep_hifp_pay if covered else settlement.fund_pay_sumamt


def deduction_place(deduction: Deduction) -> None:
    """Put a new deduction on the open statement of its month, or else on the facility's next draft one; with
    neither, it waits (statement blank) for the next `run_clearing` of a later month. Call in its transaction."""
    target = (Statement.objects.select_for_update()
              .filter(facility_id=deduction.facility_id, month__gte=deduction.month, status=StatementStatus.DRAFT)
              .order_by("month").first())
    own = Statement.objects.filter(facility_id=deduction.facility_id, month=deduction.month).first()
    if own is not None and own.status == StatementStatus.REVIEWED:
        target = None  # it waits for the month's next build, which sends the statement back to draft
    if target is not None:
        deduction.statement = target
        deduction.save(update_fields=["statement"])
        _recompute_payable(target)
        target.save(update_fields=["lines_amount", "deducted", "payable"])


def statement_settlement_listener(settlement: Settlement, sign: int) -> None:
    """A settlement applied (+1) or reversed (−1) inside its transaction: when its month's statement is already
    approved, what that statement paid for it is carried to the facility's next open statement, as a deduction (a
    negative one for a settlement that arrived late). Other months' statements net it out when they are built."""
    first, _last = month_bounds(settlement.setl_date)
    statement = (Statement.objects.select_for_update().filter(facility_id=settlement.facility_id, month=first)
                 .only("id", "status").first())
    if statement is None or statement.status not in FROZEN_STATUSES:
        return
    amount = settlement_paid_by_statement(settlement)
    if not amount:
        return  # covered by capitation or per disease: the statement paid nothing for it apart
    if sign < 0:
        kind, reason = "late_reversal", _("reversed after the %(month)s statement was approved")
    else:
        kind, reason, amount = "late_settlement", _("settled after the %(month)s statement was approved"), -amount
    deduction, created = Deduction.objects.get_or_create(
        settlement=settlement, kind=kind,
        defaults={"facility_id": settlement.facility_id, "month": first, "amount": amount,
                  "reason": reason % {"month": f"{first:%Y-%m}"}})
    if created:
        deduction_place(deduction)
