"""Staff admin for clearing with facilities: primary-care signings (also on the person page), the facilities'
clearing applications (read-only: facilities file and cancel them through the national interface), and the monthly
statements with their lines, deductions, trail, the applications beside them and the audit state; reviewing and
approving them are actions that call the services (approval by another user than the reviewer)."""

import re
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin import PersonAdmin
from accounts.admin_ledger import ReadOnlyAdmin
from claims.admin import FacilityAdmin
from clearing.errors import ClearingError
from clearing.jobs import clearing_job_start
from clearing.models import (
    AuditFinding,
    AuditRun,
    BankAccount,
    ClearingApplication,
    ClearingJob,
    ClearingReport,
    Decision,
    Deduction,
    FundLedgerEntry,
    JobKind,
    JobStatus,
    PaymentFile,
    ReviewBatch,
    ReviewItem,
    ReviewStatus,
    Signing,
    Statement,
    StatementEvent,
    StatementLine,
)
from clearing.paying import payment_csv, payment_file_create, payment_xlsx
from clearing.resources import SigningResource
from clearing.review import review_batch_close, review_batch_create, review_decide
from clearing.selectors import application_comparison, statement_audit_state
from clearing.statements import statement_approve, statement_review
from core.admin import CertnoMaskMixin, HistoryAdmin, PersonSearchMixin
from core.api import validation_text
from core.replica import ReplicaReadsAdmin
from policies.models import Region
from reports.admin import ReportAdmin
from reports.definitions import MonthField
from reports.exports import XLSX


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


class ReadOnlyRowsInline(admin.TabularInline):
    """Rows shown on their parent's page as they stand: every field read-only, nothing added or deleted here;
    `related` names the relations the columns read, fetched with the rows."""

    extra = 0
    can_delete = False
    related: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return list(self.fields)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset.select_related(*self.related) if self.related else queryset


# What the clearing pages offer to start, each for the users with its permission: a job's form, or a payment file.
JOB_PERMISSIONS = {JobKind.CLEARING: "clearing.run_clearing", JobKind.AUDIT: "clearing.run_audit"}
JOB_TITLES = {JobKind.CLEARING: _("Run clearing for a region and month"),
              JobKind.AUDIT: _("Audit a month's settlements")}


def job_start_link(kind: str) -> tuple[str, str, str]:
    """(permission, address, label) of the form that starts a clearing run or a month audit."""
    return JOB_PERMISSIONS[kind], reverse("admin:clearing_clearingjob_start", args=[kind]), JOB_TITLES[kind]


class StartLinksMixin:
    """A list page that offers, above the list, a link to each thing its `start_links` name to the users with its
    permission (as a message, on GET)."""

    def start_links(self, request: HttpRequest) -> list[tuple[str, str, str]]:
        """(permission, address, label) of each link."""
        return []

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method == "GET":
            for permission, url, label in self.start_links(request):
                if request.user.has_perm(permission):
                    self.message_user(request, format_html('<a href="{}">{}</a>', url, label), messages.INFO)
        return super().changelist_view(request, extra_context)


def admin_page(model_admin: admin.ModelAdmin, request: HttpRequest, template: str, title: str,
               **context: object) -> TemplateResponse:
    """One of the clearing admins' own pages (a form or a decision) inside the admin's frame."""
    return TemplateResponse(request, template, {**model_admin.admin_site.each_context(request),
                                                "opts": model_admin.model._meta, "title": title, **context})


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


class StatementLineInline(ReadOnlyRowsInline):
    model = StatementLine
    fields = ["clr_way", "med_type_group", "dise_code", "insutype", "count", "medfee_sumamt", "fund_pay_sumamt",
              "amount"]


class DeductionInline(ReadOnlyRowsInline):
    model = Deduction
    fk_name = "statement"
    fields = ["kind", "month", "insutype", "settlement", "carried_from", "amount", "reason", "created_by",
              "created_at"]
    related = ("settlement", "carried_from__facility", "created_by")


class StatementEventInline(ReadOnlyRowsInline):
    model = StatementEvent
    fields = ["at", "action", "actor", "detail"]
    related = ("actor",)


