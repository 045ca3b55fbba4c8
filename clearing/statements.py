"""Clearing statements (CONTRACT.md "Clearing with facilities"): built for a month from a few set-based aggregates,
then reviewed, approved by another user and paid.

A month's figures come from one aggregate of its live settlements grouped by facility, policy version, medical
type, disease, fund (insurance type) and whether the enrollee was signed with the facility (or recognised there for
the disease) on the month's first day (with the separately paid drug lines' amount of the few bills that have any),
and one count each of the signed and recognised enrollees. The grouped rows are few (facilities × versions × types
× funds), so the payment methods are applied to them in Python; nothing is read per settlement, and the statements
are written in bulk.

Funds: employee (310) and resident (390) insurance are separate funds (CONTRACT.md: "what each fund owes each
facility"; POLICY.md: the pooled fund is per insurance type), so every line and deduction names its fund; the
statement stays one per facility and month (the contract), and its payable is the sum of the funds' parts.
"""

import calendar
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Facility, Recognition, RecognitionStatus, Settlement, SettlementStatus
from clearing.errors import ClearingError
from clearing.models import (
    FROZEN_STATUSES,
    ClrWay,
    Deduction,
    DeductionKind,
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
from core.queries import for_share
from policies.models import (
    ClearingGroup,
    ClearingWay,
    FacilityLevel,
    InsuType,
    PaymentMethod,
    PolicyStatus,
    PolicyVersion,
    Region,
)


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


# A statement line's key: payment method, medical-type group, disease (per disease only) and fund (insurance type).
LineKey = tuple[str, str, str, str]


@dataclass
class FacilityMonth:
    """A facility's figures for a month, as the statement will hold them."""

    lines: dict[LineKey, LineFigures] = field(default_factory=lambda: defaultdict(LineFigures))
    settlements_count: int = 0
    medfee_sumamt: Decimal = ZERO
    fund_pay_sumamt: Decimal = ZERO
    acct_pay: Decimal = ZERO
    cash_payamt: Decimal = ZERO

    def line_tuples(self) -> dict[LineKey, tuple]:
        return {key: figures.as_tuple() for key, figures in self.lines.items()}


def _valid_on(first: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}begndate__lte": first}) & (Q(**{f"{prefix}enddate__isnull": True})
                                                     | Q(**{f"{prefix}enddate__gte": first}))


def _versions_in_force(first: datetime.date) -> dict[tuple[int, str], int]:
    """(region id, insutype) → the published version in force on `first`."""
    rows = PolicyVersion.objects.filter(status=PolicyStatus.PUBLISHED, effective_from__lte=first).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=first)).values_list("region_id", "insutype", "id")
    return {(region_id, insutype): pk for region_id, insutype, pk in rows}


def _money(value: Decimal | float | int | None) -> Decimal:
    """A sum read with raw SQL: PostgreSQL's numeric arrives as a Decimal; SQLite sums to a float, which the ORM too
    reads back through its shortest decimal form (exact to the fen for any sum the money columns can hold)."""
    if value is None:
        return ZERO
    return fen(value if isinstance(value, Decimal) else Decimal(str(value)))


