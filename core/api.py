"""The API's one exception handler: every error is `{err_code, err_msg}`."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# A domain error is any exception with an `err_code`; these codes are answered with something other than 400.
ERR_STATUS = {
    "PERSON_NOT_FOUND": status.HTTP_404_NOT_FOUND,
    "SETTLEMENT_NOT_FOUND": status.HTTP_404_NOT_FOUND,
    "NO_POLICY_IN_FORCE": status.HTTP_404_NOT_FOUND,
    "NO_ACCOUNT": status.HTTP_404_NOT_FOUND,
    "ALREADY_SETTLED": status.HTTP_409_CONFLICT,
    "IDEMPOTENCY_CONFLICT": status.HTTP_409_CONFLICT,
    "ALREADY_REVERSED": status.HTTP_409_CONFLICT,
    "FORBIDDEN": status.HTTP_403_FORBIDDEN,
    "POLICY_NOT_DRAFT": status.HTTP_409_CONFLICT,
    "NOT_AUTHENTICATED": status.HTTP_403_FORBIDDEN,
}


def error_response(err_code: str, err_msg: str, http_status: int | None = None) -> Response:
    return Response({"err_code": err_code, "err_msg": str(err_msg)},
                    status=http_status or ERR_STATUS.get(err_code, status.HTTP_400_BAD_REQUEST))


def _flatten(detail: object, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            # non_field_errors of a nested serializer belong to the field that holds it (e.g. "items: …").
            out += _flatten(value, prefix if key == "non_field_errors" else name)
        return out
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item, prefix)]
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def validation_text(detail: object) -> str:
    """A serializer's errors as one line: `field.sub: message; …` (the API's INVALID_REQUEST text)."""
    return "; ".join(_flatten(detail))


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    err_code = getattr(exc, "err_code", None)
    if err_code:
        return error_response(err_code, getattr(exc, "err_msg", None) or str(exc))
    if isinstance(exc, exceptions.ValidationError):
        return error_response("INVALID_REQUEST", validation_text(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return error_response("INVALID_REQUEST", str(exc.detail))
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return error_response("NOT_AUTHENTICATED", str(exc.detail), status.HTTP_403_FORBIDDEN)
    if isinstance(exc, exceptions.PermissionDenied):
        return error_response("FORBIDDEN", str(exc.detail))
    if isinstance(exc, PermissionDenied):
        return error_response("FORBIDDEN", _("You do not have permission to perform this action."))
    if isinstance(exc, exceptions.NotFound | Http404):
        return error_response("NOT_FOUND", _("Not found."), status.HTTP_404_NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is not None:
        detail = getattr(exc, "detail", "")
        response.data = {"err_code": getattr(exc, "default_code", "ERROR").upper(), "err_msg": str(detail)}
    return response
