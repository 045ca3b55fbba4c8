"""Staff admin for designated facilities, the disease and item catalogs, disease recognitions, settlements (read-only,
reversed through the service), accumulators and partner API tokens."""

import datetime
import json
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin

from accounts.admin import PersonAdmin
from accounts.admin_ledger import ReadOnlyAdmin
from accounts.models import LedgerEntry, Person, PsnType
from claims.api.serializers import SettlementRequestSerializer
from claims.errors import ClaimError
from claims.exports import SettlementExportResource
from claims.models import (
    RECOGNITION_LIVE,
    Accumulator,
    CrossRegionFiling,
    Disease,
    Facility,
    Item,
    MedType,
    PartnerToken,
    Recognition,
    RecognitionSource,
    RecognitionStatus,
    Settlement,
    SettlementLine,
)
from claims.recognitions import recognition_apply, recognition_cancel, recognition_decide, recognition_renew
from claims.resources import (
    CrossRegionFilingResource,
    DiseaseResource,
    FacilityResource,
    ItemResource,
    RecognitionResource,
)
from claims.services import settlement_create_late, settlement_preview, settlement_reverse
from claims.slips import settlement_slip, settlement_slip_pdf
from claims.tokens import partner_token_create, partner_token_revoke
from core.admin import CertnoMaskMixin, HistoryAdmin, MaskedExportMixin, PersonSearchMixin, can_view_full_certno
from core.api import validation_text
from core.certno import admdvs_name
from core.imports.admin import ImportFilesMixin
from core.replica import ReplicaReadsAdmin
from policies.models import EnrolleeClass, FacilityLevel, InsuType

# The buckets that are not a disease code (claims.engine).
BUCKET_NAMES = {"general": _("general outpatient"), "sep_pay": _("separately paid drugs")}


@admin.register(Facility)
class FacilityAdmin(ReplicaReadsAdmin, ImportFilesMixin, ImportExportMixin, HistoryAdmin):
    resource_classes = [FacilityResource]
    list_display = ["fixmedins_code", "fixmedins_name", "fixmedins_type", "hosp_lv", "region", "begndate", "enddate",
                    "online_service"]
    list_filter = ["region", "fixmedins_type", "hosp_lv", "online_service"]
    list_select_related = ["region"]
    search_fields = ["=fixmedins_code", "^fixmedins_name"]
    search_help_text = _("Facility code, or the start of the name.")


@admin.register(Disease)
class DiseaseAdmin(ReplicaReadsAdmin, ImportFilesMixin, ImportExportMixin, HistoryAdmin):
    resource_classes = [DiseaseResource]
    list_display = ["opsp_dise_code", "opsp_dise_name", "opsp_dise_majcls_name"]
    list_filter = ["opsp_dise_majcls_name"]
    search_fields = ["=opsp_dise_code", "opsp_dise_name"]
    search_help_text = _("Disease code, or part of the name.")


@admin.register(Item)
class ItemAdmin(ReplicaReadsAdmin, ImportFilesMixin, ImportExportMixin, HistoryAdmin):
    resource_classes = [ItemResource]
    list_display = ["item_code", "item_name", "chrg_item_lv", "selfpay_prop", "pric_uplmt_amt", "acct_pay_forbidden",
                    "sep_pay_flag"]
    list_filter = ["chrg_item_lv", "acct_pay_forbidden", "sep_pay_flag"]
    search_fields = ["=item_code", "^item_name"]
    search_help_text = _("Item code, or the start of the name.")


