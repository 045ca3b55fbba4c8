"""The domain error of policy resolution and the version lifecycle; the API maps it to `{err_code, err_msg}`."""

from django.utils.functional import Promise


class PolicyError(Exception):
    """A refusal with a stable `err_code` and a translatable message; `messages` lists every reason when there are
    several (a refused publish names each bound it breaks)."""

    NO_POLICY_IN_FORCE = "NO_POLICY_IN_FORCE"
    MED_TYPE_NOT_ALLOWED = "MED_TYPE_NOT_ALLOWED"
    DISEASE_NOT_COVERED = "DISEASE_NOT_COVERED"
    NO_BENEFIT_RULE = "NO_BENEFIT_RULE"
    REFERENCE_VALUE_MISSING = "REFERENCE_VALUE_MISSING"
    NOT_DRAFT = "POLICY_NOT_DRAFT"
    INVALID_STATE = "POLICY_INVALID_STATE"
    PUBLISH_REFUSED = "POLICY_PUBLISH_REFUSED"
    INVALID_REQUEST = "INVALID_REQUEST"

    def __init__(self, err_code: str, err_msg: str | Promise, messages: list[str] | None = None) -> None:
        self.err_code = err_code
        self.err_msg = str(err_msg)
        self.messages = [str(m) for m in messages] if messages else [self.err_msg]
        super().__init__(self.err_msg)

    def as_dict(self) -> dict[str, str]:
        return {"err_code": self.err_code, "err_msg": self.err_msg}
