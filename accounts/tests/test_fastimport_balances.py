"""The set-based writer of `balances` (core.imports.writers.BalanceWriter): opening entries and corrections with
running balances, accounts opened and locked, no pocket below zero, the same answers as the row-by-row path
(`ledger_post` per row) it replaced, in a number of queries that does not grow with the file."""

import csv
import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.ledger import account_correct, ledger_verify
from accounts.models import Enrollment, LedgerEntry, PersonalAccount
from accounts.tests.conftest import enrollee
from core.imports import import_file
from core.tests.test_imports_common import import_both_ways, run_import, write_csv

pytestmark = pytest.mark.django_db
D = datetime.date
AS_OF = "2024-06-30"
OPENING = "opening balance from the former system"


@pytest.fixture
def people(seeded) -> dict[str, Enrollment]:
    """a, c and d in Shanghai (two pockets), b in Jinan (one); d's account already holds 50.00 (a staff entry)."""
    sh, jn = seeded["310000"], seeded["370100"]
    found = {"a": enrollee(sh, brdy=D(1980, 1, 1)), "b": enrollee(jn, brdy=D(1981, 2, 2)),
             "c": enrollee(sh, brdy=D(1982, 3, 3)), "d": enrollee(sh, brdy=D(1983, 4, 4))}
    account_correct(person=found["d"].person, pocket="historical", amount=Decimal("50.00"), reason="before")
    return found


def row(e: Enrollment, pocket: str, amount: str) -> dict[str, str]:
    return {"psn_no": e.person.psn_no, "pocket": pocket, "amount": amount, "as_of": AS_OF}


def first_rows(p: dict[str, Enrollment]) -> list[dict[str, str]]:
    return [row(p["a"], "current", "300.00"), row(p["a"], "historical", "1200.50"), row(p["b"], "historical", "88.80"),
            row(p["c"], "historical", "0"), row(p["d"], "historical", "100")]


def entries(p: dict[str, Enrollment]) -> list[tuple]:
    """The imports' entries in the order they were posted: who, kind, pocket, amount, balance after, reason, by."""
    who = {e.person_id: name for name, e in p.items()}
    return [(who[e.account.person_id], e.kind, e.pocket, e.amount, e.balance_after, e.period, e.ref_type, e.ref_id,
             e.reason, e.created_by_id)
            for e in LedgerEntry.objects.filter(ref_type="balances_import").select_related("account").order_by("id")]


def balances(p: dict[str, Enrollment]) -> dict[str, tuple[Decimal, Decimal]]:
    who = {e.person_id: name for name, e in p.items()}
    return {who[a.person_id]: (a.balc_current, a.balc_historical) for a in PersonalAccount.objects.all()}


def test_first_import_reimport_and_corrections(tmp_path, people):
    user = User.objects.create_user("clerk")
    p = people
    rows = first_rows(p)
    path = write_csv(tmp_path / "b.csv", "balances", rows)

    outcome = import_file("balances", path, dry_run=False, user=user)

    # c's zero opens the account and posts nothing: created (the account is new).
    assert (outcome.errors, outcome.created, outcome.updated, outcome.unchanged) == ([], 5, 0, 0)
    d = D(2024, 6, 30)
    assert entries(p) == [
        ("a", "opening_balance", "current", Decimal("300.00"), Decimal("300.00"), d, "balances_import", "", OPENING,
         user.pk),
        ("a", "opening_balance", "historical", Decimal("1200.50"), Decimal("1200.50"), d, "balances_import", "",
         OPENING, user.pk),
        ("b", "opening_balance", "historical", Decimal("88.80"), Decimal("88.80"), d, "balances_import", "", OPENING,
         user.pk),
        # d held 50.00 before: 50.00 + 100.00.
        ("d", "opening_balance", "historical", Decimal("100.00"), Decimal("150.00"), d, "balances_import", "",
         OPENING, user.pk),
    ]
    assert balances(p) == {"a": (Decimal("300.00"), Decimal("1200.50")), "b": (Decimal("0.00"), Decimal("88.80")),
                           "c": (Decimal("0.00"), Decimal("0.00")), "d": (Decimal("0.00"), Decimal("150.00"))}
    assert ledger_verify() == []

    # Again: nothing posted, nothing new (c's zero finds c's account there now).
    assert run_import("balances", path) == (0, ["balances: created 0, updated 0, unchanged 5"])
    assert len(entries(p)) == 4

    rows[1]["amount"] = "1000.00"  # 1,200.50 → 1,000.00: a correction of −200.50
    rows[2]["amount"] = "100"      # 88.80 → 100: +11.20, the new amount printed as the file gives it
    rows[3]["amount"] = "25.5"     # c: now an opening balance
    write_csv(path, "balances", rows)
    outcome = import_file("balances", path, dry_run=False, user=user)

    assert (outcome.errors, outcome.created, outcome.updated, outcome.unchanged) == ([], 1, 2, 2)
    assert entries(p)[4:] == [
        ("a", "correction", "historical", Decimal("-200.50"), Decimal("1000.00"), d, "balances_import", "",
         "opening balance re-imported: 1200.50 → 1000.00", user.pk),
        ("b", "correction", "historical", Decimal("11.20"), Decimal("100.00"), d, "balances_import", "",
         "opening balance re-imported: 88.80 → 100", user.pk),
        ("c", "opening_balance", "historical", Decimal("25.50"), Decimal("25.50"), d, "balances_import", "", OPENING,
         user.pk),
    ]
    assert balances(p) == {"a": (Decimal("300.00"), Decimal("1000.00")), "b": (Decimal("0.00"), Decimal("100.00")),
                           "c": (Decimal("0.00"), Decimal("25.50")), "d": (Decimal("0.00"), Decimal("150.00"))}
    assert ledger_verify() == []
    assert run_import("balances", path) == (0, ["balances: created 0, updated 0, unchanged 5"])


