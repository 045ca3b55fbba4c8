"""Strict input fields of the national interface (CONTRACT.md): money as a JSON number or string with at most two
decimals, dates `yyyy-MM-dd`, times `yyyy-MM-dd HH:mm:ss`, months `yyyyMM`, ASCII digits only. Anything else is
refused with a message that says what was expected, never read loosely (DRF's own fields take "１２", floats and
several date formats).

The message body is parsed with `parse_float=Decimal`, so a JSON number arrives here as int or Decimal, never as a
float. (When the shared strict parsers land in `core`, these fields should call them.)"""

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from claims.api.serializers import MONEY_LIMIT
from core.money import FEN

DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
DATETIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", re.ASCII)
MONTH_RE = re.compile(r"[0-9]{4}(0[1-9]|1[0-2])", re.ASCII)
NUMBER_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
INTEGER_RE = re.compile(r"[0-9]{1,9}", re.ASCII)
QUANTITY_MAX = Decimal("99999999.9999")
PRICE_MAX = Decimal("9999999999.9999")


def _decimal(value: Any) -> Decimal | None:
    """A JSON number (int or Decimal) or a decimal string of ASCII digits, else None. Booleans are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and NUMBER_RE.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


NUMBER_SCHEMA = {"oneOf": [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,4})?$"}, {"type": "number"}]}
MONEY_SCHEMA = {"oneOf": [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$", "example": "379.80"},
                          {"type": "number", "multipleOf": 0.01}]}


@extend_schema_field(NUMBER_SCHEMA)
class DecimalInputField(serializers.Field):
    """A decimal with at most `places` decimals between `minimum` and `maximum`."""

    def __init__(self, *, places: int, minimum: Decimal, maximum: Decimal, above_minimum: bool = False,
                 **kwargs: Any) -> None:
        self.places, self.minimum, self.maximum, self.above_minimum = places, minimum, maximum, above_minimum
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        value = _decimal(data)
        if value is None:
            self.fail_text(_("a number, written with ASCII digits and a dot, as a JSON number or a string"))
        try:
            exact = value == value.quantize(Decimal(1).scaleb(-self.places))
        except InvalidOperation:
            exact = False
        if not exact:
            self.fail_text(_("at most %(places)d decimals") % {"places": self.places})
        low_ok = value > self.minimum if self.above_minimum else value >= self.minimum
        if not low_ok or value > self.maximum:
            self.fail_text(_("a number from %(min)s to %(max)s") % {"min": self.minimum, "max": self.maximum}
                           if not self.above_minimum else
                           _("a number above %(min)s, at most %(max)s") % {"min": self.minimum, "max": self.maximum})
        return value

    def to_representation(self, value: Any) -> Any:
        return str(value)

    def fail_text(self, message: Any) -> None:
        raise serializers.ValidationError(str(message))


@extend_schema_field(MONEY_SCHEMA)
class MoneyInputField(DecimalInputField):
    """Money: a JSON number or string, 0 or more, at most two decimals (CONTRACT.md)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(places=2, minimum=Decimal(0), maximum=MONEY_LIMIT, **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        return super().to_internal_value(data).quantize(FEN)


def quantity_field(**kwargs: Any) -> DecimalInputField:
    return DecimalInputField(places=4, minimum=Decimal(0), maximum=QUANTITY_MAX, above_minimum=True, **kwargs)


def price_field(**kwargs: Any) -> DecimalInputField:
    return DecimalInputField(places=4, minimum=Decimal(0), maximum=PRICE_MAX, **kwargs)


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "example": "2025-03-10"})
class StrictDateField(serializers.Field):
    """`yyyy-MM-dd`."""

    def to_internal_value(self, data: Any) -> datetime.date:
        if isinstance(data, str) and DATE_RE.fullmatch(data):
            try:
                return datetime.date.fromisoformat(data)
            except ValueError:
                pass
        raise serializers.ValidationError(str(_("a date written yyyy-MM-dd, e.g. 2025-03-10")))

    def to_representation(self, value: datetime.date) -> str:
        return value.isoformat()


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
                     "example": "2025-03-10 09:30:00"})
class StrictDateTimeField(serializers.Field):
    """`yyyy-MM-dd HH:mm:ss`, local time (Asia/Shanghai): an aware datetime."""

    def to_internal_value(self, data: Any) -> datetime.datetime:
        if isinstance(data, str) and DATETIME_RE.fullmatch(data):
            try:
                return timezone.make_aware(datetime.datetime.strptime(data, "%Y-%m-%d %H:%M:%S"))
            except ValueError:
                pass
        raise serializers.ValidationError(str(_("a time written yyyy-MM-dd HH:mm:ss, e.g. 2025-03-10 09:30:00")))

    def to_representation(self, value: datetime.datetime) -> str:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}(0[1-9]|1[0-2])$", "example": "202503"})
class YearMonthField(serializers.Field):
    """`yyyyMM`: the first day of that month."""

    def to_internal_value(self, data: Any) -> datetime.date:
        if isinstance(data, str) and MONTH_RE.fullmatch(data):
            return datetime.date(int(data[:4]), int(data[4:]), 1)
        raise serializers.ValidationError(str(_("a month written yyyyMM, e.g. 202503")))

    def to_representation(self, value: datetime.date) -> str:
        return f"{value:%Y%m}"


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^[0-9]+$"}]})
class CountField(serializers.Field):
    """A count: a JSON integer or a string of ASCII digits."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, int) and not isinstance(data, bool) and 0 <= data < 10**9:
            return data
        if isinstance(data, str) and INTEGER_RE.fullmatch(data):
            return int(data)
        raise serializers.ValidationError(str(_("a whole number of ASCII digits, 0 or more")))

    def to_representation(self, value: int) -> int:
        return value


def code_field(max_length: int = 30, **kwargs: Any) -> serializers.RegexField:
    """A code or number: letters, digits and `-_.`, ASCII."""
    return serializers.RegexField(r"^[0-9A-Za-z_.\-]+\Z", max_length=max_length,
                                  error_messages={"invalid": _("letters, digits, '-', '_' and '.' only")}, **kwargs)


def text_field(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, default="", **kwargs)
