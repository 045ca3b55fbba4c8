"""The domain error of clearing with facilities (statements, claim review, payment files): a `ClaimError`, with a
stable `err_code` and a translatable message like every other refusal of the project, so that the admin shows the
message and an API or a script tells refusals apart by code (`core.api` maps any exception with an `err_code` to
`{err_code, err_msg}`; the gateway answers a `ClaimError` as a refusal). The partner-facing clearing services
(3203/3204, `clearing.services`) answer with CONTRACT.md's codes through `ClaimError` itself."""

from claims.errors import ClaimError
from core.approvals import ApprovalError


class ClearingError(ClaimError):
    """A clearing step refused: CONTRACT.md's code where one fits (INVALID_REQUEST for a bad value: a share, a
    threshold, a refused amount, a missing reason), else one of clearing's own."""

    STATEMENT_NOT_DRAFT = "STATEMENT_NOT_DRAFT"
    STATEMENT_NOT_REVIEWED = "STATEMENT_NOT_REVIEWED"
    STATEMENT_OUT_OF_DATE = "STATEMENT_OUT_OF_DATE"  # the month's settlements changed since it was built
    OWN_REVIEW = ApprovalError.OWN_REQUEST  # maker-checker: the reviewer may not approve
    REVIEW_BATCH_CLOSED = "REVIEW_BATCH_CLOSED"
    REVIEW_UNDECIDED = "REVIEW_UNDECIDED"
    NOTHING_SELECTED = "NOTHING_SELECTED"
    NOTHING_TO_PAY = "NOTHING_TO_PAY"
    NO_BANK_ACCOUNT = "NO_BANK_ACCOUNT"
