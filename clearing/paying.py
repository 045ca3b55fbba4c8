"""Paying facilities: a payment file per region and month of the approved statements (CSV with a BOM and XLSX, the
same header row), a row per statement and fund, which marks them paid and writes the fund ledger's `paid` entries in
the same transaction; and the report of what was cleared, deducted and paid per fund (region and insurance type)
and facility by month."""

import csv
import datetime
import io
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from clearing.errors import ClearingError
from clearing.models import (
    BankAccount,
    Deduction,
    DeductionKind,
    FundEntryKind,
    FundLedgerEntry,
    PaymentFile,
    Statement,
    StatementAction,
    StatementEvent,
    StatementLine,
    StatementStatus,
)
from core.money import ZERO, fen
from policies.models import Region

PAYMENT_COLUMNS = ["fixmedins_code", "fixmedins_name", "insutype", "bank_name", "account_name", "account_no",
                   "amount", "carried", "statement_ref", "month"]


def fund_parts_of(statement_ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """statement id → fund (insurance type) → that fund's part of the payable (its lines less its deductions), for
    many statements in two aggregates (`statement_fund_parts` for one)."""
    parts: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for pk, insutype, total in (StatementLine.objects.filter(statement_id__in=statement_ids)
                                .values("statement_id", "insutype").annotate(t=Sum("amount"))
                                .values_list("statement_id", "insutype", "t").order_by()):
        parts[pk][insutype] += total
    for pk, insutype, total in (Deduction.objects.filter(statement_id__in=statement_ids)
                                .values("statement_id", "insutype").annotate(t=Sum("amount"))
                                .values_list("statement_id", "insutype", "t").order_by()):
        parts[pk][insutype] -= total
    return {pk: {insutype: fen(amount) for insutype, amount in sorted(funds.items())}
            for pk, funds in parts.items()}


@transaction.atomic
def payment_file_create(*, region: Region, month: datetime.date, user) -> PaymentFile:  # noqa: ANN001
    """Pay the region's approved statements of the month: one file, every such statement marked paid with it.

    Each fund (insurance type: employee 310, resident 390) pays its own part from its own books: the file has a row
    per statement and fund, and a `paid` fund ledger entry per part above zero. A part at or below zero is paid
    0.00 and its row shows, in `carried`, the balance the approval carried to the facility's next statement (a
    `carried` deduction), so nothing is left out unseen. Refused when there is no approved statement, or when a
    facility to be paid has no bank account."""
    first = month.replace(day=1)
    statements = list(Statement.objects.select_for_update().select_related("facility")
                      .filter(facility__region=region, month=first, status=StatementStatus.APPROVED)
                      .order_by("pk"))
    if not statements:
        raise ClearingError(ClearingError.NOTHING_TO_PAY,
                            _("%(region)s has no approved statement of %(month)s to pay")
                            % {"region": region.admdvs, "month": f"{first:%Y-%m}"})
    parts = fund_parts_of([s.pk for s in statements])
    to_pay = [(s, insutype, part) for s in statements for insutype, part in parts.get(s.pk, {}).items() if part > 0]
    banked = set(BankAccount.objects.filter(facility_id__in={s.facility_id for s, _i, _p in to_pay})
                 .values_list("facility_id", flat=True))
    unbanked = sorted({s.facility.fixmedins_code for s, _i, _p in to_pay if s.facility_id not in banked})
    if unbanked:
        raise ClearingError(ClearingError.NO_BANK_ACCOUNT,
                            _("no bank account for %(codes)s: enter it on the facility first")
                            % {"codes": ", ".join(unbanked)})
    number = PaymentFile.objects.filter(region=region, month=first).count() + 1
    payment = PaymentFile.objects.create(
        region=region, month=first, reference=f"PAY{region.admdvs}{first:%Y%m}-{number:02d}",
        statements_count=len(statements), total=sum((part for _s, _i, part in to_pay), ZERO),
        carried_total=sum((-part for funds in parts.values() for part in funds.values() if part < 0), ZERO),
        created_by=user)
    now = timezone.now()
    Statement.objects.filter(pk__in=[s.pk for s in statements]).update(
        status=StatementStatus.PAID, payment_file=payment, paid_at=now)
    FundLedgerEntry.objects.bulk_create([
        FundLedgerEntry(region=region, insutype=insutype, facility_id=s.facility_id, statement=s, month=first,
                        kind=FundEntryKind.PAID, amount=part, created_by=user) for s, insutype, part in to_pay])
    StatementEvent.objects.bulk_create([
        StatementEvent(statement=s, action=StatementAction.PAID, actor=user, detail=payment.reference)
        for s in statements])
    # update() skips simple-history: record the paid state of each statement as the other steps do.
    for statement in statements:
        statement.status, statement.payment_file, statement.paid_at = StatementStatus.PAID, payment, now
    Statement.history.bulk_history_create(statements, update=True, default_user=user,
                                          default_change_reason=payment.reference)
    return payment


def payment_rows(payment: PaymentFile) -> list[list]:
    """The payment file's rows (PAYMENT_COLUMNS), by facility code and fund: `amount` what the fund pays (a part
    above zero), `carried` a part below zero carried to the facility's next statement (0.00 otherwise)."""
    statements = list(payment.statements.select_related("facility").order_by("facility__fixmedins_code"))
    banks = {b.facility_id: b for b in BankAccount.objects.filter(facility_id__in=[s.facility_id for s in statements])}
    parts = fund_parts_of([s.pk for s in statements])
    rows = []
    for s in statements:
        bank = banks.get(s.facility_id)
        for insutype, part in parts.get(s.pk, {}).items():
            rows.append([s.facility.fixmedins_code, s.facility.fixmedins_name, insutype,
                         bank.bank_name if bank else "", bank.account_name if bank else "",
                         bank.account_no if bank else "", max(part, ZERO), min(part, ZERO), s.reference,
                         f"{s.month:%Y-%m}"])
    return rows


def payment_csv(payment: PaymentFile) -> bytes:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(PAYMENT_COLUMNS)
    for row in payment_rows(payment):
        writer.writerow([f"{v:.2f}" if isinstance(v, Decimal) else v for v in row])
    return buffer.getvalue().encode("utf-8")


def payment_xlsx(payment: PaymentFile) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = payment.reference[:31]
    sheet.append(PAYMENT_COLUMNS)
    for number, row in enumerate(payment_rows(payment), start=2):
        sheet.append(row)
        for name in ("amount", "carried"):
            sheet.cell(row=number, column=PAYMENT_COLUMNS.index(name) + 1).number_format = "0.00"
        # Account numbers stay text: a spreadsheet must not round them as numbers.
        sheet.cell(row=number, column=PAYMENT_COLUMNS.index("account_no") + 1).number_format = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def fund_positions(*, first: datetime.date, last: datetime.date, admdvs: str = "") -> list[dict]:
    """Per month, fund (region and insurance type) and facility: what its statements cleared (lines), deducted and
    made payable, what the fund came to owe (approved), carried and paid; three aggregates (lines, deductions, the
    fund ledger)."""
    scope = Q(statement__month__range=(first, last))
    if admdvs:
        scope &= Q(statement__facility__region__admdvs=admdvs)
    keys = ("statement__month", "statement__facility__region__admdvs", "insutype",
            "statement__facility__fixmedins_code", "statement__facility__fixmedins_name")
    rows: dict[tuple, dict] = {}

    def row(key: tuple) -> dict:
        return rows.setdefault(key, {"month": key[0], "admdvs": key[1], "insutype": key[2],
                                     "fixmedins_code": key[3], "fixmedins_name": key[4],
                                     **{name: ZERO for name in ("cleared", "deducted", "owed", "carried", "paid")}})

    for *key, total in StatementLine.objects.filter(scope).values(*keys).annotate(t=Sum("amount")).values_list(
            *keys, "t").order_by():
        row(tuple(key))["cleared"] += total
    for *key, total in Deduction.objects.filter(scope).values(*keys).annotate(t=Sum("amount")).values_list(
            *keys, "t").order_by():
        row(tuple(key))["deducted"] += total
    for *key, kind, total in (FundLedgerEntry.objects.filter(scope).values(*keys, "kind").annotate(t=Sum("amount"))
                              .values_list(*keys, "kind", "t").order_by()):
        row(tuple(key))[kind] += total
    for value in rows.values():
        value["payable"] = value["cleared"] - value["deducted"]
    return [rows[key] for key in sorted(rows)]


def fund_ledger_check() -> list[str]:
    """The fund ledger against the statements, per fund: every approved or paid statement owes each fund its part
    once; a part below zero is carried once (and a `carried` deduction of that fund exists for it); every part above
    zero of a paid statement was paid once; nothing else. Returns the differences (none: the books balance)."""
    problems = []
    entries: dict[tuple[int, str, str], Decimal] = {}
    for pk, kind, insutype, amount in FundLedgerEntry.objects.values_list("statement_id", "kind", "insutype",
                                                                          "amount"):
        entries[(pk, kind, insutype)] = entries.get((pk, kind, insutype), ZERO) + amount
    carried = {(pk, insutype): amount for pk, insutype, amount in Deduction.objects.filter(
        kind=DeductionKind.CARRIED).values_list("carried_from_id", "insutype", "amount")}
    frozen = list(Statement.objects.filter(status__in=[StatementStatus.APPROVED, StatementStatus.PAID])
                  .values_list("pk", "status", "payable"))
    parts = fund_parts_of([pk for pk, _s, _p in frozen])
    for pk, status, payable in frozen:
        funds = parts.get(pk, {})
        if sum(funds.values(), ZERO) != payable:
            problems.append(f"statement {pk}: the funds' parts do not add up to its payable {payable}")
        for insutype, part in funds.items():
            wanted = {FundEntryKind.OWED: part}
            if part < 0:
                wanted[FundEntryKind.CARRIED] = -part
                if carried.get((pk, insutype)) != -part:
                    problems.append(f"statement {pk} fund {insutype}: {part} not carried to a next statement")
            if part > 0 and status == StatementStatus.PAID:
                wanted[FundEntryKind.PAID] = part
            for kind in FundEntryKind.values:
                if entries.pop((pk, kind, insutype), None) != wanted.get(kind):
                    problems.append(f"statement {pk} ({status}) fund {insutype} {kind}: ledger differs")
    problems += [f"ledger entry {kind} {insutype} of statement {pk}, which is not approved or has no such part"
                 for pk, kind, insutype in entries]
    return problems
