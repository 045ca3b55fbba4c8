"""A visit through the gateway: 2201/2202 registration and its cancellation, 2203 visit information, 2204/2205 fee
details and their cancellation, 2206/2207 pre-settlement and settlement, 2208 settlement cancellation. The rules
are `gateway.services`'; these handlers read the envelope's `input` and render the answer."""

from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import InsuType
from claims.api.serializers import SettlementFundPaymentSerializer
from claims.services import settlement_current
from gateway import services
from gateway.api.fields import MoneyInputField, StrictDateTimeField, code_field, price_field, quantity_field, text_field
from gateway.api.registry import Done, Incoming, gateway_transaction
from gateway.api.transactions.common import Empty, money, money_out, psn_no_in
from gateway.models import DiagnosisType

# The REST API's medical types, labels included: the schema then names one enum for both.
MED_TYPES = [("11", "general outpatient"), ("13", "emergency"), ("14", "chronic or special disease"),
             ("41", "pharmacy purchase")]
INSUTYPES = InsuType.choices
MDTRT_ID_HELP = _("the visit id (mdtrt_id) 2201 answered")


# --- 2201 / 2202 ----------------------------------------------------------------------------------------------------

class RegistrationData(serializers.Serializer):
    psn_no = psn_no_in()
    insutype = serializers.ChoiceField(choices=INSUTYPES, help_text=_("insurance type: 310 employee, 390 resident"))
    begntime = StrictDateTimeField(help_text=_("when the visit begins, yyyy-MM-dd HH:mm:ss: its date is the service "
                                               "date of the visit's settlement"))
    mdtrt_cert_type = text_field(3, help_text=_("document type; 02 resident ID card"))
    mdtrt_cert_no = text_field(50, help_text=_("the document's number; with 02 and the person's full ID number it "
                                               "ties the person to the facility as a lookup does"))
    ipt_otp_no = text_field(30, help_text=_("the facility's outpatient number"))
    atddr_no = text_field(30, help_text=_("doctor code"))
    dr_name = text_field(50, help_text=_("doctor's name"))
    dept_code = text_field(30, help_text=_("department code"))
    dept_name = text_field(100, help_text=_("department name"))
    caty = text_field(10, help_text=_("clinical specialty code"))


class RegistrationInput(serializers.Serializer):
    data = RegistrationData()


class RegistrationOutputData(serializers.Serializer):
    mdtrt_id = serializers.CharField(help_text=_("the visit id, for every later message of the visit"))
    psn_no = serializers.CharField()
    ipt_otp_no = serializers.CharField()


class RegistrationAnswer(serializers.Serializer):
    data = RegistrationOutputData()


def _registration_undo(message: Incoming, mdtrt_id: str) -> None:
    services.visit_cancel(facility=message.facility, mdtrt_id=mdtrt_id, msgid=message.msgid)


@gateway_transaction("2201", summary=_("outpatient registration"), input=RegistrationInput,
                     output=RegistrationAnswer, undo=_registration_undo,
                     description=_("Opens a visit. The person must be tied to the facility (a 1101 in the last 24 "
                                   "hours, a settlement, a recognition, …) or be presented by ID card here; the "
                                   "date of begntime must lie in the service-date window (SETL_DATE_OUT_OF_RANGE)."))
def registration(message: Incoming, data: dict[str, Any]) -> Done:
    fields = dict(data["data"])
    visit = services.visit_register(facility=message.facility, msgid=message.msgid, **fields)
    return Done({"data": {"mdtrt_id": visit.mdtrt_id, "psn_no": fields["psn_no"], "ipt_otp_no": visit.ipt_otp_no}},
                effect=visit.mdtrt_id)


class RegistrationCancelData(serializers.Serializer):
    psn_no = psn_no_in()
    mdtrt_id = code_field(help_text=MDTRT_ID_HELP)
    ipt_otp_no = text_field(30, help_text=_("the facility's outpatient number"))


class RegistrationCancelInput(serializers.Serializer):
    data = RegistrationCancelData()


