"""Shared pieces of the staff admin: the site's titles, the base admin with history pages, the resident-ID mask
and the person search used by every admin that lists people; and the background import jobs."""

import datetime
import json
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers as admin_helpers
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.utils import display_for_field
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import DecimalField, Max, Min, Model, Q, QuerySet
from django.db.models.functions import Reverse
from django.db.models.lookups import StartsWith
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import HistoricalChanges, ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper
from stdnum.cn import ric

from core.approvals import ApprovalError
from core.certno import certno_mask
from core.exports import ColumnLabelsExportForm
from core.imports import IMPORT_KIND_LABELS, IMPORT_KINDS, import_resource_class
from core.imports.jobs import (
    APPROVE_PERMISSION,
    import_job_approve,
    import_job_reject,
    import_job_submit,
    import_jobs_fail_stale,
)
from core.imports.messages import bad_rows_render
from core.imports.templates import import_template_csv, import_templates
from core.models import ImportJob

FULL_CERTNO_PERMISSION = "accounts.view_full_certno"
KINDS_WITH_CERTNO = ("roster", "family_links")
CERTNO_MASKED = "certno_masked"


def can_view_full_certno(request: HttpRequest) -> bool:
    return request.user.has_perm(FULL_CERTNO_PERMISSION)


# The last digits of an ID number: at least four (fewer would match a good part of a city), the last may be X.
CERTNO_TAIL = re.compile(r"[0-9]{3,16}[0-9X]")


def person_search_q(term: str, prefix: str = "") -> Q:
    """A person by psn_no or a full ID number (both unique, so an indexed equality), by the last 4 to 17 characters
    of the ID number, or by the start of the name.

    The last digits are matched as the start of the reversed number (`reverse(certno) LIKE '4321%'`), which
    PostgreSQL answers from the index `person_certno_reversed` (accounts migration 0009) instead of scanning.
    `prefix` is the path to the person from the searched model, e.g. `"person__"`.
    """
    term = term.strip()
    query = Q(**{f"{prefix}psn_no": term}) | Q(**{f"{prefix}psn_name__startswith": term})
    number = ric.compact(term)
    if len(number) == 18:
        query |= Q(**{f"{prefix}certno": number})
    elif CERTNO_TAIL.fullmatch(number):
        query |= Q(StartsWith(Reverse(f"{prefix}certno"), number[::-1]))
    return query


class PersonSearchMixin:
    """Search the people a model points at (see `person_search_q`), plus exact matches on its own codes.

    `search_fields` must still be set (the search box and autocomplete need it); this replaces how it is applied,
    so that a search on a table of millions is an index lookup, not a scan.
    """

    person_search_prefixes: Sequence[str] = ("",)
    exact_search_fields: Sequence[str] = ()
    search_help_text = _("Person number, full ID number or its last digits (at least 4), or the start of a name.")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet,
                           search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        query = Q()
        for prefix in self.person_search_prefixes:
            query |= person_search_q(term, prefix)
        for field in self.exact_search_fields:
            query |= Q(**{field: term})
        return queryset.filter(query), False


class ChoiceLabelsHistoryHelper(HistoricalRecordContextHelper):
    """A history page's changes with a choice field's values by name ("状态: 草稿 → 已发布", not draft →
    published)."""

    def prepare_delta_change_value(self, change: ModelChange, value: Any) -> Any:
        field = self.model._meta.get_field(change.field)
        if field.choices and isinstance(value, str | int):
            return dict(field.flatchoices).get(value, value)
        return super().prepare_delta_change_value(change, value)


def _history_helper(self: SimpleHistoryAdmin, request: HttpRequest, record: Any) -> HistoricalRecordContextHelper:
    return ChoiceLabelsHistoryHelper(self.model, record)


SimpleHistoryAdmin.get_historical_record_context_helper = _history_helper  # every history page, ours and others'


class CertnoMaskingHistoryHelper(ChoiceLabelsHistoryHelper):
    """Masks ID numbers in the "Changes" column of a history page."""

    def prepare_delta_change_value(self, change: ModelChange, value: Any) -> Any:
        if change.field == "certno" and isinstance(value, str):
            return certno_mask(value)
        return super().prepare_delta_change_value(change, value)


