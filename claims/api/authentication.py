"""`Authorization: Token <token>` for partner facilities; the request then acts for that facility only."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from claims.models import Facility, PartnerToken
from claims.tokens import partner_token_lookup


class Partner:
    """The principal of a partner request: a facility, not a staff user."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False

    def __init__(self, token: PartnerToken) -> None:
        self.token = token
        self.facility: Facility = token.facility
        self.pk = f"partner-{token.pk}"

    def __str__(self) -> str:
        return f"partner {self.facility.fixmedins_code}"

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False


class PartnerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Partner, PartnerToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header: expected 'Token <token>'."))
        try:
            raw = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token: bad characters.")) from None
        token = partner_token_lookup(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return Partner(token), token


def request_facility(request: Request) -> Facility | None:
    """The facility a partner request acts for (None for staff)."""
    return getattr(request.user, "facility", None)
