"""Staff admin for clearing with facilities: the facilities' clearing applications (read-only: facilities file and
cancel them through the national interface)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_ledger import ReadOnlyAdmin
from clearing.models import ClearingApplication


@admin.register(ClearingApplication)
class ClearingApplicationAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["clr_appy_evt_id", "facility", "month_display", "clr_type", "begndate", "enddate",
                    "medfee_sumamt", "fund_appy_sumamt", "acct_pay", "cash_payamt", "status", "created_at"]
    list_filter = ["status", "clr_type", "month", "facility__region"]
    list_select_related = ["facility"]
    search_fields = ["=clr_appy_evt_id", "=facility__fixmedins_code", "=msgid"]
    search_help_text = _("Application id, facility code or message id.")
    readonly_fields = [f.name for f in ClearingApplication._meta.concrete_fields]

    @admin.display(description=_("month"), ordering="month")
    def month_display(self, obj: ClearingApplication) -> str:
        return f"{obj.month:%Y-%m}"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("facility")
