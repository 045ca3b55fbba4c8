import datetime

import pytest
from django.core.exceptions import ValidationError

from core.certno import certno_birth_date, certno_clean, certno_gender, certno_make, certno_mask

# 11010519491231002X is the GB 11643 standard's own worked example (check digit X).
GOOD = "11010519491231002X"


def test_standard_example_is_valid_and_lowercase_x_is_canonicalised():
    assert certno_clean(GOOD.lower()) == GOOD
    assert certno_birth_date(GOOD) == datetime.date(1949, 12, 31)
    assert certno_gender(GOOD) == "2"  # 17th digit 2: even, female


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "checksum"),
        ("11010519491231002", "length"),
        ("1101051949123100AX", "format"),
        (certno_make("11010519491332002"), "birth_date"),
        (certno_make("99999919800101001"), "region"),
    ],
)
def test_bad_numbers_are_refused_with_reason(value, code):
    with pytest.raises(ValidationError) as err:
        certno_clean(value)
    assert err.value.code == code


def test_mask_keeps_region_and_last_four():
    assert certno_mask("310101198001010015") == "310101********0015"
    assert certno_mask("") == ""


def test_area_code_is_not_checked_against_the_birth_year():
    # 370102 (历下区) dates from 1983; a Jinan resident born in 1950 who got a card later holds it all the same.
    # python-stdnum's get_birth_place() would refuse this number; the system must not.
    number = certno_make("37010219500101001")
    assert certno_clean(number) == number
