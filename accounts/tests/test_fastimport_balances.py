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


def opening_set(e: Enrollment, pocket: str, opening: str) -> str:
    return (f"the {pocket} pocket of {e.person.psn_no} has its opening balance {opening} already: an opening "
            "balance is set once; a change is a correction, asked for under account adjustments and approved by a "
            "second person")


def test_first_import_reimport_and_a_changed_opening_balance_refused(tmp_path, people):
    """An opening balance is set once: CONTRACT.md refuses a balances row for an account with any entry other than
    an opening balance, and a change of an opening balance would be such an entry (a correction, which a second
    person approves under account adjustments). A changed re-import is refused row by row, naming the opening
    balance that stands; the same amounts again change nothing; a pocket still without one may get one."""
    user = User.objects.create_user("clerk")
    p = people
    rows = first_rows(p)
    path = write_csv(tmp_path / "b.csv", "balances", rows)

    outcome = import_file("balances", path, dry_run=False, user=user)

    # c's zero opens the account and posts nothing: created (the account is new).
    assert (outcome.errors, outcome.created, outcome.updated, outcome.unchanged) == ([], 5, 0, 0)
    d = D(2024, 6, 30)
    first_entries = [
        ("a", "opening_balance", "current", Decimal("300.00"), Decimal("300.00"), d, "balances_import", "", OPENING,
         user.pk),
        ("a", "opening_balance", "historical", Decimal("1200.50"), Decimal("1200.50"), d, "balances_import", "",
         OPENING, user.pk),
        ("b", "opening_balance", "historical", Decimal("88.80"), Decimal("88.80"), d, "balances_import", "", OPENING,
         user.pk),
        ("d", "opening_balance", "historical", Decimal("100.00"), Decimal("100.00"), d, "balances_import", "",
         OPENING, user.pk),
    ]
    first_balances = {"a": (Decimal("300.00"), Decimal("1200.50")), "b": (Decimal("0.00"), Decimal("88.80")),
                      "c": (Decimal("0.00"), Decimal("0.00")), "d": (Decimal("0.00"), Decimal("100.00"))}
    assert (entries(p), balances(p)) == (first_entries, first_balances)
    assert ledger_verify() == []

    # Again: nothing posted, nothing new (c's zero finds c's account there now).
    assert run_import("balances", path) == (0, ["balances: created 0, updated 0, unchanged 5"])
    assert len(entries(p)) == 4

    changed = [dict(r) for r in rows]
    changed[1]["amount"] = "1000.00"  # a: 1,200.50 stands
    changed[2]["amount"] = "100"      # b: 88.80 stands
    changed[3]["amount"] = "25.5"     # c: no opening balance yet, so this one may be
    outcome = import_file("balances", write_csv(path, "balances", changed), dry_run=False, user=user)

    # Each changed row refused with the opening balance that stands; as for any bad row, nothing is imported.
    assert (outcome.errors, outcome.created, outcome.updated, outcome.unchanged) == (
        [f"row 3, column amount: {opening_set(p['a'], 'historical', '1200.50')}",
         f"row 4, column amount: {opening_set(p['b'], 'historical', '88.80')}"], 0, 0, 0)
    assert (entries(p), balances(p)) == (first_entries, first_balances)

    # The file without the changes: c's pocket gets its opening balance, the rest is unchanged.
    rows[3]["amount"] = "25.5"
    outcome = import_file("balances", write_csv(path, "balances", rows), dry_run=False, user=user)
    assert (outcome.errors, outcome.created, outcome.updated, outcome.unchanged) == ([], 1, 0, 4)
    assert entries(p)[4:] == [
        ("c", "opening_balance", "historical", Decimal("25.50"), Decimal("25.50"), d, "balances_import", "", OPENING,
         user.pk),
    ]
    assert balances(p) == {**first_balances, "c": (Decimal("0.00"), Decimal("25.50"))}
    assert ledger_verify() == []
    assert run_import("balances", path) == (0, ["balances: created 0, updated 0, unchanged 5"])


