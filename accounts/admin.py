"""Staff admin for the registry: employers, persons (with their enrollments, family links and recognitions),
enrollments and family links."""

import datetime
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin

from accounts.models import Contribution, Employer, Enrollment, EnrollmentStatus, FamilyLink, Person, PersonalAccount
from accounts.resources import FamilyLinkResource, RosterResource
from claims.models import Recognition
from core.admin import CertnoExportMixin, CertnoMaskMixin, HistoryAdmin, PersonSearchMixin
from core.certno import certno_clean
from core.imports.admin import ImportFilesMixin
from core.replica import ReplicaReadsAdmin


@admin.register(Employer)
class EmployerAdmin(ReplicaReadsAdmin, HistoryAdmin):
    list_display = ["emp_no", "emp_name", "region"]
    list_filter = ["region"]
    list_select_related = ["region"]
    search_fields = ["=emp_no", "^emp_name"]
    search_help_text = _("Employer number, or the start of the name.")


class EnrollmentInline(admin.TabularInline):
    """The person's enrollments, each with its dated statuses (the enrollment's page changes a status from a date,
    and holds the retirement date: moved there so that the table fits a 1366 px screen without scrolling)."""

    model = Enrollment
    fields = ["insutype", "psn_type", "psn_insu_stas", "status_history", "region", "employer", "clct_base",
              "begndate", "enddate"]
    readonly_fields = ["status_history"]
    autocomplete_fields = ["employer"]
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (super().get_queryset(request).select_related("region", "employer")
                .prefetch_related("status_changes"))

    @admin.display(description=_("status history"))
    def status_history(self, obj: Enrollment) -> str:
        """Each dated status, oldest first: "2025-07-01 active; 2026-03-01 suspended"."""
        if obj.pk is None:
            return ""
        return format_html_join(mark_safe("<br>"), "{}&nbsp;{}", (
            (change.stas_date.isoformat(), change.get_psn_insu_stas_display())
            for change in obj.status_changes.all())) or "—"


class HolderLinkInline(admin.TabularInline):
    """Links where this person is the account holder: the relatives their account may pay for."""

    model = FamilyLink
    fk_name = "holder"
    fields = ["relative", "relation", "begndate", "enddate", "order"]
    autocomplete_fields = ["relative"]
    extra = 0
    verbose_name = _("relative this person's account pays for")
    verbose_name_plural = _("relatives this person's account pays for")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("holder", "relative")


class RelativeLinkInline(admin.TabularInline):
    """Links where this person is the relative: the holders whose accounts may pay for them."""

    model = FamilyLink
    fk_name = "relative"
    fields = ["holder", "relation", "begndate", "enddate", "order"]
    autocomplete_fields = ["holder"]
    extra = 0
    verbose_name = _("account holder who pays for this person")
    verbose_name_plural = _("account holders who pay for this person")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("holder", "relative")


