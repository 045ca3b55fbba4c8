"""The gateway's transactions, one module per topic; importing this package registers them all
(`gateway.api.registry`). A new topic's module goes into the import list below."""

from gateway.api.transactions import clearing, filings, messages, persons, reconciliation, visits

__all__ = ["clearing", "filings", "messages", "persons", "reconciliation", "visits"]
