"""Partner API tokens: created for one facility, stored as a digest, checked on every request.

A token is derived from a random seed with the server's key (`PARTNER_TOKEN_KEY`, by default SECRET_KEY):
HMAC-SHA256(key, seed). The database keeps the seed and the token's digest, never the token: a copy of the database
alone gives no token. The server can derive the token again, which the national gateway's signature needs
(`x-tif-signature` is SHA-256 of timestamp + token + nonce + timestamp, a shared-secret scheme that a stored hash
cannot check). The alternative, a second per-facility secret, would give vendors two secrets for one facility and
two things to revoke.

The check reads a process cache (core.cache) rather than the database on every request: revoking a token, or
changing its facility or region, clears the cache in every process that shares Django's cache (Redis in
production), and an entry lives TOKEN_CACHE_SECONDS at most where the cache is per process."""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings
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


def token_of_seed(seed: str) -> str:
    """The token a seed gives with the server's key (43 URL-safe characters, like `secrets.token_urlsafe(32)`)."""
    key = (settings.PARTNER_TOKEN_KEY or settings.SECRET_KEY).encode()
    mac = hmac.new(key, f"partner-token:{seed}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


@transaction.atomic
def partner_token_create(*, facility: Facility, label: str = "") -> tuple[PartnerToken, str]:
    """Create a token for `facility`; returns the row and the raw token, which is never stored (only its seed and
    digest)."""
    seed = secrets.token_hex(16)
    raw = token_of_seed(seed)
    token = PartnerToken.objects.create(facility=facility, digest=token_digest(raw), seed=seed, prefix=raw[:8],
                                        label=label)
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


def partner_tokens_of_facility(fixmedins_code: str) -> list[tuple[PartnerToken, str]]:
    """The facility's live tokens that can sign, each with the token itself (derived again from its seed), for
    checking a signature. A token whose seed no longer gives its digest (the key changed) is left out."""

    def load() -> list[tuple[PartnerToken, str]]:
        rows = (PartnerToken.objects.select_related("facility", "facility__region")
                .filter(facility__fixmedins_code=fixmedins_code, revoked_at__isnull=True).exclude(seed="")
                .order_by("-created_at"))
        pairs = [(token, token_of_seed(token.seed)) for token in rows]
        return [(token, raw) for token, raw in pairs if token_digest(raw) == token.digest]

    return _tokens.get(("facility", fixmedins_code), load)