class RecognitionInline(admin.TabularInline):
    """The person's recognitions and applications, read here: applying, deciding and renewing have their own pages
    (the recognitions admin)."""

    model = Recognition
    fields = ["disease", "facility", "begndate", "enddate", "status", "source"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("person", "disease", "facility")


class ContributionInline(admin.TabularInline):
    """The person's contributions of the last twelve months (all of them: the contribution list)."""

    model = Contribution
    fields = readonly_fields = ["period", "clct_base", "psn_clct_amt", "emp_clct_amt"]
    extra = 0
    can_delete = False
    verbose_name_plural = _("contributions of the last twelve months")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        since = timezone.localdate().replace(day=1) - datetime.timedelta(days=366)
        return super().get_queryset(request).filter(period__gt=since).order_by("-period")


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["psn_no", "certno", "psn_name", "gend", "brdy"]

    def clean_certno(self) -> str:
        # Stored in canonical form (upper-case X), so that the exact-match search finds it.
        return certno_clean(self.cleaned_data["certno"])


@admin.register(Person)
class PersonAdmin(ReplicaReadsAdmin, CertnoMaskMixin, CertnoExportMixin, PersonSearchMixin, ImportFilesMixin,
                  ImportExportMixin, HistoryAdmin):
    form = PersonForm
    resource_classes = [RosterResource]
    list_display = ["psn_no", "psn_name", "certno_masked", "gend", "brdy", "regions", "psn_types", "statuses"]
    list_filter = ["enrollments__region", "enrollments__psn_type", "enrollments__psn_insu_stas", "gend"]
    search_fields = ["psn_no", "certno", "psn_name"]
    fieldsets = [(None, {"fields": ["psn_no", "certno_masked", "psn_name", "gend", "brdy", "created_at"]}),
                 (_("Personal account"), {"fields": ["account_summary"]})]
    readonly_fields = ["certno_masked", "created_at", "account_summary"]
    inlines = [EnrollmentInline, HolderLinkInline, RelativeLinkInline, RecognitionInline, ContributionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        enrollments = Enrollment.objects.select_related("region", "employer").order_by("insutype")
        return super().get_queryset(request).prefetch_related(Prefetch("enrollments", queryset=enrollments))

    @admin.display(description=_("balances by pocket"))
    def account_summary(self, obj: Person) -> str:
        account = PersonalAccount.objects.filter(person=obj).first() if obj.pk else None
        if account is None:
            return _("no personal account")
        url = reverse("admin:accounts_ledgerentry_changelist") + f"?account__id__exact={account.pk}"
        return format_html(
            "<p>{}: <b>{}</b> &nbsp; {}: <b>{}</b> &nbsp; {}: <b>{}</b> &nbsp; <a href='{}'>{}</a> &nbsp; "
            "<a href='#person-ledger'>{}</a></p>",
            _("current-year pocket"), account.balc_current, _("historical pocket"), account.balc_historical,
            _("balance"), account.balc, url, _("all entries (filter, page)"), _("the ledger below"))

    def render_change_form(self, request: HttpRequest, context: dict, add: bool = False, change: bool = False,
                           form_url: str = "", obj: Person | None = None) -> HttpResponse:
        """The account's ledger in place, below the balances (office.person_ledger: filtered and paged by links)."""
        account = PersonalAccount.objects.filter(person=obj).first() if obj is not None and obj.pk else None
        if account is not None:
            from office.person_ledger import person_ledger

            context["person_ledger"] = person_ledger(request, account)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.display(description=_("region"))
    def regions(self, obj: Person) -> str:
        return ", ".join(str(e.region.name) for e in obj.enrollments.all())

    @admin.display(description=_("person type"))
    def psn_types(self, obj: Person) -> str:
        return ", ".join(str(e.get_psn_type_display()) for e in obj.enrollments.all())

    @admin.display(description=_("insurance status"))
    def statuses(self, obj: Person) -> str:
        return ", ".join(str(e.get_psn_insu_stas_display()) for e in obj.enrollments.all())


class EnrollmentStatusInline(admin.TabularInline):
    """The enrollment's dated statuses (stas_date): the status on a day is the last that took effect by then."""

    model = EnrollmentStatus
    fields = ["stas_date", "psn_insu_stas", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EnrollmentForm(forms.ModelForm):
    stas_date = forms.DateField(label=_("status effective from"), required=False,
                                help_text=_("the day a new insurance status takes effect; blank: today (for a new "
                                            "enrollment, its start)"))

    class Meta:
        model = Enrollment
        fields = ["person", "insutype", "psn_type", "region", "employer", "clct_base", "begndate", "enddate",
                  "retire_date", "psn_insu_stas"]


@admin.register(Enrollment)
class EnrollmentAdmin(ReplicaReadsAdmin, CertnoMaskMixin, PersonSearchMixin, HistoryAdmin):
    form = EnrollmentForm
    inlines = [EnrollmentStatusInline]
    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    list_display = ["person", "certno_masked", "insutype", "psn_type", "psn_insu_stas", "region", "employer",
                    "begndate", "enddate"]
    list_filter = ["region", "psn_type", "psn_insu_stas", "insutype"]
    list_select_related = ["person", "region", "employer"]
    search_fields = ["person__psn_no", "person__certno", "person__psn_name"]
    autocomplete_fields = ["person", "employer"]

    def save_model(self, request: HttpRequest, obj: Enrollment, form: forms.ModelForm, change: bool) -> None:
        obj.stas_date = form.cleaned_data.get("stas_date")
        super().save_model(request, obj, form, change)


@admin.register(FamilyLink)
class FamilyLinkAdmin(ReplicaReadsAdmin, CertnoExportMixin, PersonSearchMixin, ImportFilesMixin, ImportExportMixin,
                      HistoryAdmin):
    resource_classes = [FamilyLinkResource]
    person_search_prefixes = ("holder__", "relative__")
    search_help_text = _("Person number or full ID number of the holder or the relative, or the start of a name.")
    list_display = ["holder", "relative", "relation", "begndate", "enddate", "order"]
    list_filter = ["relation"]
    list_select_related = ["holder", "relative"]
    search_fields = ["holder__psn_no", "holder__certno", "holder__psn_name",
                     "relative__psn_no", "relative__certno", "relative__psn_name"]
    autocomplete_fields = ["holder", "relative"]
    actions = ["pay_relative_contribution"]

    @admin.action(description=_("Pay a contribution for the selected relative from the holder's account"),
                  permissions=["pay_contribution"])
    def pay_relative_contribution(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        links = list(queryset.select_related("holder", "relative")[:2])
        if len(links) != 1:
            self.message_user(request, _("Select exactly one family link."), messages.ERROR)
            return None
        query = urlencode({"holder": links[0].holder.psn_no, "relative": links[0].relative.psn_no})
        return HttpResponseRedirect(reverse("admin:accounts_relativecontribution_add") + "?" + query)

    def has_pay_contribution_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.add_relativecontribution")


# Register the account and ledger admins, and staff users with their roles in the reader's language.
from accounts import admin_ledger, admin_staff  # noqa: E402,F401
