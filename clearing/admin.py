"""Staff admin for clearing with facilities: primary-care signings (also on the person page), and the facilities'
clearing applications (read-only: facilities file and cancel them through the national interface)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin import PersonAdmin
from accounts.admin_ledger import ReadOnlyAdmin
from clearing.models import ClearingApplication, Signing
from clearing.resources import SigningResource
from core.admin import CertnoMaskMixin, HistoryAdmin, PersonSearchMixin


@admin.register(Signing)
class SigningAdmin(CertnoMaskMixin, PersonSearchMixin, ImportExportMixin, HistoryAdmin):
    resource_classes = [SigningResource]
    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    exact_search_fields = ("facility__fixmedins_code",)
    search_help_text = _("Person number or full ID number, the start of a name, or a facility code.")
    list_display = ["person", "certno_masked", "facility", "begndate", "enddate"]
    list_filter = ["facility__region", "facility__hosp_lv"]
    list_select_related = ["person", "facility"]
    search_fields = ["person__psn_no", "person__certno", "person__psn_name", "facility__fixmedins_code"]
    autocomplete_fields = ["person", "facility"]


class SigningInline(admin.TabularInline):
    model = Signing
    fields = ["facility", "begndate", "enddate"]
    autocomplete_fields = ["facility"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("person", "facility")


# The person page (accounts, a lower floor) shows the person's signings: clearing adds its inline to it.
PersonAdmin.inlines = [*PersonAdmin.inlines, SigningInline]


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