# The month's live settlements in one pass, grouped by what decides their line: facility, version, medical type,
# disease, fund, and whether the enrollee was signed with the facility (capitation) or recognised there for the
# disease (per disease) on the month's first day, both by hash join rather than a probe per settlement; the
# separately paid drugs' amount is summed over the lines of the few bills that have any. A visit of somebody
# insured nowhere here (no fund pays it anything) is counted with the employee fund's lines.
MONTH_SQL = """
WITH signed AS (
    SELECT DISTINCT person_id, facility_id FROM clearing_signing
    WHERE begndate <= %(first)s AND (enddate IS NULL OR enddate >= %(first)s)
), recognised AS (
    SELECT DISTINCT r.person_id, r.facility_id, d.opsp_dise_code FROM claims_recognition r
    JOIN claims_disease d ON d.id = r.disease_id
    WHERE r.status = %(approved)s AND r.begndate <= %(first)s AND (r.enddate IS NULL OR r.enddate >= %(first)s)
), sep AS (
    SELECT l.settlement_id, SUM(l.amount) AS medfee FROM claims_settlementline l
    JOIN claims_settlement t ON t.id = l.settlement_id
    WHERE t.setl_date BETWEEN %(first)s AND %(last)s AND t.status = %(settled)s AND t.sep_bucket <> ''
      AND l.sep_pay
    GROUP BY l.settlement_id
)
SELECT s.facility_id, s.policy_version_id, s.med_type, s.ext_rx, s.dise_codg,
       COALESCE(NULLIF(s.insutype, ''), %(employee)s), sg.person_id IS NOT NULL, rc.person_id IS NOT NULL,
       COUNT(*), SUM(s.medfee_sumamt), SUM(s.fund_pay_sumamt), SUM(s.sep_hifp_pay),
       SUM(CASE WHEN s.sep_bucket <> '' THEN 1 ELSE 0 END), SUM(COALESCE(sep.medfee, 0)),
       SUM(s.acct_pay + s.acct_mulaid_pay), SUM(s.psn_cash_pay)
FROM claims_settlement s
LEFT JOIN signed sg ON sg.person_id = s.person_id AND sg.facility_id = s.facility_id
LEFT JOIN recognised rc ON rc.person_id = s.person_id AND rc.facility_id = s.facility_id
                       AND rc.opsp_dise_code = s.dise_codg
LEFT JOIN sep ON sep.settlement_id = s.id
WHERE s.setl_date BETWEEN %(first)s AND %(last)s AND s.status = %(settled)s {scope}
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""


def _scope(region: Region | None, facility: Facility | None, params: dict, column: str) -> str:
    """The SQL condition on `column` (a facility id) of the scope `facility` or `region` names (none: every
    facility), its parameters added to `params`."""
    if facility is not None:
        params["facility"] = facility.pk
        return f"AND {column} = %(facility)s"
    if region is not None:
        params["region"] = region.pk
        return f"AND {column} IN (SELECT id FROM claims_facility WHERE region_id = %(region)s)"
    return ""


def _month_groups(first: datetime.date, last: datetime.date, region: Region | None,
                  facility: Facility | None) -> list[tuple]:
    params = {"first": first, "last": last, "settled": SettlementStatus.SETTLED.value,
              "approved": RecognitionStatus.APPROVED.value, "employee": InsuType.EMPLOYEE.value}
    scope = _scope(region, facility, params, "s.facility_id")
    with connection.cursor() as cursor:
        cursor.execute(MONTH_SQL.format(scope=scope), params)
        return cursor.fetchall()


# The enrollees capitation and per-disease payment pay for, counted once each: CONTRACT.md ("Clearing with
# facilities") pays "the rate per enrollee signed with the facility (signings) on the month's first day" (and per
# enrollee recognised), and a signing carries no insurance type, so the fund is that of the one enrollment the
# person's visits settle under on that day: the enrollment whose period covers it, employee insurance (310) before
# resident insurance (390), as the settlement path picks it (claims.selectors, `_patient_sql`). A person with both
# a 310 and a 390 enrollment valid on the 1st is paid for once, from the employee fund, never from both. The
# NOT EXISTS is an anti-join: set-based, no probe per enrollee.
ENROLLEES_SQL = """
SELECT x.facility_id, x.dise, e.region_id, e.insutype, COUNT(DISTINCT x.person_id)
FROM ({source}) x
JOIN accounts_enrollment e ON e.person_id = x.person_id
 AND e.begndate <= %(first)s AND (e.enddate IS NULL OR e.enddate >= %(first)s)
WHERE NOT EXISTS (
    SELECT 1 FROM accounts_enrollment o
    WHERE o.person_id = e.person_id AND o.insutype < e.insutype
      AND o.begndate <= %(first)s AND (o.enddate IS NULL OR o.enddate >= %(first)s))
