"""Throttling per partner token (CONTRACT.md: no lower than 6,000 requests a minute by default).

DRF's `SimpleRateThrottle` keeps a list of every request's time under one cache key and writes it back on each
request: with gunicorn's workers sharing Redis two workers overwrite each other's lists (requests go uncounted),
and at thousands of requests a minute the list itself is the cost. This throttle counts in fixed windows of the
rate's duration with the cache's atomic `add`/`incr`: one counter per token and window, exact across processes
that share Django's cache (Redis in production: CACHE_URL; with the local-memory default each process counts its
own requests). A burst may reach twice the rate across a window boundary, as with any fixed window.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView


class PartnerTokenRateThrottle(SimpleRateThrottle):
    scope = "partner"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        token = getattr(request.user, "token", None)
        if token is not None:
            ident = f"token-{token.pk}"
        elif request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        window_key = f"{key}:{window}"
        # Every request but a window's first finds the counter: `incr` first. The counter outlives its window a
        # little, so it never expires while its window is counted.
        try:
            count = self.cache.incr(window_key)
        except ValueError:  # the window's first request, or a race with another one
            count = 1 if self.cache.add(window_key, 1, timeout=self.duration + 5) else self.cache.incr(window_key)
        self.wait_seconds = (window + 1) * self.duration - now
        return count <= self.num_requests

    def wait(self) -> float | None:
        return math.ceil(self.wait_seconds) if self.wait_seconds > 0 else None
