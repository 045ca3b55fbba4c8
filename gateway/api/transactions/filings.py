"""2501 / 2502: a facility's cross-region filing for its patient (异地就医备案 / 转诊备案) and its cancellation;
2503 / 2504: a facility's chronic-disease recognition filing (门诊慢特病备案), an application staff approve or refuse,
and its withdrawal. Both through the claims app's services (claims.filings, claims.recognitions)."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from claims.errors import ClaimError
from claims.filings import cross_region_filing_cancel, cross_region_filing_create
from claims.models import Disease, FilingType, Recognition, RecognitionSource
from claims.recognitions import recognition_apply, recognition_cancel
from gateway.api.fields import StrictDateField, code_field, text_field
from gateway.api.registry import Done, Incoming, gateway_transaction
from gateway.api.transactions.common import Empty, psn_no_in, tied_person


class OptionalDateField(StrictDateField):
    """`yyyy-MM-dd`, or blank / null for none (an open end)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, default=None, **kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data == "":
            return True, None
        return super().validate_empty_values(data)


class SerialResult(serializers.Serializer):
    trt_dcla_detl_sn = serializers.CharField(help_text=_("the filing's serial number, for its cancellation"))


class SerialAnswer(serializers.Serializer):
    result = SerialResult()


class CancelData(serializers.Serializer):
    trt_dcla_detl_sn = code_field(max_length=30, help_text=_("the serial number the filing was answered with"))
    psn_no = psn_no_in()
    memo = text_field(200, help_text=_("why it is cancelled"))


class CancelInput(serializers.Serializer):
    data = CancelData()


def _already_undone(error: ClaimError) -> None:
    if error.err_code != ClaimError.ALREADY_REVERSED:  # cancelled already: nothing more to undo
        raise error


# --- 2501 / 2502 ------------------------------------------------------------------------------------------------

class FilingData(serializers.Serializer):
    psn_no = psn_no_in()
    insutype = text_field(6, help_text=_("insurance type (not checked)"))
    mdtrtarea_admvs = serializers.RegexField(
        r"^\d{6}\Z", help_text=_("the region of treatment: a region code, or a province code (370000) covering all "
                                 "its regions"))
    filing_type = serializers.ChoiceField(choices=FilingType.choices, required=False, default=FilingType.REFERRAL,
                                          help_text=_("extension: resettled, long_term, temporary or referral "
                                                      "(default: referral, the national 2501's 转诊备案)"))
    begndate = StrictDateField(help_text=_("valid from, yyyy-MM-dd"))
    enddate = OptionalDateField(help_text=_("valid until, yyyy-MM-dd; blank: open"))
    diag_code = text_field(30, help_text=_("diagnosis code"))
    diag_name = text_field(100, help_text=_("diagnosis name"))
    refl_rea = text_field(200, help_text=_("reason for the referral"))
    tel = text_field(30, help_text=_("telephone (not kept)"))
    addr = text_field(200, help_text=_("address (not kept)"))


class FilingInput(serializers.Serializer):
    data = FilingData()


def _filing_undo(message: Incoming, effect: str) -> None:
    filing_id, _sep, psn_no = effect.partition(":")
    try:
        cross_region_filing_cancel(facility=message.facility, filing_id=filing_id, psn_no=psn_no,
                                   memo=str(_("reversed (2601)")))
    except ClaimError as e:
        _already_undone(e)


@gateway_transaction("2501", summary=_("cross-region filing"), input=FilingInput, output=SerialAnswer,
                     undo=_filing_undo,
                     description=_("Files the facility's patient for treatment in another region (a region or "
                                   "province code) from begndate: visits there settle under the insured region's "
                                   "policy at its full rates while the filing is valid. The same tie rule; 2601 "
                                   "cancels it as 2502 does."))
def filing(message: Incoming, data: dict[str, Any]) -> Done:
    body = data["data"]
    person = tied_person(message, body["psn_no"])
    memo = " ".join(part for part in (body["diag_code"], body["diag_name"], body["refl_rea"]) if part)
    row = cross_region_filing_create(person=person, facility=message.facility,
                                     mdtrtarea_admvs=body["mdtrtarea_admvs"], filing_type=body["filing_type"],
                                     begndate=body["begndate"], enddate=body["enddate"], memo=memo)
    return Done({"result": {"trt_dcla_detl_sn": str(row.pk)}}, effect=f"{row.pk}:{person.psn_no}")


@gateway_transaction("2502", summary=_("cross-region filing cancellation"), input=CancelInput, output=Empty,
                     description=_("Cancels a filing this facility made; ALREADY_REVERSED when it was cancelled "
                                   "already."))
