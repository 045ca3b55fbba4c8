"""Input and output of the partner API (CONTRACT.md, "Partner REST API"). Inputs turn a partner's JSON into the
plain dicts `claims.services` takes; outputs render money as strings with two decimals."""

import datetime
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Enrollment, InsuStatus, Person
from claims.selectors import person_account
from core.api_fields import ContractDateField, ContractYearField, MoneyInputField, QuantityField
from core.certno import certno_clean
from core.money import FEN, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, ZERO, fen
from core.parsers import contract_date

NUMBER_PATTERN = r"^[0-9A-Za-z]+$"
CERTNO_PATTERN = r"^[0-9]{17}[0-9Xx]$"
# Text that is more than blanks (DRF trims it, and a blank field is refused) and holds no NUL (DRF refuses it): the
# schema says so with these patterns.
NOT_BLANK = RegexValidator(r"^[^\x00]*[^\s\x00][^\x00]*$")
NO_NUL = RegexValidator(r"^[^\x00]*$")
MAX_ITEMS = 500
# The largest amount a money column holds (12 digits, 2 decimals): a bill above it cannot be recorded.
MONEY_LIMIT = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES) - FEN
# Service dates are bounded so that no date arithmetic (benefit years) can leave the calendar.
SETL_DATE_MIN = datetime.date(1900, 1, 1)
SETL_DATE_MAX = datetime.date(2099, 12, 31)


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES,
                                    coerce_to_string=True, read_only=True, **kwargs)


