"""The API's one exception handler: every error is `{err_code, err_msg}`; and the middleware that makes the same
true of the errors Django answers before or around a view (an unknown path, a body too large, a bad host)."""

import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
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

PAGE_NUMBER = re.compile(r"-?[0-9]+")


def error_response(err_code: str, err_msg: str, http_status: int | None = None) -> Response:
    return Response({"err_code": err_code, "err_msg": str(err_msg)},
                    status=http_status or ERR_STATUS.get(err_code, status.HTTP_400_BAD_REQUEST))


def request_type(context: dict) -> str:
    request = context.get("request")
    return (request.content_type if request is not None else "") or "none"


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
    if isinstance(exc, RequestDataTooBig):
        return error_response("INVALID_REQUEST", _("the request body is larger than %(max)s bytes")
                              % {"max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    if isinstance(exc, TooManyFieldsSent):
        return error_response("INVALID_REQUEST", _("the request has more than %(max)s fields")
                              % {"max": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})
    if isinstance(exc, SuspiciousOperation):
        return error_response("INVALID_REQUEST", _("Bad request."))
    if isinstance(exc, exceptions.UnsupportedMediaType):  # the partner API reads JSON only (CONTRACT.md's statuses)
        return error_response("INVALID_REQUEST", _("the body must be JSON (Content-Type: application/json), not "
                                                   "%(type)s") % {"type": request_type(context)})
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


API_PATH = "/api/"
STATUS_ERRORS = {
    400: ("INVALID_REQUEST", gettext_lazy("the request could not be read")),
    401: ("NOT_AUTHENTICATED", gettext_lazy("Authentication credentials were not provided.")),
    403: ("FORBIDDEN", gettext_lazy("You do not have permission to perform this action.")),
    404: ("NOT_FOUND", gettext_lazy("no such path in the API (the paths are listed at /api/v1/docs/)")),
    405: ("METHOD_NOT_ALLOWED", gettext_lazy("this method is not allowed here")),
    413: ("INVALID_REQUEST", gettext_lazy("the request is too large")),
}
SERVER_ERROR = ("SERVER_ERROR", gettext_lazy("the server could not answer; the same request may be sent again"))


class ApiErrorsAsJsonMiddleware:
    """Under /api/, an error answered outside the views' exception handler (Django's 404 for an unknown path,
    its 400 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE or a bad Host header, a 500) becomes `{err_code, err_msg}`
    JSON with the same status, as CONTRACT.md promises for every API error. First in MIDDLEWARE: it sees what every
    other middleware answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (response.status_code < 400 or not request.path.startswith(API_PATH)
                or response.get("Content-Type", "").startswith("application/json")):
            return response
        code, message = STATUS_ERRORS.get(response.status_code, SERVER_ERROR if response.status_code >= 500
                                          else ("ERROR", response.reason_phrase))
        answer = JsonResponse({"err_code": code, "err_msg": str(message)}, status=response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                answer[header] = response[header]
        return answer


class ContractPageNumberPagination(PageNumberPagination):
    """DRF's page-number pagination, with the page number as the schema states it: an integer in ASCII digits. DRF
    reads a blank `page=` as page 1; here anything but an integer is 400 INVALID_REQUEST, and an integer with no
    such page (0, negative, past the last) is DRF's 404, as before."""

    def paginate_queryset(self, queryset, request, view=None):  # noqa: ANN001, ANN201  (DRF's signature)
        number = request.query_params.get(self.page_query_param)
        if number is not None and not PAGE_NUMBER.fullmatch(number):
            raise exceptions.ValidationError({self.page_query_param: [_("a page number is a whole number")]})
        return super().paginate_queryset(queryset, request, view)
