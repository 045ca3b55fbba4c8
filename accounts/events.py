"""One place that says "a credit run finished": apps that keep figures derived from the ledger (the report
summaries of account income and spending) register a listener in their `AppConfig.ready`, so the credit run path
names none of them. Listeners run after the run's last chunk committed, outside its transactions."""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import CreditRun

CreditRunListener = Callable[["CreditRun"], None]
_listeners: list[tuple[str, CreditRunListener]] = []


def credit_run_listener(name: str, listener: CreditRunListener) -> None:
    """Register `listener(run)`; registering a name again replaces the earlier listener of that name."""
    for i, (existing, _listener) in enumerate(_listeners):
        if existing == name:
            _listeners[i] = (name, listener)
            return
    _listeners.append((name, listener))


def credit_run_finished(run: "CreditRun") -> None:
    """Tell every listener that `run` is done (or failed with part of its entries written)."""
    for _name, listener in _listeners:
        listener(run)
