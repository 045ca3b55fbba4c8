"""Input fields of the API in the contract's formats (CONTRACT.md, "Conventions"), ASCII digits only: dates
`YYYY-MM-DD`, months `YYYY-MM`, years `YYYY`, quantities as digits with an optional fraction, money as a string
with at most two decimals. DRF's and Django's own fields take whatever Python parses (`"1_000"`, fullwidth and
Arabic-Indic digits, "2026-3-1"); these refuse it with the field's message before any parsing."""

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.fields import DateRangeField, RangeField
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from core.parsers import YEAR_RE, contract_date, contract_decimal, contract_money, contract_month

# The same formats as OpenAPI patterns, so that the schema says what the fields accept (schemathesis checks that
# whatever the schema allows is accepted and whatever it does not is refused). Years 1900-2099: the service dates'
# bounds (claims.api.serializers.SETL_DATE_MIN/MAX).
DATE_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
MONTH_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"
MONEY_PATTERN = rf"^[0-9]{{1,{MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES}}}(\.[0-9]{{1,{MONEY_DECIMAL_PLACES}}})?$"
# More than zero, at most 8 digits before the point and 4 after it.
QUANTITY_PATTERN = r"^([1-9][0-9]{0,7}(\.[0-9]{1,4})?|0\.[0-9]{0,3}[1-9])$"



@extend_schema_field({"type": "string", "format": "date", "pattern": DATE_PATTERN})
class ContractDateField(serializers.DateField):
    """A date written `YYYY-MM-DD`."""

    default_error_messages = {"invalid": _("a date written YYYY-MM-DD in ASCII digits")}

    def to_internal_value(self, value: Any) -> datetime.date:
        day = contract_date(value)
        if day is None:
            self.fail("invalid")
        return day


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN})
class ContractMonthField(serializers.CharField):
    """A month written `YYYY-MM`; the value stays the text (views read the month from it)."""

    default_error_messages = {"invalid": _("a month written YYYY-MM in ASCII digits")}

    def to_internal_value(self, value: Any) -> str:
        if contract_month(value) is None:
            self.fail("invalid")
        return value


class ContractYearField(serializers.IntegerField):
    """A year written `YYYY` (a JSON integer or four ASCII digits)."""

    default_error_messages = {"invalid": _("a year written YYYY in ASCII digits")}

    def to_internal_value(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str) or not YEAR_RE.fullmatch(str(value)):
            self.fail("invalid")
        return super().to_internal_value(int(value))


@extend_schema_field({"type": "string", "pattern": QUANTITY_PATTERN, "example": "2"})
class QuantityField(serializers.DecimalField):
    """A quantity: a JSON integer, or a string of ASCII digits with an optional fraction ("2", "0.5")."""

    default_error_messages = {"invalid": _("a quantity written in ASCII digits, e.g. 2 or \"0.5\"")}

    def to_internal_value(self, data: Any) -> Decimal:
        if contract_decimal(data) is None:
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": MONEY_PATTERN, "example": "12.50"})
class MoneyInputField(serializers.DecimalField):
    """Money as the contract writes it: a JSON string with at most two decimals ("12.5", "12.50"), never a
    JSON number (a float cannot say 0.1 exactly)."""

    default_error_messages = {"invalid": _("money is a string of ASCII digits with at most two decimals, "
                                           "e.g. \"12.50\"")}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if contract_money(data) is None:
            self.fail("invalid")
        return super().to_internal_value(data)


class ContractDateFormField(forms.DateField):
    """Django's form DateField for query strings (django-filter), `YYYY-MM-DD` only."""

    default_error_messages = {"invalid": _("a date written YYYY-MM-DD in ASCII digits")}

    def to_python(self, value: Any) -> datetime.date | None:
        if value in self.empty_values:
            return None
        day = contract_date(value)
        if day is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return day


class ContractDateRangeField(DateRangeField):
    """django-filter's `_after`/`_before` pair of dates, each `YYYY-MM-DD` only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        RangeField.__init__(self, (ContractDateFormField(), ContractDateFormField()), *args, **kwargs)
