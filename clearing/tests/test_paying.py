"""Paying: the payment file of a region and month (CSV with a BOM and XLSX, the same rows), statements marked paid,
the fund ledger balancing against the statements, and the report per fund and facility."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.roles import roles_sync
from clearing.errors import ClearingError
from clearing.models import BankAccount, Statement, StatementEvent
from clearing.paying import fund_ledger_check, payment_csv, payment_file_create, payment_xlsx
from clearing.selectors import fund_balance
from clearing.statements import statement_approve, statement_review, statements_build
from clearing.tests.test_statements import MARCH, month  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def approved(month) -> Statement:  # noqa: F811
    statements_build(month=MARCH)
    statement = Statement.objects.get(month=MARCH)
    statement_review(statement=statement, user=month["users"]["maker"])
    return statement_approve(statement=statement, user=month["users"]["checker"])


def test_a_payment_file_pays_the_approved_statements_and_the_ledger_balances(month):  # noqa: F811
    statements_build(month=MARCH)
    with pytest.raises(ClearingError, match="no approved statement") as refused:
        payment_file_create(region=month["region"], month=MARCH, user=month["users"]["maker"])
    assert refused.value.err_code == "NOTHING_TO_PAY"
    approved(month)
    with pytest.raises(ClearingError, match="no bank account for HJN1") as refused:
        payment_file_create(region=month["region"], month=MARCH, user=month["users"]["maker"])
    assert refused.value.err_code == "NO_BANK_ACCOUNT"
    BankAccount.objects.create(facility=month["facility"], bank_name="中国工商银行济南分行", account_name="医院",
                               account_no="0012345678901234")
    assert fund_balance() == Decimal("884.00") and fund_ledger_check() == []
    payment = payment_file_create(region=month["region"], month=MARCH, user=month["users"]["maker"])
    assert (payment.reference, payment.statements_count, payment.total) == ("PAY370100202503-01", 1,
                                                                            Decimal("884.00"))
    statement = Statement.objects.get(month=MARCH)
    assert (statement.status, statement.payment_file) == ("paid", payment)
    assert StatementEvent.objects.filter(statement=statement, action="paid").get().detail == payment.reference
    assert statement.history.first().status == "paid"
    # Owed 884.00, paid 884.00: nothing outstanding, and the ledger matches the statements.
    assert fund_balance() == Decimal("0.00") and fund_ledger_check() == []

    content = payment_csv(payment).decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    # One row per statement and fund: the employee fund (310) pays all of March's 884.00, nothing carried.
    assert rows == [["fixmedins_code", "fixmedins_name", "insutype", "bank_name", "account_name", "account_no",
                     "amount", "carried", "statement_ref", "month"],
                    ["HJN1", month["facility"].fixmedins_name, "310", "中国工商银行济南分行", "医院",
                     "0012345678901234", "884.00", "0.00", "CLR202503-HJN1", "2025-03"]]
    sheet = load_workbook(io.BytesIO(payment_xlsx(payment))).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    # The amounts are number cells formatted 0.00; everything else the same text as the CSV.
    assert Decimal(str(cells[1][6])) == Decimal("884.00") and sheet.cell(row=2, column=7).number_format == "0.00"
    assert Decimal(str(cells[1][7])) == Decimal("0.00") and sheet.cell(row=2, column=8).number_format == "0.00"
    assert [[str(v) for i, v in enumerate(row) if i not in (6, 7)] for row in cells] == [
        [v for i, v in enumerate(row) if i not in (6, 7)] for row in rows]
    # Paid statements are not paid twice.
    with pytest.raises(ClearingError, match="no approved statement") as refused:
        payment_file_create(region=month["region"], month=MARCH, user=month["users"]["maker"])
    assert refused.value.err_code == "NOTHING_TO_PAY"


def test_the_admin_makes_and_serves_the_file_and_the_report(month):  # noqa: F811
    roles_sync()
    approved(month)
    BankAccount.objects.create(facility=month["facility"], bank_name="bank", account_name="name",
                               account_no="12345678")
    user = User.objects.create_user("payer", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="clearing_officer"))
    client = Client()
    client.force_login(user)
    response = client.post(reverse("admin:clearing_paymentfile_make"),
                           {"region": month["region"].pk, "month": "2025-03"})
    assert response.status_code == 302
    payment = Statement.objects.get().payment_file
    csv_file = client.get(reverse("admin:clearing_paymentfile_download", args=[payment.pk, "csv"]))
    assert csv_file["Content-Disposition"] == 'attachment; filename="PAY370100202503-01.csv"'
    assert "884.00" in csv_file.content.decode("utf-8")
    report = client.get(reverse("admin:clearing_clearingreport_changelist"),
                        {"month_from": "2025-03", "month_to": "2025-03"})
    assert report.status_code == 200 and "884.00" in report.content.decode()
    exported = client.get(reverse("admin:clearing_clearingreport_changelist"),
                          {"month_from": "2025-03", "month_to": "2025-03", "format": "csv"})
    assert "2025-03,370100,310,HJN1" in exported.content.decode("utf-8")
