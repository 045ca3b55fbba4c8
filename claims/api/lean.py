"""The settlement POST (national 2207) without DRF's generic machinery and the staff office's middleware.

Issue 16 asks for 400 settlements/s on 2 cores. DRF's per-request work (content negotiation, the Request wrapper,
authentication, permissions, throttle) and the middleware a partner's request never uses (sessions, CSRF,
authentication, messages, history, login lockout) were about a sixth of a settlement's application CPU.

`PartnerSettlementMiddleware` takes only the plain request: POST to the settlements path with
`Authorization: Token …` of a live token whose facility is designated today, a JSON body (`application/json`, UTF-8)
that `settlement_request_fast` reads, and an Accept that DRF answers with JSON. Anything else, and every refusal
before the throttle, goes the full way to `SettlementListCreateView`, which answers it as it always has. A request
the lean path takes is counted by the view's own throttles, settled by the same service, and rendered by DRF's
JSON renderer and the API's exception handler, with the view's headers, through the middleware after this one that
a partner's request needs (security, host check, language, framing, …): the same status, body and headers as the
full path (claims/tests/test_api_lean.py).
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.module_loading import import_string
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils import json
from rest_framework.utils.json import strict_constant

from claims.api.authentication import Partner
from claims.api.serializers import settlement_request_fast
from claims.models import PartnerToken
from claims.partner import facility_active, partner_settlement_create
from claims.tokens import partner_token_lookup
from core.parsers import JSONParser

# What a partner's settlement does not go through: its principal is the token (no session, no CSRF, no staff user,
# no messages), it writes no history rows (its inserts are SQL: core.queries) and it is no login.
SKIPPED_MIDDLEWARE = frozenset({
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
})
JSON_ACCEPT = frozenset({"", "*/*", "application/json"})  # DRF's first renderer, JSON, with no parameters
PLAN = "_partner_settlement"


class _ThrottleRequest:
    """What the throttles read of a request: the principal (its token names the counter)."""

    def __init__(self, user: Partner) -> None:
        self.user = user


def lean_plan(request: HttpRequest, path: str) -> tuple[PartnerToken, dict[str, Any]] | None:
    """The token and the read request when the lean path can answer `request`, else None (the full path)."""
    if request.method != "POST" or request.path != path:
        return None
    meta = request.META
    parts = meta.get("HTTP_AUTHORIZATION", "").split(" ")
    if (len(parts) != 2 or parts[0] != "Token" or not parts[1].isascii() or not parts[1].isprintable()
            or meta.get("HTTP_ACCEPT", "") not in JSON_ACCEPT or request.content_type != "application/json"
            or request.content_params not in ({}, {"charset": "utf-8"})):
        return None
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length <= 0 or (settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None
                       and length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE):
        return None
    token = partner_token_lookup(parts[1])
    if token is None or not facility_active(token.facility):
        return None
    try:
        body = json.loads(request.body.decode(), parse_constant=strict_constant if JSONParser.strict else None)
    except (ValueError, RecursionError):
        return None
    data = settlement_request_fast(body)
    return None if data is None else (token, data)


def settlement_post_lean(request: HttpRequest) -> HttpResponse:
    """`SettlementListCreateView.post` for a request `lean_plan` read: the throttles, the service, the answer."""
    from claims.api.views import SettlementListCreateView  # the views import this module's neighbours

    token, data = getattr(request, PLAN)
    try:
        throttle_request = _ThrottleRequest(Partner(token))
        waits = [throttle.wait() for throttle in (cls() for cls in SettlementListCreateView.throttle_classes)
                 if not throttle.allow_request(throttle_request, None)]  # type: ignore[arg-type]
        if waits:
            raise exceptions.Throttled(max((w for w in waits if w is not None), default=None))
        answer, created = partner_settlement_create(facility=token.facility, data=data)
        response = Response(answer, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
    except Exception as exc:
        handled = api_settings.EXCEPTION_HANDLER(exc, {"view": None, "args": (), "kwargs": {}, "request": None})
        if handled is None:
            raise
        response = handled
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = JSONRenderer.media_type
    response.renderer_context = {"view": None, "args": (), "kwargs": {}, "request": None, "response": response}
    headers = _view_headers()
    patch_vary_headers(response, [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()])
    for key, value in headers.items():
        if key != "Vary":
            response[key] = value
    return response.render()


_headers: dict[str, str] = {}


def _view_headers() -> dict[str, str]:
    """The headers the view adds to every answer (Allow, Vary), as DRF's `finalize_response` adds them."""
    if not _headers:
        from claims.api.views import SettlementListCreateView

        view = SettlementListCreateView()
        view.setup(HttpRequest())
        _headers.update(view.default_response_headers)
    return _headers


class PartnerSettlementMiddleware:
    """Sends a plain partner settlement (`lean_plan`) down the lean path, through the middleware after this one
    less `SKIPPED_MIDDLEWARE`; any other request down the full chain."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        names = list(settings.MIDDLEWARE)
        after = names[names.index(f"{__name__}.{type(self).__name__}") + 1:]
        handler: Callable[[HttpRequest], HttpResponse] = settlement_post_lean
        for name in reversed([n for n in after if n not in SKIPPED_MIDDLEWARE]):
            handler = import_string(name)(handler)
        self.lean = handler
        self.path = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.path:
            self.path = reverse("api-settlements")
        plan = lean_plan(request, self.path)
        if plan is None:
            return self.get_response(request)
        setattr(request, PLAN, plan)
        return self.lean(request)