def psn_no_field(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(NUMBER_PATTERN, max_length=30, error_messages={
        "invalid": _("a person number is letters and digits")}, **kwargs)


# --- persons ----------------------------------------------------------------------------------------------------

class PersonLookupInputSerializer(serializers.Serializer):
    mdtrt_cert_type = serializers.ChoiceField(choices=[("02", "resident ID card")],
                                              help_text="`02`: resident ID card (the only type accepted)")
    mdtrt_cert_no = serializers.RegexField(
        CERTNO_PATTERN, help_text="the 18-character resident ID number: 17 digits and a digit or X, whose check "
        "digit, birth date (digits 7-14) and region code (digits 1-6) must be valid (else 400 INVALID_REQUEST)")

    def validate_mdtrt_cert_no(self, value: str) -> str:
        try:
            return certno_clean(value)
        except DjangoValidationError as e:
            raise serializers.ValidationError(e.messages) from None


class PersonQuerySerializer(serializers.Serializer):
    date = ContractDateField(required=False, help_text="YYYY-MM-DD: the person as on that day (the insured status "
                                                       "then, its stas_date, the person type and the payers); "
                                                       "today by default")

    def validate_date(self, value: datetime.date) -> datetime.date:
        if not SETL_DATE_MIN <= value <= SETL_DATE_MAX:
            raise serializers.ValidationError(_("a date from %(min)s to %(max)s")
                                              % {"min": SETL_DATE_MIN, "max": SETL_DATE_MAX})
        return value


class PersonBaseInfoSerializer(serializers.Serializer):
    psn_no = serializers.CharField()
    psn_name = serializers.CharField()
    gend = serializers.CharField(help_text="1 male, 2 female")
    brdy = serializers.SerializerMethodField(help_text=(
        "always null: the masked certno hides digits 7-14, which are the birth date, so the two together would give "
        "back the whole ID number; `age` stands in (the facility read the birth date from the ID it presented)"))
    age = serializers.SerializerMethodField()
    certno = serializers.CharField(source="certno_masked", help_text="masked in the middle: 310101********1234")

    @extend_schema_field({"type": "string", "format": "date", "nullable": True})
    def get_brdy(self, person: Person) -> None:
        """Withheld beside the masked ID number (issue 11: wherever the ID is masked, the age, not the birth date);
        the field stays, as CONTRACT.md names it."""
        return None

    def get_age(self, person: Person) -> int:
        """Completed years today."""
        return person.age_on(self.context["today"])


class PersonStatusSerializer(serializers.Serializer):
    stas_date = serializers.DateField(help_text="the day this status took effect")
    psn_insu_stas = serializers.CharField(help_text="1 active, 2 suspended, 4 terminated")


class PersonInsuInfoSerializer(serializers.Serializer):
    """An enrollment as it stands on the context's `day` (its dated status, `stas_date`: CONTRACT.md "an
    enrollee's status on a date is the last status that took effect on or before it")."""

    insutype = serializers.CharField()
    psn_type = serializers.SerializerMethodField()
    psn_insu_stas = serializers.SerializerMethodField(
        help_text="the status on the date asked (today by default): 1 active, 2 suspended, 4 terminated; empty "
                  "when no status had taken effect yet")
    insuplc_admdvs = serializers.CharField(source="region.admdvs")
    emp_name = serializers.SerializerMethodField()
    balc = serializers.SerializerMethodField(help_text="the personal account balance, money")
    stas_date = serializers.SerializerMethodField(help_text="the day the status on the date asked took effect")
    psn_insu_date = serializers.DateField(source="begndate", help_text="insured from")
    paus_insu_date = serializers.SerializerMethodField(
        help_text="the day insurance was suspended or terminated, when it is on the date asked; else null")
    stas_history = serializers.SerializerMethodField(help_text="every dated status, oldest first")

    def _day(self) -> datetime.date:
        return self.context.get("day") or self.context["today"]

    def get_psn_type(self, enrollment: Enrollment) -> str:
        """The person type on the date asked (a retired type counts as in-service before retire_date)."""
        return enrollment.psn_type_on(self._day())

    def get_psn_insu_stas(self, enrollment: Enrollment) -> str:
        return enrollment.status_on(self._day()) or ""

    def get_emp_name(self, enrollment: Enrollment) -> str:
        return enrollment.employer.emp_name if enrollment.employer else ""

    def get_balc(self, enrollment: Enrollment) -> str:
        account = person_account(enrollment.person)
        return f"{account.balc if account else ZERO:.2f}"

    def get_stas_date(self, enrollment: Enrollment) -> str | None:
        change = enrollment.status_change_on(self._day())
        return change.stas_date.isoformat() if change is not None else None

    def get_paus_insu_date(self, enrollment: Enrollment) -> str | None:
        change = enrollment.status_change_on(self._day())
        if change is None or change.psn_insu_stas == InsuStatus.ACTIVE:
            return None
        return change.stas_date.isoformat()

    @extend_schema_field(PersonStatusSerializer(many=True))
    def get_stas_history(self, enrollment: Enrollment) -> list[dict[str, Any]]:
        return PersonStatusSerializer(enrollment.status_history(), many=True).data


class PersonMulaidPayerSerializer(serializers.Serializer):
    psn_no = serializers.CharField(source="holder.psn_no")
    relation = serializers.CharField(help_text="the patient's relation to the payer: spouse, parent or child")


class PersonRecognitionSerializer(serializers.Serializer):
    opsp_dise_code = serializers.CharField(source="disease.opsp_dise_code")
    opsp_dise_name = serializers.CharField(source="disease.opsp_dise_name")
    begndate = serializers.DateField()
    enddate = serializers.DateField(allow_null=True)


class PersonOutputSerializer(serializers.Serializer):
    """A person (national 1101). Needs `today` in the context (and `day`, the date asked, when not today) and a
    person from `person_for_facility` for that day."""

    baseinfo = PersonBaseInfoSerializer(source="*")
    insuinfo = PersonInsuInfoSerializer(source="enrollments", many=True)
    mulaid_payers = PersonMulaidPayerSerializer(
        many=True, help_text="whose accounts may pay for this person on the date asked (today by default), in order: "
                             "the links active then whose holder is insured and active then in the person's region")
    opsp_recognitions = PersonRecognitionSerializer(source="facility_recognitions", many=True,
                                                    help_text="the chronic-disease recognitions at this facility")


class AccountPocketsSerializer(serializers.Serializer):
    current = money()
    historical = money()


class AccountOutputSerializer(serializers.Serializer):
    psn_no = serializers.CharField()
    balc = money()
    pockets = AccountPocketsSerializer()


class AccumulatorQuerySerializer(serializers.Serializer):
    year = ContractYearField(min_value=1900, max_value=2099,
                             help_text="the calendar year in which the benefit year starts, YYYY")


class AccumulatorBucketSerializer(serializers.Serializer):
    bucket = serializers.CharField(help_text="`general` or a disease code")
    dedc_used = money(help_text="deductible paid")
    hifp_paid = money(help_text="paid by the pooled fund")


class AccumulatorsOutputSerializer(serializers.Serializer):
    psn_no = serializers.CharField()
    year = serializers.IntegerField()
    buckets = AccumulatorBucketSerializer(many=True)


# --- settlements ------------------------------------------------------------------------------------------------

class SettlementItemInputSerializer(serializers.Serializer):
    item_code = serializers.CharField(max_length=50, validators=[NOT_BLANK])
    qty = QuantityField(max_digits=12, decimal_places=4, min_value=Decimal("0.0001"),
                        help_text="greater than 0, up to 4 decimals: a JSON integer or a string of ASCII digits")
    price = MoneyInputField(min_value=Decimal(0),
                            help_text="unit price, money: a string, 0 or more, at most 2 decimals (\"12.50\")")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            # DRF would report this under non_field_errors, which the error body prints without the line's path.
            raise serializers.ValidationError(_("a bill line is an object with item_code, qty and price"))
        return dict(super().to_internal_value(data))


class SettlementRequestSerializer(serializers.Serializer):
    """A settlement request (national 2206/2207). `validated_data` is what `claims.services` takes."""

    medins_setl_id = serializers.CharField(max_length=64, validators=[NOT_BLANK],
                                           help_text="the facility's own id: the idempotency key")
    psn_no = psn_no_field()
    med_type = serializers.ChoiceField(choices=[("11", "general outpatient"), ("13", "emergency"),
                                                ("14", "chronic or special disease"), ("41", "pharmacy purchase")])
    setl_date = ContractDateField(help_text="the service date, YYYY-MM-DD")
    dise_codg = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True, default="",
                                      validators=[NO_NUL],
                                      help_text="the disease code; required when med_type is 14")
    ext_rx = serializers.BooleanField(default=False, help_text="an external prescription filled at a pharmacy")
    online = serializers.BooleanField(default=False, help_text="an Internet+ follow-up visit for a recognised chronic "
                                      "disease (med_type 14) at a facility designated for online services")
    acct_used_flag = serializers.ChoiceField(choices=[("0", "accounts do not pay"), ("1", "accounts may pay")],
                                             default="1")
    mulaid_psn_no = psn_no_field(required=False, allow_blank=True, allow_null=True,
                                 help_text="the relative whose account may pay; absent: the links in their order")
    # A ListField rather than many=True: its errors stay under `items` (a list serializer's go to non_field_errors).
    items = serializers.ListField(child=SettlementItemInputSerializer(), min_length=1, max_length=MAX_ITEMS,
                                  help_text="1 to 500 bill lines")

    def validate_setl_date(self, value: datetime.date) -> datetime.date:
        if not SETL_DATE_MIN <= value <= SETL_DATE_MAX:
            raise serializers.ValidationError(_("a service date between %(min)s and %(max)s")
                                              % {"min": SETL_DATE_MIN, "max": SETL_DATE_MAX})
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["dise_codg"] = attrs.get("dise_codg") or ""
        if attrs.get("mulaid_psn_no") is None:
            attrs.pop("mulaid_psn_no", None)
        if not attrs.get("online"):
            attrs.pop("online", None)  # absent and false are one request (the idempotency digest)
        if attrs["med_type"] == "14" and not attrs["dise_codg"]:
            raise serializers.ValidationError({"dise_codg": _("required when med_type is 14")})
        total = sum((fen(line["qty"] * line["price"]) for line in attrs["items"]), ZERO)
        if total > MONEY_LIMIT:
            raise serializers.ValidationError({"items": _("the bill's total %(total)s is above %(limit)s")
                                                        % {"total": total, "limit": MONEY_LIMIT}})
        return dict(attrs)


