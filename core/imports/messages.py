"""Import messages that are stored and read later, each reader in their own language.

A bad row's message is made once, in the language active while the import runs (what `import_csv` prints), and
is stored with the job (its error summary, the bad-rows file) as data: the message id of the catalog and its
parameters, not the text. The job page, the bad-rows download and anything else that shows a stored message
renders that data with gettext in the reader's language (`message_render`).

`Message` is a `str` (the text in the language active when it was made), so every path that treats messages as
text (error lines, `ValidationError`, the admin's preview pages, tests) reads it as before; it also carries its
msgid and parameters. The resources write `_("…") % {…}` as before, with `_` this module's `stored_gettext`.
Text that is no message of the catalog (a database error, a cell's value) is stored as it is.
"""

import codecs
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from django.utils.translation import gettext, pgettext

# A stored message (`message_data`): a plain string (literal text), a number, or a dict:
#   {"m": msgid, "p": {name: stored}}   a catalog message and its parameters ("c": its context, if any)
#   {"f": format, "p": {name: stored}}  a fixed format, not translated (the contract's "row N, column C: …")
#   {"j": separator, "l": [stored, …]}  parts joined
StoredMessage = str | int | float | dict[str, Any]


class Message(str):
    """A message of the catalog in the language active when it was made, with its msgid and parameters (see the
    module docstring). `%` with a mapping gives the message with those parameters."""

    msgid: str
    params: Mapping[str, Any] | None
    translated: bool
    context: str | None

    def __new__(cls, msgid: str, params: Mapping[str, Any] | None = None, *, translated: bool = True,
                context: str | None = None) -> "Message":
        text = (pgettext(context, msgid) if context else gettext(msgid)) if translated else msgid
        if params is not None:
            text = text % params
        message = super().__new__(cls, text)
        message.msgid, message.params, message.translated, message.context = msgid, params, translated, context
        return message

    def __mod__(self, params: Any) -> "Message":  # type: ignore[override]
        if self.params is not None or not isinstance(params, Mapping):
            return str(self) % params  # type: ignore[return-value]
        return Message(self.msgid, params, translated=self.translated, context=self.context)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_message_from_data, (message_data(self),))


class JoinedMessage(str):
    """Messages joined by a separator (a list of problems in one sentence), each rendered in the reader's language."""

    separator: str
    parts: list[Any]

    def __new__(cls, separator: str, parts: Iterable[Any]) -> "JoinedMessage":
        parts = list(parts)
        joined = super().__new__(cls, separator.join(str(p) for p in parts))
        joined.separator, joined.parts = separator, parts
        return joined


def stored_gettext(msgid: str) -> Message:
    """`gettext` for messages that may be stored: the translation now, and the msgid kept (see `Message`)."""
    return Message(msgid)


def as_message(message: Any) -> Message:
    """A message to store: a `Message` as it is; a msgid marked with `gettext_noop` translated now (text that is no
    msgid, e.g. already translated by `gettext_lazy`, stays as it is)."""
    return message if isinstance(message, Message) else Message(str(message))


def exception_message(error: BaseException) -> Any:
    """The message an exception was raised with (a `Message` keeps its msgid; `str(error)` would not)."""
    return error.args[0] if len(error.args) == 1 and isinstance(error.args[0], str) else str(error)


def stored_pgettext(context: str, msgid: str) -> Message:
    """`pgettext` for messages that may be stored."""
    return Message(msgid, context=context)


def fixed_format(template: str, params: Mapping[str, Any]) -> Message:
    """A format that is never translated (the contract's `row N, column C: message`), its parameters may be."""
    return Message(template, params, translated=False)


def message_data(message: Any) -> StoredMessage:
    """A message as JSON-able data (see `StoredMessage`); text that is no `Message` is kept as it is."""
    if isinstance(message, Message):
        params = None if message.params is None else {k: message_data(v) for k, v in message.params.items()}
        data: dict[str, Any] = {"m" if message.translated else "f": message.msgid}
        if message.context:
            data["c"] = message.context
        if params is not None:
            data["p"] = params
        return data
    if isinstance(message, JoinedMessage):
        return {"j": message.separator, "l": [message_data(p) for p in message.parts]}
    if isinstance(message, bool):
        return int(message)
    if isinstance(message, int | float):
        return message
    return str(message)


def message_render(data: StoredMessage) -> str:
    """A stored message as text in the active language (a msgid the catalog no longer has reads as written)."""
    if isinstance(data, dict):
        if "j" in data:
            return data["j"].join(message_render(p) for p in data.get("l", []))
        template = data["m"] if "m" in data else data.get("f", "")
        text = (pgettext(data["c"], template) if data.get("c") else gettext(template)) if "m" in data else template
        params = data.get("p")
        if params is None:
            return text
        try:
            return text % {k: message_render(v) if isinstance(v, dict | str) else v for k, v in params.items()}
        except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder: the msgid instead
            return template % {k: message_render(v) if isinstance(v, dict | str) else v for k, v in params.items()}
    return data if isinstance(data, str) else str(data)


def _message_from_data(data: StoredMessage) -> Message | str:
    if isinstance(data, dict) and ("m" in data or "f" in data):
        params = data.get("p")
        return Message(data.get("m", data.get("f", "")),
                       None if params is None else {k: _message_from_data(v) if isinstance(v, dict) else v
                                                    for k, v in params.items()},
                       translated="m" in data, context=data.get("c"))
    return message_render(data)


def messages_dumps(messages: Iterable[Any]) -> str:
    """Messages as one JSON text (a cell of the bad-rows file)."""
    return json.dumps([message_data(m) for m in messages], ensure_ascii=False, separators=(",", ":"))


def messages_loads(text: str) -> list[StoredMessage]:
    return json.loads(text) if text else []


def bad_rows_render(stored: IO[bytes]) -> Iterator[bytes]:
    """A stored bad-rows file (UTF-8 with a BOM: `row`, the file's columns, `errors`, `messages`) as the reader
    downloads it: `errors` rendered from `messages` in the active language and `messages` left out. A file stored
    before `messages` was kept is given as it is. Row by row, never the whole file in memory."""
    import csv
    import io

    from core.imports.engine import BAD_ROWS_MESSAGES

    lines = io.TextIOWrapper(stored, encoding="utf-8-sig", newline="")
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    out = io.StringIO()
    writer = csv.writer(out)
    if header[-1:] != [BAD_ROWS_MESSAGES] or "errors" not in header:
        writer.writerow(header)
        yield codecs.BOM_UTF8 + out.getvalue().encode()
        for row in reader:
            out.seek(0), out.truncate()
            writer.writerow(row)
            yield out.getvalue().encode()
        return
    at = header.index("errors")
    writer.writerow(header[:-1])
    chunk = [codecs.BOM_UTF8.decode() + out.getvalue()]
    for row in reader:
        messages = messages_loads(row[-1]) if row else []
        if messages:
            row[at] = "; ".join(f"{column}: {message_render(message)}" for column, message in messages)
        out.seek(0), out.truncate()
        writer.writerow(row[:-1])
        chunk.append(out.getvalue())
        if len(chunk) >= 1000:
            yield "".join(chunk).encode()
            chunk = []
    yield "".join(chunk).encode()
