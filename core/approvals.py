"""Money moved by hand needs two people: one asks (an import of opening balances, a correction of an account), a
second user with the approving permission approves or rejects it. The checks every such approval makes, and its
refusal."""

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _


class ApprovalError(Exception):
    """A refused approval or rejection, with a stable code and a translatable message."""

    NOT_ALLOWED = "APPROVAL_NOT_ALLOWED"
    OWN_REQUEST = "APPROVAL_OWN_REQUEST"
    ALREADY_DECIDED = "APPROVAL_ALREADY_DECIDED"
    REASON_REQUIRED = "APPROVAL_REASON_REQUIRED"

    def __init__(self, err_code: str, err_msg: str | Promise) -> None:
        self.err_code = err_code
        self.err_msg = str(err_msg)
        super().__init__(self.err_msg)


def approval_check(*, user: Any, maker_id: int | None, permission: str) -> None:
    """Refuse (ApprovalError) a user without `permission`, or the user who made the request: a second person
    decides. A request with no recorded maker (made by no signed-in user) may be decided by anyone allowed."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_perm(permission):
        raise ApprovalError(ApprovalError.NOT_ALLOWED, _("you may not approve or reject money moved by hand"))
    if maker_id is not None and user.pk == maker_id:
        raise ApprovalError(ApprovalError.OWN_REQUEST,
                            _("a second person approves: you may not approve or reject your own request"))


def rejection_reason_clean(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApprovalError(ApprovalError.REASON_REQUIRED, _("say why the request is rejected"))
    return reason
