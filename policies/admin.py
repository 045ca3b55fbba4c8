"""Staff admin for regions and policy versions: versions by region with status and period, the rule tables laid
out like CONTRACT.md's, inlines editable only while a version is a draft, and clone / publish / retire / diff for
holders of `policies.manage_policy`. Every action calls policies.services."""

import datetime
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from policies.errors import PolicyError
from policies.models import (
    BenefitRule,
    CreditRule,
    EnrolleeClass,
    PaymentMethod,
    PolicyAuditEvent,
    PolicyStatus,
    PolicyVersion,
    ReferenceValue,
    Region,
)
from policies.selectors import (
    policy_version_diff,
    policy_version_full,
    policy_version_tables,
    policy_versions_published_overlapping,
)
from policies.services import policy_version_clone, policy_version_publish, policy_version_retire
from policies.validation import policy_version_problems

MANAGE_PERM = "policies.manage_policy"

# Apps above this one add to a version's pages without policies importing them (the house's floors): links among
# the change form's tools, `(url, label)`, and panels on the publish page (HTML), each given the request and version.
version_tools: list[Callable[[HttpRequest, PolicyVersion], list[tuple[str, str]]]] = []
publish_panels: list[Callable[[HttpRequest, PolicyVersion], SafeString]] = []


@admin.register(Region)
class RegionAdmin(SimpleHistoryAdmin):
    list_display = ["admdvs", "name"]
    search_fields = ["=admdvs", "name"]
    search_help_text = _("Region code, or part of the name.")


class DraftOnlyInline(admin.TabularInline):
    """Rows of a version's tables: editable while the version is a draft, read-only after."""

    extra = 0

    def _editable(self, obj: PolicyVersion | None) -> bool:
        return obj is None or obj.is_draft

    def has_add_permission(self, request: HttpRequest, obj: PolicyVersion | None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)

    def get_fields(self, request: HttpRequest, obj: PolicyVersion | None = None) -> list:
        # Read-only rows show a seeded name in the reader's language (the rows' __str__).
        fields = super().get_fields(request, obj)
        shown = {"name": "name_label", "code": "code_label"}
        return fields if self._editable(obj) else [shown.get(f, f) for f in fields]

    def get_readonly_fields(self, request: HttpRequest, obj: PolicyVersion | None = None) -> list:
        return list(super().get_readonly_fields(request, obj)) if self._editable(obj) else \
            self.get_fields(request, obj)

    @admin.display(description=_("name"))
    def name_label(self, row: object) -> str:
        return str(row)

    @admin.display(description=_("code"))
    def code_label(self, row: object) -> str:
        return format_html("<code>{}</code>", row.code)


class ReferenceValueInline(DraftOnlyInline):
    model = ReferenceValue
    fields = ["kind", "year", "amount"]


class EnrolleeClassInline(DraftOnlyInline):
    model = EnrolleeClass
    fields = ["order", "code", "name", "psn_types", "retire_date_from", "retire_date_to"]


