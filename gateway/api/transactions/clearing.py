"""3203/3204: a facility's clearing application (清算申请) and its cancellation, recorded by the clearing app
(`clearing.services`), which shows them beside the month's clearing statement."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from claims.errors import ClaimError
from clearing.services import clearing_application_cancel, clearing_application_record
from gateway.api.fields import MoneyInputField, StrictDateField, code_field, text_field
from gateway.api.registry import Done, Incoming, gateway_transaction
from gateway.api.transactions.common import Empty
from gateway.models import ClrType


class ApplicationData(serializers.Serializer):
    clr_type = serializers.ChoiceField(choices=ClrType.choices, help_text=_("clearing type: 11, 14 or 41"))
    clr_way = text_field(10, help_text=_("clearing way"))
    setl_optins = text_field(10, help_text=_("the clearing agency's region code"))
    begndate = StrictDateField(help_text=_("first service date, yyyy-MM-dd"))
    enddate = StrictDateField(help_text=_("last service date, yyyy-MM-dd"))
    medfee_sumamt = MoneyInputField(help_text=_("money: total of the settlements"))
    fund_appy_sumamt = MoneyInputField(help_text=_("money: what the facility asks the funds to pay"))
    acct_pay = MoneyInputField(help_text=_("money: paid by personal accounts"))
    cash_payamt = MoneyInputField(help_text=_("money: paid in cash"))


class ApplicationInput(serializers.Serializer):
    data = ApplicationData()


class ApplicationResult(serializers.Serializer):
    clr_appy_evt_id = serializers.CharField(help_text=_("the application's id, for 3204"))


class ApplicationAnswer(serializers.Serializer):
    data = ApplicationResult()


def _application_undo(message: Incoming, clr_appy_evt_id: str) -> None:
    try:
        clearing_application_cancel(facility=message.facility, clr_appy_evt_id=clr_appy_evt_id)
    except ClaimError as e:
        if e.err_code != ClaimError.ALREADY_REVERSED:  # cancelled by a 3204 already: nothing more to undo
            raise


@gateway_transaction("3203", summary=_("clearing application"), input=ApplicationInput, output=ApplicationAnswer,
                     undo=_application_undo,
                     description=_("Records the facility's clearing application for days of one month, shown to "
                                   "staff beside that month's clearing statement; 2601 cancels it as 3204 does."))
def application(message: Incoming, data: dict[str, Any]) -> Done:
    row = clearing_application_record(facility=message.facility, msgid=message.msgid, data=dict(data["data"]))
    return Done({"data": {"clr_appy_evt_id": row.clr_appy_evt_id}}, effect=row.clr_appy_evt_id)


class ApplicationCancelData(serializers.Serializer):
    clr_appy_evt_id = code_field(max_length=64, help_text=_("the application's id 3203 answered"))
    clr_optins = text_field(10, help_text=_("the clearing agency's region code"))


class ApplicationCancelInput(serializers.Serializer):
    data = ApplicationCancelData()


@gateway_transaction("3204", summary=_("clearing application cancellation"), input=ApplicationCancelInput,
                     output=Empty,
                     description=_("Cancels the application; ALREADY_REVERSED when it was cancelled already."))
def application_cancel(message: Incoming, data: dict[str, Any]) -> Done:
    clearing_application_cancel(facility=message.facility, clr_appy_evt_id=data["data"]["clr_appy_evt_id"])
    return Done({}, effect=data["data"]["clr_appy_evt_id"])