class RecognitionStateFilter(admin.SimpleListFilter):
    """The workflow's states, with an approved recognition split into valid today and expired."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("applied", _("applied, awaiting review")), ("valid", _("approved, valid today")),
                ("expired", _("approved, expired")), ("future", _("approved, not yet valid")),
                ("refused", _("refused")), ("cancelled", _("cancelled"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        today = timezone.localdate()
        value = self.value()
        if value == "valid":
            return queryset.filter(pk__in=Recognition.objects.valid_on(today).values("pk"))
        if value == "expired":
            return queryset.filter(status=RecognitionStatus.APPROVED, enddate__lt=today)
        if value == "future":
            return queryset.filter(status=RecognitionStatus.APPROVED, begndate__gt=today)
        if value in RecognitionStatus.values:
            return queryset.filter(status=value)
        return queryset


def recognition_state(recognition: Recognition, today: datetime.date) -> str:
    if recognition.expired_on(today):
        return str(_("approved, expired"))
    if recognition.status == RecognitionStatus.APPROVED and recognition.begndate > today:
        return str(_("approved, not yet valid"))
    return str(recognition.get_status_display())


class RecognitionApplicationForm(forms.Form):
    person = forms.CharField(label=_("person number"), max_length=30)
    disease = forms.ModelChoiceField(label=_("disease"), queryset=Disease.objects.order_by("opsp_dise_code"))
    facility = forms.CharField(label=_("facility code"), max_length=30,
                               help_text=_("the medical institution that recognises the disease"))
    begndate = forms.DateField(label=_("valid from"))
    enddate = forms.DateField(label=_("valid until"), required=False,
                              help_text=_("blank: the disease's validity period from the start, set at approval"))
    evidence = forms.CharField(label=_("evidence"), widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
                               help_text=_("diagnosis, examinations and documents that meet the disease's "
                                           "recognition criteria"))

    def clean_person(self) -> Person:
        psn_no = self.cleaned_data["person"].strip()
        person = Person.objects.filter(psn_no=psn_no).first()
        if person is None:
            raise forms.ValidationError(_("no person has the number %(psn_no)s"), params={"psn_no": psn_no})
        return person

    def clean_facility(self) -> Facility:
        code = self.cleaned_data["facility"].strip()
        facility = Facility.objects.filter(fixmedins_code=code).first()
        if facility is None:
            raise forms.ValidationError(_("no facility has the code %(code)s"), params={"code": code})
        return facility


class RecognitionDecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("decision"), widget=forms.RadioSelect,
                                 choices=[("approve", _("approve")), ("refuse", _("refuse"))])
    enddate = forms.DateField(label=_("valid until"), required=False,
                              help_text=_("for an approval; blank: as applied for, or the disease's validity period"))
    note = forms.CharField(label=_("note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("required for a refusal: the reason"))


class RecognitionRenewalForm(forms.Form):
    evidence = forms.CharField(label=_("evidence"), widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
                               help_text=_("the evidence that the disease still meets the criteria"))


class RecognitionWithdrawalForm(forms.Form):
    note = forms.CharField(label=_("reason"), max_length=500)


@admin.register(Recognition)
class RecognitionAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, ImportFilesMixin, ImportExportMixin,
                       HistoryAdmin):
    """Recognitions and applications for them. "Add" is an application (claims.recognitions); a second user with
    the permission to review decides it; an approved recognition with an end date is renewed by a new application.
    Imported recognitions are approved as they are."""

    resource_classes = [RecognitionResource]
    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    exact_search_fields = ("disease__opsp_dise_code", "facility__fixmedins_code")
    search_help_text = _("Person number or full ID number, the start of a name, a disease code or a facility code.")
    list_display = ["person", "certno_masked", "disease", "facility", "begndate", "enddate", "state", "source",
                    "decided_by"]
    list_filter = [RecognitionStateFilter, "source", "disease", "facility__fixmedins_type", "facility__hosp_lv",
                   "facility__region"]
    list_select_related = ["person", "disease", "facility", "decided_by"]
    search_fields = ["person__psn_no", "person__certno", "person__psn_name", "disease__opsp_dise_code",
                     "facility__fixmedins_code"]
    fieldsets = [
        (None, {"fields": ["person", "certno_masked", "disease", "facility", ("begndate", "enddate"), "state",
                           "source", "renewal_of"]}),
        (_("Application"), {"fields": ["criteria", "evidence", ("applied_by", "applied_at")]}),
        (_("Decision"), {"fields": [("decided_by", "decided_at"), "decision_note"]}),
    ]
    readonly_fields = ["person", "certno_masked", "certno_full", "disease", "facility", "begndate", "state", "source",
                       "renewal_of", "criteria", "evidence", "applied_by", "applied_at", "decided_by", "decided_at",
                       "decision_note"]

    @admin.display(description=_("state"), ordering="status")
    def state(self, obj: Recognition) -> str:
        return recognition_state(obj, timezone.localdate())

    def get_readonly_fields(self, request: HttpRequest, obj: Recognition | None = None) -> list[str]:
        # Only an approved recognition's end date is edited here (to end it early); decisions have their page.
        if obj is not None and obj.status == RecognitionStatus.APPROVED:
            return self.readonly_fields
        return [*self.readonly_fields, "enddate"]

    def has_delete_permission(self, request: HttpRequest, obj: Recognition | None = None) -> bool:
        # An application or a decision is a record: withdrawn or refused, never deleted.
        return super().has_delete_permission(request, obj) and (obj is None or obj.source == RecognitionSource.IMPORT)

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("claims.review_recognition")

    def get_urls(self) -> list:
        urls = super().get_urls()
        info = self.opts.app_label, self.opts.model_name
        return [path("<int:pk>/decide/", self.admin_site.admin_view(self.decide_view), name="%s_%s_decide" % info),
                path("<int:pk>/renew/", self.admin_site.admin_view(self.renew_view), name="%s_%s_renew" % info),
                path("<int:pk>/withdraw/", self.admin_site.admin_view(self.withdraw_view),
                     name="%s_%s_withdraw" % info),
                *urls]

    def _form_page(self, request: HttpRequest, form: forms.Form, title: str, *, recognition: Recognition | None,
                   intro: str = "") -> HttpResponse:
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form, "title": title,
                   "recognition": recognition, "intro": intro,
                   "criteria": recognition.disease.recognition_criteria if recognition else ""}
        return TemplateResponse(request, "admin/claims/recognition/form.html", context)

    def _done(self, request: HttpRequest, recognition: Recognition, message: str) -> HttpResponse:
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:claims_recognition_change", args=[recognition.pk]))

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = RecognitionApplicationForm(request.POST or None, initial=request.GET.dict())
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                recognition = recognition_apply(person=data["person"], disease=data["disease"],
                                                facility=data["facility"], begndate=data["begndate"],
                                                enddate=data["enddate"], evidence=data["evidence"],
                                                user=request.user)
            except ClaimError as e:
                form.add_error(None, e.err_msg)
            else:
                self.log_addition(request, recognition, [{"added": {}}])
                return self._done(request, recognition, _("The application was recorded; another user with the "
                                                          "permission to review decides it."))
        return self._form_page(request, form, _("Apply for a disease recognition"), recognition=None,
                               intro=_("The application keeps the disease's recognition criteria as they stand "
                                       "today, with the evidence; another user approves or refuses it."))

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_review_permission(request):
            raise PermissionDenied
        recognition = get_object_or_404(Recognition.objects.select_related("person", "disease", "facility"), pk=pk)
        form = RecognitionDecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                recognition = recognition_decide(recognition=recognition, user=request.user,
                                                 approve=data["decision"] == "approve", note=data["note"],
                                                 enddate=data["enddate"])
            except ClaimError as e:
                form.add_error(None, e.err_msg)
            else:
                self.log_change(request, recognition, [{"changed": {"fields": ["status"]}}])
                return self._done(request, recognition, _("The application was decided: %(status)s.")
                                  % {"status": recognition.get_status_display()})
        return self._form_page(request, form, _("Decide the application"), recognition=recognition)

    def renew_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        recognition = get_object_or_404(Recognition.objects.select_related("person", "disease", "facility"), pk=pk)
        form = RecognitionRenewalForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                renewal = recognition_renew(recognition=recognition, evidence=form.cleaned_data["evidence"],
                                            user=request.user)
            except ClaimError as e:
                form.add_error(None, e.err_msg)
            else:
                self.log_addition(request, renewal, [{"added": {}}])
                return self._done(request, renewal, _("The renewal was applied for; another user decides it."))
        return self._form_page(request, form, _("Renew the recognition"), recognition=recognition,
                               intro=_("A renewal is an application for the period from the day after this "
                                       "recognition ends."))

    def withdraw_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        recognition = get_object_or_404(Recognition.objects.select_related("person", "disease", "facility"), pk=pk)
        form = RecognitionWithdrawalForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                recognition = recognition_cancel(recognition=recognition, note=form.cleaned_data["note"],
                                                 user=request.user)
            except ClaimError as e:
                form.add_error(None, e.err_msg)
            else:
                self.log_change(request, recognition, [{"changed": {"fields": ["status"]}}])
                return self._done(request, recognition, _("The application was withdrawn."))
        return self._form_page(request, form, _("Withdraw the application"), recognition=recognition)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        recognition = self.get_object(request, object_id)
        if recognition is not None:
            applied = recognition.status == RecognitionStatus.APPLIED
            extra_context = {
                **(extra_context or {}),
                "can_decide": applied and self.has_review_permission(request)
                and recognition.applied_by_id != request.user.pk,
                "can_withdraw": applied and self.has_change_permission(request, recognition),
                "can_renew": (recognition.status == RecognitionStatus.APPROVED and recognition.enddate is not None
                              and self.has_add_permission(request)
                              and not recognition.renewals.filter(status__in=RECOGNITION_LIVE).exists()),
            }
        return super().change_view(request, object_id, form_url, extra_context)


class FilingValidFilter(admin.SimpleListFilter):
    title = _("valid")
    parameter_name = "valid"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("today", _("valid today")), ("not_today", _("not valid today"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        valid = CrossRegionFiling.objects.valid_on(timezone.localdate()).values("pk")
        if self.value() == "today":
            return queryset.filter(pk__in=valid)
        if self.value() == "not_today":
            return queryset.exclude(pk__in=valid)
        return queryset


@admin.register(CrossRegionFiling)
class CrossRegionFilingAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, ImportFilesMixin,
                             ImportExportMixin, HistoryAdmin):
    resource_classes = [CrossRegionFilingResource]
    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    exact_search_fields = ("mdtrtarea_admvs",)
    search_help_text = _("Person number or full ID number, the start of a name, or a region code.")
    list_display = ["person", "certno_masked", "region_of_treatment", "filing_type", "begndate", "enddate", "status",
                    "facility"]
    list_filter = [FilingValidFilter, "filing_type", "status", "mdtrtarea_admvs", "person__enrollments__region"]
    list_select_related = ["person", "facility"]
    search_fields = ["person__psn_no", "person__certno", "person__psn_name", "mdtrtarea_admvs"]
    autocomplete_fields = ["person", "facility"]
    readonly_fields = ["cancelled_at"]
    date_hierarchy = "begndate"

    @admin.display(description=_("region of treatment"), ordering="mdtrtarea_admvs")
    def region_of_treatment(self, filing: CrossRegionFiling) -> str:
        return admdvs_with_name(filing.mdtrtarea_admvs)


class CrossRegionFilingInline(admin.TabularInline):
    model = CrossRegionFiling
    fields = ["mdtrtarea_admvs", "filing_type", "begndate", "enddate", "status", "facility"]
    readonly_fields = ["facility"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("person", "facility")


# The person page (accounts, a lower floor) shows the person's filings: claims adds its inline to it.
PersonAdmin.inlines = [*PersonAdmin.inlines, CrossRegionFilingInline]


# ---------------------------------------------------------------------------------------------------------------
# Settlements, their accumulators and the partner API tokens. Read-only: settling happens through the API, and
# reversing a settlement or creating and revoking a token goes through the services.
# ---------------------------------------------------------------------------------------------------------------

MED_TYPES = dict(MedType.choices)


class MedTypeFilter(admin.SimpleListFilter):
    """The medical types from a fixed list: no DISTINCT over the settlements table."""

    title = _("medical type")
    parameter_name = "med_type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(code, f"{code} {label}") for code, label in MED_TYPES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(med_type=self.value()) if self.value() else queryset


def explanation_rows(explanation: list[dict[str, Any]], language: str | None) -> list[dict[str, Any]]:
    """The steps of `Settlement.explanation` for a table: the label in `language` (falling back to English), the
    amounts, and the step's details as (name, value) pairs."""
    language = (language or "en").lower()
    rows = []
    for number, step in enumerate(explanation, start=1):
        labels = step.get("label") or {}
        if isinstance(labels, dict):
            label = labels.get(language) or labels.get(language.split("-")[0]) or labels.get("en") or ""
        else:
            label = str(labels)
        rows.append({"number": number, "code": step.get("code", ""), "label": label,
                     "amount_in": step.get("amount_in", ""), "amount_out": step.get("amount_out", ""),
                     "detail": list((step.get("detail") or {}).items())})
    return rows


