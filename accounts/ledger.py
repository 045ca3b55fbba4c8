"""The personal-account ledger: opening accounts, locking them, posting entries, and checking the books.

Every change of a pocket balance goes through `ledger_post`, inside the caller's transaction and under the row
lock `accounts_lock` took, so the entry and the balance it explains are written together.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.models import EntryKind, LedgerEntry, Person, PersonalAccount
from core.money import ZERO, fen
from core.queries import for_update, instances_insert, instances_where, only_row, placeholders

BALANCES_IMPORT = "balances_import"  # ref_type of the entries an opening-balance import posts
POCKETS = ("current", "historical")
POCKET_FIELD = {"current": "balc_current", "historical": "balc_historical"}


class InsufficientBalance(Exception):  # noqa: N818  (a domain outcome, not a programming error)
    err_code = "INSUFFICIENT_BALANCE"

    def __init__(self, err_msg: str) -> None:
        super().__init__(err_msg)
        self.err_msg = err_msg


def accounts_open(*, person_ids: Iterable[int]) -> None:
    """Open an account for each of these persons that has none (one statement, no query per person)."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    existing = set(PersonalAccount.objects.filter(person_id__in=ids).values_list("person_id", flat=True))
    missing = [PersonalAccount(person_id=pk) for pk in ids if pk not in existing]
    PersonalAccount.objects.bulk_create(missing, ignore_conflicts=True)


def persons_with_live_accounts(person_ids: Iterable[int]) -> set[int]:
    """Of these persons, those whose account has any entry other than an opening balance (a credit, a payment, a
    correction, whoever posted it): no opening balance may be posted to such an account (CONTRACT.md). One query
    per 10,000 persons."""
    ids = sorted(set(person_ids))
    live: set[int] = set()
    for start in range(0, len(ids), 10_000):
        live.update(LedgerEntry.objects.filter(account__person_id__in=ids[start:start + 10_000])
                    .exclude(kind=EntryKind.OPENING_BALANCE)
                    .values_list("account__person_id", flat=True).distinct())
    return live


