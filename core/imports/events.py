"""One place that says "an import job wrote its rows": apps that keep figures derived from what an import writes
(the report summaries of account income and spending, from opening balances) register a listener in their
`AppConfig.ready`, so the import path, on the ground floor, names none of them. Listeners run after the job's
rows committed."""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.models import ImportJob

ImportListener = Callable[["ImportJob"], None]
_listeners: list[tuple[str, ImportListener]] = []


def import_job_listener(name: str, listener: ImportListener) -> None:
    """Register `listener(job)`; registering a name again replaces the earlier listener of that name."""
    for i, (existing, _listener) in enumerate(_listeners):
        if existing == name:
            _listeners[i] = (name, listener)
            return
    _listeners.append((name, listener))


def import_job_written(job: "ImportJob") -> None:
    """Tell every listener that `job` imported its file (not a dry run)."""
    for _name, listener in _listeners:
        listener(job)
