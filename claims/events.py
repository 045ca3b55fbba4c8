"""One place that says "a settlement was applied or reversed", inside that settlement's transaction.

The settlement services call `settlement_applied` as their last statement; apps that keep figures derived from
settlements (report summaries, clearing, reconciliation) register a listener in their `AppConfig.ready`, so the
settlement path names none of them. A listener runs inside the settlement's transaction, after its accumulator and
account locks: what it writes commits or rolls back with the settlement, and it must take its own locks in an
order that cannot deadlock with another till's (an atomic upsert, say).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from claims.models import Settlement

SettlementListener = Callable[["Settlement", int], None]
_listeners: list[tuple[str, SettlementListener]] = []


def settlement_listener(name: str, listener: SettlementListener) -> None:
    """Register `listener(settlement, sign)`: `sign` +1 when settled, −1 when reversed. Registering a name again
    replaces the earlier listener of that name (an app's ready() may run twice in tests)."""
    for i, (existing, _listener) in enumerate(_listeners):
        if existing == name:
            _listeners[i] = (name, listener)
            return
    _listeners.append((name, listener))


def settlement_applied(settlement: "Settlement", *, sign: int) -> None:
    """Tell every listener, in the order they registered. Call inside the settlement's transaction."""
    for _name, listener in _listeners:
        listener(settlement, sign)