class BenefitRuleInline(DraftOnlyInline):
    model = BenefitRule
    fields = ["med_group", "dise_code", "enrollee_class", "facility_level", "deductible", "rate", "annual_cap",
              "bucket", "supplementary_share_above_cap"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("enrollee_class")

    def get_formset(self, request: HttpRequest, obj: PolicyVersion | None = None, **kwargs: object) -> type:
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("enrollee_class")
        if field is not None:
            # A rule's class must be one of its own version's classes (add them first and save).
            field.queryset = EnrolleeClass.objects.filter(version=obj) if obj else EnrolleeClass.objects.none()
        return formset


class CreditRuleInline(DraftOnlyInline):
    model = CreditRule
    fields = ["order", "name", "psn_types", "age_min", "age_max", "basis", "rate", "amount", "reference_kind",
              "reference_year", "frequency", "pocket", "prorate_first_year"]


class PaymentMethodInline(DraftOnlyInline):
    model = PaymentMethod
    fields = ["med_type_group", "dise_code", "facility_level", "clr_way", "rate"]


class CloneForm(forms.Form):
    code = forms.CharField(label=_("code of the new draft"), max_length=30)
    title = forms.CharField(label=_("title"), max_length=200, required=False)
    effective_from = forms.DateField(label=_("in force from"))
    effective_to = forms.DateField(label=_("in force until"), required=False, help_text=_("blank: open-ended"))


class DiffForm(forms.Form):
    a = forms.ModelChoiceField(label=_("version"), queryset=PolicyVersion.objects.select_related("region"))
    b = forms.ModelChoiceField(label=_("compared with"), queryset=PolicyVersion.objects.select_related("region"))


def unused_code(base: str) -> str:
    code, n = base, 1
    while PolicyVersion.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code


@admin.register(PolicyVersion)
class PolicyVersionAdmin(SimpleHistoryAdmin):
    list_display = ["code", "region", "insutype", "title_display", "status", "effective_from", "effective_to"]
    list_filter = ["region", "insutype", "status"]
    list_select_related = ["region"]
    search_fields = ["code", "title", "=region__admdvs"]
    ordering = ["region__admdvs", "-effective_from"]
    change_form_template = "policies/admin/policyversion_change_form.html"
    inlines = [ReferenceValueInline, EnrolleeClassInline, BenefitRuleInline, CreditRuleInline, PaymentMethodInline]
    readonly_fields = ["status", "rule_tables", "audit_trail"]
    fieldsets = [
        (None, {"fields": ["code", "region", "insutype", "title", "source_document", "status",
                           ("effective_from", "effective_to"),
                           ("benefit_year_start_month", "benefit_year_start_day")]}),
        (_("Options"), {"fields": ["current_pocket_first", "two_pockets",
                                   ("mulaid_from_current", "mulaid_from_historical"), "pharmacy_settlement",
                                   "acct_pays_out_of_scope", ("acct_pays_relative_resident",
                                                              "acct_pays_relative_ltc",
                                                              "acct_pays_relative_commercial"),
                                   ("cross_region_unfiled", "cross_region_rate_cut")]}),
        (_("Separately paid drugs and claim review"), {"fields": [("sep_pay_rate", "sep_pay_annual_cap",
                                                                    "sep_pay_bucket"), "review_extrapolate"]}),
        (_("Plausibility limits"), {"fields": [("plausible_line_max", "plausible_bill_max")]}),
        (_("Rule tables"), {"fields": ["rule_tables"]}),
        (_("Lifecycle and rule history"), {"classes": ["collapse"], "fields": ["audit_trail"]}),
    ]
    actions = ["clone_selected", "publish_selected", "retire_selected", "diff_selected"]

    # --- permissions: published and retired versions are read-only; the lifecycle needs manage_policy ---

    def has_change_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        return (obj is None or obj.is_draft) and super().has_change_permission(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: PolicyVersion | None = None) -> list:
        # A version that can no longer be edited shows its seeded title and source in the reader's language.
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.is_draft:
            return fieldsets
        shown = {"title": "title_display", "source_document": "source_document_display"}
        return [(name, {**options, "fields": [shown.get(f, f) if isinstance(f, str) else f
                                              for f in options["fields"]]}) for name, options in fieldsets]

    @admin.display(description=_("title"), ordering="title")
    def title_display(self, obj: PolicyVersion) -> str:
        return obj.title_label

    @admin.display(description=_("source document"))
    def source_document_display(self, obj: PolicyVersion) -> str:
        return gettext(obj.source_document) if obj.source_document else ""

    def has_delete_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        return (obj is None or obj.is_draft) and super().has_delete_permission(request, obj)

    def has_manage_policy_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MANAGE_PERM)

    def _require_manage(self, request: HttpRequest) -> None:
        if not self.has_manage_policy_permission(request):
            raise PermissionDenied

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context: dict | None = None) -> HttpResponse:
        # Reverting through history would bypass the lifecycle: only a draft may be reverted, by who may edit it.
        if request.method == "POST":
            obj = get_object_or_404(PolicyVersion, pk=object_id)
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    # --- read-only panels ---

    @admin.display(description=_("rule tables"))
    def rule_tables(self, obj: PolicyVersion) -> SafeString:
        if obj.pk is None:
            return mark_safe("")
        tables = policy_version_tables(policy_version_full(obj.pk))
        return mark_safe(render_to_string("policies/admin/rule_tables.html", {"tables": tables}))

    @admin.display(description=_("history"))
    def audit_trail(self, obj: PolicyVersion) -> SafeString:
        if obj.pk is None:
            return mark_safe("")
        history = list(PolicyVersion.history.filter(id=obj.pk).select_related("history_user")[:200])
        for model in (ReferenceValue, EnrolleeClass, BenefitRule, CreditRule, PaymentMethod):
            history += list(model.history.filter(version_id=obj.pk).select_related("history_user")[:200])
        history.sort(key=lambda h: h.history_date, reverse=True)
        rows = [(h.history_date, f"{h.instance_type._meta.verbose_name}: {h.instance}", h.get_history_type_display(),
                 h.history_user) for h in history[:200]]
        return mark_safe(render_to_string("policies/admin/audit_trail.html", {
            "events": obj.audit_events.select_related("actor"), "history": rows}))

    # --- lifecycle views ---

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("diff/", wrap(self.diff_view), name="policies_policyversion_diff"),
            path("<int:pk>/clone/", wrap(self.clone_view), name="policies_policyversion_clone"),
            path("<int:pk>/publish/", wrap(self.publish_view), name="policies_policyversion_publish"),
            path("<int:pk>/retire/", wrap(self.retire_view), name="policies_policyversion_retire"),
        ] + super().get_urls()

    def _context(self, request: HttpRequest, title: str, **extra: object) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **extra}

    def _change_url(self, version: PolicyVersion) -> str:
        return reverse("admin:policies_policyversion_change", args=[version.pk])

    def clone_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_manage(request)
        source = get_object_or_404(PolicyVersion, pk=pk)
        if request.method == "POST":
            form = CloneForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    draft = policy_version_clone(version=source, code=data["code"], actor=request.user,
                                                 title=data["title"] or None, effective_from=data["effective_from"],
                                                 effective_to=data["effective_to"])
                except PolicyError as exc:
                    form.add_error(None, exc.err_msg)
                else:
                    self.message_user(request, _("Draft %(code)s cloned from %(source)s.")
                                      % {"code": draft.code, "source": source.code}, messages.SUCCESS)
                    return HttpResponseRedirect(self._change_url(draft))
        else:
            form = CloneForm(initial={"code": unused_code(f"{source.code}-draft"), "title": source.title,
                                      "effective_from": source.effective_from,
                                      "effective_to": source.effective_to})
        return TemplateResponse(request, "policies/admin/clone.html", self._context(
            request, _("Clone %(code)s into a draft") % {"code": source.code}, original=source, form=form))

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_manage(request)
        version = get_object_or_404(PolicyVersion.objects.select_related("region"), pk=pk)
        if request.method == "POST":
            try:
                policy_version_publish(version=version, actor=request.user)
            except PolicyError as exc:
                # The page lists the draft's problems itself: a refusal for one of them is not said twice.
                shown = {str(p) for p in policy_version_problems(version)} if version.is_draft else set()
                for message in exc.messages:
                    if str(message) not in shown:
                        self.message_user(request, message, messages.ERROR)
                return HttpResponseRedirect(reverse("admin:policies_policyversion_publish", args=[pk]))
            self.message_user(request, _("%(code)s published.") % {"code": version.code}, messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(version))
        problems = policy_version_problems(version) if version.is_draft else []
        to_end = [v for v in policy_versions_published_overlapping(
            region_id=version.region_id, insutype=version.insutype, start=version.effective_from,
            end=version.effective_to, exclude_pk=version.pk) if v.effective_from < version.effective_from]
        return TemplateResponse(request, "policies/admin/confirm.html", self._context(
            request, _("Publish %(code)s") % {"code": version.code}, original=version, action="publish",
            problems=problems, to_end=to_end, day_before=version.effective_from - datetime.timedelta(days=1),
            panels=[panel(request, version) for panel in publish_panels]))

    def retire_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_manage(request)
        version = get_object_or_404(PolicyVersion, pk=pk)
        if request.method == "POST":
            try:
                policy_version_retire(version=version, actor=request.user)
            except PolicyError as exc:
                self.message_user(request, exc.err_msg, messages.ERROR)
            else:
                self.message_user(request, _("%(code)s retired.") % {"code": version.code}, messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(version))
        return TemplateResponse(request, "policies/admin/confirm.html", self._context(
            request, _("Retire %(code)s") % {"code": version.code}, original=version, action="retire"))

    def diff_view(self, request: HttpRequest) -> HttpResponse:
        self._require_manage(request)
        form = DiffForm(request.GET or None)
        tables, a, b = None, None, None
        if form.is_valid():
            a, b = form.cleaned_data["a"], form.cleaned_data["b"]
            tables = policy_version_diff(policy_version_full(a.pk), policy_version_full(b.pk))
        return TemplateResponse(request, "policies/admin/diff.html", self._context(
            request, _("Compare policy versions"), form=form, tables=tables, a=a, b=b))

    # --- changelist actions ---

    @admin.action(description=_("Clone into drafts"), permissions=["manage_policy"])
    def clone_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for version in queryset:
            draft = policy_version_clone(version=version, code=unused_code(f"{version.code}-draft"),
                                         actor=request.user)
            self.message_user(request, _("Draft %(code)s cloned from %(source)s.")
                              % {"code": draft.code, "source": version.code}, messages.SUCCESS)

    @admin.action(description=_("Publish selected drafts"), permissions=["manage_policy"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for version in queryset.order_by("effective_from"):
            try:
                policy_version_publish(version=version, actor=request.user)
            except PolicyError as exc:
                self.message_user(request, exc.err_msg, messages.ERROR)
            else:
                self.message_user(request, _("%(code)s published.") % {"code": version.code}, messages.SUCCESS)

    @admin.action(description=_("Retire selected versions"), permissions=["manage_policy"])
    def retire_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for version in queryset:
            try:
                policy_version_retire(version=version, actor=request.user)
            except PolicyError as exc:
                self.message_user(request, exc.err_msg, messages.ERROR)
            else:
                self.message_user(request, _("%(code)s retired.") % {"code": version.code}, messages.SUCCESS)

    @admin.action(description=_("Compare two versions side by side"), permissions=["manage_policy"])
    def diff_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        versions = list(queryset.order_by("effective_from"))
        if len(versions) != 2:
            self.message_user(request, _("Select exactly two versions to compare."), messages.WARNING)
            return None
        url = reverse("admin:policies_policyversion_diff")
        return HttpResponseRedirect(f"{url}?a={versions[0].pk}&b={versions[1].pk}")

    def render_change_form(self, request: HttpRequest, context: dict, add: bool = False, change: bool = False,
                           form_url: str = "", obj: PolicyVersion | None = None) -> HttpResponse:
        context["can_manage_policy"] = self.has_manage_policy_permission(request)
        context["is_draft"] = obj is not None and obj.is_draft
        context["is_published"] = obj is not None and obj.status == PolicyStatus.PUBLISHED
        context["more_tools"] = [tool for make in version_tools for tool in make(request, obj)] if obj else []
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(PolicyAuditEvent)
class PolicyAuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "version", "action", "actor", "detail"]
    list_filter = ["action", "version__region"]
    list_select_related = ["version", "actor"]
    search_fields = ["version__code", "detail"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PolicyAuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PolicyAuditEvent | None = None) -> bool:
        return False
