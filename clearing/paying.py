"""Paying facilities: a payment file per region and month of the approved statements (CSV with a BOM and XLSX, the
same header row), which marks them paid and writes the fund ledger's `paid` entries in the same transaction; and the
report of what was cleared, deducted and paid per fund (region) and facility by month."""

import csv
import datetime
import io
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from clearing.models import (
    BankAccount,
    FundEntryKind,
    FundLedgerEntry,
    PaymentFile,
    Statement,
    StatementAction,
    StatementEvent,
    StatementStatus,
)
from clearing.statements import ClearingError
from core.money import ZERO
from policies.models import Region

PAYMENT_COLUMNS = ["fixmedins_code", "fixmedins_name", "bank_name", "account_name", "account_no", "amount",
                   "statement_ref", "month"]


@transaction.atomic
def payment_file_create(*, region: Region, month: datetime.date, user) -> PaymentFile:  # noqa: ANN001
    """Pay the region's approved statements of the month with a payable above zero: one file, the statements
    marked paid with it, and a `paid` fund ledger entry each. Refused when there is none, or when a facility to
    pay has no bank account. A statement with a payable of zero or less stays approved (nothing to send; a negative
    payable is recovered by the agency, not paid)."""
    first = month.replace(day=1)
    statements = list(Statement.objects.select_for_update().select_related("facility")
                      .filter(facility__region=region, month=first, status=StatementStatus.APPROVED, payable__gt=0)
                      .order_by("pk"))
    if not statements:
        raise ClearingError(_("%(region)s has no approved statement of %(month)s to pay")
                            % {"region": region.admdvs, "month": f"{first:%Y-%m}"})
    banked = set(BankAccount.objects.filter(facility_id__in=[s.facility_id for s in statements])
                 .values_list("facility_id", flat=True))
    unbanked = sorted(s.facility.fixmedins_code for s in statements if s.facility_id not in banked)
    if unbanked:
        raise ClearingError(_("no bank account for %(codes)s: enter it on the facility first")
                            % {"codes": ", ".join(unbanked)})
    number = PaymentFile.objects.filter(region=region, month=first).count() + 1
    payment = PaymentFile.objects.create(
        region=region, month=first, reference=f"PAY{region.admdvs}{first:%Y%m}-{number:02d}",
        statements_count=len(statements), total=sum((s.payable for s in statements), ZERO), created_by=user)
    now = timezone.now()
    Statement.objects.filter(pk__in=[s.pk for s in statements]).update(
        status=StatementStatus.PAID, payment_file=payment, paid_at=now)
    FundLedgerEntry.objects.bulk_create([
        FundLedgerEntry(region=region, facility_id=s.facility_id, statement=s, month=first, kind=FundEntryKind.PAID,
                        amount=s.payable, created_by=user) for s in statements])
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
    """The payment file's rows (PAYMENT_COLUMNS), by facility code."""
    statements = (payment.statements.select_related("facility__bank_account").order_by("facility__fixmedins_code"))
    return [[s.facility.fixmedins_code, s.facility.fixmedins_name, s.facility.bank_account.bank_name,
             s.facility.bank_account.account_name, s.facility.bank_account.account_no, s.payable, s.reference,
             f"{s.month:%Y-%m}"] for s in statements]


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
    amount_col = PAYMENT_COLUMNS.index("amount") + 1
    for number, row in enumerate(payment_rows(payment), start=2):
        sheet.append(row)
        sheet.cell(row=number, column=amount_col).number_format = "0.00"
        # Account numbers stay text: a spreadsheet must not round them as numbers.
        sheet.cell(row=number, column=PAYMENT_COLUMNS.index("account_no") + 1).number_format = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def fund_positions(*, first: datetime.date, last: datetime.date, admdvs: str = "") -> list[dict]:
    """Per month, fund (region) and facility: what its statements cleared (lines), deducted and made payable, what
    the fund came to owe (approved) and what it paid; one aggregate."""
    statements = Statement.objects.filter(month__range=(first, last))
    if admdvs:
        statements = statements.filter(facility__region__admdvs=admdvs)
    frozen = Q(status__in=[StatementStatus.APPROVED, StatementStatus.PAID])
    paid = Q(status=StatementStatus.PAID)
    return list(statements.values("month", "facility__region__admdvs", "facility__fixmedins_code",
                                  "facility__fixmedins_name")
                .annotate(cleared=Sum("lines_amount"), deducted_sum=Sum("deducted"), payable_sum=Sum("payable"),
                          owed=Sum("payable", filter=frozen), paid=Sum("payable", filter=paid))
                .order_by("month", "facility__region__admdvs", "facility__fixmedins_code"))


def fund_ledger_check() -> list[str]:
    """The fund ledger against the statements: every approved or paid statement owes its payable once, every paid
    one was paid it once, nothing else. Returns the differences (none: the books balance)."""
    problems = []
    owed = dict(FundLedgerEntry.objects.filter(kind=FundEntryKind.OWED).values_list("statement_id", "amount"))
    paid = dict(FundLedgerEntry.objects.filter(kind=FundEntryKind.PAID).values_list("statement_id", "amount"))
    for pk, status, payable in Statement.objects.values_list("pk", "status", "payable"):
        want_owed = payable if status in (StatementStatus.APPROVED, StatementStatus.PAID) else None
        want_paid = payable if status == StatementStatus.PAID else None
        if owed.pop(pk, None) != want_owed or paid.pop(pk, None) != want_paid:
            problems.append(f"statement {pk} ({status}, {payable}): ledger differs")
    problems += [f"ledger entry for unknown statement {pk}" for pk in (*owed, *paid)]
    return problems