GROUP BY 1, 2, 3, 4
"""
SIGNED_SOURCE = """
SELECT g.person_id, g.facility_id, '' AS dise FROM clearing_signing g
WHERE g.begndate <= %(first)s AND (g.enddate IS NULL OR g.enddate >= %(first)s) {scope}
"""
RECOGNISED_SOURCE = """
SELECT r.person_id, r.facility_id, d.opsp_dise_code AS dise FROM claims_recognition r
JOIN claims_disease d ON d.id = r.disease_id
WHERE r.status = %(approved)s AND r.begndate <= %(first)s AND (r.enddate IS NULL OR r.enddate >= %(first)s) {scope}
"""


def _enrollees(first: datetime.date, region: Region | None, facility: Facility | None,
               source: str, column: str) -> list[tuple]:
    """(facility id, disease code or '', region id, insutype, enrollees) of the signings or recognitions
    (`source`) valid on `first` in the scope: each person once, under the enrollment they settle under that day."""
    params = {"first": first, "approved": RecognitionStatus.APPROVED.value}
    scope = _scope(region, facility, params, column)
    with connection.cursor() as cursor:
        cursor.execute(ENROLLEES_SQL.format(source=source.format(scope=scope)), params)
        return cursor.fetchall()


def month_figures(*, month: datetime.date, facilities: dict[int, Facility], region: Region | None = None,
                  facility: Facility | None = None) -> dict[int, FacilityMonth]:
    """The month's figures of each facility of `facilities` (id → facility, the scope `region` or `facility` names,
    or every facility) that has any: one aggregate of the settlements and one count each of the enrollees signed
    and recognised. The grouped rows are few (facilities × versions × types × funds); the payment methods are
    applied to them here, nothing is read per settlement."""
    first, last = month_bounds(month)
    groups = [row for row in _month_groups(first, last, region, facility) if row[0] in facilities]

    in_force = _versions_in_force(first)
    signings = [row for row in _enrollees(first, region, facility, SIGNED_SOURCE, "g.facility_id")
                if row[0] in facilities]
    recognitions = [row for row in _enrollees(first, region, facility, RECOGNISED_SOURCE, "r.facility_id")
                    if row[0] in facilities]
    methods = Methods({row[1] for row in groups if row[1]} | set(in_force.values()))

    months: dict[int, FacilityMonth] = defaultdict(FacilityMonth)
    for (facility_id, version_id, med_type, ext_rx, dise_codg, insutype, signed, recognised, n, medfee, fund, sep,
         sep_n, sep_medfee, acct, cash) in groups:
        medfee, fund, sep, sep_medfee = _money(medfee), _money(fund), _money(sep), _money(sep_medfee)
        level = facility_level(facilities[facility_id])
        group = med_type_group(med_type, bool(ext_rx))
        dise = dise_codg if group == ClearingGroup.CHRONIC else ""
        way, _rate = methods.way(version_id, level, group, dise)
        if way == ClearingWay.CAPITATION and signed:
            key = (ClrWay.CAPITATION.value, group, "", insutype)
        elif way == ClearingWay.PER_DISEASE and recognised:
            key = (ClrWay.PER_DISEASE.value, group, dise, insutype)
        else:
            key = (ClrWay.ITEMISED.value, group, "", insutype)
        totals = months[facility_id]
        line = totals.lines[key]
        # A bill with separately paid drugs stands on two lines: its other lines here, those drugs on their own.
        line.medfee_sumamt += medfee - sep_medfee
        line.fund_pay_sumamt += fund - sep
        if key[0] == ClrWay.ITEMISED:
            line.count += n
            line.amount += fund - sep
        if sep_n:
            apart = totals.lines[(ClrWay.SEP_PAY.value, LineGroup.SEP_PAY.value, "", insutype)]
            apart.count += sep_n
            apart.medfee_sumamt += sep_medfee
            apart.fund_pay_sumamt += sep
            apart.amount += sep
        totals.settlements_count += n
        totals.medfee_sumamt += medfee
        totals.fund_pay_sumamt += fund
        totals.acct_pay += _money(acct)
        totals.cash_payamt += _money(cash)

    # Capitation and per disease pay for enrollees, whether or not they came: the rate of the version their
    # enrolment settles under (region and insurance type), for the facility's level, from that insurance's fund.
    for facility_id, _dise, region_id, insutype, n in signings:
        level = facility_level(facilities[facility_id])
        way, rate = methods.way(in_force.get((region_id, insutype)), level, ClearingGroup.GENERAL.value)
        if way == ClearingWay.CAPITATION:
            line = months[facility_id].lines[(ClrWay.CAPITATION.value, LineGroup.GENERAL.value, "", insutype)]
            line.count += n
            line.amount += rate * n
    for facility_id, dise, region_id, insutype, n in recognitions:
        level = facility_level(facilities[facility_id])
        way, rate = methods.way(in_force.get((region_id, insutype)), level, ClearingGroup.CHRONIC.value, dise)
        if way == ClearingWay.PER_DISEASE:
            line = months[facility_id].lines[(ClrWay.PER_DISEASE.value, LineGroup.CHRONIC.value, dise, insutype)]
            line.count += n
            line.amount += rate * n
    return months


def _event(statement: Statement, action: str, actor=None, detail: str = "") -> None:  # noqa: ANN001
    StatementEvent.objects.create(statement=statement, action=action, actor=actor, detail=detail)


LINE_FIELDS = ("statement_id", "clr_way", "med_type_group", "dise_code", "insutype", "count", "medfee_sumamt",
               "fund_pay_sumamt", "amount")


def _stored_lines(statement_ids: list[int]) -> dict[int, dict[LineKey, tuple]]:
    """The stored lines of some statements, keyed as `FacilityMonth.line_tuples`: one query."""
    stored: dict[int, dict[LineKey, tuple]] = defaultdict(dict)
    for pk, *key, count, medfee, fund, amount in StatementLine.objects.filter(
            statement_id__in=statement_ids).values_list(*LINE_FIELDS):
        stored[pk][tuple(key)] = (count, medfee, fund, amount)
    return stored


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


def statement_fund_parts(statement: Statement) -> dict[str, Decimal]:
    """What each fund (insurance type) of the statement's region owes the facility on it: that fund's lines less its
    deductions (the parts add up to the payable). Two aggregates."""
    parts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for insutype, total in statement.lines.values("insutype").annotate(t=Sum("amount")).values_list("insutype", "t"):
        parts[insutype] += total
    for insutype, total in (statement.deductions.values("insutype").annotate(t=Sum("amount"))
                            .values_list("insutype", "t")):
        parts[insutype] -= total
    return {insutype: fen(amount) for insutype, amount in sorted(parts.items())}


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
    an open statement (of this month or before) are put on it.

    Set-based whatever the size: the month's figures come from `month_figures`; the statements, their lines, the
    waiting deductions, the payables, the trail and the history are read and written in a fixed handful of
    statements (bulk inserts and updates), none per facility."""
    first, _last = month_bounds(month)
    scope = Facility.objects.all()
    if region is not None:
        scope = scope.filter(region=region)
    if facility is not None:
        scope = scope.filter(pk=facility.pk)
    facilities = {f.pk: f for f in scope.only("id", "fixmedins_code", "fixmedins_type", "hosp_lv")}
    in_scope = Q() if region is None and facility is None else Q(facility_id__in=list(facilities))
    existing = {s.facility_id: s for s in Statement.objects.select_for_update().filter(in_scope, month=first)}
    figures = month_figures(month=first, facilities=facilities, region=region, facility=facility)
    waiting = set(Deduction.objects.filter(in_scope, statement__isnull=True, month__lte=first)
                  .values_list("facility_id", flat=True).distinct())
    stored = _stored_lines([s.pk for s in existing.values() if s.status not in FROZEN_STATUSES])
    result = BuildResult()
    now = timezone.now()
    created: list[Statement] = []
    rebuilt: list[Statement] = []
    wanted_of: dict[int, dict[LineKey, tuple]] = {}
    back_to_draft: set[int] = set()
    for facility_id in sorted((set(figures) | set(existing) | waiting) & set(facilities)):
        statement = existing.get(facility_id)
        if statement is not None and statement.status in FROZEN_STATUSES:
            result.frozen += 1
            continue
        month_figs = figures.get(facility_id, FacilityMonth())
        wanted = month_figs.line_tuples()
        totals = _totals(month_figs)
        if statement is None:
            statement = Statement(facility_id=facility_id, month=first, built_at=now, **totals)
            created.append(statement)
        elif (stored.get(statement.pk, {}) == wanted and facility_id not in waiting
              and all(getattr(statement, k) == v for k, v in totals.items())):
            result.unchanged += 1
            continue
        else:
            for name, value in totals.items():
                setattr(statement, name, value)
            statement.built_at = now
            if statement.status == StatementStatus.REVIEWED:
                statement.status = StatementStatus.DRAFT
                statement.reviewed_by, statement.reviewed_at = None, None
                back_to_draft.add(facility_id)
            rebuilt.append(statement)
        wanted_of[facility_id] = wanted
    result.created, result.rebuilt = len(created), len(rebuilt)
    if not created and not rebuilt:
        return result
    Statement.objects.bulk_create(created, batch_size=1000)
    touched = created + rebuilt
    StatementLine.objects.filter(statement_id__in=[s.pk for s in rebuilt]).delete()
    StatementLine.objects.bulk_create([
        StatementLine(statement_id=statement.pk, clr_way=way, med_type_group=group, dise_code=dise,
                      insutype=insutype, count=count, medfee_sumamt=medfee, fund_pay_sumamt=fund, amount=amount)
        for statement in touched
        for (way, group, dise, insutype), (count, medfee, fund, amount) in sorted(
            wanted_of[statement.facility_id].items())], batch_size=2000)
    picking_up = [s.facility_id for s in touched if s.facility_id in waiting]
    if picking_up:
        Deduction.objects.filter(statement__isnull=True, month__lte=first, facility_id__in=picking_up).update(
            statement_id=Subquery(Statement.objects.filter(month=first, facility_id=OuterRef("facility_id"))
                                  .values("pk")[:1]))
    deducted = dict(Deduction.objects.filter(statement_id__in=[s.pk for s in touched]).values("statement_id")
                    .annotate(total=Sum("amount")).values_list("statement_id", "total").order_by())
    for statement in touched:
        statement.lines_amount = fen(sum((t[3] for t in wanted_of[statement.facility_id].values()), ZERO))
        statement.deducted = fen(deducted.get(statement.pk) or ZERO)
        statement.payable = statement.lines_amount - statement.deducted
    Statement.objects.bulk_update(touched, ["settlements_count", *TOTALS[1:], "lines_amount", "deducted", "payable",
                                            "status", "reviewed_by", "reviewed_at", "built_at"], batch_size=500)
    went_back = _("its figures changed after review: back to draft")
    StatementEvent.objects.bulk_create(
        [StatementEvent(statement=s, action=StatementAction.BUILT) for s in created]
        + [StatementEvent(statement=s, action=StatementAction.REBUILT,
                          detail=went_back if s.facility_id in back_to_draft else "") for s in rebuilt],
        batch_size=1000)
    # Bulk writes skip simple-history: record each statement's new state as the other steps do.
    if created:
        Statement.history.bulk_history_create(created, batch_size=1000)
    if rebuilt:
        Statement.history.bulk_history_create(rebuilt, update=True, batch_size=1000)
    return result