class CertnoMaskMixin:
    """Resident ID numbers shown whole only to users with `accounts.view_full_certno`, masked for everyone else.

    Declare the number as `"certno_masked"` in `list_display` and, for the person admin, in `fieldsets` and
    `readonly_fields`: the masked form is the default, and it is swapped for the real number only for users allowed
    to see it (and on the add form, where the number is typed in). `certno_path` leads from the admin's model to
    the number. History pages mask the number's changes.
    """

    certno_path: str = "certno"
    # A birth date shown beside a masked number gives the number back (the mask hides digits 7-14, the birth
    # date): for users who see it masked, this field of the admin's model is shown as the age instead.
    birth_date_field: str = "brdy"

    @admin.display(description=_("age"))
    def age(self, obj: Model) -> int | str:
        born = getattr(obj, self.birth_date_field, None)
        if born is None:
            return ""
        today = timezone.localdate()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Sequence[str]:
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and not can_view_full_certno(request):
            return [*readonly, "age"]
        return readonly

    @admin.display(description=_("ID number"))
    def certno_masked(self, obj: Model) -> str:
        value: Any = obj
        for part in self.certno_path.split("__"):
            value = getattr(value, part, None)
            if value is None:
                return ""
        return certno_mask(value)

    def get_list_display(self, request: HttpRequest) -> Sequence[Any]:
        list_display = super().get_list_display(request)
        if can_view_full_certno(request):
            return ["certno_full" if name == CERTNO_MASKED else name for name in list_display]
        return ["age" if name == self.birth_date_field else name for name in list_display]

    @admin.display(description=_("ID number"))
    def certno_full(self, obj: Model) -> str:
        value: Any = obj
        for part in self.certno_path.split("__"):
            value = getattr(value, part, None)
            if value is None:
                return ""
        return value

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list[tuple[Any, dict]]:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not can_view_full_certno(request):
            return [(name, {**options, "fields": _swap(options["fields"], self.birth_date_field, "age")})
                    for name, options in fieldsets]
        return [
            (name, {**options, "fields": _swap(options["fields"], CERTNO_MASKED,
                                                  "certno_full" if "__" in self.certno_path else self.certno_path)})
            for name, options in fieldsets
        ]

    def get_historical_record_context_helper(self, request: HttpRequest,
                                             historical_record: HistoricalChanges) -> HistoricalRecordContextHelper:
        if can_view_full_certno(request):
            return super().get_historical_record_context_helper(request, historical_record)
        return CertnoMaskingHistoryHelper(self.model, historical_record)


class CertnoExportMixin:
    """For an import-export admin whose export files carry whole ID numbers: exporting needs the permission too."""

    def has_export_permission(self, request: HttpRequest) -> bool:
        return super().has_export_permission(request) and can_view_full_certno(request)


class MaskedExportMixin(ExportMixin):
    """An export button (CSV with BOM and XLSX, `core.exports`) whose files mask ID numbers unless the user may
    see them whole: the resources are `core.exports.MaskedCertnoResource`s, given the user's permission."""

    def get_export_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_export_resource_kwargs(request, **kwargs), "full_certno": can_view_full_certno(request)}


def _swap(fields: Sequence[Any], old: str, new: str) -> list[Any]:
    """Replace a name in a fieldset's fields, which may hold tuples (fields on one line)."""
    swapped: list[Any] = []
    for field in fields:
        if isinstance(field, list | tuple):
            swapped.append(tuple(new if name == old else name for name in field))
        else:
            swapped.append(new if field == old else field)
    return swapped


class EstimatedCountPaginator(Paginator):
    """Django's paginator, except that a long list of a PostgreSQL table is not counted with `COUNT(*)`, which takes
    seconds on tables of tens of millions of rows on every page: an unfiltered list is counted from the planner's
    estimate (`pg_class.reltuples`, kept by ANALYZE), a filtered one exactly up to FILTERED_EXACT_BELOW rows (a
    count of at most that many rows, whatever the table's size) and beyond that from the planner's estimate of the
    filtered query. Tables under EXACT_BELOW rows and SQLite are counted exactly."""

    EXACT_BELOW = 100_000
    FILTERED_EXACT_BELOW = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        db = connections[queryset.db]
        if not queryset.query.where:
            with db.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [db.ops.quote_name(queryset.model._meta.db_table)])
                row = cursor.fetchone()
            if row is not None and row[0] >= self.EXACT_BELOW:
                return int(row[0])
            return super().count
        bounded = queryset.order_by()[:self.FILTERED_EXACT_BELOW + 1].count()
        if bounded <= self.FILTERED_EXACT_BELOW:
            return bounded
        plan = json.loads(queryset.order_by().explain(format="json"))
        return max(int(plan[0]["Plan"]["Plan Rows"]), bounded)


