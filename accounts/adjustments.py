"""Money moved by hand, with two people: one asks for an opening balance or a correction of an account
(`account_adjustment_request`), a second user with `accounts.approve_accountadjustment` approves it (the entry is
posted then, once) or rejects it with a reason. Nothing moves before the approval."""

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import AccountError
from accounts.ledger import InsufficientBalance, accounts_lock, ledger_post, persons_with_live_accounts
from accounts.models import AccountAdjustment, Enrollment, EntryKind, InsuType, LedgerEntry, Person
from core.approvals import ApprovalError, approval_check, rejection_reason_clean
from core.money import fen

APPROVE_PERMISSION = "accounts.approve_accountadjustment"
ADJUSTMENT_REF = "account_adjustment"  # ref_type of the entries an approved adjustment posts


def _opening_refusal(person: Person, pocket: str) -> str | None:
    """Why an opening balance may not be posted to this person's pocket now, or None."""
    if person.pk in persons_with_live_accounts([person.pk]):
        return _("the account of %(psn_no)s already has entries other than an opening balance (credits, payments, "
                 "corrections): no opening balance for a live account") % {"psn_no": person.psn_no}
    if LedgerEntry.objects.filter(account__person=person, pocket=pocket, kind=EntryKind.OPENING_BALANCE).exists():
        return _("the %(pocket)s pocket of %(psn_no)s has its opening balance already") % {
            "pocket": pocket, "psn_no": person.psn_no}
    return None


def account_adjustment_request(*, person: Person, kind: str, pocket: str, amount: Decimal, reason: str,
                               user: Any, as_of: datetime.date | None = None) -> AccountAdjustment:
    """Ask for money to be moved by hand: saved pending, nothing posted. Refused (AccountError) without a reason,
    for a zero amount, a person with no employee insurance, an opening balance that is not positive or not dated,
    or an opening balance of a live account."""
    amount = fen(amount)
    reason = (reason or "").strip()
    if not reason:
        raise AccountError(AccountError.INVALID_REQUEST, _("say why the money is moved"))
    if amount == 0:
        raise AccountError(AccountError.INVALID_REQUEST, _("the amount may not be zero"))
    if pocket not in ("current", "historical"):
        raise AccountError(AccountError.INVALID_REQUEST, _("unknown pocket %(pocket)s") % {"pocket": pocket})
    if not Enrollment.objects.filter(person=person, insutype=InsuType.EMPLOYEE).exists():
        raise AccountError(AccountError.NO_ACCOUNT, _("%(psn_no)s has no employee insurance, so no personal "
                                                      "account") % {"psn_no": person.psn_no})
    if kind == AccountAdjustment.Kind.OPENING_BALANCE:
        if amount < 0 or as_of is None:
            raise AccountError(AccountError.INVALID_REQUEST,
                               _("an opening balance is more than zero and dated (as of)"))
        refusal = _opening_refusal(person, pocket)
        if refusal:
            raise AccountError(AccountError.LIVE_ACCOUNT, refusal)
    elif kind != AccountAdjustment.Kind.CORRECTION:
        raise AccountError(AccountError.INVALID_REQUEST, _("unknown kind %(kind)s") % {"kind": kind})
    return AccountAdjustment.objects.create(person=person, kind=kind, pocket=pocket, amount=amount, as_of=as_of,
                                            reason=reason[:200], requested_by=user)


def _pending_locked(adjustment_id: int, user: Any) -> AccountAdjustment:
    adjustment = AccountAdjustment.objects.select_for_update().select_related("person").get(pk=adjustment_id)
    approval_check(user=user, maker_id=adjustment.requested_by_id, permission=APPROVE_PERMISSION)
    if adjustment.status != AccountAdjustment.Status.PENDING:
        raise ApprovalError(ApprovalError.ALREADY_DECIDED,
                            _("this adjustment is no longer awaiting approval (%(status)s)")
                            % {"status": adjustment.get_status_display()})
    return adjustment


@transaction.atomic
def account_adjustment_approve(*, adjustment_id: int, user: Any) -> AccountAdjustment:
    """A second person approves: the entry is posted to the locked account, in the transaction that marks the
    adjustment approved (the adjustment's row is locked first, so two approvals post once). Refused
    (ApprovalError) for the maker, without the permission, or once decided; (AccountError, nothing posted) when the
    account has changed so that it no longer applies: a debit larger than the pocket, an opening balance of an
    account that has become live."""
    adjustment = _pending_locked(adjustment_id, user)
    person = adjustment.person
    account = accounts_lock(person_ids=[person.pk])[person.pk]
    opening = adjustment.kind == AccountAdjustment.Kind.OPENING_BALANCE
    if opening:
        refusal = _opening_refusal(person, adjustment.pocket)
        if refusal:
            raise AccountError(AccountError.LIVE_ACCOUNT, refusal)
    try:
        entry = ledger_post(account=account, pocket=adjustment.pocket, amount=adjustment.amount,
                            kind=EntryKind.OPENING_BALANCE if opening else EntryKind.CORRECTION,
                            period=adjustment.as_of, reason=adjustment.reason, ref_type=ADJUSTMENT_REF,
                            ref_id=str(adjustment.pk), user=adjustment.requested_by)
    except InsufficientBalance as e:
        raise AccountError(AccountError.INSUFFICIENT_BALANCE, e.err_msg) from None
    adjustment.status, adjustment.entry = AccountAdjustment.Status.APPROVED, entry
    adjustment.reviewed_by, adjustment.reviewed_at = user, timezone.now()
    adjustment.save(update_fields=["status", "entry", "reviewed_by", "reviewed_at"])
    return adjustment


@transaction.atomic
def account_adjustment_reject(*, adjustment_id: int, user: Any, reason: str) -> AccountAdjustment:
    """A second person rejects, saying why: nothing is ever posted for it."""
    reason = rejection_reason_clean(reason)
    adjustment = _pending_locked(adjustment_id, user)
    adjustment.status, adjustment.rejection_reason = AccountAdjustment.Status.REJECTED, reason
    adjustment.reviewed_by, adjustment.reviewed_at = user, timezone.now()
    adjustment.save(update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at"])
    return adjustment
