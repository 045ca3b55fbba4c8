"""1101 (a person by ID card), 5206 (accumulators) and 5301 (chronic-disease recognitions): the REST API's person
reads, in the national envelope and under the same tie rule."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import InsuType
from claims.api.serializers import PersonOutputSerializer
from claims.models import Recognition
from claims.partner import person_lookup_record, person_not_found
from claims.selectors import accumulators_on, person_for_facility
from core.certno import certno_clean
from gateway.api.fields import YearMonthField
from gateway.api.registry import Done, Incoming, gateway_transaction
from gateway.api.transactions.common import money, money_out, psn_no_in, tied_person

# --- 1101 -------------------------------------------------------------------------------------------------------


class PersonQuery(serializers.Serializer):
    mdtrt_cert_type = serializers.ChoiceField(choices=[("02", "resident ID card")],
                                              help_text=_("document type: 02 resident ID card (the only one taken)"))
    mdtrt_cert_no = serializers.CharField(max_length=20, required=False, allow_blank=True, default="",
                                          help_text=_("the document's number: the 18-character ID number"))
    psn_cert_type = serializers.CharField(max_length=6, required=False, allow_blank=True, default="",
                                          help_text=_("the person's document type (01 ID card)"))
    certno = serializers.CharField(max_length=20, required=False, allow_blank=True, default="",
                                   help_text=_("the ID number, when mdtrt_cert_no is empty"))
    psn_name = serializers.CharField(max_length=50, required=False, allow_blank=True, default="",
                                     help_text=_("the person's name (not checked)"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["certno"] = certno_clean(attrs["mdtrt_cert_no"] or attrs["certno"])
        except DjangoValidationError as e:
            raise serializers.ValidationError({"mdtrt_cert_no": e.messages}) from None
        return attrs


class PersonInput(serializers.Serializer):
    data = PersonQuery()


class PersonAnswer(PersonOutputSerializer):
    """The REST API's person, with the national interface's `idetinfo` (identities: none kept here)."""

    idetinfo = serializers.ListField(child=serializers.DictField(), help_text=_("special identities: always empty"))


@gateway_transaction("1101", summary=_("person information by ID card"), input=PersonInput, output=PersonAnswer,
                     description=_("Finds the person with that ID number, as `POST /api/v1/persons/lookup/` does, and "
                                   "ties them to the facility for 24 hours. PERSON_NOT_FOUND when no one has it."))
def person_info(message: Incoming, data: dict[str, Any]) -> Done:
    today = timezone.localdate()
    person = person_for_facility(facility=message.facility, day=today, certno=data["data"]["certno"])
    if person is None:
        raise person_not_found()
    person_lookup_record(facility=message.facility, person=person)
    answer = PersonOutputSerializer(person, context={"today": today}).data
    return Done({**answer, "idetinfo": []})


# --- 5206 -------------------------------------------------------------------------------------------------------

class AccumulatorQuery(serializers.Serializer):
    psn_no = psn_no_in()
    cum_ym = YearMonthField(help_text=_("the month, yyyyMM: the benefit year it falls in"))


class AccumulatorInput(serializers.Serializer):
    data = AccumulatorQuery()


class AccumulatorRow(serializers.Serializer):
    insutype = serializers.CharField(help_text=_("insurance type"))
    year = serializers.IntegerField(help_text=_("the calendar year the benefit year starts in"))
    cum_type_code = serializers.CharField(help_text=_("<bucket>.dedc_used (deductible paid) or <bucket>.hifp_paid "
                                                      "(paid by the pooled fund); bucket: general or a disease "
                                                      "code"))
    cum = money_out()


class AccumulatorAnswer(serializers.Serializer):
    cuminfo = AccumulatorRow(many=True)


@gateway_transaction("5206", summary=_("year-to-date accumulators"), input=AccumulatorInput, output=AccumulatorAnswer,
                     description=_("The person's counters of the benefit year the month falls in, as `GET "
                                   "persons/{psn_no}/accumulators/`; the same tie rule."))
def accumulators(message: Incoming, data: dict[str, Any]) -> Done:
    person = tied_person(message, data["data"]["psn_no"])
    rows = []
    for row in accumulators_on(person=person, day=data["data"]["cum_ym"]):
        for name in ("dedc_used", "hifp_paid"):
            rows.append({"insutype": InsuType.EMPLOYEE, "year": row.year_start.year,
                         "cum_type_code": f"{row.bucket}.{name}", "cum": money(getattr(row, name))})
    return Done({"cuminfo": rows})


# --- 5301 -------------------------------------------------------------------------------------------------------

class RecognitionQuery(serializers.Serializer):
    psn_no = psn_no_in()


class RecognitionInput(serializers.Serializer):
    data = RecognitionQuery()


class RecognitionRow(serializers.Serializer):
    opsp_dise_code = serializers.CharField(help_text=_("disease code"))
    opsp_dise_name = serializers.CharField(help_text=_("disease name"))
    begndate = serializers.CharField(help_text=_("valid from, yyyy-MM-dd"))
    enddate = serializers.CharField(allow_null=True, help_text=_("valid until, yyyy-MM-dd; null: open"))


class RecognitionAnswer(serializers.Serializer):
    feedetail = RecognitionRow(many=True)


@gateway_transaction("5301", summary=_("chronic-disease recognitions"), input=RecognitionInput,
                     output=RecognitionAnswer,
                     description=_("The person's recognitions at this facility only (a facility does not see "
                                   "where else a patient is recognised); the same tie rule."))
def recognitions(message: Incoming, data: dict[str, Any]) -> Done:
    person = tied_person(message, data["data"]["psn_no"])
    rows = (Recognition.objects.approved().select_related("disease").filter(person=person, facility=message.facility)
            .order_by("begndate", "disease__opsp_dise_code", "id"))
    return Done({"feedetail": [
        {"opsp_dise_code": r.disease.opsp_dise_code, "opsp_dise_name": r.disease.opsp_dise_name,
         "begndate": r.begndate.isoformat(), "enddate": r.enddate.isoformat() if r.enddate else None}
        for r in rows]})