class _DateRangeQuerySetMixin:
    """A change list queryset whose `dates()` and `datetimes()`, which the admin's date hierarchy asks for the years,
    months or days to offer, are every period from the queryset's first to its last date (MIN and MAX: an index's
    two ends) instead of `SELECT DISTINCT date_trunc(…)` over every row, seconds on tens of millions. A period
    without rows may be offered; choosing it shows an empty list."""

    def _range(self, field_name: str, kind: str) -> list[datetime.date]:
        ends = self.aggregate(first=Min(field_name), last=Max(field_name))  # type: ignore[attr-defined]
        first, last = ends["first"], ends["last"]
        if first is None or last is None:
            return []
        if isinstance(first, datetime.datetime):
            first, last = timezone.localtime(first).date(), timezone.localtime(last).date()
        if kind == "year":
            return [datetime.date(y, 1, 1) for y in range(first.year, last.year + 1)]
        if kind == "month":
            months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
            return [datetime.date(m // 12, m % 12 + 1, 1) for m in months]
        return [first + datetime.timedelta(days=d) for d in range((last - first).days + 1)]

    def dates(self, field_name: str, kind: str, order: str = "ASC") -> list[datetime.date]:
        periods = self._range(field_name, kind)
        return periods[::-1] if order == "DESC" else periods

    def datetimes(self, field_name: str, kind: str, order: str = "ASC", tzinfo: object = None,
                  is_dst: object = None) -> list[datetime.datetime]:
        return [timezone.make_aware(datetime.datetime(d.year, d.month, d.day))
                for d in self.dates(field_name, kind, order)]


_date_range_classes: dict[type, type] = {}


class DateRangeChangeList(ChangeList):
    """A change list whose date hierarchy costs two index reads (_DateRangeQuerySetMixin): for the admins of large
    tables with a `date_hierarchy` on an indexed field."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        queryset = super().get_queryset(request, exclude_parameters)
        base = type(queryset)
        if base not in _date_range_classes:
            _date_range_classes[base] = type(f"DateRange{base.__name__}", (_DateRangeQuerySetMixin, base), {})
        queryset.__class__ = _date_range_classes[base]
        return queryset


class HistoryAdmin(SimpleHistoryAdmin):
    """The base of every registry admin: history pages, and no full count of tables of millions of rows."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context: dict | None = None) -> HttpResponse:
        # simple-history saves the old version on any POST to this view; reverting is a change.
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


# --- background imports -------------------------------------------------------------------------------------------


def import_permission(kind: str) -> str:
    """The permission an import of KIND needs: adding the kind's model (as on the admin's import pages)."""
    model = import_resource_class(kind)._meta.model
    return f"{model._meta.app_label}.add_{model._meta.model_name}"


def importable_kinds(user: Any) -> list[str]:
    return [kind for kind in IMPORT_KINDS if user.has_perm(import_permission(kind))]


class ImportJobForm(forms.ModelForm):
    """Upload: a kind the user may import, and the file."""

    class Meta:
        model = ImportJob
        fields = ("kind", "file", "dry_run")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = importable_kinds(self.user) if getattr(self, "user", None) else list(IMPORT_KINDS)
        self.fields["kind"].choices = [(k, label) for k, label in IMPORT_KIND_LABELS.items() if k in allowed]
        self.fields["file"].help_text = _("CSV (UTF-8) or XLSX with the kind's header row; any size")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload and not upload.name.lower().endswith((".csv", ".txt", ".xlsx")):
            raise forms.ValidationError(_("use a .csv or .xlsx file"))
        return upload


class ImportKindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(IMPORT_KIND_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(kind=self.value()) if self.value() else queryset


def _bad_rows_rendered(stored: Any, language: str) -> Iterator[bytes]:
    """A stored bad-rows file rendered in `language` (the request's) while it is sent, then closed."""
    try:
        with translation.override(language):
            yield from bad_rows_render(stored)
    finally:
        stored.close()


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Background imports: the list with who started each, an upload form, and a job page whose progress bar
    refreshes itself while the job runs, with the result and the bad rows to download."""

    form = ImportJobForm
    list_display = ("id", "kind_display", "status", "progress_display", "started_by", "operator", "created_at",
                    "reviewed_by", "reviewed_at", "created", "updated", "unchanged", "bad")
    list_filter = ("status", ImportKindFilter, "dry_run")
    list_select_related = ("started_by", "reviewed_by")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("kind"), ordering="kind")
    def kind_display(self, job: ImportJob) -> str:
        return job.kind_label

    @admin.display(description=_("progress"))
    def progress_display(self, job: ImportJob) -> str:
        return _("%(percent)s%% (%(rows)s rows read)") % {"percent": job.percent, "rows": f"{job.rows_read:,}"}

    # permissions: uploading needs the add permission of a kind's model; everyone sees the jobs they started.

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(importable_kinds(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if super().has_view_permission(request, obj):
            return True
        return bool(importable_kinds(request.user)) and (obj is None or obj.started_by_id == request.user.pk)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.has_perm("core.view_importjob"):
            return queryset
        return queryset.filter(started_by=request.user)

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False,
                 **kwargs: Any) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def save_model(self, request: HttpRequest, obj: ImportJob, form: forms.ModelForm, change: bool) -> None:
        import_job_submit(job=obj, user=request.user)

    def response_add(self, request: HttpRequest, obj: ImportJob, post_url_continue: str | None = None
                     ) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:core_importjob_change", args=[obj.pk]))

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        import_jobs_fail_stale()
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list:
        urls = super().get_urls()
        view = self.admin_site.admin_view
        return [
            path("<int:job_id>/progress/", view(self.progress_view), name="core_importjob_progress"),
            path("<int:job_id>/bad-rows/", view(self.bad_rows_view), name="core_importjob_bad_rows"),
            path("<int:job_id>/file/", view(self.file_view), name="core_importjob_file"),
            path("<int:job_id>/approve/", view(self.approve_view), name="core_importjob_approve"),
            path("<int:job_id>/reject/", view(self.reject_view), name="core_importjob_reject"),
            path("template/<str:kind>.csv", view(self.template_view), name="core_importjob_template"),
        ] + urls

    def template_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        """The kind's header row and an example row, to fill in."""
        if kind not in importable_kinds(request.user):
            raise Http404
        response = HttpResponse(import_template_csv(kind), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
        return response

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        kinds = [{**t, "label": IMPORT_KIND_LABELS[t["kind"]],
                  "url": reverse("admin:core_importjob_template", args=[t["kind"]])}
                 for t in import_templates() if t["kind"] in importable_kinds(request.user)]
        return super().add_view(request, form_url, {"import_templates": kinds, **(extra_context or {})})

    def _job(self, request: HttpRequest, job_id: int) -> ImportJob:
        job = self.get_queryset(request).filter(pk=job_id).first()
        if job is None or not self.has_view_permission(request, job):
            raise Http404
        return job

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        import_jobs_fail_stale()
        try:
            job = self._job(request, int(object_id))
        except ValueError:
            raise Http404 from None
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "job": job,
                   "title": _("Import job %(id)s: %(kind)s") % {"id": job.pk, "kind": job.kind_label},
                   "progress_url": reverse("admin:core_importjob_progress", args=[job.pk]),
                   "bad_rows_url": reverse("admin:core_importjob_bad_rows", args=[job.pk])
                   if job.bad_rows and (job.kind not in KINDS_WITH_CERTNO or can_view_full_certno(request)) else "",
                   "file_url": reverse("admin:core_importjob_file", args=[job.pk])
                   if self._may_download_file(request, job) else "",
                   "can_review": job.status == ImportJob.Status.PENDING and request.user.has_perm(APPROVE_PERMISSION)
                   and job.started_by_id != request.user.pk,
                   "approve_url": reverse("admin:core_importjob_approve", args=[job.pk]),
                   "reject_url": reverse("admin:core_importjob_reject", args=[job.pk]),
                   **(extra_context or {})}
        return TemplateResponse(request, "admin/core/importjob/job.html", context)

    def progress_view(self, request: HttpRequest, job_id: int) -> JsonResponse:
        job = self._job(request, job_id)
        return JsonResponse({"status": job.status, "finished": job.finished, "percent": job.percent,
                             **{name: getattr(job, name) for name in ("rows_read", "rows_validated", "rows_written",
                                                                      "created", "updated", "unchanged", "bad")}})

    def bad_rows_view(self, request: HttpRequest, job_id: int) -> FileResponse:
        job = self._job(request, job_id)
        if not job.bad_rows:
            raise Http404
        if job.kind in KINDS_WITH_CERTNO and not can_view_full_certno(request):
            raise PermissionDenied  # the file repeats the rows as given, whole ID numbers included
        # The messages in the reader's language (core.imports.messages): rendered while the file is sent.
        response = StreamingHttpResponse(_bad_rows_rendered(job.bad_rows.open("rb"), translation.get_language()),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, Path(job.bad_rows.name).name)
        return response

    def _may_download_file(self, request: HttpRequest, job: ImportJob) -> bool:
        """The uploaded file, for its maker and for those who approve it (read before approving)."""
        if not job.file or job.files_deleted_at:
            return False
        if job.kind in KINDS_WITH_CERTNO and not can_view_full_certno(request):
            return False
        return job.started_by_id == request.user.pk or request.user.has_perm(APPROVE_PERMISSION)

    def file_view(self, request: HttpRequest, job_id: int) -> FileResponse:
        job = self._job(request, job_id)
        if not self._may_download_file(request, job):
            raise PermissionDenied
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=Path(job.file.name).name)

    def _decide(self, request: HttpRequest, job_id: int, decide: Any, done: str) -> HttpResponse:
        if request.method != "POST":
            raise PermissionDenied
        job = self._job(request, job_id)
        try:
            decide(job)
        except ApprovalError as e:
            messages.error(request, e.err_msg)
        else:
            messages.success(request, done % {"id": job.pk})
        return HttpResponseRedirect(reverse("admin:core_importjob_change", args=[job.pk]))

    def approve_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        return self._decide(request, job_id, lambda job: import_job_approve(job_id=job.pk, user=request.user),
                            _("Import job %(id)s approved: it is queued and will be imported once."))

    def reject_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        reason = request.POST.get("reason", "")
        return self._decide(request, job_id,
                            lambda job: import_job_reject(job_id=job.pk, user=request.user, reason=reason),
                            _("Import job %(id)s rejected: nothing of it is imported."))


from core import admin_schedules  # noqa: E402,F401  (the periodic tasks in the reader's language)


def is_rate_field(field: object) -> bool:
    """A share from 0 to 1 kept to 4 places (a reimbursement rate, a pre-self-pay share, a sample's share)."""
    return isinstance(field, DecimalField) and field.decimal_places == 4 and field.max_digits <= 5


def _display_for_field(value: Any, field: Any, empty_value_display: str, *args: Any, **kwargs: Any) -> Any:
    """Django's display of a field's value in lists and read-only forms, a rate as a percentage (0.8000 → 80.00%)."""
    if is_rate_field(field) and isinstance(value, Decimal):
        return f"{(value * 100).quantize(Decimal('0.01'))}%"
    return display_for_field(value, field, empty_value_display, *args, **kwargs)


admin_helpers.display_for_field = admin_list.display_for_field = _display_for_field


def _export_filename(self: ExportMixin, request: HttpRequest, queryset: QuerySet, file_format: Any) -> str:
    """import-export dates its files by UTC (`LedgerEntry-2026-11-30.csv` at 07:16 on 1 December in Shanghai):
    the date here is Shanghai's."""
    return f"{self.model.__name__}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"


# Every export page of every admin: its columns as the files name them, its file dated in local time.
ExportMixin.export_form_class = ColumnLabelsExportForm
ExportMixin.get_export_filename = _export_filename
