"""The settlement request read without the serializer (`claims.api.serializers.settlement_request_fast`) is what
the serializer reads, to the key, the type and the Decimal's digits, for every request it takes; a request in
the contract's plain form is taken; anything it does not take, it leaves to the serializer (None)."""

import datetime
import json
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from claims.api.serializers import SettlementRequestSerializer, settlement_request_fast

DIGITS = "0123456789"
NUMBER = st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=30)
CODE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)
QTY = st.one_of(
    st.builds(lambda whole, frac: whole + (f".{frac}" if frac else ""),
              st.text(DIGITS, min_size=1, max_size=8), st.text(DIGITS, max_size=4)),
    st.integers(min_value=1, max_value=99_999_999))
PRICE = st.builds(lambda whole, frac: whole + (f".{frac}" if frac else ""),
                  st.text(DIGITS, min_size=1, max_size=10), st.text(DIGITS, max_size=2))
LINE = st.fixed_dictionaries({"item_code": CODE, "qty": QTY, "price": PRICE})
DAY = st.dates(datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)).map(datetime.date.isoformat)

PLAIN = st.fixed_dictionaries(
    {"medins_setl_id": st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64),
     "psn_no": NUMBER, "med_type": st.sampled_from(["11", "13", "41"]), "setl_date": DAY,
     "items": st.lists(LINE, min_size=1, max_size=5)},
    optional={"dise_codg": st.one_of(st.none(), st.just(""), CODE), "ext_rx": st.booleans(),
              "online": st.booleans(), "acct_used_flag": st.sampled_from(["0", "1"]),
              "mulaid_psn_no": st.one_of(st.none(), NUMBER)})

# Anything JSON can carry, in any field: most of it the fast reader leaves to the serializer.
JSON_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                          lambda children: st.lists(children, max_size=3)
                          | st.dictionaries(st.text(max_size=5), children, max_size=3), max_leaves=6)
FIELDS = ["medins_setl_id", "psn_no", "med_type", "setl_date", "dise_codg", "ext_rx", "online", "acct_used_flag",
          "mulaid_psn_no", "items", "other"]


def typed(value: object) -> object:
    """A value with its type and, for a Decimal, its digits and exponent: 2.0000 is not 2."""
    if isinstance(value, dict):
        return [(key, typed(v)) for key, v in value.items()]
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value.as_tuple() if isinstance(value, Decimal) else value)


def agree(data: object) -> dict | None:
    """The fast reading, checked against the serializer's whenever there is one."""
    data = json.loads(json.dumps(data))  # as the parser hands it over
    fast = settlement_request_fast(data)
    if fast is not None:
        serializer = SettlementRequestSerializer(data=data)
        assert serializer.is_valid(), serializer.errors
        assert typed(fast) == typed(serializer.validated_data)
    return fast


@settings(max_examples=400, deadline=None)
@given(PLAIN)
@example({"medins_setl_id": "HIS-1", "psn_no": "P1", "med_type": "14", "setl_date": "2025-03-10",
          "dise_codg": "M03900", "items": [{"item_code": "A50", "qty": 2, "price": "12.5"}]})
def test_a_plain_request_is_read_as_the_serializer_reads_it(data):
    total = sum(Decimal(str(line["qty"])) * Decimal(line["price"]) for line in data["items"])
    taken = agree(data)
    # Only an amount the serializer refuses (a quantity of 0, a bill above what a money column holds) is left to it.
    if all(Decimal(str(line["qty"])) > 0 for line in data["items"]) and total < Decimal("9999999999"):
        assert taken is not None


@settings(max_examples=600, deadline=None)
@given(PLAIN, st.sampled_from(FIELDS), JSON_VALUE, st.booleans())
def test_any_other_request_is_read_as_the_serializer_reads_it_or_left_to_it(data, name, value, in_a_line):
    if in_a_line:
        data["items"][0][name] = value
    else:
        data[name] = value
    agree(data)


def test_what_the_serializer_would_trim_refuse_or_convert_is_left_to_it():
    plain = {"medins_setl_id": "HIS-1", "psn_no": "P1", "med_type": "11", "setl_date": "2025-03-10",
             "items": [{"item_code": "A50", "qty": "2", "price": "12.50"}]}
    assert agree(plain) is not None
    for change in ({"medins_setl_id": " HIS-1"}, {"psn_no": 12}, {"med_type": 11}, {"setl_date": "2025-3-10"},
                   {"med_type": "14"}, {"dise_codg": " M03900"}, {"ext_rx": "true"}, {"acct_used_flag": 1},
                   {"mulaid_psn_no": ""}, {"items": []}, {"items": [{"item_code": "A50", "qty": "0", "price": "1"}]},
                   {"items": [{"item_code": "A50", "qty": "1", "price": 12.5}]}, {"medins_setl_id": "病历1"}):
        assert agree({**plain, **change}) is None, change
