"""`POST /fsi/api/rsfComIfsService/callService`: the national interface's one endpoint (CONTRACT.md, "National
interface gateway"). Credentials and the facility are checked here (401/403, no envelope); everything else is
answered with an envelope, HTTP 200 (`gateway.api.messages`)."""

import logging
import time
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.api.views import IsPartner
from core.api import api_exception_handler, error_response
from core.api_schema import ERROR_SERIALIZER
from core.parsers import JSONParser
from gateway.api.authentication import GatewayAuthentication
from gateway.api.messages import EnvelopeError, envelope_read, envelope_refusal, message_answer
from gateway.api.schema import ANSWER, REQUEST, description

logger = logging.getLogger("gateway")


class JSONOnly(BaseContentNegotiation):
    """Always JSON, whatever the client's Accept header says (a HIS may send anything there)."""

    def select_parser(self, request: Request, parsers: list) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list, format_suffix: str | None = None) -> tuple:
        return renderers[0], renderers[0].media_type


def gateway_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Credentials refused: 401 (with the scheme to use), or 403; no envelope."""
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response = error_response("NOT_AUTHENTICATED", str(exc.detail), status.HTTP_401_UNAUTHORIZED)
        response["WWW-Authenticate"] = "Token"
        return response
    return api_exception_handler(exc, context)


class CallServiceView(APIView):
    authentication_classes = [GatewayAuthentication]
    permission_classes = [permissions.IsAuthenticated, IsPartner]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]  # the body is read by envelope_read; this says what it is (OpenAPI)
    content_negotiation_class = JSONOnly

    def get_exception_handler(self) -> Any:
        return gateway_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.received_at, self.started = timezone.now(), time.perf_counter()
        super().initial(request, *args, **kwargs)
        # DRF hands its principal down to Django's request, where django-simple-history takes it for the user of
        # any history record a message writes: a facility is no staff user, so those records name none.
        request._request.user = AnonymousUser()

    @extend_schema(operation_id="callService", summary="national interface: one message / 国家医保接口：一条报文",
                   description=description(), request=REQUEST,
                   responses={200: ANSWER, 401: OpenApiResponse(ERROR_SERIALIZER, description="credentials"),
                              403: OpenApiResponse(ERROR_SERIALIZER,
                                                   description="another facility's code, or a facility not "
                                                               "designated today")},
                   tags=["national interface"])
    def post(self, request: Request) -> Response:
        facility, token = request.user.facility, request.auth
        timing = {"facility": facility, "token": token, "received_at": self.received_at, "started": self.started}
        try:
            envelope = envelope_read(request.body)
        except (EnvelopeError, RequestDataTooBig) as e:
            text = str(e) if isinstance(e, EnvelopeError) else _("the message is too large")
            return Response(envelope_refusal(**timing, message=text))
        if envelope.get("fixmedins_code") != facility.fixmedins_code:
            raise exceptions.PermissionDenied(_("fixmedins_code must be this token's facility, %(code)s")
                                              % {"code": facility.fixmedins_code})
        try:
            return Response(message_answer(**timing, envelope=envelope))
        except Exception:  # an answer, not a 500: the facility's system reads envelopes only
            logger.exception("gateway: message of %s could not be answered", facility.fixmedins_code)
            return Response(envelope_refusal(**timing, message=_("the message could not be processed: the error "
                                                                 "was logged for the agency")))
