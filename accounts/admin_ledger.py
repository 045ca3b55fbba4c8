"""Staff admin for personal accounts: contributions (with import), accounts and their ledger (read-only; opening
balances by import), and credit runs with their progress, started from the admin."""

import datetime
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin, ImportMixin

from accounts.adjustments import (
    APPROVE_PERMISSION,
    account_adjustment_approve,
    account_adjustment_reject,
    account_adjustment_request,
)
from accounts.credits import credit_runs_stalled
from accounts.errors import AccountError
from accounts.exports import AccountExportResource, LedgerEntryExportResource
from accounts.family_payments import relative_contribution_pay
from accounts.models import (
    AccountAdjustment,
    Contribution,
    ContributionKind,
    CreditRun,
    CreditRunChunk,
    LedgerEntry,
    Person,
    PersonalAccount,
    RelativeContribution,
)
from accounts.resources import BalanceResource, ContributionResource
from core.admin import (
    CertnoMaskMixin,
    DateRangeChangeList,
    EstimatedCountPaginator,
    HistoryAdmin,
    MaskedExportMixin,
    PersonSearchMixin,
)
from core.approvals import ApprovalError
from core.imports.admin import ApprovedImportMixin, ImportFilesMixin
from core.replica import ReplicaReadsAdmin
from policies.models import Region


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to staff with the view permission; nobody adds, changes or deletes here. Lists of millions of rows
    are not counted in full, nor their dates listed with a scan of every row (DateRangeChangeList)."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_changelist(self, request: HttpRequest, **kwargs: object) -> type:
        return DateRangeChangeList

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Contribution)
class ContributionAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, ImportFilesMixin, ImportExportMixin,
                        HistoryAdmin):
    resource_classes = [ContributionResource]
    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    list_display = ["person", "certno_masked", "period", "clct_base", "psn_clct_amt", "emp_clct_amt"]
    list_filter = ["period"]
    list_select_related = ["person"]
    search_fields = ["person__psn_no", "person__certno", "person__psn_name"]
    autocomplete_fields = ["person"]
    date_hierarchy = "period"


class LedgerEntryInline(admin.TabularInline):
    """The latest entries on the account page; the full ledger is the filtered, paginated list it links to."""

    model = LedgerEntry
    fields = ["created_at", "kind", "pocket", "amount", "balance_after", "period", "policy_version", "reason_label"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("latest ledger entries")

    @admin.display(description=_("reason"))
    def reason_label(self, obj: LedgerEntry) -> str:
        return obj.reason_label

    def get_queryset(self, request: HttpRequest):  # noqa: ANN201
        return super().get_queryset(request).select_related("policy_version").order_by("-id")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PersonalAccount)
class PersonalAccountAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, MaskedExportMixin, ReadOnlyAdmin):
    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    resource_classes = [AccountExportResource]
    list_display = ["person", "certno_masked", "balc_current", "balc_historical", "balance", "ledger_link"]
    list_select_related = ["person"]
    search_fields = ["person__psn_no", "person__certno", "person__psn_name"]
    fields = ["person", "balc_current", "balc_historical", "balance", "ledger_link", "created_at"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("balance"))
    def balance(self, obj: PersonalAccount) -> str:
        return f"{obj.balc:.2f}"

    @admin.display(description=_("ledger"))
    def ledger_link(self, obj: PersonalAccount) -> str:
        url = reverse("admin:accounts_ledgerentry_changelist") + f"?account__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("all entries"))


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, ApprovedImportMixin, ImportFilesMixin,
                       ImportMixin, MaskedExportMixin, ReadOnlyAdmin):
    """The ledger: every entry, read-only. Opening balances from a former system come in through the import, once
    a second person approved the file; the entries of the list (as filtered) go out through the export."""

    resource_classes = [BalanceResource]
    import_job_kind = "balances"
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"
    certno_path = "account__person__certno"
    person_search_prefixes = ("account__person__",)
    # The policy version is a filter and on the entry's page (the credit rule names it): every amount fits 1366 px.
    list_display = ["id", "account", "certno_masked", "kind", "pocket", "amount", "balance_after", "period",
                    "credit_rule", "ref", "created_at"]
    list_filter = ["kind", "pocket", "period", "policy_version"]
    list_select_related = ["account__person", "policy_version", "credit_rule"]
    search_fields = ["account__person__psn_no", "account__person__certno", "account__person__psn_name"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = ["account", "kind", "pocket", "amount", "balance_after", "period", "policy_version",
                       "credit_rule", "run", "reverses", "ref", "reason_label", "created_at", "created_by"]
    fields = readonly_fields

    @admin.display(description=_("refers to"))
    def ref(self, obj: LedgerEntry) -> str:
        return obj.ref_label

    @admin.display(description=_("reason"))
    def reason_label(self, obj: LedgerEntry) -> str:
        return obj.reason_label

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.add_ledgerentry")

    def get_export_resource_classes(self, request: HttpRequest) -> list[type]:
        return [LedgerEntryExportResource]


class CreditRunForm(forms.Form):
    month = forms.CharField(label=_("month"), help_text=_("YYYY-MM"), max_length=7)
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.all(), required=False,
                                    empty_label=_("every region"))

    def clean_month(self) -> datetime.date:
        try:
            return datetime.datetime.strptime(self.cleaned_data["month"], "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from None


class CreditRunChunkInline(admin.TabularInline):
    """Which worker ran each chunk, and what it credited."""

    model = CreditRunChunk
    fields = ["number", "worker", "started_at", "finished_at", "entries_created", "amount_total"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CreditRun)
class CreditRunAdmin(ReadOnlyAdmin):
    inlines = [CreditRunChunkInline]
    list_display = ["id", "kind", "period", "region_label", "status", "progress_bar", "entries_created",
                    "amount_total", "initiator", "started_at", "finished_at"]
    list_filter = ["kind", "status", "region"]
    list_select_related = ["region", "started_by"]
    fields = ["kind", "period", "region_label", "status", "progress_bar", "chunks_done", "chunks_total",
              "entries_created", "amount_total", "initiator", "started_at", "finished_at", "resumes", "resumed_at",
              "error_label"]
    readonly_fields = fields
    change_list_template = "admin/accounts/creditrun/change_list.html"
    change_form_template = "admin/accounts/creditrun/change_form.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        for run in credit_runs_stalled():
            messages.warning(request, _("Credit run %(id)s (%(run)s) has committed no chunk since %(since)s: %(done)s "
                                        "of %(total)s chunks done. Its worker has probably stopped; the missing "
                                        "chunks are queued again automatically (resumed %(resumes)s times so far).")
                             % {"id": run.pk, "run": run, "since": localtime(run.last_chunk_at or run.started_at)
                                .strftime("%Y-%m-%d %H:%M"), "done": run.chunks_done, "total": run.chunks_total,
                                "resumes": run.resumes})
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("region"), ordering="region__admdvs")
    def region_label(self, obj: CreditRun) -> str:
        """The run's region with its code; a run over every region (the schedule's, or one started without a region)
        says so rather than showing a blank."""
        return str(obj.region) if obj.region_id else _("every region")

    @admin.display(description=_("started by"), ordering="started_by")
    def initiator(self, obj: CreditRun) -> str:
        """The user who started the run from the admin; a run with none was started by the schedule (beat) or a
        command (run_credits, run_rollover, seed_demo), which the list says rather than showing a blank."""
        return str(obj.started_by) if obj.started_by_id else _("the schedule or a command")

    @admin.display(description=_("error"))
    def error_label(self, obj: CreditRun) -> str:
        return obj.error_label

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: CreditRun) -> str:
        return format_html('<progress max="100" value="{}"></progress> {}%', obj.progress, obj.progress)

    def get_urls(self) -> list:
        return [path("start/", self.admin_site.admin_view(self.start_view), name="accounts_creditrun_start"),
                *super().get_urls()]

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """Start a month's credit run in the background (Celery; in-process without a broker)."""
        if not request.user.has_perm("accounts.add_creditrun"):
            raise PermissionDenied
        form = CreditRunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            from accounts.tasks import credits_month_task

            month, region = form.cleaned_data["month"], form.cleaned_data["region"]
            admdvs = region.admdvs if region else None
            user_id = request.user.pk
            transaction.on_commit(lambda: credits_month_task.delay(f"{month:%Y-%m}", admdvs, user_id=user_id))
            messages.success(request, _("The credit run for %(month)s has been started.") % {"month": f"{month:%Y-%m}"})
            return HttpResponseRedirect(reverse("admin:accounts_creditrun_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Start a credit run")}
        return TemplateResponse(request, "admin/accounts/creditrun/start.html", context)


