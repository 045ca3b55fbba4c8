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
from accounts.tests.conftest import contribution, enrollee
from core.imports import import_file
from core.tests.test_imports_common import import_both_ways, run_import, write_csv

pytestmark = pytest.mark.django_db
D = datetime.date
AS_OF = "2024-06-30"
OPENING = "opening balance from the former system"


@pytest.fixture
def people(seeded) -> dict[str, Enrollment]:
    """a, c and d in Shanghai (two pockets), b in Jinan (one); no account has an entry yet."""
    sh, jn = seeded["310000"], seeded["370100"]
    return {"a": enrollee(sh, brdy=D(1980, 1, 1)), "b": enrollee(jn, brdy=D(1981, 2, 2)),
            "c": enrollee(sh, brdy=D(1982, 3, 3)), "d": enrollee(sh, brdy=D(1983, 4, 4))}


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
        ("d", "opening_balance", "historical", Decimal("100.00"), Decimal("100.00"), d, "balances_import", "",
         OPENING, user.pk),
    ]
    assert balances(p) == {"a": (Decimal("300.00"), Decimal("1200.50")), "b": (Decimal("0.00"), Decimal("88.80")),
                           "c": (Decimal("0.00"), Decimal("0.00")), "d": (Decimal("0.00"), Decimal("100.00"))}
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
                           "c": (Decimal("0.00"), Decimal("25.50")), "d": (Decimal("0.00"), Decimal("100.00"))}
    assert ledger_verify() == []
    assert run_import("balances", path) == (0, ["balances: created 0, updated 0, unchanged 5"])


def live(e: Enrollment) -> str:
    return (f"the account of {e.person.psn_no} already has entries other than an opening balance (credits, "
            "payments, corrections): no opening balance for a live account")


def test_an_account_with_other_entries_refuses_the_file(tmp_path, people, seeded):
    """CONTRACT.md: a balances row is refused for an account that already has any entry other than an opening
    balance. The attack of issue 11: 88,888.00 put into a live account by a balances file."""
    p = people
    path = write_csv(tmp_path / "b.csv", "balances", first_rows(p))
    run_import("balances", path)
    account_correct(person=p["b"].person, pocket="historical", amount=Decimal("-70.00"), reason="spent")  # 18.80
    account_correct(person=p["a"].person, pocket="current", amount=Decimal("-300.00"), reason="spent")  # 0.00
    before = (entries(p), balances(p), PersonalAccount.objects.count())
    newcomer = enrollee(seeded["310000"], brdy=D(1990, 1, 1))
    rows = [row(p["a"], "current", "88888.00"), row(p["b"], "historical", "20.00"), row(newcomer, "current", "10"),
            row(p["a"], "historical", "0"), row(p["d"], "historical", "100")]

    status, lines = run_import("balances", write_csv(path, "balances", rows))

    # a and b spent (entries other than opening ones): every row of theirs refused; d re-imports its own opening.
    assert (status, lines) == (1, [f"row 2, column psn_no: {live(p['a'])}", f"row 3, column psn_no: {live(p['b'])}",
                                   f"row 5, column psn_no: {live(p['a'])}"])
    assert (entries(p), balances(p), PersonalAccount.objects.count()) == before  # not even the newcomer's account
    assert ledger_verify() == []

    # The refused rows are offered for download with their cells, row number and message, in file order.
    bad_rows = tmp_path / "bad.csv"
    outcome = import_file("balances", path, dry_run=False, bad_rows_path=bad_rows)
    assert outcome.bad == 3 and outcome.created == outcome.updated == outcome.unchanged == 0
    assert list(csv.reader(bad_rows.open(encoding="utf-8-sig")))[:3] == [
        ["row", "psn_no", "pocket", "amount", "as_of", "errors"],
        ["2", p["a"].person.psn_no, "current", "88888.00", AS_OF, f"psn_no: {live(p['a'])}"],
        ["3", p["b"].person.psn_no, "historical", "20.00", AS_OF, f"psn_no: {live(p['b'])}"]]


def test_a_credited_account_gets_no_first_opening_balance_either(tmp_path, seeded):
    from accounts.credits import credits_run_month

    e = enrollee(seeded["310000"], brdy=D(1980, 1, 1))
    contribution(e, "2024-05", "10000.00")
    credits_run_month(month=D(2024, 5, 1), admdvs="310000")  # 10,000 × 2% = 200.00 into the current pocket
    path = write_csv(tmp_path / "b.csv", "balances", [row(e, "historical", "88888.00")])
    assert run_import("balances", path) == (1, [f"row 2, column psn_no: {live(e)}"])
    assert PersonalAccount.objects.get(person=e.person).balc_historical == Decimal("0.00")


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
    to_zero[4]["amount"] = "0"  # d: a correction of −100.00
    spend = [row(p["d"], "historical", "0"), row(p["a"], "current", "0"), row(p["a"], "historical", "999")]
    steps = [rows, rows, changed, changed, to_zero, spend]
    for number, step in enumerate(steps):
        if number == 5:
            account_correct(person=p["a"].person, pocket="current", amount=Decimal("-299.00"), reason="spent")
        write_csv(path, "balances", step)
        with translation.override("zh-hans" if number == 2 else "en"):
            rowwise, setbased = import_both_ways("balances", path, _snapshot, user=user)
        assert setbased == rowwise, f"step {number}"
    # The last step: a spent 299.00 (a correction by hand), so a's account is live and its rows are refused.
    assert rowwise[0][0] == [f"row 3, column psn_no: {live(p['a'])}", f"row 4, column psn_no: {live(p['a'])}"]
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
def test_the_import_waits_for_a_locked_account_and_checks_it_again_under_the_lock(tmp_path, seeded):
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
    # Validated before the spending committed; the writer waits for the account's lock and checks again under it:
    # the account is live now, and the row is refused.
    assert run_import("balances", path) == (1, [f"row 2, column psn_no: {live(e)}"])
    spender.join()

    assert LedgerEntry.objects.filter(ref_type="balances_import").count() == 1  # the first opening only
    # 100.00 − 30.00 spent.
    assert PersonalAccount.objects.get(person=e.person).balc_historical == Decimal("70.00")
    assert ledger_verify() == []