@gateway_transaction("2202", summary=_("outpatient registration cancellation"), input=RegistrationCancelInput,
                     output=Empty,
                     description=_("Cancels the registration; refused (ALREADY_SETTLED) while the visit has a live "
                                   "settlement. Cancelling it again does nothing."))
def registration_cancel(message: Incoming, data: dict[str, Any]) -> Done:
    d = data["data"]
    cancelled = services.visit_cancel(facility=message.facility, mdtrt_id=d["mdtrt_id"], psn_no=d["psn_no"],
                                      msgid=message.msgid)
    return Done({}, effect=d["mdtrt_id"] if cancelled else "")


# --- 2203 -------------------------------------------------------------------------------------------------------

class VisitInfoData(serializers.Serializer):
    mdtrt_id = code_field(help_text=MDTRT_ID_HELP)
    psn_no = psn_no_in()
    med_type = serializers.ChoiceField(choices=MED_TYPES, help_text=_("medical type: 11, 13, 14 or 41"))
    begntime = StrictDateTimeField(required=False, help_text=_("when the visit began, yyyy-MM-dd HH:mm:ss"))
    main_cond_dscr = text_field(500, help_text=_("main complaint"))
    dise_codg = text_field(20, help_text=_("disease code; for med_type 14 the chronic disease's (M03900)"))
    dise_name = text_field(100, help_text=_("disease name"))


class DiagnosisData(serializers.Serializer):
    diag_type = serializers.ChoiceField(choices=DiagnosisType.choices, required=False, allow_blank=True, default="",
                                        help_text=_("1 western medicine, 2 TCM disease, 3 TCM syndrome"))
    diag_srt_no = serializers.IntegerField(min_value=1, max_value=999, required=False, default=1,
                                           help_text=_("order of the diagnosis"))
    diag_code = code_field(help_text=_("diagnosis code"))
    diag_name = text_field(200, help_text=_("diagnosis"))


class VisitInfoInput(serializers.Serializer):
    mdtrtinfo = VisitInfoData()
    diseinfo = serializers.ListField(child=DiagnosisData(), required=False, default=list, max_length=50,
                                     help_text=_("the diagnoses, up to 50"))


def _visit_info_undo(message: Incoming, info_id: str) -> None:
    services.visit_info_reverse(facility=message.facility, info_id=int(info_id))


@gateway_transaction("2203", summary=_("visit information"), input=VisitInfoInput, output=Empty,
                     undo=_visit_info_undo,
                     description=_("Medical type, disease and diagnoses of the visit; the latest counts. Refused "
                                   "under a live settlement (ALREADY_SETTLED)."))
def visit_info(message: Incoming, data: dict[str, Any]) -> Done:
    info = dict(data["mdtrtinfo"])
    mdtrt_id, psn_no = info.pop("mdtrt_id"), info.pop("psn_no")
    row = services.visit_info_record(facility=message.facility, mdtrt_id=mdtrt_id, psn_no=psn_no,
                                     msgid=message.msgid, info=info, diagnoses=data["diseinfo"])
    return Done({}, effect=str(row.pk))


# --- 2204 / 2205 ----------------------------------------------------------------------------------------------------

class FeeDetailData(serializers.Serializer):
    feedetl_sn = code_field(help_text=_("the detail's number, unique in the visit"))
    mdtrt_id = code_field(help_text=MDTRT_ID_HELP)
    psn_no = psn_no_in()
    chrg_bchno = code_field(help_text=_("the charge batch; one per message"))
    med_type = serializers.ChoiceField(choices=MED_TYPES, required=False, allow_blank=True, default="",
                                       help_text=_("medical type"))
    fee_ocur_time = StrictDateTimeField(help_text=_("when charged, yyyy-MM-dd HH:mm:ss"))
    med_list_codg = serializers.CharField(max_length=50, help_text=_("the catalog item code; a code not in the "
                                                                     "catalog is class C (out of scope)"))
    medins_list_codg = text_field(50, help_text=_("the facility's own item code"))
    det_item_fee_sumamt = MoneyInputField(help_text=_("money: cnt × pric rounded to the fen"))
    cnt = quantity_field(help_text=_("quantity, above 0, up to 4 decimals"))
    pric = price_field(help_text=_("unit price, 0 or more, up to 4 decimals"))
    bilg_dept_codg = text_field(30, help_text=_("billing department code"))
    bilg_dr_codg = text_field(30, help_text=_("billing doctor code"))


