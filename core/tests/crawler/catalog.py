"""The project's own catalog (locale/zh_Hans/LC_MESSAGES/django.po) as patterns that find its English in a page."""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# Placeholders of both styles: %(name)s, %s, %d, {name}.
PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[sdfir]|%[sdfir]|\{[^}]*\}")
# A piece of English worth looking for: two words or more, of eight letters and spaces at least ("is not" and
# "for" also occur in data); a msgid without placeholders may be a single word of six letters or more (shorter ones
# such as "year" also occur inside codes, usernames and file names).
PHRASE = re.compile(r"[A-Za-z][A-Za-z' -]*\s[A-Za-z' -]*[A-Za-z]")
WORD = re.compile(r"[A-Za-z]{6,}")
# Letters, digits and underscores make a code: `settlement_auditor` is not the English word "settlement", nor is
# `accounts` in the dotted name of a task, `accounts.tasks.credits_month_task`.
EDGE_BEFORE, EDGE_AFTER = r"(?<![A-Za-z0-9_.])", r"(?![A-Za-z0-9_]|\.[A-Za-z0-9_])"


@dataclass(frozen=True)
class Entry:
    msgid: str
    msgstr: str
    pattern: re.Pattern


def _entries(text: str) -> list[tuple[str, str]]:
    """(msgid, first msgstr) of every entry, continuation lines joined, the header left out."""
    out = []
    fields: dict[str, str] = {}
    current = None
    for line in text.splitlines() + [""]:
        line = line.strip()
        if not line:
            if fields.get("msgid"):
                out.append((fields["msgid"], fields.get("msgstr", fields.get("msgstr[0]", ""))))
            fields, current = {}, None
        elif line.startswith('"'):
            fields[current] += ast.literal_eval(line)
        elif not line.startswith("#"):
            current, _, value = line.partition(" ")
            fields[current] = ast.literal_eval(value)
    return out


def project_entries() -> list[Entry]:
    """Each msgid whose English could show through: a pattern for its longest literal piece worth looking for,
    matched as whole words, case and all (a lower-case first letter may be capitalised)."""
    entries = []
    for msgid, msgstr in _entries(PO.read_text(encoding="utf-8")):
        if msgid == msgstr:
            continue
        pieces = [p.strip(" .,:;()") for p in PLACEHOLDER.split(msgid)]
        worth = [p for p in pieces if PHRASE.fullmatch(p) and len(p) >= 8]
        if len(pieces) == 1 and WORD.fullmatch(pieces[0]):
            worth = pieces
        if not worth:
            continue
        piece = max(worth, key=len)
        words = r"\s+".join(re.escape(w) for w in piece.split())
        if piece[0].islower():  # the admin capitalises the first letter of a label
            words = f"[{piece[0]}{piece[0].upper()}]{words[1:]}"
        entries.append(Entry(msgid, msgstr, re.compile(EDGE_BEFORE + words + EDGE_AFTER)))
    return entries