def test_a_cut_below_what_was_spent_refuses_the_file(tmp_path, people, seeded):
    p = people
    path = write_csv(tmp_path / "b.csv", "balances", first_rows(p))
    run_import("balances", path)
    account_correct(person=p["b"].person, pocket="historical", amount=Decimal("-70.00"), reason="spent")  # 18.80
    account_correct(person=p["a"].person, pocket="current", amount=Decimal("-300.00"), reason="spent")  # 0.00
    before = (entries(p), balances(p), PersonalAccount.objects.count())
    newcomer = enrollee(seeded["310000"], brdy=D(1990, 1, 1))
    rows = [row(p["a"], "current", "299.99"), row(p["b"], "historical", "20.00"), row(newcomer, "current", "10"),
            row(p["a"], "historical", "0")]

    status, lines = run_import("balances", write_csv(path, "balances", rows))

    # a's current pocket holds 0.00 and the correction is −0.01; b's holds 18.80 and the correction is −68.80.
    assert (status, lines) == (1, [
        "row 2, column psn_no: the row could not be saved: the current pocket holds 0.00 yuan, 0.01 yuan is needed",
        "row 3, column psn_no: the row could not be saved: the historical pocket holds 18.80 yuan, 68.80 yuan is "
        "needed"])
    assert (entries(p), balances(p), PersonalAccount.objects.count()) == before  # not even the newcomer's account
    assert ledger_verify() == []

    # The rows refused while writing are offered for download like the rows validation refuses: their cells,
    # row number and message, in file order (the admin's import jobs and `import_file` share this).
    bad_rows = tmp_path / "bad.csv"
    outcome = import_file("balances", path, dry_run=False, bad_rows_path=bad_rows)
    assert outcome.bad == 2 and outcome.created == outcome.updated == outcome.unchanged == 0
    assert list(csv.reader(bad_rows.open(encoding="utf-8-sig"))) == [
        ["row", "psn_no", "pocket", "amount", "as_of", "errors"],
        ["2", p["a"].person.psn_no, "current", "299.99", AS_OF, "psn_no: the row could not be saved: the current "
         "pocket holds 0.00 yuan, 0.01 yuan is needed"],
        ["3", p["b"].person.psn_no, "historical", "20.00", AS_OF, "psn_no: the row could not be saved: the "
         "historical pocket holds 18.80 yuan, 68.80 yuan is needed"]]


def _snapshot() -> dict[str, list]:
    """Everything the import writes, without ids and times."""
    return {
        "entries": list(LedgerEntry.objects.order_by("id").values_list(
            "account__person__psn_no", "kind", "pocket", "amount", "balance_after", "period", "ref_type", "ref_id",
            "reason", "created_by_id", "policy_version_id", "credit_rule_id", "run_id", "reverses_id")),
        "accounts": list(PersonalAccount.objects.order_by("id").values_list("person__psn_no", "balc_current",
                                                                            "balc_historical")),
    }


