"""Personal accounts and ledger entries as CSV or XLSX files from the admin's export buttons, the ID number masked
unless the user may see it whole (`core.exports.MaskedCertnoResource`)."""

from django.utils.translation import gettext_lazy as _

from accounts.models import LedgerEntry, PersonalAccount
from core.exports import MaskedCertnoResource, datetime_column, money_column, text_column


class AccountExportResource(MaskedCertnoResource):
    psn_no = text_column("person__psn_no", _("person number"))
    psn_name = text_column("person__psn_name", _("name"))
    certno = text_column("person__certno", _("ID number"))
    balc_current = money_column("balc_current", _("current-year pocket"))
    balc_historical = money_column("balc_historical", _("historical pocket"))
    created_at = datetime_column("created_at", _("opened"))

    class Meta:
        model = PersonalAccount
        fields = ("psn_no", "psn_name", "certno", "balc_current", "balc_historical", "created_at")
        export_order = fields

    def get_queryset(self):  # noqa: ANN201
        return super().get_queryset().select_related("person")


class LedgerEntryExportResource(MaskedCertnoResource):
    certno_path = "account__person__certno"

    id = text_column("id", _("entry"))
    psn_no = text_column("account__person__psn_no", _("person number"))
    psn_name = text_column("account__person__psn_name", _("name"))
    certno = text_column("account__person__certno", _("ID number"))
    kind = text_column("kind", _("kind"))
    pocket = text_column("pocket", _("pocket"))
    amount = money_column("amount", _("amount"))
    balance_after = money_column("balance_after", _("pocket balance after"))
    period = text_column("period", _("period"))
    policy_version = text_column("policy_version__code", _("policy version"))
    ref_type = text_column("ref_type", _("refers to"))
    ref_id = text_column("ref_id", _("reference"))
    reason = text_column("reason", _("reason"))
    created_at = datetime_column("created_at", _("at"))

    class Meta:
        model = LedgerEntry
        fields = ("id", "psn_no", "psn_name", "certno", "kind", "pocket", "amount", "balance_after", "period",
                  "policy_version", "ref_type", "ref_id", "reason", "created_at")
        export_order = fields

    def get_queryset(self):  # noqa: ANN201
        return super().get_queryset().select_related("account__person", "policy_version")