def _locked(statement: Statement) -> Statement:
    return Statement.objects.select_for_update().select_related("facility").get(pk=statement.pk)


def _check_current(statement: Statement) -> None:
    """Refuse to pass on a statement whose month's settlements changed since it was built."""
    figures = month_figures(month=statement.month, facilities={statement.facility_id: statement.facility},
                            facility=statement.facility)
    wanted = figures.get(statement.facility_id, FacilityMonth()).line_tuples()
    if _stored_lines([statement.pk]).get(statement.pk, {}) != wanted:
        raise ClearingError(ClearingError.STATEMENT_OUT_OF_DATE,
                            _("the settlements of %(month)s at %(facility)s changed since the statement was built: "
                              "run clearing for the month again and review it")
                            % {"month": f"{statement.month:%Y-%m}", "facility": statement.facility.fixmedins_code})


@transaction.atomic
def statement_review(*, statement: Statement, user) -> Statement:  # noqa: ANN001
    """Mark a draft statement reviewed by `user` (its figures must still be the month's)."""
    statement = _locked(statement)
    if statement.status != StatementStatus.DRAFT:
        raise ClearingError(ClearingError.STATEMENT_NOT_DRAFT,
                            _("only a draft statement can be reviewed; %(statement)s is %(status)s")
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
    month's. From now on it never changes; each fund of the region owes the facility its part (a ledger entry per
    fund). A fund's part below zero (the facility owes that fund back more than it is owed, e.g. after late
    reversals) is carried, explicitly: a `carried` deduction of that fund on the facility's next open statement,
    and a `carried` ledger entry that closes the part here, so the fund's books hold the balance once."""
    statement = _locked(statement)
    if statement.status != StatementStatus.REVIEWED:
        raise ClearingError(ClearingError.STATEMENT_NOT_REVIEWED,
                            _("only a reviewed statement can be approved; %(statement)s is %(status)s")
                            % {"statement": statement, "status": statement.get_status_display()})
    if statement.reviewed_by_id == user.pk:
        raise ClearingError(ClearingError.OWN_REVIEW,
                            _("you reviewed %(statement)s: another user must approve it") % {"statement": statement})
    _check_current(statement)
    statement.status = StatementStatus.APPROVED
    statement.approved_by, statement.approved_at = user, timezone.now()
    statement.save()
    entry = {"region_id": statement.facility.region_id, "facility_id": statement.facility_id,
             "statement": statement, "month": statement.month, "created_by": user}
    entries, carried = [], []
    for insutype, part in statement_fund_parts(statement).items():
        entries.append(FundLedgerEntry(kind=FundEntryKind.OWED, insutype=insutype, amount=part, **entry))
        if part < 0:
            entries.append(FundLedgerEntry(kind=FundEntryKind.CARRIED, insutype=insutype, amount=-part, **entry))
            carried.append(Deduction.objects.create(
                facility_id=statement.facility_id, month=statement.month, kind=DeductionKind.CARRIED,
                insutype=insutype, amount=-part, carried_from=statement, created_by=user,
                reason=_("the facility owes the %(fund)s fund %(amount)s on the approved %(month)s statement: "
                         "carried to its next statement")
                % {"fund": insutype, "amount": -part, "month": f"{statement.month:%Y-%m}"}))
    FundLedgerEntry.objects.bulk_create(entries)
    _event(statement, StatementAction.APPROVED, user)
    for deduction in carried:
        deduction_place(deduction)
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


