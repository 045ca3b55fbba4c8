"""Resident ID numbers (公民身份号码, GB 11643): validation with python-stdnum, and masking for display."""

import datetime
import functools

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exceptions
from stdnum import numdb
from stdnum.cn import ric

MALE = "1"
FEMALE = "2"


def certno_clean(value: str) -> str:
    """Return the ID number in canonical form (upper-case X) or raise ValidationError saying what is wrong."""
    number = ric.compact(value or "")
    if len(number) != 18:
        raise ValidationError(_("an ID number has 18 characters, this one has %(n)d") % {"n": len(number)},
                              code="length")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(_("an ID number is 17 digits and a digit or X"), code="format")
    want = ric.calc_check_digit(number)
    if number[-1] != want:
        message = _("the check digit is %(got)s, it should be %(want)s") % {"got": number[-1], "want": want}
        raise ValidationError(message, code="checksum")
    try:
        ric.get_birth_date(number)
    except stdnum_exceptions.ValidationError:
        raise ValidationError(_("digits 7 to 14 are not a valid birth date"), code="birth_date") from None
    if not _area_known(number[:6]):
        raise ValidationError(_("the first six digits are not a known region code"), code="region")
    return number


@functools.cache
def _area_known(area: str) -> bool:
    """Whether the area code was ever a division code. Unlike `ric.get_birth_place`, the birth year is not
    compared with the code's dates: a code is that of the first issuing office, so someone born in 1950 may
    well hold a 370102 number (a code from 1983)."""
    parts = numdb.get("cn/loc").info(area)
    return len(parts) == 2 and all(props for _part, props in parts)


@functools.cache
def admdvs_name(admdvs: str) -> str:
    """The name of an administrative division code (GB/T 2260, from python-stdnum's table): 370000 山东省,
    370100 济南市; "" for a code not in it."""
    parts = numdb.get("cn/loc").info(admdvs)
    return parts[1][1].get("county", "") if len(parts) == 2 else ""


def certno_birth_date(number: str) -> datetime.date:
    return ric.get_birth_date(number)


def certno_gender(number: str) -> str:
    """The 17th digit is odd for men (gend 1), even for women (gend 2)."""
    return MALE if int(number[16]) % 2 else FEMALE


def certno_mask(number: str) -> str:
    """`310101********1234`: the region and the last four kept, the middle hidden."""
    if not number:
        return ""
    head, tail = settings.CERTNO_MASK_KEEP_HEAD, settings.CERTNO_MASK_KEEP_TAIL
    if len(number) <= head + tail:
        return "*" * len(number)
    return number[:head] + "*" * (len(number) - head - tail) + number[-tail:]


def certno_make(prefix17: str) -> str:
    """Complete 17 digits with their check digit (for demo data and tests)."""
    return prefix17 + ric.calc_check_digit(prefix17 + "0")
