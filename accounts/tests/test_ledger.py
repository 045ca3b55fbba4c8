import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, transaction

from accounts.ledger import (
    InsufficientBalance,
    account_correct,
    accounts_lock,
    ledger_entry_reverse,
    ledger_post,
    ledger_verify,
)
from accounts.models import EntryKind, LedgerEntry, PersonalAccount
from accounts.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _credit(person, amount: str, pocket: str = "historical") -> LedgerEntry:
    with transaction.atomic():
        account = accounts_lock(person_ids=[person.pk])[person.pk]
        return ledger_post(account=account, pocket=pocket, amount=Decimal(amount), kind=EntryKind.CORRECTION,
                           reason="test")


def test_posting_moves_the_pocket_and_records_the_balance_after():
    person = PersonFactory()
    _credit(person, "100.00")
    entry = _credit(person, "-30.55")
    assert entry.balance_after == Decimal("69.45")
    account = PersonalAccount.objects.get(person=person)
    assert (account.balc_current, account.balc_historical, account.balc) == (0, Decimal("69.45"), Decimal("69.45"))


def test_a_debit_beyond_the_balance_is_refused_and_writes_nothing():
    person = PersonFactory()
    _credit(person, "10.00")
    with pytest.raises(InsufficientBalance, match="10.00"):
        _credit(person, "-10.01")
    assert LedgerEntry.objects.count() == 1
    assert PersonalAccount.objects.get(person=person).balc_historical == Decimal("10.00")


