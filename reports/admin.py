"""Staff admin of the reports: one page per report (filters, SVG chart, table, CSV and XLSX export), opened by
that report's `view` permission; summary rebuilds; supervision settings; alerts with their evidence, reviewed by
the supervisor group (`reports.review_alert`) and run on demand."""

import datetime
from itertools import pairwise

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.admin import HistoryAdmin
from core.replica import ReplicaReadsAdmin, replica_reads
from reports.charts import bar_chart_svg
from reports.definitions import REPORTS, MonthField, PeriodForm, ReportSpec, report_run
from reports.exports import export_csv, export_xlsx
from reports.models import SUMMARY_TABLES, Alert, AlertStatus, Rule, SummaryRebuild, SupervisionSetting
from reports.summaries import months_between
from reports.supervision import RULE_HELP, alert_finding, alert_review

REBUILD_PERMISSION = "reports.change_accountflow"


def report_page(model_admin: admin.ModelAdmin, request: HttpRequest, spec: ReportSpec) -> HttpResponse:
    if not request.user.has_perm(spec.permission):
        raise PermissionDenied
    params = request.GET.copy()
    export = params.pop("format", [""])[-1]
    form, result = report_run(spec, params)
    if result is None and not params:
        form = spec.form_class()  # opened without filters: ask for them, do not open with "required" errors
    if result is not None and export in ("csv", "xlsx"):
        name = f"{spec.name}-{form.cleaned_data['first']:%Y%m}-{form.cleaned_data['last']:%Y%m}"
        return (export_csv if export == "csv" else export_xlsx)(spec, result, name)
    # A code column is followed by its name's column: its cells are shown as codes, beside their names.
    keys = [c.key for c in spec.columns]
    codes = {k for k, after in pairwise(keys) if after in (f"{k}_label", f"{k}_name", k.replace("_code", "_name"))}
    rows = [[(row.get(c.key), c.kind != "text", c.key in codes) for c in spec.columns]
            for row in result.rows] if result else []
    totals = [result.totals.get(c.key, "") for c in spec.columns] if result and result.totals else []
    query = request.GET.copy()
    query.pop("format", None)
    context = {
        **model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "title": spec.title,
        "spec": spec, "form": form, "result": result, "rows": rows, "totals": totals,
        "chart": mark_safe(bar_chart_svg(result.chart)) if result and result.chart else "",  # noqa: S308 (escaped)
        "query": query.urlencode(),
        "can_rebuild": spec.rebuildable and request.user.has_perm(REBUILD_PERMISSION),
    }
    return TemplateResponse(request, "reports/admin/report.html", context)


class ReportAdmin(admin.ModelAdmin):
    """A report page in place of the model's change list; nothing else of the model is reachable here."""

    report: str = ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(REPORTS[self.report].permission)

    def get_urls(self) -> list:
        info = self.model._meta.app_label, self.model._meta.model_name
        urls = [path("", self.admin_site.admin_view(self.changelist_view), name="%s_%s_changelist" % info)]
        if REPORTS[self.report].rebuildable:
            urls.append(path("rebuild/", self.admin_site.admin_view(self.rebuild_view), name="%s_%s_rebuild" % info))
        return urls

    @replica_reads
    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return report_page(self, request, REPORTS[self.report])

    def rebuild_view(self, request: HttpRequest) -> HttpResponse:
        """Rebuild the account summaries of the months on the page (in the background with a broker)."""
        if request.method != "POST" or not request.user.has_perm(REBUILD_PERMISSION):
            raise PermissionDenied
        form = PeriodForm(request.POST)
        back = reverse(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_changelist")
        if not form.is_valid():
            messages.error(request, _("Enter the months as YYYY-MM."))
            return HttpResponseRedirect(back)
        from reports.tasks import account_flows_rebuild_task

        months = [f"{m:%Y-%m}" for m in months_between(form.cleaned_data["first"], form.cleaned_data["last"])]
        for month in months:
            transaction.on_commit(lambda month=month, user_id=request.user.pk: account_flows_rebuild_task.delay(
                month, user_id=user_id))
        messages.success(request, _("Rebuild of %(months)s started.") % {"months": ", ".join(months)})
        return HttpResponseRedirect(f"{back}?{request.POST.get('query', '')}")


def _register_reports() -> None:
    for spec in REPORTS.values():
        admin.site.register(spec.model, type(f"{spec.model.__name__}Admin", (ReportAdmin,), {"report": spec.name}))


_register_reports()


class SummaryTableFilter(admin.SimpleListFilter):
    title = _("summary")
    parameter_name = "table"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(table, str(label)) for table, label in SUMMARY_TABLES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(table=self.value()) if self.value() else queryset


@admin.register(SummaryRebuild)
class SummaryRebuildAdmin(ReplicaReadsAdmin, admin.ModelAdmin):
    list_display = ["table_name", "month", "rebuilt_at", "through", "rows", "seconds", "rebuilt_by", "cause"]
    list_filter = [SummaryTableFilter, "trigger", "month"]
    list_select_related = ["rebuilt_by"]
    readonly_fields = list_display

    @admin.display(description=_("summary"), ordering="table")
    def table_name(self, rebuild: SummaryRebuild) -> str:
        return rebuild.table_label

    @admin.display(description=_("started by"), ordering="trigger")
    def cause(self, rebuild: SummaryRebuild) -> str:
        """What asked for it: the schedule, a credit run or import job (with its number), a person by hand."""
        label = rebuild.get_trigger_display()
        return f"{label} #{rebuild.source}" if rebuild.source else label

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SupervisionSetting)
class SupervisionSettingAdmin(HistoryAdmin):
    """Thresholds, changed by the supervisor group (`reports.change_supervisionsetting`); history kept."""

    list_display = ["rule", "enabled", "min_count", "ratio", "amount", "parameters"]
    list_editable = ["enabled", "min_count", "ratio", "amount"]
    fields = ["rule", "parameters", "enabled", "min_count", "ratio", "amount"]
    readonly_fields = ["rule", "parameters"]

    @admin.display(description=_("what the parameters mean"))
    def parameters(self, obj: SupervisionSetting) -> str:
        return str(RULE_HELP.get(obj.rule, obj.help))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AlertReviewForm(forms.ModelForm):
    status = forms.ChoiceField(label=_("decision"), choices=[(AlertStatus.CONFIRMED, _("confirmed")),
                                                             (AlertStatus.DISMISSED, _("dismissed"))])
    note = forms.CharField(label=_("review note"), widget=forms.Textarea(attrs={"rows": 3}))

    class Meta:
        model = Alert
        fields = ["status", "note"]


