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


def test_the_file_check_of_id_numbers_gives_what_certno_quick_and_certno_birth_give():
    """`certno_quick_birth` (the roster's fast check, caches kept per file) against the plain functions, each
    value twice (the second answer from the caches)."""
    import random

    from core.imports.base import certno_birth, certno_quick, certno_quick_birth

    rng = random.Random(16)
    values = [GOOD, GOOD.lower(), "110105194912310021", "11010519491231002", "1101051949123100AX",
              certno_make("11010519491332002"), certno_make("11010519490229002"), certno_make("99999919800101001"),
              certno_make("37010219800229001"), " " + GOOD, "１１０１０５１９４９１２３１００２Ｘ", ""]
    for _ in range(300):
        body = f"{rng.choice(['110105', '310101', '370102', '999999'])}{rng.randint(1900, 2030)}" \
               f"{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}{rng.randint(0, 999):03d}"
        values += [certno_make(body), body + rng.choice("0123456789X")]
    check = certno_quick_birth()
    for value in values * 2:
        assert check(value) == (certno_birth(value) if certno_quick(value) else None), value
    assert sum(check(v) is not None for v in values) > 100  # both answers occur
