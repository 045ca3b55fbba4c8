"""What-if runs in the admin: started from a policy version's page ("试算"), followed while they run, read as
tables, a chart and the most affected, exported to XLSX, compared two by two; and the last run of a draft on its
publish page (through policies.admin's hooks, so policies imports nothing of this app)."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from policies import admin as policies_admin
from policies.models import PolicyVersion, Region
from whatif.exports import run_xlsx
from whatif.models import WhatIfRun
from whatif.selectors import publish_check, run_chart, run_tables, run_tops, runs_compared, top_label
from whatif.services import WhatIfError, month_start, whatif_run_create

START_PERM = "whatif.add_whatifrun"


class StartForm(forms.Form):
    region = forms.ModelChoiceField(label=gettext_lazy("region"), queryset=Region.objects.order_by("admdvs"))
    month_from = forms.CharField(label=gettext_lazy("from month"), max_length=7,
                                 help_text=gettext_lazy("YYYY-MM; the service dates' months"))
    month_to = forms.CharField(label=gettext_lazy("to month"), max_length=7, help_text=gettext_lazy("YYYY-MM"))

    def clean(self) -> dict:
        data = super().clean()
        try:
            data["start"] = month_start(data.get("month_from", ""))
            data["end"] = month_start(data.get("month_to", ""))
        except WhatIfError as e:
            raise forms.ValidationError(str(e)) from None
        if data["end"] < data["start"]:
            raise forms.ValidationError(_("the last month is before the first"))
        return data


def _last_twelve_months(today: datetime.date) -> tuple[str, str]:
    end = today.replace(day=1) - datetime.timedelta(days=1)
    start = datetime.date(end.year - 1, end.month, 1) + datetime.timedelta(days=32)
    return f"{start.replace(day=1):%Y-%m}", f"{end:%Y-%m}"


@admin.register(WhatIfRun)
class WhatIfRunAdmin(admin.ModelAdmin):
    list_display = ["id", "version", "region", "month_from", "month_to", "status", "progress_shown", "settlements",
                    "created_by", "created_at"]
    list_filter = ["status", "region"]
    list_select_related = ["version", "region", "created_by"]
    search_fields = ["version__code"]
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    actions = ["compare_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a run starts from its policy version's page

    def has_change_permission(self, request: HttpRequest, obj: WhatIfRun | None = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("progress"))
    def progress_shown(self, run: WhatIfRun) -> str:
        return f"{run.progress}%"

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("start/<int:version_pk>/", wrap(self.start_view), name="whatif_whatifrun_start"),
            path("<int:pk>/report/", wrap(self.report_view), name="whatif_whatifrun_report"),
            path("<int:pk>/export/", wrap(self.export_view), name="whatif_whatifrun_export"),
            path("compare/", wrap(self.compare_view), name="whatif_whatifrun_compare"),
        ] + super().get_urls()

    def _context(self, request: HttpRequest, title: str, **extra: object) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **extra}

    def _run(self, request: HttpRequest, pk: int) -> WhatIfRun:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(WhatIfRun.objects.select_related("version", "region", "created_by"), pk=pk)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:whatif_whatifrun_report", args=[object_id]))

    def start_view(self, request: HttpRequest, version_pk: int) -> HttpResponse:
        if not request.user.has_perm(START_PERM):
            raise PermissionDenied
        version = get_object_or_404(PolicyVersion.objects.select_related("region"), pk=version_pk)
        if request.method == "POST":
            form = StartForm(request.POST)
            if form.is_valid():
                run = whatif_run_create(version=version, region=form.cleaned_data["region"],
                                        month_from=form.cleaned_data["start"], month_to=form.cleaned_data["end"],
                                        actor=request.user)
                self.message_user(request, _("What-if run of %(code)s started.") % {"code": version.code},
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:whatif_whatifrun_report", args=[run.pk]))
        else:
            month_from, month_to = _last_twelve_months(timezone.localdate())
            form = StartForm(initial={"region": version.region, "month_from": month_from, "month_to": month_to})
        return TemplateResponse(request, "whatif/admin/start.html", self._context(
            request, _("What-if run of %(code)s") % {"code": version.code}, version=version, form=form))

    def report_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run(request, pk)
        finished = run.status == WhatIfRun.Status.DONE
        tops = run_tops(run) if finished else {}
        others = (WhatIfRun.objects.filter(region=run.region, status=WhatIfRun.Status.DONE).exclude(pk=run.pk)
                  .select_related("version").order_by("-created_at")[:50])
        return TemplateResponse(request, "whatif/admin/report.html", self._context(
            request, _("What-if run %(run)s") % {"run": run}, run=run, finished=finished,
            tables=run_tables(run) if finished else [], chart=mark_safe(run_chart(run)) if finished else "",
            enrollees=[(t, top_label(t)) for t in tops.get("enrollee", [])],
            facilities=[(t, top_label(t)) for t in tops.get("facility", [])], others=others))

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run(request, pk)
        if run.status != WhatIfRun.Status.DONE:
            raise PermissionDenied
        return run_xlsx(run)

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        a = self._run(request, request.GET.get("a", "0") if request.GET.get("a", "").isdigit() else 0)
        b = self._run(request, request.GET.get("b", "0") if request.GET.get("b", "").isdigit() else 0)
        return TemplateResponse(request, "whatif/admin/compare.html", self._context(
            request, _("Two what-if runs side by side"), compared=runs_compared(a, b)))

    @admin.action(description=gettext_lazy("Compare two runs side by side"))
    def compare_selected(self, request: HttpRequest, queryset: object) -> HttpResponse | None:
        runs = list(queryset.order_by("id")[:3])
        if len(runs) != 2:
            self.message_user(request, _("Select exactly two runs to compare."), messages.WARNING)
            return None
        return HttpResponseRedirect(f"{reverse('admin:whatif_whatifrun_compare')}?a={runs[0].pk}&b={runs[1].pk}")


def _version_tool(request: HttpRequest, version: PolicyVersion) -> list[tuple[str, str]]:
    if not request.user.has_perm(START_PERM):
        return []
    return [(reverse("admin:whatif_whatifrun_start", args=[version.pk]), _("What-if run"))]


def _publish_panel(request: HttpRequest, version: PolicyVersion) -> SafeString:
    if not version.is_draft:
        return mark_safe("")
    return mark_safe(render_to_string("whatif/admin/publish_panel.html", {
        "check": publish_check(version), "version": version,
        "can_start": request.user.has_perm(START_PERM)}, request=request))


policies_admin.version_tools.append(_version_tool)
policies_admin.publish_panels.append(_publish_panel)
