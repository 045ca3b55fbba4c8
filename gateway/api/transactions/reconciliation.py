"""3201: the facility's totals of a period against the system's."""

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from gateway import services
from gateway.api.fields import CountField, MoneyInputField, StrictDateField, text_field
from gateway.api.registry import Done, Incoming, gateway_transaction
from gateway.api.transactions.common import money, money_out
from gateway.api.transactions.visits import INSUTYPES
from gateway.models import ClrType, Reconciliation


class ReconciliationData(serializers.Serializer):
    insutype = serializers.ChoiceField(choices=INSUTYPES, help_text=_("insurance type: 310 or 390"))
    clr_type = serializers.ChoiceField(choices=ClrType.choices, help_text=_(
        "clearing type: 11 outpatient and emergency (med_type 11, 13), 14 chronic disease, 41 pharmacy"))
    setl_optins = text_field(10, help_text=_("the clearing agency's region code"))
    stmt_begndate = StrictDateField(help_text=_("first service date, yyyy-MM-dd"))
    stmt_enddate = StrictDateField(help_text=_("last service date, yyyy-MM-dd"))
    medfee_sumamt = MoneyInputField(help_text=_("money: the facility's total of the settlements"))
    fund_pay_sumamt = MoneyInputField(help_text=_("money: the facility's total paid by the funds"))
    acct_pay = MoneyInputField(help_text=_("money: the facility's total paid by the patients' own accounts"))
    fixmedins_setl_cnt = CountField(help_text=_("the facility's count of settlements not reversed"))


class ReconciliationInput(serializers.Serializer):
    data = ReconciliationData()


class Figures(serializers.Serializer):
    medfee_sumamt = money_out()
    fund_pay_sumamt = money_out()
    acct_pay = money_out()
    fixmedins_setl_cnt = serializers.IntegerField()


class StatementInfo(serializers.Serializer):
    setl_optins = serializers.CharField()
    stmt_rslt = serializers.CharField(help_text=_("0: the figures agree with the system's; 1: they do not"))
    stmt_rslt_dscr = serializers.CharField(help_text=_("both figures, in words"))
    facility_figures = Figures(help_text=_("extension: the facility's figures as received"))
    system_figures = Figures(help_text=_("extension: the system's figures"))


class ReconciliationAnswer(serializers.Serializer):
    stmtinfo = StatementInfo()


def _figures(medfee: Any, fund: Any, acct: Any, count: int) -> dict[str, Any]:
    return {"medfee_sumamt": money(medfee), "fund_pay_sumamt": money(fund), "acct_pay": money(acct),
            "fixmedins_setl_cnt": count}


def _describe(row: Reconciliation) -> str:
    text = gettext("facility: total %(medfee)s, funds %(fund)s, own accounts %(acct)s, %(count)s settlements; "
                    "system: total %(sys_medfee)s, funds %(sys_fund)s, own accounts %(sys_acct)s, %(sys_count)s "
                    "settlements") % {
        "medfee": money(row.medfee_sumamt), "fund": money(row.fund_pay_sumamt), "acct": money(row.acct_pay),
        "count": row.fixmedins_setl_cnt, "sys_medfee": money(row.sys_medfee_sumamt),
        "sys_fund": money(row.sys_fund_pay_sumamt), "sys_acct": money(row.sys_acct_pay),
        "sys_count": row.sys_setl_cnt}
    return (gettext("agreed: %(figures)s") if row.agreed else gettext("not agreed: %(figures)s")) % {
        "figures": text}


@gateway_transaction("3201", summary=_("daily totals reconciliation"), input=ReconciliationInput,
                     output=ReconciliationAnswer,
                     description=_("Compares the facility's totals with the system's: its settlements whose service "
                                   "date is in the period, of that insutype and clr_type, reversed ones netted out; "
                                   "fixmedins_setl_cnt counts those not reversed. Every reconciliation is kept; "
                                   "staff see those that disagree."))
def reconciliation(message: Incoming, data: dict[str, Any]) -> Done:
    row = services.reconciliation_record(facility=message.facility, msgid=message.msgid, **data["data"])
    return Done({"stmtinfo": {
        "setl_optins": row.setl_optins, "stmt_rslt": "0" if row.agreed else "1", "stmt_rslt_dscr": _describe(row),
        "facility_figures": _figures(row.medfee_sumamt, row.fund_pay_sumamt, row.acct_pay, row.fixmedins_setl_cnt),
        "system_figures": _figures(row.sys_medfee_sumamt, row.sys_fund_pay_sumamt, row.sys_acct_pay,
                                   row.sys_setl_cnt)}})
