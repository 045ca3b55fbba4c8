"""The domain error of clearing with facilities (statements, claim review, payment files): a stable `err_code` and a
translatable message, like the other apps' errors (`claims.errors.ClaimError`, `accounts.errors.AccountError`), so
that the admin shows the message and an API or a script can tell refusals apart by code (`core.api` maps any
exception with an `err_code` to `{err_code, err_msg}`). The partner-facing clearing services (3203/3204,
`clearing.services`) answer with CONTRACT.md's codes through `ClaimError`."""

from django.utils.functional import Promise

from core.approvals import ApprovalError


class ClearingError(Exception):
    """A clearing step refused: CONTRACT.md's code where one fits, else one of clearing's own."""

    INVALID_REQUEST = "INVALID_REQUEST"  # a bad value: a share, a threshold, a refused amount, a missing reason
    STATEMENT_NOT_DRAFT = "STATEMENT_NOT_DRAFT"
    STATEMENT_NOT_REVIEWED = "STATEMENT_NOT_REVIEWED"
    STATEMENT_OUT_OF_DATE = "STATEMENT_OUT_OF_DATE"  # the month's settlements changed since it was built
    OWN_REVIEW = ApprovalError.OWN_REQUEST  # maker-checker: the reviewer may not approve
    REVIEW_BATCH_CLOSED = "REVIEW_BATCH_CLOSED"
    REVIEW_UNDECIDED = "REVIEW_UNDECIDED"
    NOTHING_SELECTED = "NOTHING_SELECTED"
    NOTHING_TO_PAY = "NOTHING_TO_PAY"
    NO_BANK_ACCOUNT = "NO_BANK_ACCOUNT"

    def __init__(self, err_code: str, err_msg: str | Promise) -> None:
        self.err_code = err_code
        self.err_msg = str(err_msg)
        super().__init__(self.err_msg)
