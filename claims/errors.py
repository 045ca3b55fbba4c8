"""The domain error of settlements; the API maps it to `{err_code, err_msg}` (CONTRACT.md's codes)."""

from django.utils.functional import Promise


class ClaimError(Exception):
    PERSON_NOT_FOUND = "PERSON_NOT_FOUND"
    NOT_INSURED_ON_DATE = "NOT_INSURED_ON_DATE"
    FACILITY_NOT_DESIGNATED = "FACILITY_NOT_DESIGNATED"
    MED_TYPE_NOT_ALLOWED = "MED_TYPE_NOT_ALLOWED"
    NO_POLICY_IN_FORCE = "NO_POLICY_IN_FORCE"
    DISEASE_NOT_RECOGNISED = "DISEASE_NOT_RECOGNISED"
    DISEASE_NOT_COVERED = "DISEASE_NOT_COVERED"
    MULAID_NOT_LINKED = "MULAID_NOT_LINKED"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    ALREADY_REVERSED = "ALREADY_REVERSED"
    SETTLEMENT_NOT_FOUND = "SETTLEMENT_NOT_FOUND"
    INVALID_REQUEST = "INVALID_REQUEST"
    SETL_DATE_OUT_OF_RANGE = "SETL_DATE_OUT_OF_RANGE"
    CROSS_REGION_NOT_FILED = "CROSS_REGION_NOT_FILED"
    ALREADY_SETTLED = "ALREADY_SETTLED"
    NO_ACCOUNT = "NO_ACCOUNT"
    AMOUNT_IMPLAUSIBLE = "AMOUNT_IMPLAUSIBLE"  # a line or bill over the version's plausibility limit

    def __init__(self, err_code: str, err_msg: str | Promise) -> None:
        self.err_code = err_code
        self.err_msg = str(err_msg)
        super().__init__(self.err_msg)
