"""`import_csv contributions` and `import_csv balances` (CONTRACT.md "Import kinds")."""

import datetime
from decimal import Decimal

import pytest

from accounts.credits import credits_run_month
from accounts.ledger import ledger_verify
from accounts.models import Contribution, LedgerEntry, PersonalAccount
from accounts.tests.conftest import contribution, enrollee
from accounts.tests.factories import PersonFactory
from core.tests.test_imports_common import expect_rejected, run_import, write_csv

pytestmark = pytest.mark.django_db
D = datetime.date


def test_contributions_import_then_credit(seeded, tmp_path):
    e = enrollee(seeded["310000"], brdy=D(1980, 1, 1))
    e.person.psn_no = "P310001"
    e.person.save()
    rows = [{"psn_no": "P310001", "period": "2024-03", "clct_base": "8000.00", "psn_clct_amt": "160.00",
             "emp_clct_amt": "800.00"},
            {"psn_no": "P310001", "period": "2024-04", "clct_base": "8500", "psn_clct_amt": "170",
             "emp_clct_amt": "850"}]
    path = write_csv(tmp_path / "c.csv", "contributions", rows)
    assert run_import("contributions", path) == (0, ["contributions: created 2, updated 0, unchanged 0"])
    assert run_import("contributions", path) == (0, ["contributions: created 0, updated 0, unchanged 2"])
    credits_run_month(month=D(2024, 3, 1), admdvs="310000")
    # 8,000 × 2% = 160.00 from the imported March contribution.
    assert LedgerEntry.objects.get().amount == Decimal("160.00")

    rows[0]["clct_base"] = "9000.00"  # March has been credited: refused
    rows[1]["clct_base"] = "9000.00"  # April has not: updated
    write_csv(path, "contributions", rows)
    expect_rejected("contributions", path, [
        "row 2, column clct_base: the credit for 2024-03 has been made from this contribution; it cannot change "
        "(post a correction instead)"])
    write_csv(path, "contributions", rows[1:])
    assert run_import("contributions", path) == (0, ["contributions: created 0, updated 1, unchanged 0"])
    assert Contribution.objects.get(period=D(2024, 4, 1)).clct_base == Decimal("9000.00")


def test_bad_contributions(seeded, tmp_path):
    PersonFactory(psn_no="P1")
    rows = [{"psn_no": "P9", "period": "2024-13", "clct_base": "-1", "psn_clct_amt": "x", "emp_clct_amt": "1"},
            {"psn_no": "P1", "period": "2024-01", "clct_base": "1", "psn_clct_amt": "1", "emp_clct_amt": "1"},
            {"psn_no": "P1", "period": "2024-01", "clct_base": "1", "psn_clct_amt": "1", "emp_clct_amt": "1"}]
    expect_rejected("contributions", write_csv(tmp_path / "c.csv", "contributions", rows), [
        "row 2, column psn_no: no person has the number P9",
        "row 2, column period: a period is a month in the form YYYY-MM",
        "row 2, column clct_base: -1 is less than 0",
        'row 2, column psn_clct_amt: "x" is not a number with at most 2 decimal places',
        "row 4, column period: psn_no P1, period 2024-01 is already in row 3 of this file",
    ])
    assert not Contribution.objects.exists()


def test_balances_opening_then_a_changed_reimport_is_refused(seeded, tmp_path):
    sh = enrollee(seeded["310000"], brdy=D(1980, 1, 1))
    jn = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    rows = [{"psn_no": sh.person.psn_no, "pocket": "current", "amount": "300.00", "as_of": "2024-06-30"},
            {"psn_no": sh.person.psn_no, "pocket": "historical", "amount": "1200.50", "as_of": "2024-06-30"},
            {"psn_no": jn.person.psn_no, "pocket": "historical", "amount": "88.80", "as_of": "2024-06-30"}]
    path = write_csv(tmp_path / "b.csv", "balances", rows)
    assert run_import("balances", path, dry_run=True) == (
        0, ["balances: created 3, updated 0, unchanged 0 (dry run, nothing written)"])
    assert not LedgerEntry.objects.exists()
    assert run_import("balances", path) == (0, ["balances: created 3, updated 0, unchanged 0"])
    assert run_import("balances", path) == (0, ["balances: created 0, updated 0, unchanged 3"])
    account = PersonalAccount.objects.get(person=sh.person)
    assert (account.balc_current, account.balc_historical) == (Decimal("300.00"), Decimal("1200.50"))

    # The former system corrected it to 1,000.00: the opening balance is set, so the operator's re-import is
    # refused (the dry run already says so) and the change goes through account adjustments, two people.
    rows[1]["amount"] = "1000.00"
    write_csv(path, "balances", rows)
    refusal = (f"row 3, column amount: the historical pocket of {sh.person.psn_no} has its opening balance 1200.50 "
               "already: an opening balance is set once; a change is a correction, asked for under account "
               "adjustments and approved by a second person")
    assert run_import("balances", path, dry_run=True) == (1, [refusal])
    assert run_import("balances", path) == (1, [refusal])
    account.refresh_from_db()
    assert account.balc_historical == Decimal("1200.50") and LedgerEntry.objects.count() == 3
    assert ledger_verify() == []


def test_bad_balances(seeded, tmp_path):
    jn = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    uninsured = PersonFactory(psn_no="P77")
    rows = [{"psn_no": jn.person.psn_no, "pocket": "current", "amount": "10", "as_of": "2024-06-30"},
            {"psn_no": "P77", "pocket": "historical", "amount": "10", "as_of": "2024-06-30"},
            {"psn_no": jn.person.psn_no, "pocket": "cash", "amount": "-5", "as_of": "30/06/2024"}]
    expect_rejected("balances", write_csv(tmp_path / "b.csv", "balances", rows), [
        "row 2, column pocket: the policy of region 370100 keeps one pocket: use historical",
        f"row 3, column psn_no: {uninsured.psn_no} has no employee insurance, so no personal account",
        'row 4, column pocket: "cash" is not one of current, historical',
        "row 4, column amount: -5 is less than 0",
        'row 4, column as_of: "30/06/2024" is not a date in the form YYYY-MM-DD',
    ])
    assert not LedgerEntry.objects.exists() and not PersonalAccount.objects.exists()


def test_a_balance_of_an_account_that_spent_is_refused(seeded, tmp_path):
    e = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    rows = [{"psn_no": e.person.psn_no, "pocket": "historical", "amount": "100.00", "as_of": "2024-06-30"}]
    path = write_csv(tmp_path / "b.csv", "balances", rows)
    run_import("balances", path)
    from accounts.ledger import account_correct

    account_correct(person=e.person, pocket="historical", amount=Decimal("-80.00"), reason="spent")
    rows[0]["amount"] = "50.00"  # the account is live now (it spent): no opening balance touches it
    write_csv(path, "balances", rows)
    code, lines = run_import("balances", path)
    assert code == 1 and "no opening balance for a live account" in lines[0]
    assert PersonalAccount.objects.get(person=e.person).balc_historical == Decimal("20.00")


def test_contribution_helper_matches_the_import(seeded):
    e = enrollee(seeded["310000"], brdy=D(1980, 1, 1))
    assert contribution(e, "2024-01", "100.00").period == D(2024, 1, 1)
