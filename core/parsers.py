"""The API's default JSON parser (its own module: DRF imports it while importing rest_framework.views), and the
parsing of the contract's number and date formats (strict ASCII; the API's fields in `core.api_fields` use it)."""

import datetime
import re
from decimal import Decimal
from typing import IO, Any

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's, refusing JSON nested too deeply as a parse error (Python's decoder raises RecursionError, a 500).
    The default parser of every endpoint (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error: nested too deeply")) from None


# The contract's formats (CONTRACT.md, "Conventions"), ASCII digits only: Python's own parsers take more than the
# contract says (`Decimal("1_000")`, `int("１２")`, Arabic-Indic digits, and strptime's `%m` reads "3" as March),
# so every number and date of a request is matched against these first.
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MONTH_RE = re.compile(r"[0-9]{4}-[0-9]{2}")
YEAR_RE = re.compile(r"[0-9]{4}")
DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
MONEY_RE = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")


def contract_date(text: object) -> datetime.date | None:
    """`YYYY-MM-DD` as a date; None for anything else (other digits, "2026-3-1", a day that does not exist)."""
    if not isinstance(text, str) or not DATE_RE.fullmatch(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def contract_month(text: object) -> datetime.date | None:
    """`YYYY-MM` as the month's first day; None for anything else."""
    if not isinstance(text, str) or not MONTH_RE.fullmatch(text):
        return None
    return contract_date(f"{text}-01")


def contract_decimal(value: object) -> Decimal | None:
    """A non-negative quantity: a JSON integer or a string of ASCII digits with an optional fraction; None for
    anything else (a sign, an exponent, "1_000", other digits, a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    return Decimal(text) if DECIMAL_RE.fullmatch(text) else None


def contract_money(value: object) -> Decimal | None:
    """Money as the contract writes it: a string of ASCII digits with at most two decimals ("12.5", "12.50");
    None for a JSON number or anything else."""
    if not isinstance(value, str) or not MONEY_RE.fullmatch(value):
        return None
    return Decimal(value)