def test_an_opening_balance_made_by_hand_is_set_too(tmp_path, people, seeded):
    """An opening balance asked for one by one and approved by a second person (account adjustments) is the
    pocket's opening balance as much as an imported one: the file's same amount is unchanged, another is refused
    (the writer used to add the whole amount again as a correction beside it)."""
    from accounts.adjustments import account_adjustment_approve, account_adjustment_request

    maker = User.objects.create_user("officer")
    checker = User.objects.create_user("approver", is_superuser=True)
    b = people["b"]
    asked = account_adjustment_request(person=b.person, kind="opening_balance", pocket="historical",
                                       amount=Decimal("88.80"), reason="former system", user=maker,
                                       as_of=D(2024, 6, 30))
    account_adjustment_approve(adjustment_id=asked.pk, user=checker)
    path = write_csv(tmp_path / "b.csv", "balances", [row(b, "historical", "88.80")])
    assert run_import("balances", path) == (0, ["balances: created 0, updated 0, unchanged 1"])
    write_csv(path, "balances", [row(b, "historical", "188.80")])
    assert run_import("balances", path) == (1, [f"row 2, column amount: {opening_set(b, 'historical', '88.80')}"])
    assert balances(people) == {"b": (Decimal("0.00"), Decimal("88.80"))}
    assert ledger_verify() == []


