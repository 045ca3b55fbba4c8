"""The transactions (`infno`) the gateway answers, registered one by one.

A transaction is a handler with its input and output serializers:

    @gateway_transaction("2501", summary=_("cross-region filing"), input=FilingInput, output=FilingOutput,
                         undo=filing_undo)
    def filing(message: Incoming, data: dict) -> Done:
        filing = filing_create(facility=message.facility, **data["data"])   # a service of the app that owns it
        return Done({"result": {...}}, effect=str(filing.pk))

- `input` validates the message's `input` object; `handle` gets its `validated_data` and returns `Done(output,
  effect, warnings)`, or raises `claims.errors.ClaimError` to refuse (`-1`, `err_msg` "CODE: message").
- `effect` says what the message changed, for a reversal (2601) of it: `undo(message, effect)` undoes exactly that.
  A message with an effect and no `undo` cannot be reversed; one without an effect is reversed with nothing to do.
- `output` documents the answer (the OpenAPI schema, and a test that every answer has its fields).
- The module holding the handler is imported by `gateway.api.transactions` (add it to that package's list).

Envelope, credentials, idempotency on `msgid`, the transaction around the handler, logging and the schema are the
gateway's; a handler calls services and renders, nothing else.
"""

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from rest_framework import serializers

from claims.models import Facility, PartnerToken


@dataclass(frozen=True)
class Incoming:
    """A message being answered: who sent it (the token's facility) and its envelope."""

    facility: Facility
    token: PartnerToken | None
    infno: str
    msgid: str
    received_at: datetime.datetime
    envelope: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    """A handler's answer: `output` as the envelope carries it (money as strings), what it changed (`effect`,
    for 2601) and warnings (the envelope's `warn_msg`)."""

    output: dict[str, Any]
    effect: str = ""
    warnings: Sequence[str] = ()


Handler = Callable[[Incoming, dict[str, Any]], Done]
Undo = Callable[[Incoming, str], None]


@dataclass(frozen=True)
class Transaction:
    infno: str
    summary: Promise
    input: type[serializers.Serializer]
    output: type[serializers.Serializer]
    handle: Handler
    undo: Undo | None = None
    description: Promise | str = ""


_transactions: dict[str, Transaction] = {}


def gateway_transaction(infno: str, *, summary: Promise, input: type[serializers.Serializer],  # noqa: A002
                        output: type[serializers.Serializer], undo: Undo | None = None,
                        description: Promise | str = "") -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `infno` (again: replaced)."""

    def register(handle: Handler) -> Handler:
        _transactions[infno] = Transaction(infno=infno, summary=summary, input=input, output=output,
                                           handle=handle, undo=undo, description=description)
        return handle

    return register


def transaction_of(infno: str) -> Transaction | None:
    return _transactions.get(infno)


def transactions() -> list[Transaction]:
    """Every registered transaction, by infno."""
    return [_transactions[k] for k in sorted(_transactions)]