def test_the_database_refuses_a_negative_balance_even_without_the_service():
    person = PersonFactory()
    _credit(person, "5.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonalAccount.objects.filter(person=person).update(balc_historical=Decimal("-0.01"))


def test_entries_cannot_be_changed_or_deleted():
    entry = _credit(PersonFactory(), "5.00")
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    # Not even a bulk statement: the database trigger refuses it.
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("500.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("5.00")


def test_a_reversal_is_a_new_opposite_entry_posted_once():
    person = PersonFactory()
    _credit(person, "50.00")
    debit = _credit(person, "-20.00")
    first = ledger_entry_reverse(entry=debit, reason="wrong amount")
    again = ledger_entry_reverse(entry=debit, reason="wrong amount")
    assert first.pk == again.pk
    assert (first.kind, first.amount, first.balance_after, first.reverses_id) == (
        EntryKind.REVERSAL, Decimal("20.00"), Decimal("50.00"), debit.pk)
    assert PersonalAccount.objects.get(person=person).balc_historical == Decimal("50.00")


def test_an_entry_is_reversed_at_most_once_by_the_database_too():
    """`ledger_reverses_once` (unique where set): a second entry reversing the same one is refused, however it is
    written, while any number of entries reverse nothing."""
    person = PersonFactory()
    _credit(person, "50.00")
    debit = _credit(person, "-20.00")
    first = ledger_entry_reverse(entry=debit, reason="wrong amount")
    now = datetime.datetime.now(datetime.UTC)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.bulk_create([LedgerEntry(
            account=first.account, kind=EntryKind.REVERSAL, pocket="historical", amount=Decimal("20.00"),
            balance_after=Decimal("70.00"), reverses=debit, created_at=now)])
    assert LedgerEntry.objects.filter(reverses__isnull=True).count() == 2
    assert list(LedgerEntry.objects.filter(reverses=debit)) == [first]
    assert list(debit.reversed_by.all()) == [first]


def test_a_correction_needs_a_reason():
    person = PersonFactory()
    with pytest.raises(ValueError, match="reason"):
        account_correct(person=person, pocket="current", amount=Decimal("1.00"), reason=" ")
    entry = account_correct(person=person, pocket="current", amount=Decimal("1.00"), reason="former system")
    assert entry.reason == "former system" and entry.balance_after == Decimal("1.00")


def test_verify_ledger_is_clean_then_catches_a_tampered_balance():
    person = PersonFactory(psn_no="P0000000042")
    _credit(person, "100.00", pocket="current")
    _credit(person, "-40.00", pocket="current")
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert "ledger clean: 1 accounts, 2 entries" in out.getvalue()

    PersonalAccount.objects.filter(person=person).update(balc_current=Decimal("61.00"))  # tampered
    problems = ledger_verify()
    assert [(p.psn_no, p.what) for p in problems] == [
        ("P0000000042", "current pocket holds 61.00, its entries add up to 60.00")]
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", stdout=out, stderr=io.StringIO())
    assert exit_info.value.code == 1
    assert "P0000000042" in out.getvalue()


def test_verify_ledger_catches_a_broken_balance_chain(on_postgres):
    person = PersonFactory()
    _credit(person, "100.00")
    account = PersonalAccount.objects.get(person=person)
    # An entry inserted behind the services' back, with a balance_after that does not follow from the chain.
    LedgerEntry.objects.bulk_create([LedgerEntry(account=account, kind=EntryKind.CORRECTION, pocket="historical",
                                                 amount=Decimal("10.00"), balance_after=Decimal("999.00"),
                                                 created_at=datetime.datetime.now(datetime.UTC))])
    whats = [p.what for p in ledger_verify()]
    assert "historical pocket holds 100.00, its entries add up to 110.00" in whats
    assert any("says 999.00 after, the running sum is 110.00" in w for w in whats)


def test_posting_many_chains_the_balances_and_writes_one_insert_and_one_update_per_account(
        django_assert_num_queries):
    from accounts.ledger import Posting, ledger_post_many

    holder, relative = PersonFactory(), PersonFactory()
    _credit(holder, "10.00", pocket="current")
    _credit(holder, "100.00")
    _credit(relative, "50.00")
    with transaction.atomic():
        accounts = accounts_lock(person_ids=[holder.pk, relative.pk])
        # Holder: current 10.00 − 10.00 = 0.00; historical 100.00 − 25.50 = 74.50, then − 4.50 = 70.00.
        # Relative: historical 50.00 − 0.01 = 49.99. One INSERT of four entries, one UPDATE per account.
        postings = [Posting(account=accounts[holder.pk], pocket="current", amount=Decimal("-10.00"),
                            kind=EntryKind.SETTLEMENT),
                    Posting(account=accounts[holder.pk], pocket="historical", amount=Decimal("-25.50"),
                            kind=EntryKind.SETTLEMENT),
                    Posting(account=accounts[relative.pk], pocket="historical", amount=Decimal("-0.01"),
                            kind=EntryKind.MULAID_SETTLEMENT),
                    Posting(account=accounts[holder.pk], pocket="historical", amount=Decimal("-4.50"),
                            kind=EntryKind.SETTLEMENT)]
        with django_assert_num_queries(3):
            entries = ledger_post_many(postings)
    assert [str(e.balance_after) for e in entries] == ["0.00", "74.50", "49.99", "70.00"]
    assert all(e.pk for e in entries)
    assert (str(accounts[holder.pk].balc_current), str(accounts[holder.pk].balc_historical)) == ("0.00", "70.00")
    saved = PersonalAccount.objects.get(person=holder)
    assert (saved.balc_current, saved.balc_historical) == (Decimal("0.00"), Decimal("70.00"))
    assert PersonalAccount.objects.get(person=relative).balc_historical == Decimal("49.99")
    assert ledger_verify() == []


def test_posting_many_writes_nothing_when_one_entry_would_overdraw():
    from accounts.ledger import Posting, ledger_post_many

    person = PersonFactory()
    _credit(person, "30.00")
    before = LedgerEntry.objects.count()
    with transaction.atomic():
        account = accounts_lock(person_ids=[person.pk])[person.pk]
        # 30.00 − 20.00 = 10.00 is fine; a further − 10.01 would leave −0.01.
        with pytest.raises(InsufficientBalance):
            ledger_post_many([Posting(account=account, pocket="historical", amount=Decimal("-20.00"),
                                      kind=EntryKind.SETTLEMENT),
                              Posting(account=account, pocket="historical", amount=Decimal("-10.01"),
                                      kind=EntryKind.SETTLEMENT)])
    assert LedgerEntry.objects.count() == before
    assert PersonalAccount.objects.get(person=person).balc_historical == Decimal("30.00")


@pytest.mark.postgres  # SQLite keeps its foreign keys, checked at COMMIT
def test_an_entry_that_refers_to_a_missing_row_is_refused_at_once():
    """The references are checked per statement by a trigger (migration 0014), not at COMMIT: the statement
    fails, naming what is missing."""
    account = PersonalAccount.objects.get(person=_credit(PersonFactory(), "5.00").account.person)
    now = datetime.datetime.now(datetime.UTC)

    def entry(**refs) -> LedgerEntry:  # noqa: ANN003
        return LedgerEntry(kind=EntryKind.CORRECTION, pocket="historical", amount=Decimal("1.00"),
                           balance_after=Decimal("6.00"), created_at=now, **{"account": account, **refs})

    for refs in ({"account_id": account.pk + 1000}, {"credit_rule_id": 999_999}, {"policy_version_id": 999_999},
                 {"run_id": 999_999}, {"created_by_id": 999_999}, {"reverses_id": 999_999_999}):
        with pytest.raises(IntegrityError, match="refers to a row that does not exist"), transaction.atomic():
            LedgerEntry.objects.bulk_create([entry(), entry(**refs)])
    assert LedgerEntry.objects.count() == 1


@pytest.mark.postgres
def test_a_row_an_entry_refers_to_cannot_be_deleted():
    from accounts.models import CreditRun

    person = PersonFactory()
    used, unused = (CreditRun.objects.create(kind=CreditRun.Kind.CREDITS, period=datetime.date(2025, 1, 1))
                    for _ in range(2))
    account = _credit(person, "5.00").account
    LedgerEntry.objects.bulk_create([LedgerEntry(
        account=account, kind=EntryKind.CORRECTION, pocket="historical", amount=Decimal("1.00"),
        balance_after=Decimal("6.00"), run=used, created_at=datetime.datetime.now(datetime.UTC))])
    for statement in (lambda: CreditRun.objects.filter(pk=used.pk)._raw_delete(CreditRun.objects.db),
                      lambda: PersonalAccount.objects.filter(pk=account.pk)._raw_delete(CreditRun.objects.db),
                      lambda: CreditRun.objects.filter(pk=used.pk).update(id=used.pk + 100)):
        with pytest.raises(IntegrityError, match="referred to by ledger entries"), transaction.atomic():
            statement()
    CreditRun.objects.filter(pk=unused.pk)._raw_delete(CreditRun.objects.db)  # nothing refers to it
    assert list(CreditRun.objects.values_list("pk", flat=True)) == [used.pk]


@pytest.mark.postgres  # SQLite keeps its foreign key, checked at COMMIT
def test_an_account_of_a_missing_person_is_refused_at_once():
    """The accounts' person is checked per statement by a trigger (migration 0020), on INSERT and on a change of
    person, naming the person that is not there."""
    person = PersonFactory()
    missing = person.pk + 1000
    refused = f"violates foreign key: accounts_personalaccount.person_id = {missing} is not in accounts_person"
    with pytest.raises(IntegrityError, match=refused), transaction.atomic():
        PersonalAccount.objects.bulk_create([PersonalAccount(person=person), PersonalAccount(person_id=missing)])
    assert not PersonalAccount.objects.exists()
    account = PersonalAccount.objects.create(person=person)
    with pytest.raises(IntegrityError, match=refused), transaction.atomic():
        PersonalAccount.objects.filter(pk=account.pk).update(person_id=missing)
    other = PersonFactory()
    PersonalAccount.objects.filter(pk=account.pk).update(person_id=other.pk)  # an existing person: allowed
    assert PersonalAccount.objects.get(pk=account.pk).person == other


@pytest.mark.postgres
def test_a_person_with_an_account_cannot_be_deleted():
    from accounts.models import Person

    holder, other = PersonFactory(), PersonFactory()
    PersonalAccount.objects.create(person=holder)
    for statement in (lambda: Person.objects.filter(pk=holder.pk)._raw_delete(Person.objects.db),
                      lambda: Person.objects.filter(pk=holder.pk).update(id=holder.pk + 1000)):
        with (pytest.raises(IntegrityError, match="still referenced from accounts_personalaccount.person_id"),
              transaction.atomic()):
            statement()
    Person.objects.filter(pk=other.pk)._raw_delete(Person.objects.db)  # no account: nothing refers to it
    assert list(Person.objects.values_list("pk", flat=True)) == [holder.pk]
