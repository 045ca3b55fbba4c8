"""Paying a linked relative's insurance contribution from an account holder's personal account."""

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import AccountError
from accounts.ledger import POCKET_FIELD, accounts_lock, ledger_post
from accounts.models import (
    ContributionKind,
    Enrollment,
    EntryKind,
    FamilyLink,
    InsuType,
    Person,
    RelativeContribution,
)
from accounts.mulaid import mulaid_refusal
from core.money import fen
from core.queries import only_row
from policies.errors import PolicyError
from policies.selectors import policy_version_in_force


def _same_payment(record: RelativeContribution, *, holder: Person, relative: Person, kind: str, year: int,
                  amount: Decimal) -> bool:
    return (record.holder_id, record.relative_id, record.kind, record.year, record.amount) == (
        holder.pk, relative.pk, kind, year, amount)


@transaction.atomic
def relative_contribution_pay(*, holder: Person, relative: Person, kind: str, year: int, amount: Decimal,
                              reference: str, day: datetime.date | None = None,
                              user=None) -> tuple[RelativeContribution, bool]:  # noqa: ANN001
    """Pay `relative`'s contribution of `kind` for `year` from `holder`'s account, from the pockets the policy in
    force lets family mutual aid draw on, in their order.

    Refused (AccountError, nothing written) when the two are not linked on `day`, the holder's account may not pay
    for the relative on `day` (accounts.mulaid, the rule settlements follow: the holder's employee insurance active
    on `day`, in the relative's region), the policy does not allow that kind, or the pockets hold too little.
    Idempotent on `reference`: the same payment again returns the first record (created False); another payment
    under the same reference is a conflict.
    """
    amount = fen(amount)
    day = day or timezone.localdate()
    if kind not in ContributionKind.values:
        raise AccountError(AccountError.KIND_NOT_ALLOWED, _("unknown contribution kind %(kind)s") % {"kind": kind})
    if amount <= 0:
        raise ValueError(_("the amount must be more than zero"))
    account = accounts_lock(person_ids=[holder.pk])[holder.pk]  # serialises payments from this account
    existing = only_row(RelativeContribution.objects.filter(reference=reference))
    if existing is not None:
        if _same_payment(existing, holder=holder, relative=relative, kind=kind, year=year, amount=amount):
            return existing, False
        raise AccountError(AccountError.IDEMPOTENCY_CONFLICT,
                           _("payment reference %(ref)s was used for another payment") % {"ref": reference})
    linked = FamilyLink.objects.filter(holder=holder, relative=relative, begndate__lte=day).filter(
        Q(enddate__isnull=True) | Q(enddate__gte=day)).exists()
    if not linked:
        raise AccountError(AccountError.MULAID_NOT_LINKED,
                           _("%(relative)s is not linked to %(holder)s's account on %(day)s")
                           % {"relative": relative.psn_no, "holder": holder.psn_no, "day": day})
    enrollment = only_row(Enrollment.objects.select_related("region").prefetch_related("status_changes")
                          .filter(person=holder, insutype=InsuType.EMPLOYEE))
    relative_enrollment = (Enrollment.objects.select_related("region").filter(person=relative)
                           .order_by("insutype").first())
    refusal = mulaid_refusal(holder_psn_no=holder.psn_no,
                             holder_admdvs=enrollment.region.admdvs if enrollment is not None else "",
                             active=enrollment is not None and enrollment.covers(day),
                             patient_admdvs=relative_enrollment.region.admdvs if relative_enrollment else "", day=day)
    if refusal is not None:
        code = (AccountError.NOT_INSURED_ON_DATE if enrollment is None or not enrollment.covers(day)
                else AccountError.MULAID_NOT_LINKED)
        raise AccountError(code, refusal)
    try:
        version = policy_version_in_force(enrollment.region.admdvs, day)
    except PolicyError as e:
        raise AccountError(e.err_code, e.err_msg) from None
    if kind not in version.relative_contributions:
        raise AccountError(AccountError.KIND_NOT_ALLOWED,
                           _("policy %(code)s does not let an account pay a relative's %(kind)s contribution")
                           % {"code": version.code, "kind": ContributionKind(kind).label})
    pockets = version.mulaid_pockets
    available = sum((getattr(account, POCKET_FIELD[p]) for p in pockets), Decimal(0))
    if available < amount:
        raise AccountError(AccountError.INSUFFICIENT_BALANCE,
                           _("%(holder)s's account can pay %(available)s yuan from the %(pockets)s pocket(s), "
                             "%(amount)s yuan is needed")
                           % {"holder": holder.psn_no, "available": available, "pockets": ", ".join(pockets),
                              "amount": amount})
    try:
        with transaction.atomic():
            record = RelativeContribution.objects.create(
                holder=holder, relative=relative, kind=kind, year=year, amount=amount, reference=reference,
                policy_version=version, created_by=user if getattr(user, "is_authenticated", False) else None)
    except IntegrityError:
        raise AccountError(AccountError.IDEMPOTENCY_CONFLICT,
                           _("payment reference %(ref)s was used for another payment") % {"ref": reference}) from None
    remaining = amount
    for pocket in pockets:
        take = min(getattr(account, POCKET_FIELD[pocket]), remaining)
        if take > 0:
            ledger_post(account=account, pocket=pocket, amount=-take, kind=EntryKind.RELATIVE_CONTRIBUTION,
                        ref_type="relative_contribution", ref_id=str(record.pk), policy_version=version,
                        reason=_("%(kind)s %(year)s for %(relative)s")
                        % {"kind": record.get_kind_display(), "year": year, "relative": relative.psn_no},
                        user=user)
            remaining -= take
    return record, True