def filing_cancel(message: Incoming, data: dict[str, Any]) -> Done:
    body = data["data"]
    cross_region_filing_cancel(facility=message.facility, filing_id=body["trt_dcla_detl_sn"], psn_no=body["psn_no"],
                               memo=body["memo"])
    return Done({})


# --- 2503 / 2504 ------------------------------------------------------------------------------------------------

class RecognitionData(serializers.Serializer):
    psn_no = psn_no_in()
    insutype = text_field(6, help_text=_("insurance type (not checked)"))
    opsp_dise_code = serializers.RegexField(r"^M\d{5}\Z", help_text=_("disease code, M and five digits"))
    opsp_dise_name = text_field(100, help_text=_("disease name (the catalog's is kept)"))
    hosp_ide_date = OptionalDateField(help_text=_("the day the facility identified the disease, yyyy-MM-dd"))
    diag_dr_codg = text_field(30, help_text=_("the diagnosing doctor's code"))
    diag_dr_name = text_field(50, help_text=_("the diagnosing doctor's name"))
    evidence = text_field(2000, help_text=_("extension: the evidence meeting the disease's recognition criteria "
                                            "(diagnosis, examinations)"))
    begndate = StrictDateField(help_text=_("valid from, yyyy-MM-dd"))
    enddate = OptionalDateField(help_text=_("valid until, yyyy-MM-dd; blank: the disease's validity period"))
    tel = text_field(30, help_text=_("telephone (not kept)"))
    addr = text_field(200, help_text=_("address (not kept)"))


class RecognitionFilingInput(serializers.Serializer):
    data = RecognitionData()


def _recognition_undo(message: Incoming, effect: str) -> None:
    recognition = Recognition.objects.filter(pk=int(effect), facility=message.facility).first()
    if recognition is None:
        return
    try:
        recognition_cancel(recognition=recognition, facility=message.facility, note=str(_("reversed (2601)")))
    except ClaimError as e:
        _already_undone(e)


@gateway_transaction("2503", summary=_("chronic-disease recognition filing"), input=RecognitionFilingInput,
                     output=SerialAnswer, undo=_recognition_undo,
                     description=_("Applies for the patient's recognition for a disease at this facility; staff "
                                   "approve or refuse it (until then 5301 does not list it and med_type 14 is "
                                   "DISEASE_NOT_RECOGNISED). The same tie rule; 2601 withdraws it as 2504 does."))
def recognition_filing(message: Incoming, data: dict[str, Any]) -> Done:
    body = data["data"]
    person = tied_person(message, body["psn_no"])
    disease = Disease.objects.filter(opsp_dise_code=body["opsp_dise_code"]).first()
    if disease is None:
        raise ClaimError(ClaimError.DISEASE_NOT_COVERED, _("disease %(code)s is not in the catalog")
                         % {"code": body["opsp_dise_code"]})
    doctor = " ".join(part for part in (body["diag_dr_codg"], body["diag_dr_name"]) if part)
    lines = [body["evidence"],
             _("identified by the facility on %(day)s") % {"day": body["hosp_ide_date"]} if body["hosp_ide_date"]
             else "",
             _("diagnosing doctor: %(doctor)s") % {"doctor": doctor} if doctor else ""]
    row = recognition_apply(person=person, disease=disease, facility=message.facility, begndate=body["begndate"],
                            enddate=body["enddate"], evidence="\n".join(str(line) for line in lines if line),
                            source=RecognitionSource.GATEWAY)
    return Done({"result": {"trt_dcla_detl_sn": str(row.pk)}}, effect=str(row.pk))


@gateway_transaction("2504", summary=_("chronic-disease recognition filing cancellation"), input=CancelInput,
                     output=Empty,
                     description=_("Withdraws an application this facility made while staff have not decided it; "
                                   "ALREADY_REVERSED when it was withdrawn already, INVALID_REQUEST once decided."))
def recognition_filing_cancel(message: Incoming, data: dict[str, Any]) -> Done:
    body = data["data"]
    sn = body["trt_dcla_detl_sn"]
    recognition = (Recognition.objects.filter(pk=int(sn), facility=message.facility, person__psn_no=body["psn_no"])
                   .first() if sn.isdigit() else None)
    if recognition is None:
        raise ClaimError(ClaimError.INVALID_REQUEST, _("this facility filed no recognition %(id)s for %(psn_no)s")
                         % {"id": sn, "psn_no": body["psn_no"]})
    recognition_cancel(recognition=recognition, facility=message.facility, note=body["memo"])
    return Done({})
