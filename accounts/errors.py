"""The domain error of personal accounts; the API maps it to `{err_code, err_msg}`."""

from django.utils.functional import Promise


class AccountError(Exception):
    """A refusal with a stable `err_code` (CONTRACT.md's codes where one fits) and a translatable message."""

    PERSON_NOT_FOUND = "PERSON_NOT_FOUND"
    NOT_INSURED_ON_DATE = "NOT_INSURED_ON_DATE"
    MULAID_NOT_LINKED = "MULAID_NOT_LINKED"
    KIND_NOT_ALLOWED = "CONTRIBUTION_KIND_NOT_ALLOWED"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    INVALID_REQUEST = "INVALID_REQUEST"
    NO_ACCOUNT = "NO_ACCOUNT"
    LIVE_ACCOUNT = "LIVE_ACCOUNT"

    def __init__(self, err_code: str, err_msg: str | Promise) -> None:
        self.err_code = err_code
        self.err_msg = str(err_msg)
        super().__init__(self.err_msg)