def accounts_lock(*, person_ids: Iterable[int]) -> dict[int, PersonalAccount]:
    """Lock the accounts of these persons in primary-key order (no deadlocks between two transactions locking
    overlapping sets), opening the missing ones first. Must run inside a transaction. Returns them by person id."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    locked = _accounts_locked(ids)
    missing = [pk for pk in ids if pk not in locked]
    if missing:
        # New accounts get higher keys than every account locked above, so the pk order still holds.
        PersonalAccount.objects.bulk_create([PersonalAccount(person_id=pk) for pk in missing], ignore_conflicts=True)
        locked.update(_accounts_locked(missing))
    return locked


def _accounts_locked(person_ids: list[int]) -> dict[int, PersonalAccount]:
    """`select_for_update().filter(person_id__in=…).order_by("pk")`, written out: settlements lock accounts
    hundreds of times a second (core.queries)."""
    accounts = instances_where(PersonalAccount, f"t.person_id IN ({placeholders(person_ids)})", person_ids,
                               suffix=f" ORDER BY t.id{for_update()}")
    return {account.person_id: account for account in accounts}


@dataclass(frozen=True)
class Posting:
    """One entry to post to a locked account (see `ledger_post`)."""

    account: PersonalAccount
    pocket: str
    amount: Decimal
    kind: str
    reason: str = ""
    ref_type: str = ""
    ref_id: str = ""
    period: object = None
    policy_version: object = None
    credit_rule: object = None
    reverses: LedgerEntry | None = None


def ledger_post_many(postings: Sequence[Posting], *, user=None) -> list[LedgerEntry]:  # noqa: ANN001
    """Post entries to locked accounts and move their balances with them, in order: one INSERT for all the
    entries and one UPDATE per account, whatever their number. Each entry's `balance_after` is its pocket's balance
    after it, counting the entries before it in `postings`.

    Raises InsufficientBalance (nothing written) if an entry would take a pocket below zero.
    """
    balances: dict[int, dict[str, Decimal]] = {}
    accounts: dict[int, PersonalAccount] = {}
    entries = []
    created_by = user if user is not None and user.is_authenticated else None
    for posting in postings:
        if posting.pocket not in POCKETS:
            raise ValueError(f"unknown pocket {posting.pocket!r}")
        account = posting.account
        accounts[account.pk] = account
        pockets = balances.setdefault(account.pk, {p: getattr(account, POCKET_FIELD[p]) for p in POCKETS})
        amount = fen(posting.amount)
        after = pockets[posting.pocket] + amount
        if after < ZERO:
            raise InsufficientBalance(
                _("the %(pocket)s pocket holds %(balance)s yuan, %(amount)s yuan is needed")
                % {"pocket": posting.pocket, "balance": pockets[posting.pocket], "amount": -amount})
        pockets[posting.pocket] = after
        entries.append(LedgerEntry(
            account=account, kind=posting.kind, pocket=posting.pocket, amount=amount, balance_after=after,
            period=posting.period, policy_version=posting.policy_version, credit_rule=posting.credit_rule,
            reverses=posting.reverses, ref_type=posting.ref_type, ref_id=str(posting.ref_id), reason=posting.reason,
            created_by=created_by))
    if not entries:
        return []
    instances_insert(entries)
    meta = PersonalAccount._meta
    update = (f"UPDATE {meta.db_table} SET {meta.get_field('balc_current').column} = %s, "
              f"{meta.get_field('balc_historical').column} = %s WHERE id = %s")
    with connection.cursor() as cursor:
        for pk, pockets in balances.items():
            accounts[pk].balc_current, accounts[pk].balc_historical = pockets["current"], pockets["historical"]
            cursor.execute(update, [pockets["current"], pockets["historical"], pk])
    return entries


def ledger_post(*, account: PersonalAccount, pocket: str, amount: Decimal, kind: str, reason: str = "",
                ref_type: str = "", ref_id: str = "", period=None, policy_version=None,  # noqa: ANN001
                credit_rule=None, reverses: LedgerEntry | None = None, user=None) -> LedgerEntry:  # noqa: ANN001
    """Post one entry to a locked account's pocket and move the balance with it.

    Raises InsufficientBalance (nothing written) if a debit would take the pocket below zero.
    """
    return ledger_post_many([Posting(account=account, pocket=pocket, amount=amount, kind=kind, reason=reason,
                                     ref_type=ref_type, ref_id=ref_id, period=period,
                                     policy_version=policy_version, credit_rule=credit_rule, reverses=reverses)],
                            user=user)[0]


@transaction.atomic
def ledger_entry_reverse(*, entry: LedgerEntry, reason: str, user=None) -> LedgerEntry:  # noqa: ANN001
    """Post the exact opposite of `entry` (once: a second call returns the first reversal)."""
    existing = only_row(LedgerEntry.objects.filter(reverses=entry))
    if existing is not None:
        return existing
    account = accounts_lock(person_ids=[entry.account.person_id])[entry.account.person_id]
    return ledger_post(account=account, pocket=entry.pocket, amount=-entry.amount, kind=EntryKind.REVERSAL,
                       reason=reason, ref_type="ledger_entry", ref_id=str(entry.pk), period=entry.period,
                       policy_version=entry.policy_version, reverses=entry, user=user)


@transaction.atomic
def account_correct(*, person: Person, pocket: str, amount: Decimal, reason: str, user=None) -> LedgerEntry:  # noqa: ANN001
    """A staff correction: a new entry with its reason (entries are never edited)."""
    if not reason.strip():
        raise ValueError(_("a correction needs a reason"))
    account = accounts_lock(person_ids=[person.pk])[person.pk]
    return ledger_post(account=account, pocket=pocket, amount=amount, kind=EntryKind.CORRECTION, reason=reason,
                       ref_type="staff", ref_id=str(getattr(user, "pk", "") or ""), user=user)


@dataclass(frozen=True)
class LedgerProblem:
    account_id: int
    psn_no: str
    what: str


def ledger_verify() -> list[LedgerProblem]:
    """Check every account against its entries, in two set-based queries: each pocket balance equals the sum of
    its entries, and each entry's `balance_after` equals the running sum of its pocket up to it.
    (Differences under half a fen are ignored only because SQLite sums decimals as floats.)"""
    ledger, accounts = LedgerEntry._meta.db_table, PersonalAccount._meta.db_table
    persons = Person._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT a.id, p.psn_no, a.balc_current, COALESCE(s.cur, 0), a.balc_historical, COALESCE(s.hist, 0)
            FROM {accounts} a
            JOIN {persons} p ON p.id = a.person_id
            LEFT JOIN (SELECT account_id,
                              SUM(CASE WHEN pocket = 'current' THEN amount ELSE 0 END) AS cur,
                              SUM(CASE WHEN pocket = 'historical' THEN amount ELSE 0 END) AS hist
                       FROM {ledger} GROUP BY account_id) s ON s.account_id = a.id
            WHERE ABS(a.balc_current - COALESCE(s.cur, 0)) >= 0.005
               OR ABS(a.balc_historical - COALESCE(s.hist, 0)) >= 0.005
            ORDER BY a.id""")  # noqa: S608  (table names from the models, no input)
        balance_rows = cursor.fetchall()
        cursor.execute(f"""
            SELECT t.account_id, p.psn_no, t.id, t.balance_after, t.running FROM (
                SELECT account_id, id, balance_after,
                       SUM(amount) OVER (PARTITION BY account_id, pocket ORDER BY id) AS running
                FROM {ledger}) t
            JOIN {accounts} a ON a.id = t.account_id JOIN {persons} p ON p.id = a.person_id
            WHERE ABS(t.balance_after - t.running) >= 0.005
            ORDER BY t.account_id, t.id""")  # noqa: S608
        chain_rows = cursor.fetchall()
    problems = []
    for account_id, psn_no, cur, cur_sum, hist, hist_sum in balance_rows:
        for pocket, held, total in (("current", cur, cur_sum), ("historical", hist, hist_sum)):
            if abs(Decimal(str(held)) - Decimal(str(total))) >= Decimal("0.005"):
                problems.append(LedgerProblem(account_id, psn_no, f"{pocket} pocket holds {fen(str(held))}, "
                                                                  f"its entries add up to {fen(str(total))}"))
    for account_id, psn_no, entry_id, after, running in chain_rows:
        problems.append(LedgerProblem(account_id, psn_no, f"entry {entry_id} says {fen(str(after))} after, "
                                                          f"the running sum is {fen(str(running))}"))
    return problems