class RelativeContributionForm(forms.Form):
    holder = forms.CharField(label=_("account holder (psn_no)"), max_length=30)
    relative = forms.CharField(label=_("relative (psn_no)"), max_length=30)
    kind = forms.ChoiceField(label=_("kind"), choices=ContributionKind.choices)
    year = forms.IntegerField(label=_("contribution year"), min_value=2000, max_value=2100)
    amount = forms.DecimalField(label=_("amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reference = forms.CharField(label=_("payment reference"), max_length=64,
                                help_text=_("the collecting body's payment order; it is never paid twice"))

    def clean(self) -> dict:
        data = super().clean()
        persons = {p.psn_no: p for p in Person.objects.filter(psn_no__in=[data.get("holder"), data.get("relative")])}
        for field in ("holder", "relative"):
            if data.get(field) and data[field] not in persons:
                self.add_error(field, _("no person has the number %(psn_no)s") % {"psn_no": data[field]})
            else:
                data[field] = persons.get(data.get(field))
        return data


@admin.register(RelativeContribution)
class RelativeContributionAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, admin.ModelAdmin):
    """Relatives' contributions paid from accounts: read-only once paid; "add" pays one through the service."""

    person_search_prefixes = ("holder__", "relative__")
    list_display = ["reference", "holder", "relative", "kind", "year", "amount", "policy_version", "created_at",
                    "created_by"]
    list_filter = ["kind", "year", "policy_version"]
    list_select_related = ["holder", "relative", "policy_version", "created_by"]
    search_fields = ["=reference", "holder__psn_no", "relative__psn_no"]
    readonly_fields = list_display

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = RelativeContributionForm(request.POST or None, initial=request.GET.dict())
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                record, created = relative_contribution_pay(
                    holder=data["holder"], relative=data["relative"], kind=data["kind"], year=data["year"],
                    amount=data["amount"], reference=data["reference"], user=request.user)
            except AccountError as e:
                form.add_error(None, e.err_msg)
            else:
                if created:
                    messages.success(request, _("Paid %(amount)s yuan from %(holder)s's account.")
                                     % {"amount": record.amount, "holder": record.holder.psn_no})
                else:
                    messages.info(request, _("Payment %(ref)s had been made already.") % {"ref": record.reference})
                return HttpResponseRedirect(reverse("admin:accounts_relativecontribution_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Pay a relative's contribution from an account")}
        return TemplateResponse(request, "admin/accounts/relativecontribution/pay.html", context)


class AccountAdjustmentForm(forms.Form):
    person = forms.CharField(label=_("person (psn_no)"), max_length=30)
    kind = forms.ChoiceField(label=_("kind"), choices=AccountAdjustment.Kind.choices)
    pocket = forms.ChoiceField(label=_("pocket"), choices=[("current", _("current-year pocket")),
                                                           ("historical", _("historical pocket"))])
    amount = forms.DecimalField(label=_("amount"), max_digits=12, decimal_places=2,
                                help_text=_("positive: into the pocket; negative: out of it (corrections only)"))
    as_of = forms.DateField(label=_("as of"), required=False,
                            help_text=_("an opening balance: the day the former system's balance stood (YYYY-MM-DD)"))
    reason = forms.CharField(label=_("reason"), max_length=200)

    def clean_person(self) -> Person:
        psn_no = self.cleaned_data["person"].strip()
        person = Person.objects.filter(psn_no=psn_no).first()
        if person is None:
            raise forms.ValidationError(_("no person has the number %(psn_no)s") % {"psn_no": psn_no})
        return person