def test_the_same_answers_as_the_row_by_row_path(tmp_path, people, seeded):
    user = User.objects.create_user("clerk")
    p = people
    rows = first_rows(p)
    path = write_csv(tmp_path / "b.csv", "balances", rows)
    changed = [dict(r) for r in rows]
    changed[1]["amount"], changed[2]["amount"], changed[3]["amount"] = "1000", "0.00", "7.10"
    later = enrollee(seeded["370100"], brdy=D(1991, 1, 1))
    changed.append(row(later, "historical", "12.34"))
    to_zero = [dict(r) for r in changed]
    to_zero[4]["amount"] = "0"  # d: a correction of −100.00 leaves the 50.00 d held before the opening
    spend = [row(p["d"], "historical", "0"), row(p["a"], "current", "0"), row(p["a"], "historical", "999")]
    steps = [rows, rows, changed, changed, to_zero, spend]
    for number, step in enumerate(steps):
        if number == 5:
            account_correct(person=p["a"].person, pocket="current", amount=Decimal("-299.00"), reason="spent")
        write_csv(path, "balances", step)
        with translation.override("zh-hans" if number == 2 else "en"):
            rowwise, setbased = import_both_ways("balances", path, _snapshot, user=user)
        assert setbased == rowwise, f"step {number}"
    # The last step: a's current pocket went from 300.00 to 1.00, and zero would take 300.00 from it.
    assert rowwise[0][0] == ["row 3, column psn_no: the row could not be saved: the current pocket holds 1.00 yuan, "
                             "300.00 yuan is needed"]
    assert LedgerEntry.objects.filter(reason="期初余额重新导入：1200.50 → 1000").exists()  # step 2, in Chinese


def _enrollees_and_rows(seeded: dict, n: int, amount: str) -> list[dict[str, str]]:
    """n rows: enrollees in Shanghai (both pockets) and Jinan (historical)."""
    rows = []
    for i in range(n):
        sh = i % 3 != 2
        e = enrollee(seeded["310000" if sh else "370100"], brdy=D(1960, 1, 1) + datetime.timedelta(days=i))
        rows.append(row(e, "current" if sh and i % 2 else "historical", amount))
    return rows


def test_the_queries_do_not_grow_with_the_rows(tmp_path, seeded, django_assert_max_num_queries):
    counted = []
    for n in (10, 200):
        rows = _enrollees_and_rows(seeded, n, "100.00")
        path = write_csv(tmp_path / f"b{n}.csv", "balances", rows)
        changed = write_csv(tmp_path / f"c{n}.csv", "balances", [{**r, "amount": "80.00"} for r in rows])
        with CaptureQueriesContext(connection) as queries:
            assert import_file("balances", path, dry_run=False).created == n
            assert import_file("balances", path, dry_run=False).unchanged == n
            assert import_file("balances", changed, dry_run=False).updated == n
        counted.append(len(queries.captured_queries))
    # The same statements for 200 rows as for 10 (the row-by-row path made several per row).
    assert counted[1] <= counted[0], counted
    assert LedgerEntry.objects.filter(kind="correction", amount=Decimal("-20.00")).count() == 210
    assert ledger_verify() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_import_waits_for_a_locked_account_and_posts_after_its_entry(tmp_path, seeded):
    e = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    path = write_csv(tmp_path / "b.csv", "balances", [row(e, "historical", "100.00")])
    run_import("balances", path)
    locked = threading.Event()

    def spend() -> None:
        try:
            with transaction.atomic():
                account_correct(person=e.person, pocket="historical", amount=Decimal("-30.00"), reason="spent")
                locked.set()
                time.sleep(0.5)  # the import starts meanwhile and must wait for this commit
        finally:
            connection.close()

    spender = threading.Thread(target=spend)
    spender.start()
    assert locked.wait(10)
    write_csv(path, "balances", [row(e, "historical", "90.00")])
    assert run_import("balances", path) == (0, ["balances: created 0, updated 1, unchanged 0"])
    spender.join()

    correction = LedgerEntry.objects.filter(ref_type="balances_import").latest("id")
    # 100.00 − 30.00 spent (committed first) − 10.00 corrected.
    assert (correction.amount, correction.balance_after) == (Decimal("-10.00"), Decimal("60.00"))
    assert PersonalAccount.objects.get(person=e.person).balc_historical == Decimal("60.00")
    assert ledger_verify() == []