@admin.register(Statement)
class StatementAdmin(StartLinksMixin, ReplicaReadsAdmin, ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["facility", "month_display", "status", "settlements_count", "lines_amount", "deducted",
                    "payable", "reviewed_by", "approved_by", "payment_file"]
    list_filter = ["status", "month", "facility__region", "facility__fixmedins_type"]
    list_select_related = ["facility", "reviewed_by", "approved_by", "payment_file"]
    search_fields = ["=facility__fixmedins_code", "facility__fixmedins_name"]
    search_help_text = _("Facility code, or part of its name.")
    date_hierarchy = "month"
    readonly_fields = ["facility", "month", "status", "audit_state", "application_beside", "settlements_count",
                       "lines_amount", "deducted", "payable", "built_at", "reviewed_by", "reviewed_at",
                       "approved_by", "approved_at", "payment_file", "paid_at"]
    fields = readonly_fields
    inlines = [StatementLineInline, DeductionInline, StatementEventInline]
    actions = ["review_selected", "approve_selected"]

    @admin.display(description=_("month"), ordering="month")
    def month_display(self, obj: Statement) -> str:
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("re-adjudication audit"))
    def audit_state(self, obj: Statement) -> str:
        labels = {"not_audited": _("not audited"), "clean": _("audited, no difference"),
                  "differences": _("audited: differences found")}
        return labels[statement_audit_state(obj)]

    @admin.display(description=_("the facility's applications (3203) beside the system's figures"))
    def application_beside(self, obj: Statement) -> str:
        comparison = application_comparison(obj)
        names = {"medfee_sumamt": _("total"), "fund_appy_sumamt": _("fund payments"),
                 "acct_pay": _("account payments"), "cash_payamt": _("cash payments")}
        header = format_html("<tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr>", _("applied"), _("system"),
                             _("difference"))
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (names[key], comparison["applied"][key], comparison["system"][key], comparison["difference"][key])
            for key in names))
        return format_html("<p>{}</p><table>{}{}</table>",
                           _("%(n)s application(s) not cancelled") % {"n": comparison["applications"]}, header, rows)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("facility", "reviewed_by", "approved_by",
                                                            "payment_file")

    def start_links(self, request: HttpRequest) -> list[tuple[str, str, str]]:
        return [job_start_link(JobKind.CLEARING)]

    def _step(self, request: HttpRequest, queryset: QuerySet, service, done: str) -> None:  # noqa: ANN001
        for statement in queryset.order_by("pk"):
            try:
                service(statement=statement, user=request.user)
            except ClearingError as exc:
                self.message_user(request, exc.err_msg, messages.ERROR)
            else:
                self.message_user(request, done % {"statement": statement}, messages.SUCCESS)

    @admin.action(description=_("Mark selected statements reviewed"), permissions=["review"])
    def review_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._step(request, queryset, statement_review, _("%(statement)s reviewed."))

    @admin.action(description=_("Approve selected statements (another user than the reviewer)"),
                  permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._step(request, queryset, statement_approve, _("%(statement)s approved."))

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("clearing.review_statement")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("clearing.approve_statement")


class ReviewBatchForm(forms.ModelForm):
    setl_ids = forms.CharField(label=_("settlement ids"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("by hand: the settlement ids, separated by spaces, commas or lines"))

    class Meta:
        model = ReviewBatch
        fields = ["region", "month", "selection", "share", "seed", "threshold"]
        help_texts = {"month": _("any day of the month")}


class ReviewItemInline(ReadOnlyRowsInline):
    model = ReviewItem
    fields = ["settlement", "facility", "fund_pay", "decided", "decide_link"]
    related = ("settlement__facility",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(
            decided_count=Count("decisions"),
            refused_count=Count("decisions", filter=Q(decisions__decision=Decision.REFUSE)))

    @admin.display(description=_("facility"))
    def facility(self, obj: ReviewItem) -> str:
        return obj.settlement.facility.fixmedins_code

    @admin.display(description=_("fund payments"))
    def fund_pay(self, obj: ReviewItem) -> str:
        return str(obj.settlement.fund_pay_sumamt)

    @admin.display(description=_("lines decided (refused)"))
    def decided(self, obj: ReviewItem) -> str:
        return f"{obj.decided_count} ({obj.refused_count})"

    @admin.display(description=_("decide"))
    def decide_link(self, obj: ReviewItem) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:clearing_reviewitem_decide", args=[obj.pk]),
                           _("decide the lines"))


@admin.register(ReviewBatch)
class ReviewBatchAdmin(HistoryAdmin):
    form = ReviewBatchForm
    list_display = ["__str__", "region", "month_display", "selection", "status", "items_count", "created_by",
                    "closed_by", "closed_at"]
    list_filter = ["status", "selection", "region", "month"]
    list_select_related = ["region", "created_by", "closed_by"]
    inlines = [ReviewItemInline]
    actions = ["close_selected"]

    @admin.display(description=_("month"), ordering="month")
    def month_display(self, obj: ReviewBatch) -> str:
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("settlements"))
    def items_count(self, obj: ReviewBatch) -> int:
        return obj.items_n

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(items_n=Count("items"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("clearing.review_claims")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_close_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("clearing.review_claims")

    def save_model(self, request: HttpRequest, obj: ReviewBatch, form: forms.Form, change: bool) -> None:
        data = form.cleaned_data
        try:
            batch = review_batch_create(
                region=data["region"], month=data["month"], selection=data["selection"], user=request.user,
                share=data.get("share"), seed=data.get("seed"), threshold=data.get("threshold"),
                setl_ids=re.split(r"[\s,;]+", data.get("setl_ids") or ""))
        except ClearingError as exc:
            raise ValidationError(exc.err_msg) from exc
        obj.pk, obj.month, obj.seed = batch.pk, batch.month, batch.seed

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    @admin.action(description=_("Close selected batches (deductions from what was refused)"), permissions=["close"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for batch in queryset.order_by("pk"):
            try:
                deductions = review_batch_close(batch=batch, user=request.user)
            except ClearingError as exc:
                self.message_user(request, exc.err_msg, messages.ERROR)
            else:
                self.message_user(request, _("%(batch)s closed: %(n)s deduction(s), %(total)s yuan")
                                  % {"batch": batch, "n": len(deductions),
                                     "total": sum((d.amount for d in deductions), Decimal("0.00"))},
                                  messages.SUCCESS)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("decision"), choices=Decision.choices)
    refused_amount = forms.DecimalField(label=_("refused amount"), max_digits=12, decimal_places=2, required=False)
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    """Reached from its batch: the page where a reviewer decides each line of the settlement."""

    list_display = ["settlement", "batch"]
    list_select_related = ["settlement", "batch__region"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list:
        return [path("<int:pk>/decide/", self.admin_site.admin_view(self.decide_view),
                     name="clearing_reviewitem_decide"), *super().get_urls()]

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = get_object_or_404(ReviewItem.objects.select_related("batch__region", "settlement__facility"), pk=pk)
        if not self.has_view_permission(request):
            raise PermissionDenied
        is_open = item.batch.status == ReviewStatus.OPEN and request.user.has_perm("clearing.review_claims")
        decided = {d.line_id: d for d in item.decisions.all()}
        lines = list(item.settlement.lines.order_by("pk"))
        rows, errors = [], []
        for line in lines:
            known = decided.get(line.pk)
            initial = {"decision": known.decision if known else Decision.ACCEPT,
                       "refused_amount": known.refused_amount if known and known.refused_amount else None,
                       "reason": known.reason if known else ""}
            data = request.POST if request.method == "POST" and is_open else None
            rows.append({"line": line, "form": DecisionForm(data, prefix=f"l{line.pk}", initial=initial)})
        if request.method == "POST" and is_open:
            try:
                with transaction.atomic():
                    for row in rows:
                        if not row["form"].is_valid():
                            raise ClearingError(ClearingError.INVALID_REQUEST,
                                                f"{row['line'].item_code}: {validation_text(row['form'].errors)}")
                        values = row["form"].cleaned_data
                        review_decide(item=item, line=row["line"], decision=values["decision"], user=request.user,
                                      refused_amount=values["refused_amount"] or Decimal("0.00"),
                                      reason=values["reason"])
            except ClearingError as exc:
                errors.append(exc.err_msg)
            else:
                self.message_user(request, _("Decisions saved."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:clearing_reviewbatch_change", args=[item.batch_id]))
        return admin_page(self, request, "admin/clearing/reviewitem/decide.html",
                          _("Review %(setl_id)s") % {"setl_id": item.settlement.setl_id}, item=item,
                          settlement=item.settlement, rows=rows, errors=errors, open=is_open)


class PaymentFileForm(forms.Form):
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.all())
    month = MonthField(label=_("month"))


@admin.register(PaymentFile)
class PaymentFileAdmin(StartLinksMixin, ReadOnlyAdmin):
    list_display = ["reference", "region", "month_display", "statements_count", "total", "carried_total", "created_by",
                    "created_at", "downloads"]
    list_filter = ["region", "month"]
    list_select_related = ["region", "created_by"]
    readonly_fields = ["reference", "region", "month", "statements_count", "total", "carried_total", "created_by",
                       "created_at", "downloads"]
    fields = readonly_fields

    @admin.display(description=_("month"), ordering="month")
    def month_display(self, obj: PaymentFile) -> str:
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("download"))
    def downloads(self, obj: PaymentFile) -> str:
        return format_html('<a href="{}">CSV</a> · <a href="{}">XLSX</a>',
                           reverse("admin:clearing_paymentfile_download", args=[obj.pk, "csv"]),
                           reverse("admin:clearing_paymentfile_download", args=[obj.pk, "xlsx"]))

    def get_urls(self) -> list:
        return [path("make/", self.admin_site.admin_view(self.make_view), name="clearing_paymentfile_make"),
                path("<int:pk>/download/<str:fmt>/", self.admin_site.admin_view(self.download_view),
                     name="clearing_paymentfile_download"), *super().get_urls()]

    def start_links(self, request: HttpRequest) -> list[tuple[str, str, str]]:
        return [("clearing.pay_statement", reverse("admin:clearing_paymentfile_make"), _("Make a payment file"))]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "title": _("Payment files")})

    def make_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("clearing.pay_statement"):
            raise PermissionDenied
        form = PaymentFileForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                payment = payment_file_create(region=form.cleaned_data["region"], month=form.cleaned_data["month"],
                                              user=request.user)
            except ClearingError as exc:
                form.add_error(None, exc.err_msg)
            else:
                self.message_user(request, _("%(ref)s: %(n)s statements, %(total)s yuan, marked paid.")
                                  % {"ref": payment.reference, "n": payment.statements_count,
                                     "total": payment.total}, messages.SUCCESS)
                if payment.carried_total:
                    self.message_user(request, _("Funds' parts below zero, %(carried)s yuan, were paid nothing and "
                                                 "carried to the facilities' next statements (the file's carried "
                                                 "column).") % {"carried": payment.carried_total}, messages.WARNING)
                return HttpResponseRedirect(reverse("admin:clearing_paymentfile_change", args=[payment.pk]))
        return admin_page(self, request, "admin/clearing/paymentfile/make.html", _("Make a payment file"), form=form)

    def download_view(self, request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        payment = get_object_or_404(PaymentFile, pk=pk)
        if fmt == "csv":
            response = HttpResponse(payment_csv(payment), content_type="text/csv; charset=utf-8")
        elif fmt == "xlsx":
            response = HttpResponse(payment_xlsx(payment), content_type=XLSX)
        else:
            raise Http404
        response["Content-Disposition"] = f'attachment; filename="{payment.reference}.{fmt}"'
        return response


@admin.register(BankAccount)
class BankAccountAdmin(HistoryAdmin):
    list_display = ["facility", "bank_name", "account_name", "account_no"]
    list_select_related = ["facility"]
    search_fields = ["=facility__fixmedins_code", "facility__fixmedins_name", "=account_no"]
    autocomplete_fields = ["facility"]


class BankAccountInline(admin.StackedInline):
    model = BankAccount
    fields = ["bank_name", "account_name", "account_no"]
    extra = 0
    max_num = 1


# The facility page (claims, a lower floor) shows its bank account: clearing adds its inline to it.
FacilityAdmin.inlines = [*FacilityAdmin.inlines, BankAccountInline]


@admin.register(FundLedgerEntry)
class FundLedgerEntryAdmin(ReplicaReadsAdmin, ReadOnlyAdmin):
    list_display = ["created_at", "region", "insutype", "facility", "month_display", "kind", "amount", "statement",
                    "created_by"]
    list_filter = ["kind", "region", "insutype", "month"]
    list_select_related = ["region", "facility", "statement__facility", "created_by"]
    search_fields = ["=facility__fixmedins_code"]

    @admin.display(description=_("month"), ordering="month")
    def month_display(self, obj: FundLedgerEntry) -> str:
        return f"{obj.month:%Y-%m}"


admin.site.register(ClearingReport, type("ClearingReportAdmin", (ReportAdmin,), {"report": "clearing"}))


class ClearingJobForm(forms.Form):
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.all(), required=False,
                                    empty_label=_("every region"))
    month = MonthField(label=_("month"))


@admin.register(ClearingJob)
class ClearingJobAdmin(StartLinksMixin, ReadOnlyAdmin):
    """Clearing runs and month audits started here (a button each, with its permission): who started what, its
    state while it runs (the page reloads itself) and its result."""

    list_display = ["id", "kind", "region", "month_display", "status", "started_by", "started_at", "finished_at",
                    "result_link"]
    list_filter = ["kind", "status", "region"]
    list_select_related = ["region", "started_by", "audit_run"]
    fields = ["kind", "region", "month", "status", "started_by", "started_at", "finished_at", "result_link"]
    readonly_fields = fields
    change_form_template = "admin/clearing/clearingjob/change_form.html"

    @admin.display(description=_("month"), ordering="month")
    def month_display(self, obj: ClearingJob) -> str:
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("result"))
    def result_link(self, obj: ClearingJob) -> str:
        if obj.kind == JobKind.AUDIT and obj.audit_run_id:
            return format_html('<a href="{}">{}</a>', reverse("admin:clearing_auditrun_change",
                                                              args=[obj.audit_run_id]), obj.result)
        if obj.kind == JobKind.CLEARING and obj.status == JobStatus.DONE:
            query = f"?month__exact={obj.month:%Y-%m-%d}" + (
                f"&facility__region__id__exact={obj.region_id}" if obj.region_id else "")
            return format_html('<a href="{}{}">{}</a>', reverse("admin:clearing_statement_changelist"), query,
                               obj.result)
        return obj.result

    def get_urls(self) -> list:
        return [path("start/<str:kind>/", self.admin_site.admin_view(self.start_view),
                     name="clearing_clearingjob_start"), *super().get_urls()]

    def start_links(self, request: HttpRequest) -> list[tuple[str, str, str]]:
        return [job_start_link(JobKind.CLEARING), job_start_link(JobKind.AUDIT)]

    def start_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        """The form of a clearing run (a region or every region, a month) or a month audit; starting it records
        the job and runs it in the background."""
        if kind not in JOB_PERMISSIONS:
            raise Http404
        if not request.user.has_perm(JOB_PERMISSIONS[kind]):
            raise PermissionDenied
        form = ClearingJobForm(request.POST or None)
        if kind == JobKind.AUDIT:
            del form.fields["region"]
        if request.method == "POST" and form.is_valid():
            job = clearing_job_start(kind=kind, month=form.cleaned_data["month"], user=request.user,
                                     region=form.cleaned_data.get("region"))
            self.message_user(request, _("%(job)s started.") % {"job": job}, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:clearing_clearingjob_change", args=[job.pk]))
        return admin_page(self, request, "admin/clearing/clearingjob/start.html", JOB_TITLES[kind], form=form,
                          kind=kind)


class AuditFindingInline(ReadOnlyRowsInline):
    model = AuditFinding
    fields = ["settlement", "field", "paid", "recomputed"]
    related = ("settlement",)


@admin.register(AuditRun)
class AuditRunAdmin(StartLinksMixin, ReadOnlyAdmin):
    """The re-adjudication audits (nightly samples and month audits) and their findings."""

    list_display = ["id", "scope", "first_day", "last_day", "sample_share", "checked", "differences", "started_by",
                    "started_at", "finished_at"]
    list_filter = ["scope"]
    list_select_related = ["started_by"]
    fields = ["scope", "first_day", "last_day", "sample_share", "seed", "checked", "differences", "started_by",
              "started_at", "finished_at"]
    readonly_fields = fields
    inlines = [AuditFindingInline]

    def start_links(self, request: HttpRequest) -> list[tuple[str, str, str]]:
        return [job_start_link(JobKind.AUDIT)]
