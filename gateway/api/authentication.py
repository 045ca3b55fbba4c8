"""The gateway's two credential schemes (CONTRACT.md): `Authorization: Token <token>` as on /api/v1/, or the
national gateway's headers `x-tif-paasid` (the facility code), `x-tif-timestamp` (Unix seconds, within
SIGNATURE_WINDOW of the server's clock), `x-tif-nonce` (never accepted twice within NONCE_SECONDS) and
`x-tif-signature`, the lowercase hex SHA-256 of timestamp + token + nonce + timestamp.

The token a signature is checked against is derived again from its seed (`claims.tokens`); any live token of the
facility may sign. Nonces are kept in Django's cache, which production shares between workers (Redis): an atomic
`add` accepts a nonce once."""

import hashlib
import hmac
import re
import time

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from claims.api.authentication import Partner, PartnerTokenAuthentication
from claims.models import PartnerToken
from claims.tokens import partner_tokens_of_facility

SIGNATURE_WINDOW = 300
NONCE_SECONDS = 600
TIMESTAMP_RE = re.compile(r"[0-9]{1,12}", re.ASCII)
NONCE_RE = re.compile(r"[\x21-\x7e]{1,128}", re.ASCII)
CODE_RE = re.compile(r"[0-9A-Za-z]{1,30}", re.ASCII)
HEX64_RE = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)


def signature_of(*, timestamp: str, token: str, nonce: str) -> str:
    """`x-tif-signature` for these values."""
    return hashlib.sha256(f"{timestamp}{token}{nonce}{timestamp}".encode()).hexdigest()


def nonce_claim(paasid: str, nonce: str) -> bool:
    """Accept a nonce once per facility within NONCE_SECONDS: False when it was seen already."""
    key = f"gateway-nonce:{paasid}:{hashlib.sha256(nonce.encode()).hexdigest()}"
    return cache.add(key, 1, timeout=NONCE_SECONDS)


class GatewayAuthentication(authentication.BaseAuthentication):
    """A partner token in the Token header, or a signature made with one (x-tif headers)."""

    def authenticate(self, request: Request) -> tuple[Partner, PartnerToken] | None:
        if authentication.get_authorization_header(request):
            return PartnerTokenAuthentication().authenticate(request)
        meta = request.META
        paasid = meta.get("HTTP_X_TIF_PAASID")
        if paasid is None:
            return None
        timestamp, nonce = meta.get("HTTP_X_TIF_TIMESTAMP", ""), meta.get("HTTP_X_TIF_NONCE", "")
        signature = meta.get("HTTP_X_TIF_SIGNATURE", "")
        if not (CODE_RE.fullmatch(paasid) and TIMESTAMP_RE.fullmatch(timestamp) and NONCE_RE.fullmatch(nonce)
                and HEX64_RE.fullmatch(signature)):
            raise exceptions.AuthenticationFailed(_(
                "x-tif-paasid (the facility code), x-tif-timestamp (Unix seconds), x-tif-nonce and x-tif-signature "
                "(64 hex digits) are all needed"))
        if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW:
            raise exceptions.AuthenticationFailed(_("x-tif-timestamp is more than 300 seconds from the server's "
                                                    "clock"))
        signed_by = None
        for token, raw in partner_tokens_of_facility(paasid):
            if hmac.compare_digest(signature_of(timestamp=timestamp, token=raw, nonce=nonce), signature.lower()):
                signed_by = token
                break
        if signed_by is None:
            raise exceptions.AuthenticationFailed(_("x-tif-signature does not match a live token of %(code)s")
                                                  % {"code": paasid})
        if not nonce_claim(paasid, nonce):
            raise exceptions.AuthenticationFailed(_("x-tif-nonce was used already"))
        return Partner(signed_by), signed_by

    def authenticate_header(self, request: Request) -> str:
        return "Token"