def test_a_correction_an_earlier_import_posted_makes_the_account_live(tmp_path, people):
    """Before opening balances were set once, a changed re-import posted a correction (ref_type balances_import).
    Such a correction is an entry other than an opening balance (CONTRACT.md), so the account is live: no
    balances row touches it any more, whatever its amount."""
    from accounts.ledger import BALANCES_IMPORT, accounts_lock, ledger_post

    a = people["a"]
    path = write_csv(tmp_path / "b.csv", "balances", [row(a, "historical", "1200.50")])
    run_import("balances", path)
    with transaction.atomic():
        account = accounts_lock(person_ids=[a.person_id])[a.person_id]
        ledger_post(account=account, pocket="historical", amount=Decimal("-200.50"), kind="correction",
                    period=D(2024, 6, 30), ref_type=BALANCES_IMPORT,
                    reason="opening balance re-imported: 1200.50 → 1000.00")
    write_csv(path, "balances", [row(a, "historical", "1000.00"), row(a, "current", "5.00")])
    assert run_import("balances", path) == (1, [f"row 2, column psn_no: {live(a)}",
                                                f"row 3, column psn_no: {live(a)}"])
    assert balances(people) == {"a": (Decimal("0.00"), Decimal("1000.00"))}


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
    # The last column, `messages`, holds the same messages as data, rendered in the reader's language on download.
    assert [row[:-1] for row in csv.reader(bad_rows.open(encoding="utf-8-sig"))][:3] == [
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
    later = enrollee(seeded["370100"], brdy=D(1991, 1, 1))
    allowed = [dict(r) for r in rows] + [row(later, "historical", "12.34")]
    allowed[3]["amount"] = "7.10"  # c: its first opening balance
    changed = [dict(r) for r in allowed]
    changed[1]["amount"], changed[2]["amount"] = "1000", "0.00"  # a and b: refused, their opening balances stand
    to_zero = [dict(r) for r in allowed]
    to_zero[4]["amount"] = "0"  # d: refused, 100.00 stands
    spend = [row(p["d"], "historical", "0"), row(p["a"], "current", "0"), row(p["a"], "historical", "999")]
    steps = [rows, rows, changed, allowed, allowed, to_zero, spend]
    answers = []
    for number, step in enumerate(steps):
        if number == 6:
            account_correct(person=p["a"].person, pocket="current", amount=Decimal("-299.00"), reason="spent")
        write_csv(path, "balances", step)
        with translation.override("zh-hans" if number == 2 else "en"):
            rowwise, setbased = import_both_ways("balances", path, _snapshot, user=user)
        assert setbased == rowwise, f"step {number}"
        answers.append(rowwise[0])
    # Step 2, in Chinese: a's and b's changed rows refused, nothing imported (not even c's or the newcomer's).
    assert answers[2] == ([
        f"row 3, column amount: {p['a'].person.psn_no} 的 historical 子账户已有期初余额 1200.50：期初余额只设一次；"
        "如需变更，请在“账户资金调整”中申请更正，由另一人批准",
        f"row 4, column amount: {p['b'].person.psn_no} 的 historical 子账户已有期初余额 88.80：期初余额只设一次；"
        "如需变更，请在“账户资金调整”中申请更正，由另一人批准"], 0, 0, 0)
    assert answers[3:5] == [([], 2, 0, 4), ([], 0, 0, 6)]
    assert answers[5] == ([f"row 6, column amount: {opening_set(p['d'], 'historical', '100.00')}"], 0, 0, 0)
    # The last step: a spent 299.00 (a correction by hand), so a's account is live and its rows are refused.
    assert answers[6] == ([f"row 2, column amount: {opening_set(p['d'], 'historical', '100.00')}",
                           f"row 3, column psn_no: {live(p['a'])}", f"row 4, column psn_no: {live(p['a'])}"],
                          0, 0, 0)
    assert not LedgerEntry.objects.filter(ref_type="balances_import").exclude(kind="opening_balance").exists()


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
            assert import_file("balances", changed, dry_run=False).bad == n  # every opening balance is set
        counted.append(len(queries.captured_queries))
    # The same statements for 200 rows as for 10 (the row-by-row path made several per row).
    assert counted[1] <= counted[0], counted
    assert set(LedgerEntry.objects.values_list("kind", "amount")) == {("opening_balance", Decimal("100.00"))}
    assert LedgerEntry.objects.count() == 210 and ledger_verify() == []


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
    write_csv(path, "balances", [row(e, "historical", "100.00")])
    # Validated before the spending committed (its opening balance again: unchanged); the writer waits for the
    # account's lock and checks again under it: the account is live now, and the row is refused.
    assert run_import("balances", path) == (1, [f"row 2, column psn_no: {live(e)}"])
    spender.join()

    assert LedgerEntry.objects.filter(ref_type="balances_import").count() == 1  # the first opening only
    # 100.00 − 30.00 spent.
    assert PersonalAccount.objects.get(person=e.person).balc_historical == Decimal("70.00")
    assert ledger_verify() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_opening_balance_posted_while_the_file_waits_is_checked_again_under_the_lock(tmp_path, seeded):
    """Validated while the pocket had no opening balance; meanwhile another transaction (holding the account's
    lock) posts one of 100.00: the writer waits for the lock, sees it, and refuses the file's 90.00."""
    from accounts.ledger import accounts_lock, accounts_open, ledger_post

    e = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    accounts_open(person_ids=[e.person_id])
    locked = threading.Event()

    def open_pocket() -> None:
        try:
            with transaction.atomic():
                account = accounts_lock(person_ids=[e.person_id])[e.person_id]
                ledger_post(account=account, pocket="historical", amount=Decimal("100.00"), kind="opening_balance",
                            period=D(2024, 6, 30), ref_type="account_adjustment", reason="approved by hand")
                locked.set()
                time.sleep(0.5)  # the import validates meanwhile and must wait for this commit
        finally:
            connection.close()

    other = threading.Thread(target=open_pocket)
    other.start()
    assert locked.wait(10)
    path = write_csv(tmp_path / "b.csv", "balances", [row(e, "historical", "90.00")])
    assert run_import("balances", path) == (1, [f"row 2, column amount: {opening_set(e, 'historical', '100.00')}"])
    other.join()
    assert list(LedgerEntry.objects.values_list("kind", "amount")) == [("opening_balance", Decimal("100.00"))]
    assert PersonalAccount.objects.get(person=e.person).balc_historical == Decimal("100.00")
    assert ledger_verify() == []