class SupervisionRunForm(forms.Form):
    month = MonthField(label=_("month"))
    rules = forms.MultipleChoiceField(label=_("rules"), choices=Rule.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text=_("none ticked: every enabled rule"))


@admin.register(Alert)
class AlertAdmin(ReplicaReadsAdmin, HistoryAdmin):
    form = AlertReviewForm
    list_display = ["id", "rank", "rule", "subject_type", "subject_key", "period_start", "period_end", "score",
                    "status", "reviewer", "reviewed_at"]
    list_filter = ["status", "rank", "rule", "subject_type", "period_start"]
    list_select_related = ["reviewer"]
    search_fields = ["=subject_key"]
    date_hierarchy = "period_start"
    readonly_fields = ["rule", "rank", "subject_type", "subject_key", "person", "facility", "period_start",
                       "period_end", "score", "finding", "evidence_table", "reviewer", "reviewed_at", "created_at",
                       "updated_at"]
    change_list_template = "reports/admin/alert_change_list.html"

    def get_fields(self, request: HttpRequest, obj: Alert | None = None) -> list[str]:
        review = ["status", "note"] if self.has_change_permission(request, obj) else []
        return [*self.readonly_fields, *review]

    def get_readonly_fields(self, request: HttpRequest, obj: Alert | None = None) -> list[str]:
        if self.has_change_permission(request, obj):
            return self.readonly_fields
        return [*self.readonly_fields, "status", "note"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm("reports.review_alert")

    @admin.display(description=_("finding"))
    def finding(self, obj: Alert) -> str:
        return alert_finding(obj)

    @admin.display(description=_("evidence"))
    def evidence_table(self, obj: Alert) -> str:
        rows = (obj.settlements.select_related("facility", "person")
                .order_by("setl_date", "id")[:200])
        header = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
                             "<th>{}</th></tr>", _("settlement id"), _("service date"), _("facility"), _("person"),
                             _("medical type"), _("total"), _("funds"), _("relatives' accounts"))
        body = format_html_join("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
                                    "<td>{}</td><td>{}</td><td>{}</td></tr>", (
            (reverse("admin:claims_settlement_change", args=[s.pk]), s.setl_id, s.setl_date,
             s.facility.fixmedins_code, s.person.psn_no, s.med_type, s.medfee_sumamt, s.fund_pay_sumamt,
             s.acct_mulaid_pay) for s in rows))
        return format_html("<table>{}{}</table>", header, body)

    def save_model(self, request: HttpRequest, obj: Alert, form: forms.Form, change: bool) -> None:
        try:
            alert_review(alert=obj, status=form.cleaned_data["status"], note=form.cleaned_data["note"],
                         user=request.user)
        except ValueError as e:
            raise PermissionDenied(str(e)) from None

    def get_urls(self) -> list:
        return [path("run/", self.admin_site.admin_view(self.run_view), name="reports_alert_run"),
                *super().get_urls()]

    def run_view(self, request: HttpRequest) -> HttpResponse:
        """Run the rules now over a month (in the background with a broker)."""
        if not request.user.has_perm("reports.review_alert"):
            raise PermissionDenied
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        form = SupervisionRunForm(request.POST or None, initial={"month": f"{yesterday:%Y-%m}"})
        if request.method == "POST" and form.is_valid():
            from reports.tasks import supervision_run_task

            month, rules = f"{form.cleaned_data['month']:%Y-%m}", form.cleaned_data["rules"] or None
            user_id = request.user.pk
            transaction.on_commit(lambda: supervision_run_task.delay(month, rules, user_id=user_id))
            messages.success(request, _("The supervision rules for %(month)s have been started.") % {"month": month})
            return HttpResponseRedirect(reverse("admin:reports_alert_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Run the supervision rules")}
        return TemplateResponse(request, "reports/admin/run_supervision.html", context)
