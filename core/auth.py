"""Staff logins: the address a login came from, for django-axes' throttling."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind PROXY_COUNT proxies that append to X-Forwarded-For, the address the outermost of them
    saw: that many entries from the right (those further left are the client's own to write, and to forge)."""
    count = settings.PROXY_COUNT
    if count:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "")