class SettlementLineInline(admin.TabularInline):
    model = SettlementLine
    fields = ["item_code", "item", "chrg_item_lv", "sep_pay", "qty", "price", "amount", "fulamt_ownpay_amt",
              "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "acct_pay_forbidden"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("item")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


MAX_REVERSALS = 100  # one reversal is one transaction; a longer list is a job, not a click


class ReversalForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200, widget=forms.TextInput(attrs={"size": 60}),
                             help_text=_("kept with the settlement and on every reversal entry of the ledger"))


class LateSettlementForm(forms.Form):
    """A late bill (补结算) as the facility billed it. The request is read by the partner API's own serializer, so
    its fields mean exactly what they mean there."""

    facility = forms.CharField(label=_("facility code"), max_length=30)
    medins_setl_id = forms.CharField(label=_("facility's settlement id"), max_length=64,
                                     help_text=_("the facility's own number of the bill: settling it twice is not "
                                                 "possible"))
    psn_no = forms.CharField(label=_("person number"), max_length=30)
    med_type = forms.ChoiceField(label=_("medical type"),
                                 choices=lambda: [(code, f"{code} {label}") for code, label in MED_TYPES.items()])
    setl_date = forms.DateField(label=_("service date"), widget=forms.DateInput(attrs={"type": "date"}))
    dise_codg = forms.CharField(label=_("disease code"), max_length=20, required=False,
                                help_text=_("required for medical type 14"))
    ext_rx = forms.BooleanField(label=_("external prescription"), required=False)
    acct_used_flag = forms.ChoiceField(label=_("accounts may pay"), choices=[("1", _("yes")), ("0", _("no"))])
    mulaid_psn_no = forms.CharField(label=_("relative whose account may pay"), max_length=30, required=False)
    items = forms.CharField(label=_("bill lines"), widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
                            help_text=_("one line per item: item code, quantity, unit price (e.g. A001,2,12.50)"))
    reason = forms.CharField(label=_("reason"), max_length=200, widget=forms.TextInput(attrs={"size": 60}),
                             help_text=_("why the bill is settled late; kept with the settlement"))

    def clean_facility(self) -> Facility:
        code = self.cleaned_data["facility"].strip()
        facility = Facility.objects.filter(fixmedins_code=code).first()
        if facility is None:
            raise forms.ValidationError(_("no designated facility has the code %(code)s"), params={"code": code})
        return facility

    def clean_items(self) -> list[dict[str, str]]:
        lines = []
        for number, text in enumerate(self.cleaned_data["items"].splitlines(), start=1):
            if not text.strip():
                continue
            cells = [cell.strip() for cell in text.split(",")]
            if len(cells) != 3:
                raise forms.ValidationError(_("line %(n)s: item code, quantity and unit price, separated by commas"),
                                            params={"n": number})
            lines.append({"item_code": cells[0], "qty": cells[1], "price": cells[2]})
        return lines

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        request = SettlementRequestSerializer(data={
            "medins_setl_id": data["medins_setl_id"], "psn_no": data["psn_no"].strip(), "med_type": data["med_type"],
            "setl_date": data["setl_date"].isoformat(), "dise_codg": data["dise_codg"], "ext_rx": data["ext_rx"],
            "acct_used_flag": data["acct_used_flag"], "items": data["items"],
            **({"mulaid_psn_no": data["mulaid_psn_no"].strip()} if data["mulaid_psn_no"].strip() else {})})
        if not request.is_valid():
            raise forms.ValidationError(validation_text(request.errors))
        data["request"] = request.validated_data
        return data


