"""Partner API tokens: created for one facility, stored as a digest, checked on every request.

The check reads a process cache (core.cache) rather than the database on every request: revoking a token, or
changing its facility or region, clears the cache in every process that shares Django's cache (Redis in
production), and an entry lives TOKEN_CACHE_SECONDS at most where the cache is per process."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from claims.models import Facility, PartnerToken
from core.cache import process_cache
from core.queries import only_row
from policies.models import Region

TOKEN_CACHE_SECONDS = 10
_tokens = process_cache("partner_tokens", seconds=TOKEN_CACHE_SECONDS)
_tokens.clear_on_change(PartnerToken, Facility, Region)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def partner_token_create(*, facility: Facility, label: str = "") -> tuple[PartnerToken, str]:
    """Create a token for `facility`; returns the row and the raw token, which is never stored."""
    raw = secrets.token_urlsafe(32)
    token = PartnerToken.objects.create(facility=facility, digest=token_digest(raw), prefix=raw[:8], label=label)
    return token, raw


@transaction.atomic
def partner_token_revoke(*, token: PartnerToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def partner_token_lookup(raw: str) -> PartnerToken | None:
    """The live token with this value, with its facility and region, or None (shared between requests: callers
    must not change it)."""
    digest = token_digest(raw)
    return _tokens.get(digest, lambda: only_row(PartnerToken.objects.select_related("facility", "facility__region")
                                                .filter(digest=digest, revoked_at__isnull=True)))