# --- a settlement request in the plain form, read without the serializer ---------------------------------------
#
# DRF builds a serializer's fields anew for every instance (a deep copy of each declared field, the bill line's
# serializer included) and runs each value through its field: about a sixth of a settlement's application CPU. A
# request written the way the contract writes it (values as JSON strings of the contract's formats, a quantity
# also as a JSON integer, booleans as JSON booleans, no blanks to trim, ASCII) is read here instead, into exactly
# what the serializer's `validated_data` would be; anything else, valid or not, goes to the serializer, which reads
# or refuses it with its messages. claims/tests/test_api_request_fast.py checks that the two agree.

_FAST_TEXT = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")  # printable ASCII, no blank at either end
_FAST_NUMBER = re.compile(r"[0-9A-Za-z]{1,30}")  # a person number (NUMBER_PATTERN, max_length 30)
_FAST_QTY = re.compile(r"[0-9]{1,8}(?:\.[0-9]{1,4})?")  # max_digits 12, 4 decimals
_FAST_PRICE = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,2})?")  # max_digits 12, 2 decimals
_MED_TYPES = frozenset(("11", "13", "14", "41"))
_QTY_PLACES, _PRICE_PLACES = Decimal("0.0001"), FEN
_MIN_QTY = Decimal("0.0001")


def _fast_text(value: Any, max_length: int) -> bool:
    return type(value) is str and len(value) <= max_length and _FAST_TEXT.fullmatch(value) is not None


