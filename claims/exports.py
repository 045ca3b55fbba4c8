"""Settlements as a CSV or XLSX file from the admin's export button: one row a settlement, every payer's part, the
ID number masked unless the user may see it whole (`core.exports.MaskedCertnoResource`)."""

from django.utils.translation import gettext_lazy as _

from claims.models import Settlement
from core.exports import MaskedCertnoResource, money_column, text_column


class SettlementExportResource(MaskedCertnoResource):
    setl_id = text_column("setl_id", _("settlement id"))
    medins_setl_id = text_column("medins_setl_id", _("facility's settlement id"))
    fixmedins_code = text_column("facility__fixmedins_code", _("facility code"))
    fixmedins_name = text_column("facility__fixmedins_name", _("facility name"))
    psn_no = text_column("person__psn_no", _("person number"))
    psn_name = text_column("person__psn_name", _("name"))
    certno = text_column("person__certno", _("ID number"))
    med_type = text_column("med_type", _("medical type"))
    setl_date = text_column("setl_date", _("service date"))
    status = text_column("status", _("status"))
    policy_version = text_column("policy_version__code", _("policy version"))
    medfee_sumamt = money_column("medfee_sumamt", _("total"))
    inscp_scp_amt = money_column("inscp_scp_amt", _("in-scope amount"))
    act_pay_dedc = money_column("act_pay_dedc", _("deductible paid"))
    hifp_pay = money_column("hifp_pay", _("pooled fund"))
    oth_pay = money_column("oth_pay", _("local supplementary fund"))
    fund_pay_sumamt = money_column("fund_pay_sumamt", _("funds in all"))
    acct_pay = money_column("acct_pay", _("own account"))
    acct_mulaid_pay = money_column("acct_mulaid_pay", _("relatives' accounts"))
    psn_cash_pay = money_column("psn_cash_pay", _("cash"))

    class Meta:
        model = Settlement
        fields = ("setl_id", "medins_setl_id", "fixmedins_code", "fixmedins_name", "psn_no", "psn_name", "certno",
                  "med_type", "setl_date", "status", "policy_version", "medfee_sumamt", "inscp_scp_amt",
                  "act_pay_dedc", "hifp_pay", "oth_pay", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay",
                  "psn_cash_pay")
        export_order = fields

    def get_queryset(self):  # noqa: ANN201
        return super().get_queryset().select_related("facility", "person", "policy_version")