class DecidedListFilter(admin.SimpleListFilter):
    """Pending first: the list opens on what awaits approval."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [*AccountAdjustment.Status.choices, ("all", _("All"))]

    def choices(self, changelist: object) -> list[dict]:
        value = self.value() or AccountAdjustment.Status.PENDING
        return [{"selected": value == lookup, "display": title,
                 "query_string": changelist.get_query_string({self.parameter_name: lookup})}
                for lookup, title in self.lookup_choices]

    def queryset(self, request: HttpRequest, queryset: object) -> object:
        value = self.value() or AccountAdjustment.Status.PENDING
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(AccountAdjustment)
class AccountAdjustmentAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, admin.ModelAdmin):
    """Money moved by hand, with two people: "add" asks for an opening balance or a correction (nothing moves),
    and a second user with the approving permission approves it (the entry is posted, once) or rejects it with a
    reason. The list opens on the requests awaiting approval."""

    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    list_display = ["id", "person", "certno_masked", "kind", "pocket", "amount", "status", "requested_by",
                    "requested_at", "reviewed_by", "reviewed_at"]
    list_filter = [DecidedListFilter, "kind", "pocket", "requested_by", "reviewed_by"]
    list_select_related = ["person", "requested_by", "reviewed_by"]
    search_fields = ["person__psn_no", "person__certno", "person__psn_name"]
    date_hierarchy = "requested_at"
    show_full_result_count = False
    fields = ["person", "kind", "pocket", "amount", "as_of", "reason", "status", "requested_by", "requested_at",
              "reviewed_by", "reviewed_at", "rejection_reason", "entry"]
    readonly_fields = fields
    actions = ["approve_selected"]
    change_form_template = "admin/accounts/accountadjustment/change_form.html"

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(APPROVE_PERMISSION)

    @admin.action(description=_("Approve the selected requests (each posts its entry once)"),
                  permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: object) -> None:
        approved = 0
        for pk in queryset.filter(status=AccountAdjustment.Status.PENDING).order_by("pk").values_list("pk", flat=True):
            try:
                account_adjustment_approve(adjustment_id=pk, user=request.user)
                approved += 1
            except (ApprovalError, AccountError) as e:
                self.message_user(request, _("Request %(id)s: %(error)s") % {"id": pk, "error": e.err_msg},
                                  messages.ERROR)
        if approved:
            self.message_user(request, _("%(n)d request(s) approved and posted.") % {"n": approved},
                              messages.SUCCESS)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [path("<int:pk>/approve/", view(self.approve_view), name="accounts_accountadjustment_approve"),
                path("<int:pk>/reject/", view(self.reject_view), name="accounts_accountadjustment_reject"),
                *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        adjustment = self.get_object(request, object_id)
        can_review = (adjustment is not None and adjustment.status == AccountAdjustment.Status.PENDING
                      and self.has_approve_permission(request) and adjustment.requested_by_id != request.user.pk)
        extra = {"can_review": can_review, **(extra_context or {})}
        if adjustment is not None:
            extra |= {"approve_url": reverse("admin:accounts_accountadjustment_approve", args=[adjustment.pk]),
                      "reject_url": reverse("admin:accounts_accountadjustment_reject", args=[adjustment.pk])}
        return super().change_view(request, object_id, form_url, extra)

    def _decide(self, request: HttpRequest, pk: int, decide: object, done: str) -> HttpResponse:
        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        try:
            decide()
        except (ApprovalError, AccountError) as e:
            messages.error(request, e.err_msg)
        else:
            messages.success(request, done)
        return HttpResponseRedirect(reverse("admin:accounts_accountadjustment_change", args=[pk]))

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide(request, pk, lambda: account_adjustment_approve(adjustment_id=pk, user=request.user),
                            _("Approved: the entry is posted."))

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        reason = request.POST.get("reason", "")
        return self._decide(request, pk,
                            lambda: account_adjustment_reject(adjustment_id=pk, user=request.user, reason=reason),
                            _("Rejected: nothing is posted."))

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AccountAdjustmentForm(request.POST or None, initial=request.GET.dict())
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                adjustment = account_adjustment_request(
                    person=data["person"], kind=data["kind"], pocket=data["pocket"], amount=data["amount"],
                    as_of=data["as_of"], reason=data["reason"], user=request.user)
            except AccountError as e:
                form.add_error(None, e.err_msg)
            else:
                messages.success(request, _("Request %(id)s saved: it waits for a second person's approval, and "
                                            "nothing moves before.") % {"id": adjustment.pk})
                return HttpResponseRedirect(reverse("admin:accounts_accountadjustment_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Ask for money to be moved by hand")}
        return TemplateResponse(request, "admin/accounts/accountadjustment/request.html", context)