def _fast_line(line: Any) -> dict[str, Any] | None:
    if type(line) is not dict:
        return None
    item_code, qty, price = line.get("item_code"), line.get("qty"), line.get("price")
    if type(qty) is int and 0 < qty < 10**8:  # a JSON integer
        qty = str(qty)
    if (not _fast_text(item_code, 50) or type(qty) is not str or not _FAST_QTY.fullmatch(qty)
            or type(price) is not str or not _FAST_PRICE.fullmatch(price)):
        return None
    quantity = Decimal(qty).quantize(_QTY_PLACES)
    if quantity < _MIN_QTY:
        return None
    return {"item_code": item_code, "qty": quantity, "price": Decimal(price).quantize(_PRICE_PLACES)}


def settlement_request_fast(data: Any) -> dict[str, Any] | None:
    """`SettlementRequestSerializer(data=data).validated_data` for a request in the plain form (above), or None:
    then the serializer reads it."""
    if type(data) is not dict:  # other keys are left out, as the serializer leaves them
        return None
    medins_setl_id, psn_no, med_type = data.get("medins_setl_id"), data.get("psn_no"), data.get("med_type")
    if (not _fast_text(medins_setl_id, 64) or type(psn_no) is not str or not _FAST_NUMBER.fullmatch(psn_no)
            or type(med_type) is not str or med_type not in _MED_TYPES):
        return None
    setl_date = contract_date(data.get("setl_date"))
    if setl_date is None or not SETL_DATE_MIN <= setl_date <= SETL_DATE_MAX:
        return None
    dise_codg = data.get("dise_codg")
    if dise_codg is None:
        dise_codg = ""
    elif dise_codg != "" and not _fast_text(dise_codg, 20):
        return None
    if med_type == "14" and not dise_codg:
        return None  # the serializer refuses it
    ext_rx, online = data.get("ext_rx", False), data.get("online", False)
    acct_used_flag = data.get("acct_used_flag", "1")
    if type(ext_rx) is not bool or type(online) is not bool or acct_used_flag not in ("0", "1"):
        return None
    mulaid_psn_no = data.get("mulaid_psn_no")
    if mulaid_psn_no is not None and (type(mulaid_psn_no) is not str or not _FAST_NUMBER.fullmatch(mulaid_psn_no)):
        return None
    bill = data.get("items")
    if type(bill) is not list or not 1 <= len(bill) <= MAX_ITEMS:
        return None
    items = []
    for line in bill:
        item = _fast_line(line)
        if item is None:
            return None
        items.append(item)
    if sum((fen(line["qty"] * line["price"]) for line in items), ZERO) > MONEY_LIMIT:
        return None  # the serializer refuses it
    out = {"medins_setl_id": medins_setl_id, "psn_no": psn_no, "med_type": med_type, "setl_date": setl_date,
           "dise_codg": dise_codg, "ext_rx": ext_rx}
    if online:
        out["online"] = True
    out["acct_used_flag"] = acct_used_flag
    if mulaid_psn_no is not None:
        out["mulaid_psn_no"] = mulaid_psn_no
    out["items"] = items
    return out


class SettlementFundPaymentSerializer(serializers.Serializer):
    fund_pay_type = serializers.CharField()
    fund_payamt = serializers.CharField(help_text="money")


class SettlementOutputSerializer(serializers.Serializer):
    """A settlement answer as `claims.services` gives it (money already strings with two decimals)."""

    setl_id = serializers.CharField(help_text="empty in a preview")
    medins_setl_id = serializers.CharField()
    status = serializers.CharField(help_text="preview, settled or reversed")
    psn_no = serializers.CharField()
    insutype = serializers.CharField(help_text="310 employee, 390 resident, or empty for a person without insurance "
                                               "here")
    psn_type = serializers.CharField()
    med_type = serializers.CharField()
    setl_date = serializers.CharField(help_text="YYYY-MM-DD")
    fixmedins_code = serializers.CharField()
    policy_version = serializers.CharField()
    medfee_sumamt = serializers.CharField(help_text="money")
    fulamt_ownpay_amt = serializers.CharField(help_text="money")
    overlmt_selfpay = serializers.CharField(help_text="money")
    preselfpay_amt = serializers.CharField(help_text="money")
    inscp_scp_amt = serializers.CharField(help_text="money")
    act_pay_dedc = serializers.CharField(help_text="money")
    hifp_pay = serializers.CharField(help_text="money")
    oth_pay = serializers.CharField(help_text="money")
    fund_pay_sumamt = serializers.CharField(help_text="money")
    psn_part_amt = serializers.CharField(help_text="money")
    acct_pay = serializers.CharField(help_text="money")
    acct_mulaid_pay = serializers.CharField(help_text="money")
    psn_cash_pay = serializers.CharField(help_text="money")
    balc = serializers.CharField(help_text="money: the patient's own balance after")
    setldetail = SettlementFundPaymentSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class ReversalInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, validators=[NOT_BLANK])