class FeeDetailInput(serializers.Serializer):
    feedetail = serializers.ListField(child=FeeDetailData(), min_length=1, max_length=500,
                                      help_text=_("1 to 500 details of one visit and one charge batch"))

    def validate_feedetail(self, details: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for key in ("mdtrt_id", "psn_no", "chrg_bchno"):
            if len({d[key] for d in details}) > 1:
                raise serializers.ValidationError(
                    _("every detail of a message has the same %(key)s") % {"key": key})
        return details


class FeeDetailResult(serializers.Serializer):
    feedetl_sn = serializers.CharField()
    det_item_fee_sumamt = money_out()
    cnt = serializers.CharField(help_text=_("quantity"))
    pric = serializers.CharField(help_text=_("unit price"))
    pric_uplmt_amt = money_out(allow_null=True, help_text=_("money: the catalog's unit price limit; null: none"))
    selfpay_prop = serializers.CharField(help_text=_("class B's pre-self-pay share, 0 to 1"))
    fulamt_ownpay_amt = money_out(help_text=_("money: out of scope"))
    overlmt_amt = money_out(help_text=_("money: over the price limit"))
    preselfpay_amt = money_out(help_text=_("money: pre-self-pay"))
    inscp_scp_amt = money_out(help_text=_("money: in scope"))
    chrgitm_lv = serializers.CharField(help_text=_("catalog class: 01 A, 02 B, 03 C"))


class FeeDetailAnswer(serializers.Serializer):
    result = FeeDetailResult(many=True)


def _number(value: Any) -> str:
    """A quantity or price as sent: two decimals at least, up to the four it may have."""
    text = f"{value.normalize():f}"
    whole, _dot, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def _fee_batch_undo(message: Incoming, batch_id: str) -> None:
    services.fee_batch_reverse(facility=message.facility, batch_id=int(batch_id), msgid=message.msgid)


@gateway_transaction("2204", summary=_("outpatient fee details"), input=FeeDetailInput, output=FeeDetailAnswer,
                     undo=_fee_batch_undo,
                     description=_("One charge batch of the visit. Each detail's det_item_fee_sumamt must be cnt × "
                                   "pric rounded to the fen; the answer splits each detail by the catalog as the "
                                   "settlement will."))
def fee_details(message: Incoming, data: dict[str, Any]) -> Done:
    first = data["feedetail"][0]
    details = [{k: v for k, v in d.items() if k not in ("mdtrt_id", "psn_no", "chrg_bchno")}
               for d in data["feedetail"]]
    batch, split = services.fee_batch_record(facility=message.facility, mdtrt_id=first["mdtrt_id"],
                                             psn_no=first["psn_no"], chrg_bchno=first["chrg_bchno"],
                                             msgid=message.msgid, details=details)
    result, warnings = [], []
    for s in split:
        limit = s.line.pric_uplmt_amt
        result.append({
            "feedetl_sn": s.detail.feedetl_sn, "det_item_fee_sumamt": money(s.split.amount),
            "cnt": _number(s.detail.cnt), "pric": _number(s.detail.pric),
            "pric_uplmt_amt": money(limit) if limit is not None else None,
            "selfpay_prop": f"{s.line.selfpay_prop:.4f}", "fulamt_ownpay_amt": money(s.split.fulamt_ownpay_amt),
            "overlmt_amt": money(s.split.overlmt_selfpay), "preselfpay_amt": money(s.split.preselfpay_amt),
            "inscp_scp_amt": money(s.split.inscp_scp_amt), "chrgitm_lv": s.split.chrg_item_lv})
        if not s.split.in_catalog:
            warnings.append(gettext("item %(code)s is not in the catalog: settled as class C (out of scope)")
                            % {"code": s.detail.med_list_codg})
    return Done({"result": result}, effect=str(batch.pk), warnings=warnings)


class FeeCancelData(serializers.Serializer):
    mdtrt_id = code_field(help_text=MDTRT_ID_HELP)
    chrg_bchno = code_field(help_text=_("the charge batch to cancel; 0000: every batch of the visit"))
    psn_no = psn_no_in()


class FeeCancelInput(serializers.Serializer):
    data = FeeCancelData()


@gateway_transaction("2205", summary=_("outpatient fee details cancellation"), input=FeeCancelInput, output=Empty,
                     description=_("Cancels a charge batch (0000: all of them); refused under a live settlement "
                                   "(ALREADY_SETTLED). A cancelled batch number may be uploaded again."))
def fee_details_cancel(message: Incoming, data: dict[str, Any]) -> Done:
    d = data["data"]
    cancelled = services.fee_batch_cancel(facility=message.facility, mdtrt_id=d["mdtrt_id"],
                                          chrg_bchno=d["chrg_bchno"], psn_no=d["psn_no"], msgid=message.msgid)
    return Done({}, effect=",".join(str(b.pk) for b in cancelled))


# --- 2206 / 2207 / 2208 ---------------------------------------------------------------------------------------------

class SettleData(serializers.Serializer):
    psn_no = psn_no_in()
    mdtrt_cert_type = text_field(3, help_text=_("document type"))
    mdtrt_cert_no = text_field(50, help_text=_("the document's number"))
    med_type = serializers.ChoiceField(choices=MED_TYPES, required=False, allow_blank=True, default="",
                                       help_text=_("medical type; when given it wins over 2203's"))
    medfee_sumamt = MoneyInputField(help_text=_("money: must be the sum of the visit's live fee details"))
    psn_setlway = text_field(3, help_text=_("settlement way (01 itemised)"))
    mdtrt_id = code_field(help_text=MDTRT_ID_HELP)
    chrg_bchno = text_field(30, help_text=_("a live batch of the visit; every live detail is settled"))
    acct_used_flag = serializers.ChoiceField(choices=[("0", "accounts do not pay"), ("1", "accounts may pay")],
                                             required=False, default="1",
                                             help_text=_("1: the accounts may pay, 0: not"))
    insutype = text_field(3, help_text=_("insurance type"))
    mulaid_psn_no = psn_no_in(required=False, allow_blank=True,
                              help_text=_("extension: the relative whose account may pay (family mutual aid)"))
    ext_rx = serializers.BooleanField(required=False, default=False,
                                      help_text=_("extension: an external prescription filled at a pharmacy"))
    online = serializers.BooleanField(required=False, default=False,
                                      help_text=_("extension: an Internet+ follow-up visit for a recognised chronic "
                                                  "disease (med_type 14, its dise_codg from 2203) at a facility "
                                                  "designated for online services; elsewhere FACILITY_NOT_DESIGNATED, "
                                                  "and MED_TYPE_NOT_ALLOWED for another medical type"))


class SettleInput(serializers.Serializer):
    data = SettleData()


class SettlementInfo(serializers.Serializer):
    setl_id = serializers.CharField(help_text=_("the settlement id; empty in a pre-settlement"))
    mdtrt_id = serializers.CharField()
    psn_no = serializers.CharField()
    medins_setl_id = serializers.CharField(help_text=_("the 2207's msgid"))
    status = serializers.CharField(help_text=_("preview, settled or reversed"))
    insutype = serializers.CharField()
    psn_type = serializers.CharField()
    med_type = serializers.CharField()
    setl_date = serializers.CharField(help_text=_("the service date, yyyy-MM-dd"))
    fixmedins_code = serializers.CharField()
    policy_version = serializers.CharField()
    medfee_sumamt = money_out(help_text=_("money: total"))
    fulamt_ownpay_amt = money_out(help_text=_("money: out of scope"))
    overlmt_selfpay = money_out(help_text=_("money: over the price limit"))
    preselfpay_amt = money_out(help_text=_("money: pre-self-pay"))
    inscp_scp_amt = money_out(help_text=_("money: in scope"))
    act_pay_dedc = money_out(help_text=_("money: towards the deductible"))
    hifp_pay = money_out(help_text=_("money: pooled fund"))
    oth_pay = money_out(help_text=_("money: supplementary fund"))
    fund_pay_sumamt = money_out(help_text=_("money: all funds"))
    psn_part_amt = money_out(help_text=_("money: the personal part"))
    acct_pay = money_out(help_text=_("money: the patient's own account"))
    acct_mulaid_pay = money_out(help_text=_("money: relatives' accounts (mutual aid)"))
    psn_cash_pay = money_out(help_text=_("money: cash"))
    balc = money_out(help_text=_("money: the patient's own balance after"))


class SettlementAnswer(serializers.Serializer):
    setlinfo = SettlementInfo()
    setldetail = SettlementFundPaymentSerializer(many=True)


def settlement_output(answer: dict[str, Any], mdtrt_id: str) -> Done:
    setlinfo = {key: value for key, value in answer.items() if key not in ("setldetail", "warnings")}
    return Done({"setlinfo": {**setlinfo, "mdtrt_id": mdtrt_id}, "setldetail": answer["setldetail"]},
                warnings=answer.get("warnings", ()))


SETTLE_CODES = _("Refused like a REST settlement (PERSON_NOT_FOUND, NOT_INSURED_ON_DATE, SETL_DATE_OUT_OF_RANGE, …); "
                 "INVALID_REQUEST when medfee_sumamt is not the sum of the visit's live fee details.")


@gateway_transaction("2206", summary=_("outpatient pre-settlement"), input=SettleInput, output=SettlementAnswer,
                     description=SETTLE_CODES)
def pre_settlement(message: Incoming, data: dict[str, Any]) -> Done:
    d = data["data"]
    answer = services.visit_preview(facility=message.facility, mdtrt_id=d["mdtrt_id"], psn_no=d["psn_no"],
                                    msgid=message.msgid, data=d)
    return settlement_output(answer, d["mdtrt_id"])


def _settlement_undo(message: Incoming, setl_id: str) -> None:
    services.visit_settlement_cancel(facility=message.facility, setl_id=setl_id, token=message.token,
                                     reason=gettext("national 2601, message %(msgid)s") % {"msgid": message.msgid})


@gateway_transaction("2207", summary=_("outpatient settlement"), input=SettleInput, output=SettlementAnswer,
                     undo=_settlement_undo,
                     description=format_lazy("{} {}", _(
                         "Settles every live fee detail of the visit, dated the registration's day. A visit settles "
                         "once: ALREADY_SETTLED for another 2207 while it has a live settlement."), SETTLE_CODES))
def settlement(message: Incoming, data: dict[str, Any]) -> Done:
    d = data["data"]
    answer = services.visit_settle(facility=message.facility, mdtrt_id=d["mdtrt_id"], psn_no=d["psn_no"],
                                   msgid=message.msgid, data=d)
    done = settlement_output(answer, d["mdtrt_id"])
    return Done(done.output, effect=answer["setl_id"], warnings=done.warnings)


class SettlementCancelData(serializers.Serializer):
    setl_id = code_field(max_length=32, help_text=_("the settlement id 2207 answered"))
    mdtrt_id = code_field(required=False, allow_blank=True, help_text=MDTRT_ID_HELP)
    psn_no = psn_no_in()


class SettlementCancelInput(serializers.Serializer):
    data = SettlementCancelData()


@gateway_transaction("2208", summary=_("outpatient settlement cancellation"), input=SettlementCancelInput,
                     output=SettlementAnswer,
                     description=_("Cancels the settlement: every balance and counter back. Cancelling it again "
                                   "answers the same."))
def settlement_cancel(message: Incoming, data: dict[str, Any]) -> Done:
    d = data["data"]
    reason = gettext("national 2208, message %(msgid)s") % {"msgid": message.msgid}
    settled, mdtrt_id = services.visit_settlement_cancel(facility=message.facility, setl_id=d["setl_id"],
                                                         mdtrt_id=d.get("mdtrt_id") or "", psn_no=d["psn_no"],
                                                         token=message.token, reason=reason)
    done = settlement_output(settlement_current(settled), mdtrt_id)
    cancelled_now = settled.reversal_reason == reason[:200]
    return Done(done.output, effect=settled.setl_id if cancelled_now else "")