@admin.register(Settlement)
class SettlementAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, MaskedExportMixin, ReadOnlyAdmin):
    """Settlements as they were answered, with their lines, the engine's explanation and the ledger entries they
    wrote. Nobody edits one; a settlement auditor reverses one through `settlement_reverse`."""

    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    resource_classes = [SettlementExportResource]
    exact_search_fields = ("setl_id", "medins_setl_id")
    search_fields = ["=setl_id", "=medins_setl_id", "person__psn_no", "person__certno"]
    search_help_text = _("Settlement id, the facility's settlement id, a person number or a full ID number.")
    # The facility's settlement id and the policy version are on the settlement's page (and the version a filter):
    # without them every amount fits a 1366 px screen.
    list_display = ["setl_id", "facility", "person", "certno_masked", "medical_type", "setl_date", "status",
                    "medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"]
    list_filter = ["facility", MedTypeFilter, "status", "policy_version"]
    list_select_related = ["facility", "person", "policy_version"]
    date_hierarchy = "setl_date"
    show_full_result_count = False
    list_per_page = 50
    actions = ["reverse_settlements"]
    inlines = [SettlementLineInline]
    change_form_template = "admin/claims/settlement/change_form.html"
    # The export's object tools (django-import-export) and the late settlement's link beside them.
    import_export_change_list_template = "admin/claims/settlement/change_list.html"
    fieldsets = [
        (None, {"fields": [("setl_id", "status"), ("facility", "medins_setl_id"), ("person", "certno_masked"),
                           ("insurance_type", "person_type"), ("medical_type", "setl_date"),
                           ("dise_codg", "ext_rx", "online"), "accounts_may_pay", "created_at"]}),
        (_("Policy applied"), {"fields": [("policy_version", "benefit_rule"), ("enrollee_class_name", "level"),
                                          ("bucket_name", "year_start")]}),
        (_("The bill"), {"fields": [("medfee_sumamt", "inscp_scp_amt"),
                                    ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")]}),
        (_("Funds"), {"fields": [("act_pay_dedc", "hifp_pay", "oth_pay", "fund_pay_sumamt")]}),
        (_("Personal part"), {"fields": [("psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc")]}),
        (_("Reversal"), {"fields": [("reversed_at", "reversed_by", "reversed_by_token"), "reversal_reason"]}),
        (_("Late settlement"), {"fields": [("settled_late_by", "late_reason")]}),
        (_("Request and answer"), {"classes": ["collapse"], "fields": ["request_digest", "response_json"]}),
    ]

    @admin.display(description=_("medical type"), ordering="med_type")
    def medical_type(self, obj: Settlement) -> str:
        label = MED_TYPES.get(obj.med_type)
        return f"{obj.med_type} {label}" if label else obj.med_type

    def get_urls(self) -> list:
        slip = path("<path:object_id>/slip/", self.admin_site.admin_view(self.slip_view),
                    name="claims_settlement_slip")
        late = path("late/", self.admin_site.admin_view(self.late_view), name="claims_settlement_late")
        return [slip, late, *super().get_urls()]

    def slip_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The printable settlement slip (结算单) as a PDF, the ID number masked as on the page."""
        settlement = self.get_object(request, object_id)
        if settlement is None or not self.has_view_permission(request, settlement):
            raise Http404
        slip = settlement_slip(settlement, full_certno=can_view_full_certno(request))
        response = HttpResponse(settlement_slip_pdf(slip), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="slip-{settlement.setl_id}.pdf"'
        return response
    @admin.display(description=_("insurance type"))
    def insurance_type(self, obj: Settlement) -> str:
        return code_with_label(obj.insutype, InsuType)

    @admin.display(description=_("person type"))
    def person_type(self, obj: Settlement) -> str:
        return code_with_label(obj.psn_type, PsnType)

    @admin.display(description=_("accounts may pay"))
    def accounts_may_pay(self, obj: Settlement) -> str:
        return _("yes") if obj.acct_used_flag == "1" else _("no")

    @admin.display(description=_("enrollee class"))
    def enrollee_class_name(self, obj: Settlement) -> str:
        found = EnrolleeClass.objects.filter(version_id=obj.policy_version_id, code=obj.enrollee_class).first()
        return format_html("<code>{}</code> {}", obj.enrollee_class, found) if found else obj.enrollee_class or "-"

    @admin.display(description=_("facility level"))
    def level(self, obj: Settlement) -> str:
        return code_with_label(obj.hosp_lv, FacilityLevel)

    @admin.display(description=_("bucket"))
    def bucket_name(self, obj: Settlement) -> str:
        return bucket_label(obj.bucket)

    @admin.display(description=_("answer"))
    def response_json(self, obj: Settlement) -> str:
        """The answer as the partner received it: the contract's JSON, its field names and codes as they are."""
        return format_html("<pre><code>{}</code></pre>", json.dumps(obj.response, ensure_ascii=False, indent=2))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        settlement = self.get_object(request, object_id)
        if settlement is not None:
            entries = (LedgerEntry.objects.select_related("account__person")
                       .filter(ref_type="settlement", ref_id=settlement.setl_id).order_by("id"))
            extra_context = {**(extra_context or {}),
                             "explanation_rows": explanation_rows(settlement.explanation, get_language()),
                             "ledger_entries": list(entries),
                             "can_reverse": self.has_reverse_permission(request) and not settlement.is_reversed}
        return super().change_view(request, object_id, form_url, extra_context)

    def has_settle_late_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("claims.settle_late")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_settle_late": self.has_settle_late_permission(request)}
        return super().changelist_view(request, extra_context)

    def late_view(self, request: HttpRequest) -> HttpResponse:
        """Settle a late bill (补结算) through `settlement_create_late`, after a preview if asked: the same checks
        and engine as the partner API, outside its service-date window, with a reason; recorded on the settlement
        (who, why) and in its admin history."""
        if not self.has_settle_late_permission(request):
            raise PermissionDenied
        form = LateSettlementForm(request.POST or None)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "title": _("Settle a late bill")}
        if request.method == "POST" and form.is_valid():
            facility, data = form.cleaned_data["facility"], form.cleaned_data["request"]
            reason = form.cleaned_data["reason"]
            try:
                if "_preview" in request.POST:
                    context["preview"] = settlement_preview(facility=facility, data=data)
                else:
                    with transaction.atomic():  # the history's line with the settlement, or neither
                        answer, created = settlement_create_late(facility=facility, data=data, reason=reason,
                                                                 user=request.user)
                        settlement = Settlement.objects.get(setl_id=answer["setl_id"])
                        if created:
                            self.log_addition(request, settlement, str(_("Settled late: %(reason)s")
                                                                       % {"reason": reason}))
                    if created:
                        self.message_user(request, _("Settled %(setl_id)s late.") % {"setl_id": settlement.setl_id},
                                          messages.SUCCESS)
                    else:
                        self.message_user(request, _("The facility's bill %(id)s was settled already as %(setl_id)s: "
                                                     "nothing was settled again.")
                                          % {"id": settlement.medins_setl_id, "setl_id": settlement.setl_id},
                                          messages.WARNING)
                    return HttpResponseRedirect(reverse("admin:claims_settlement_change", args=[settlement.pk]))
            except ClaimError as e:
                form.add_error(None, f"{e.err_code}: {e.err_msg}")
        return TemplateResponse(request, "admin/claims/settlement/late.html", context)

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.reverse_{opts.model_name}")

    @admin.action(description=_("Reverse selected settlements"), permissions=["reverse"])
    def reverse_settlements(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask for a reason first; then reverse each settlement through `settlement_reverse`. Settlements reversed
        already are reported and left as they are."""
        selected = list(queryset.select_related("person", "facility").order_by("pk")[:MAX_REVERSALS + 1])
        if len(selected) > MAX_REVERSALS:
            self.message_user(request, _("Select at most %(max)d settlements to reverse at once.")
                              % {"max": MAX_REVERSALS}, messages.ERROR)
            return None
        form = ReversalForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            done, already = [], []
            for settlement in selected:
                if settlement.is_reversed:
                    already.append(settlement.setl_id)
                    continue
                result = settlement_reverse(settlement=settlement, reason=reason, user=request.user)
                # A concurrent reversal made this one a no-op.
                (done if result.reversed_by_id == request.user.pk and result.reversal_reason == reason[:200]
                 else already).append(settlement.setl_id)
            if done:
                self.message_user(request, ngettext(
                    "Reversed %(count)d settlement: %(ids)s.", "Reversed %(count)d settlements: %(ids)s.",
                    len(done)) % {"count": len(done), "ids": ", ".join(done)}, messages.SUCCESS)
            if already:
                self.message_user(request, ngettext(
                    "%(count)d settlement had been reversed already and was left as it is: %(ids)s.",
                    "%(count)d settlements had been reversed already and were left as they are: %(ids)s.",
                    len(already)) % {"count": len(already), "ids": ", ".join(already)}, messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "form": form,
            "title": _("Reverse settlements"), "settlements": selected,
            "to_reverse": [s for s in selected if not s.is_reversed],
            "already_reversed": [s for s in selected if s.is_reversed],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME, "action": "reverse_settlements",
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/claims/settlement/reverse.html", context)


def code_with_label(code: str, choices: type[models.TextChoices]) -> str:
    """A code and its name: "<code>310</code> 职工基本医疗保险"; an unknown code alone, an empty one as "-"."""
    if not code:
        return "-"
    return format_html("<code>{}</code> {}", code, choices(code).label) if code in choices.values else code


def admdvs_with_name(admdvs: str) -> str:
    """A region or province code and its name: "<code>370000</code> 山东省"."""
    return format_html("<code>{}</code> {}", admdvs, admdvs_name(admdvs)) if admdvs else "-"


def bucket_label(bucket: str, diseases: dict[str, str] | None = None) -> str:
    """`general` and `sep_pay` by name, a disease code with the disease's name."""
    if bucket in BUCKET_NAMES:
        return str(BUCKET_NAMES[bucket])
    if diseases is None:
        diseases = dict(Disease.objects.filter(opsp_dise_code=bucket).values_list("opsp_dise_code", "opsp_dise_name"))
    return f"{bucket} {diseases[bucket]}" if bucket in diseases else bucket or "-"


class BucketFilter(admin.SimpleListFilter):
    """Buckets are `general` or a disease code: listed from the disease catalog, not by a DISTINCT over the
    accumulators."""

    title = _("bucket")
    parameter_name = "bucket"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        diseases = Disease.objects.order_by("opsp_dise_code").values_list("opsp_dise_code", "opsp_dise_name")
        return [*BUCKET_NAMES.items(), *((code, f"{code} {name}") for code, name in diseases)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(bucket=self.value()) if self.value() else queryset


class BenefitYearFilter(admin.SimpleListFilter):
    """Benefit years by the calendar year they start in: this year and the four before, not a DISTINCT over the
    accumulators (millions of rows)."""

    title = _("benefit year from")
    parameter_name = "year"
    YEARS = 5

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        this_year = timezone.localdate().year
        return [(str(year), str(year)) for year in range(this_year, this_year - self.YEARS, -1)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        year = int(value)
        return queryset.filter(year_start__gte=datetime.date(year, 1, 1), year_start__lt=datetime.date(year + 1, 1, 1))


@admin.register(Accumulator)
class AccumulatorAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, ReadOnlyAdmin):
    """What each person has used of a benefit year's deductible and fund: changed only by settling and reversing."""

    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    list_display = ["person", "certno_masked", "year_start", "bucket_name", "dedc_used", "hifp_paid"]
    list_filter = [BucketFilter, BenefitYearFilter]
    list_select_related = ["person"]
    search_fields = ["person__psn_no", "person__certno", "person__psn_name"]
    fields = ["person", "certno_masked", "year_start", "bucket_name", "dedc_used", "hifp_paid", "settlements_link"]
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # A disease bucket's name with the row, not a query per row.
        name = Disease.objects.filter(opsp_dise_code=OuterRef("bucket")).values("opsp_dise_name")[:1]
        return super().get_queryset(request).annotate(disease_name=Subquery(name))

    @admin.display(description=_("bucket"), ordering="bucket")
    def bucket_name(self, obj: Accumulator) -> str:
        names = {obj.bucket: obj.disease_name} if getattr(obj, "disease_name", None) else {}
        return bucket_label(obj.bucket, names)

    @admin.display(description=_("settlements"))
    def settlements_link(self, obj: Accumulator) -> str:
        url = (reverse("admin:claims_settlement_changelist")
               + "?" + urlencode({"q": obj.person.psn_no}))
        return format_html('<a href="{}">{}</a>', url, _("this person's settlements"))


class PartnerTokenForm(forms.Form):
    facility = forms.CharField(label=_("facility code"), max_length=30,
                               help_text=_("the designated facility the token will act for"))
    label = forms.CharField(label=_("label"), max_length=100, required=False,
                            help_text=_("what the token is for, e.g. the facility's system"))

    def clean_facility(self) -> Facility:
        code = self.cleaned_data["facility"].strip()
        facility = Facility.objects.filter(fixmedins_code=code).first()
        if facility is None:
            raise forms.ValidationError(_("no designated facility has the code %(code)s"), params={"code": code})
        if not facility.designated_on(timezone.localdate()):
            raise forms.ValidationError(_("facility %(code)s is not designated today: its token could do nothing"),
                                        params={"code": code})
        return facility


@admin.register(PartnerToken)
class PartnerTokenAdmin(HistoryAdmin):
    """Partner API tokens. "Add" creates one through `partner_token_create` and shows it once; only its digest is
    kept. Tokens are never edited or deleted, only revoked."""

    list_display = ["facility", "prefix", "label", "created_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "facility__region"]
    list_select_related = ["facility"]
    search_fields = ["=facility__fixmedins_code", "=prefix", "label"]
    search_help_text = _("Facility code, the token's first characters, or part of the label.")
    fields = ["facility", "prefix", "label", "created_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke_tokens"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("claims.change_partnertoken")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PartnerTokenForm(request.POST or None, initial=request.GET.dict())
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "title": _("Create a partner API token")}
        if request.method == "POST" and form.is_valid():
            token, raw = partner_token_create(facility=form.cleaned_data["facility"], label=form.cleaned_data["label"])
            self.log_addition(request, token, [{"added": {}}])
            context.update(token=token, raw_token=raw, title=_("Partner API token created"))
            return TemplateResponse(request, "admin/claims/partnertoken/created.html", context)
        return TemplateResponse(request, "admin/claims/partnertoken/add.html", context)

    @admin.action(description=_("Revoke selected tokens"), permissions=["revoke"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True).order_by("pk"):
            partner_token_revoke(token=token)
            self.log_change(request, token, [{"changed": {"fields": ["revoked_at"]}}])
            revoked += 1
        self.message_user(request, ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", revoked)
                          % {"count": revoked}, messages.SUCCESS)


# --- the person page (accounts, a lower floor): the last year's settlements and this benefit year's accumulators ---

class _PersonReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class PersonSettlementInline(_PersonReadOnlyInline):
    """The person's settlements of the last 365 days, newest first (all of them: the settlement list, searched by
    the person number)."""

    model = Settlement
    fields = readonly_fields = ["setl_id", "facility", "setl_date", "med_type", "status", "medfee_sumamt",
                                "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"]
    verbose_name_plural = _("settlements of the last 365 days")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        since = timezone.localdate() - datetime.timedelta(days=365)
        return (super().get_queryset(request).filter(setl_date__gte=since).select_related("facility")
                .order_by("-setl_date", "-id"))


class PersonAccumulatorInline(_PersonReadOnlyInline):
    """What the person has used of each bucket in the benefit year in force (and the one before, when it started
    less than a year ago)."""

    model = Accumulator
    show_change_link = False
    fields = readonly_fields = ["year_start", "bucket", "dedc_used", "hifp_paid"]
    verbose_name_plural = _("accumulators of this benefit year")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        since = timezone.localdate() - datetime.timedelta(days=366)
        return super().get_queryset(request).filter(year_start__gt=since).order_by("-year_start", "bucket")


PersonAdmin.inlines = [*PersonAdmin.inlines, PersonAccumulatorInline, PersonSettlementInline]
