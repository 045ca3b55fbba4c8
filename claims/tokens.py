"""Partner API tokens: created for one facility, stored as a digest, checked on every request."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from claims.models import Facility, PartnerToken
from core.queries import only_row


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
    """The live token with this value, with its facility, or None."""
    return only_row(PartnerToken.objects.select_related("facility", "facility__region")
                    .filter(digest=token_digest(raw), revoked_at__isnull=True))
