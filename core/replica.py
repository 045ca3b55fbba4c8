"""Reads off the primary: which views may read a streaming replica, and when a request must not.

A view reads the replica only where it is marked so (`replica_reads` on a view, `ReplicaReadsAdmin` on an admin's
lists and exports): report pages, admin change lists and exports, which read much and may be a moment behind.
Everything else, the settlement path and every service among it, reads the primary. Inside a marked view a read
still goes to the primary when

- the primary connection is inside a transaction (what a transaction reads must be what it writes against),
- the query locks (`select_for_update` is routed as a write),
- this request has written (the in-request pin: from the first write on, every read is the primary's),
- the browser wrote within the last `DATABASE_REPLICA_PIN_SECONDS` (the pin cookie set by `ReplicaPinMiddleware`
  after any request that wrote), so a clerk who saves a row and returns to its list sees the row,
- the replica is unreachable (it is tried again after REPLICA_RETRY_SECONDS).

The router (`config.db_router.PrimaryReplicaRouter`) asks `read_alias()` for every read and calls `note_write()`
for every write; both are cheap and do nothing when no replica is configured.
"""

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

REPLICA = "replica"
PIN_COOKIE = "medins_primary_pin"
REPLICA_RETRY_SECONDS = 10.0
SAFE_METHODS = ("GET", "HEAD")

V = TypeVar("V", bound=Callable[..., Any])


@dataclass
class ReadState:
    """What the current request (or task, or command) may read from the replica."""

    replica_allowed: bool = False  # inside a view marked as reading the replica
    pinned: bool = False  # the browser wrote within the pin window
    wrote: bool = False  # this request wrote


_state: ContextVar[ReadState | None] = ContextVar("medins_read_state", default=None)
_replica_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _replica_usable() -> bool:
    """The replica answers (connecting once, then reusing the connection); after a failure the primary serves the
    replica's reads for REPLICA_RETRY_SECONDS rather than each request waiting on a dead server."""
    global _replica_down_until
    if time.monotonic() < _replica_down_until:
        return False
    try:
        connections[REPLICA].ensure_connection()
    except OperationalError:
        _replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        return False
    return True


def read_alias() -> str:
    """The database the next read goes to (the router's answer)."""
    state = _state.get()
    if (state is None or not state.replica_allowed or state.pinned or state.wrote
            or connections[DEFAULT_DB_ALIAS].in_atomic_block or not replica_configured() or not _replica_usable()):
        return DEFAULT_DB_ALIAS
    return REPLICA


def note_write() -> None:
    """A write (or a locking read) is about to go to the primary: every later read of this request follows it."""
    state = _state.get()
    if state is not None:
        state.wrote = True


@contextmanager
def replica_scope() -> Iterator[ReadState]:
    """Reads inside may go to the replica (subject to the rules above). Outside a request (a management command,
    a test) it makes a state of its own."""
    state = _state.get()
    token = None
    if state is None:
        state = ReadState()
        token = _state.set(state)
    allowed_before = state.replica_allowed
    state.replica_allowed = True
    try:
        yield state
    finally:
        state.replica_allowed = allowed_before
        if token is not None:
            _state.reset(token)


def _request_of(args: tuple[Any, ...]) -> HttpRequest | None:
    for arg in args[:2]:  # a view's request, or a method's after self
        if isinstance(arg, HttpRequest) or hasattr(arg, "_request"):  # DRF wraps Django's request
            return arg
    return None


def replica_reads(view: V | None = None, *, methods: tuple[str, ...] = SAFE_METHODS) -> V | Callable[[V], V]:
    """Mark a view (function or method) as reading the replica for requests of `methods` (GET and HEAD unless
    told otherwise: a POST to a list runs actions). A TemplateResponse is rendered inside, so that what its
    template reads comes from the same place as what the view read (a DRF Response holds its data already)."""

    def decorate(fn: V) -> V:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = _request_of(args)
            if request is None or request.method not in methods or not replica_configured():
                return fn(*args, **kwargs)
            with replica_scope():
                response = fn(*args, **kwargs)
                if isinstance(response, TemplateResponse) and not response.is_rendered:
                    response.render()
                return response

        return wrapper  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


class ReplicaReadsAdmin:
    """For a ModelAdmin: its change list (GET) and its export (django-import-export's export view, any method:
    the export's POST only chooses the format) read the replica."""

    @replica_reads
    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def export_action(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with replica_scope():
            return super().export_action(request, *args, **kwargs)  # type: ignore[misc]


class ReplicaPinMiddleware:
    """Gives each request its read state and pins a browser to the primary for DATABASE_REPLICA_PIN_SECONDS after
    a request of its wrote (a cookie holding the pin's end; a forged one can only send reads to the primary).
    Only browser sessions are pinned: partner calls never read the replica and carry no session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        now = time.time()
        try:
            pinned = float(request.COOKIES.get(PIN_COOKIE, "0")) > now
        except ValueError:
            pinned = False
        state = ReadState(pinned=pinned)
        token = _state.set(state)
        try:
            response = self.get_response(request)
        finally:
            _state.reset(token)
        session_cookie = settings.SESSION_COOKIE_NAME
        if state.wrote and (session_cookie in request.COOKIES or session_cookie in response.cookies):
            seconds = settings.DATABASE_REPLICA_PIN_SECONDS
            response.set_cookie(PIN_COOKIE, f"{now + seconds:.0f}", max_age=seconds, httponly=True, samesite="Lax",
                                secure=settings.SESSION_COOKIE_SECURE)
        return response
