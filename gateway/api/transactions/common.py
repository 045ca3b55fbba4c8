"""Pieces the transactions share: money as the envelope writes it, and the person a message names."""

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Person
from claims.api.serializers import psn_no_field
from claims.partner import person_not_found, person_visible
from claims.selectors import person_get
from gateway.api.registry import Incoming

MONEY_HELP = _("money: a string with two decimals")


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def money_out(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(help_text=kwargs.pop("help_text", MONEY_HELP), **kwargs)


def psn_no_in(**kwargs: Any) -> serializers.RegexField:
    return psn_no_field(help_text=kwargs.pop("help_text", _("the person number (psn_no)")), **kwargs)


def tied_person(message: Incoming, psn_no: str) -> Person:
    """The person, when the message's facility has a tie to them; else PERSON_NOT_FOUND, as for nobody."""
    person = person_get(psn_no=psn_no)
    if not person_visible(facility=message.facility, person=person):
        raise person_not_found(psn_no)
    return person


class Empty(serializers.Serializer):
    """`{}`: nothing to answer but `infcode` 0."""
