"""The admin's exports of settlements, ledger entries and accounts: CSV with a byte-order mark or XLSX, ID numbers
masked unless the user may see them whole, figures of the hand-computed book (reports/tests/conftest.py)."""

import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.exports import AccountExportResource, LedgerEntryExportResource
from accounts.models import LedgerEntry, PersonalAccount
from claims.exports import SettlementExportResource
from claims.models import Settlement
from core.certno import certno_mask
from core.exports import BOM
from reports.tests.conftest import user_in

pytestmark = pytest.mark.django_db


def _export(client: Client, model: str, resource: type, fmt: int = 0, query: str = "") -> bytes:
    """POST the admin's export form for every field of `resource` (format 0: CSV, 1: XLSX)."""
    url = reverse(f"admin:{model}_export") + query
    data = {"format": str(fmt), "resource": "0"}
    for name in resource().get_export_order():
        data[f"{resource.__name__.lower()}_{name}"] = "on"
    response = client.post(url, data)
    assert response.status_code == 200, response.content[:300]
    return response.content


def test_settlements_are_exported_with_the_id_masked_for_a_reader(book: dict) -> None:
    reader = Client()
    reader.force_login(user_in("read_only", "reader"))
    content = _export(reader, "claims_settlement", SettlementExportResource).decode("utf-8")
    assert content.startswith(BOM)
    lines = content[len(BOM):].splitlines()
    assert len(lines) == 1 + Settlement.objects.count()
    d = Settlement.objects.select_related("person").get(setl_id=book["d"]["setl_id"])
    (row,) = [line for line in lines if line.startswith(d.setl_id)]
    assert certno_mask(d.person.certno) in row and d.person.certno not in content
    # d: 1,000.00 billed, pooled fund 350.00, cash 650.00 (reports/tests/conftest.py).
    assert ",1000.00," in row and ",350.00," in row and row.endswith(",650.00")


def test_an_auditor_exports_settlements_with_whole_id_numbers_as_xlsx(book: dict) -> None:
    auditor = Client()
    auditor.force_login(user_in("settlement_auditor", "auditor"))
    assert User.objects.get(username="auditor").has_perm("accounts.view_full_certno")  # accounts/roles.py
    sheet = load_workbook(io.BytesIO(_export(auditor, "claims_settlement", SettlementExportResource, fmt=1))).active
    d = Settlement.objects.select_related("person").get(setl_id=book["d"]["setl_id"])
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[d.setl_id][6] == d.person.certno


def test_ledger_entries_and_accounts_are_exported_masked(book: dict) -> None:
    reader = Client()
    reader.force_login(user_in("read_only", "reader"))
    p1 = book["persons"]["p1"]
    content = _export(reader, "accounts_ledgerentry", LedgerEntryExportResource).decode("utf-8")
    lines = content[len(BOM):].splitlines()
    assert len(lines) == 1 + LedgerEntry.objects.count()
    assert p1.certno not in content and certno_mask(p1.certno) in content
    # p1's March 2025 credit: 2% of 10,000.00 = 200.00 (reports/tests/conftest.py).
    assert any(p1.psn_no in line and ",200.00,200.00," in line for line in lines)
    content = _export(reader, "accounts_personalaccount", AccountExportResource).decode("utf-8")
    lines = content[len(BOM):].splitlines()
    assert len(lines) == 1 + PersonalAccount.objects.count()
    (row,) = [line for line in lines if line.startswith(p1.psn_no)]
    # Jinan keeps one pocket: the credit went to the historical pocket.
    assert certno_mask(p1.certno) in row and ",0.00,200.00," in row
