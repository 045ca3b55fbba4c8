"""Reads of clearing: a facility's statement, its answer for the partner API, the facility's applications beside
the system's figures, and the audit state of a month."""

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from claims.models import Facility
from clearing.models import ApplicationStatus, AuditRun, ClearingApplication, Statement
from core.money import ZERO, fen

COMPARED = (("medfee_sumamt", "medfee_sumamt"), ("fund_appy_sumamt", "fund_pay_sumamt"),
            ("acct_pay", "acct_pay"), ("cash_payamt", "cash_payamt"))


def statements_with_parts() -> QuerySet[Statement]:
    return Statement.objects.select_related("facility").prefetch_related("lines", "deductions__settlement")


def statement_of_facility(*, facility: Facility, month: datetime.date) -> Statement | None:
    return statements_with_parts().filter(facility=facility, month=month.replace(day=1)).first()


def application_comparison(statement: Statement) -> dict[str, Any]:
    """The facility's clearing applications (3203, not cancelled) of the statement's month, summed, beside the
    system's figures of the month and the difference (applied less the system's)."""
    sums = ClearingApplication.objects.filter(
        facility_id=statement.facility_id, month=statement.month, status=ApplicationStatus.APPLIED).aggregate(
        n=Count("id"), **{name: Sum(name) for name, _ in COMPARED})
    applied = {name: fen(sums[name] or ZERO) for name, _ in COMPARED}
    system = {name: getattr(statement, ours) for name, ours in COMPARED}
    return {"applications": sums["n"], "applied": applied, "system": system,
            "difference": {name: applied[name] - system[name] for name, _ in COMPARED}}


def audit_state(first: datetime.date, last: datetime.date) -> tuple[str, int, int]:
    """The re-adjudication audit of the days from `first` to `last`: `differences` when any audit of them found
    one, `clean` when audits checked some and found none, `not_audited` otherwise; with the counts."""
    totals = AuditRun.objects.filter(first_day__lte=last, last_day__gte=first, finished_at__isnull=False).aggregate(
        checked=Sum("checked"), differences=Sum("differences"))
    checked, differences = totals["checked"] or 0, totals["differences"] or 0
    state = "differences" if differences else ("clean" if checked else "not_audited")
    return state, checked, differences


def statement_audit_state(statement: Statement) -> str:
    from clearing.statements import month_bounds

    return audit_state(*month_bounds(statement.month))[0]


def answer_lines(statement: Statement) -> list[dict[str, Any]]:
    """The statement's lines as CONTRACT.md names them: one per `clr_way`, `med_type_group` (and disease), the
    funds' lines of one kind added up (the funds are the agency's books, not the facility's)."""
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for line in statement.lines.all():
        key = (line.clr_way, line.med_type_group, line.dise_code)
        if key not in merged:
            merged[key] = {"clr_way": line.clr_way, "med_type_group": line.med_type_group,
                           "dise_code": line.dise_code, "count": 0, "medfee_sumamt": ZERO, "fund_pay_sumamt": ZERO,
                           "amount": ZERO}
        for name in ("count", "medfee_sumamt", "fund_pay_sumamt", "amount"):
            merged[key][name] += getattr(line, name)
    return [merged[key] for key in sorted(merged)]


def statement_answer(statement: Statement) -> dict[str, Any]:
    """The partner API's statement (CONTRACT.md), with the audit state and the applications beside it."""
    return {
        "month": f"{statement.month:%Y-%m}", "fixmedins_code": statement.facility.fixmedins_code,
        "status": statement.status,
        "lines": answer_lines(statement),
        "deductions": [{"setl_id": d.settlement.setl_id if d.settlement_id else None, "month": f"{d.month:%Y-%m}",
                        "kind": d.kind, "amount": d.amount, "reason": d.reason}
                       for d in statement.deductions.all()],
        "payable": statement.payable,
        "audit": statement_audit_state(statement),
        "application": application_comparison(statement),
    }


def fund_balance(*, region_id: int | None = None, insutype: str | None = None) -> Decimal:
    """What the funds (of a region, of an insurance type) owe facilities now: owed plus carried less paid over the
    fund ledger."""
    from clearing.models import FundEntryKind, FundLedgerEntry

    entries = FundLedgerEntry.objects.all()
    if region_id is not None:
        entries = entries.filter(region_id=region_id)
    if insutype is not None:
        entries = entries.filter(insutype=insutype)
    sums = entries.aggregate(owed=Sum("amount", filter=Q(kind__in=[FundEntryKind.OWED, FundEntryKind.CARRIED])),
                             paid=Sum("amount", filter=Q(kind=FundEntryKind.PAID)))
    return (sums["owed"] or ZERO) - (sums["paid"] or ZERO)