def statement_status_shared(*, facility_id: int, month: datetime.date) -> str | None:
    """The status of the facility's statement of the month (None: there is none), its row share-locked until the
    transaction ends. A settlement's transaction reads it so: an approval (or review), which locks the row for update
    and then compares the month's settlements with the statement (`_check_current`), waits for this transaction and
    then sees its settlement (and refuses); a settlement arriving while an approval is under way waits for it and
    reads the statement approved. Settlements of one facility and month do not wait for each other (a share lock,
    not an update lock). With no statement there is no row to lock, as before: a statement built later counts the
    settlement, or its review and approval refuse to pass it. One hand-written statement: every settlement runs it
    (core.queries)."""
    with connection.cursor() as cursor:
        cursor.execute(_STATUS_SQL.format(table=Statement._meta.db_table, lock=for_share()),
                       [facility_id, connection.ops.adapt_datefield_value(month)])
        row = cursor.fetchone()
    return row[0] if row else None


_STATUS_SQL = "SELECT status FROM {table} WHERE facility_id = %s AND month = %s{lock}"


def statement_settlement_listener(settlement: Settlement, sign: int) -> None:
    """A settlement applied (+1) or reversed (−1) inside its transaction: when its month's statement is already
    approved, what that statement paid for it is carried to the facility's next open statement, as a deduction (a
    negative one for a settlement that arrived late). Other months' statements net it out when they are built."""
    first, _last = month_bounds(settlement.setl_date)
    if statement_status_shared(facility_id=settlement.facility_id, month=first) not in FROZEN_STATUSES:
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
                  "insutype": settlement.insutype or InsuType.EMPLOYEE.value,
                  "reason": reason % {"month": f"{first:%Y-%m}"}})
    if created:
        deduction_place(deduction)
