"""Shared pieces of the staff admin: the site's titles, the base admin with history pages, the resident-ID mask
and the person search used by every admin that lists people."""

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import HistoricalChanges, ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper
from stdnum.cn import ric

from core.certno import certno_mask

admin.site.site_header = _("Medical insurance back office")
admin.site.site_title = _("Medical insurance back office")
admin.site.index_title = _("Registry, policies and settlements")

FULL_CERTNO_PERMISSION = "accounts.view_full_certno"
CERTNO_MASKED = "certno_masked"


def can_view_full_certno(request: HttpRequest) -> bool:
    return request.user.has_perm(FULL_CERTNO_PERMISSION)


def person_search_q(term: str, prefix: str = "") -> Q:
    """A person by psn_no or a full ID number (both unique, so an indexed equality), or by the start of the name.

    `prefix` is the path to the person from the searched model, e.g. `"person__"`.
    """
    term = term.strip()
    query = Q(**{f"{prefix}psn_no": term}) | Q(**{f"{prefix}psn_name__startswith": term})
    number = ric.compact(term)
    if len(number) == 18:
        query |= Q(**{f"{prefix}certno": number})
    return query


class PersonSearchMixin:
    """Search the people a model points at (see `person_search_q`), plus exact matches on its own codes.

    `search_fields` must still be set (the search box and autocomplete need it); this replaces how it is applied,
    so that a search on a table of millions is an index lookup, not a scan.
    """

    person_search_prefixes: Sequence[str] = ("",)
    exact_search_fields: Sequence[str] = ()
    search_help_text = _("Person number or full ID number, or the start of a name.")

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


class CertnoMaskingHistoryHelper(HistoricalRecordContextHelper):
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
            return [self.certno_path if name == CERTNO_MASKED else name for name in list_display]
        return list_display

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list[tuple[Any, dict]]:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not can_view_full_certno(request):
            return fieldsets
        return [
            (name, {**options, "fields": _swap(options["fields"], CERTNO_MASKED, self.certno_path)})
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


def _swap(fields: Sequence[Any], old: str, new: str) -> list[Any]:
    """Replace a name in a fieldset's fields, which may hold tuples (fields on one line)."""
    swapped: list[Any] = []
    for field in fields:
        if isinstance(field, list | tuple):
            swapped.append(tuple(new if name == old else name for name in field))
        else:
            swapped.append(new if field == old else field)
    return swapped


class HistoryAdmin(SimpleHistoryAdmin):
    """The base of every registry admin: history pages, and no full count of tables of millions of rows."""

    show_full_result_count = False
    list_per_page = 50

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context: dict | None = None) -> HttpResponse:
        # simple-history saves the old version on any POST to this view; reverting is a change.
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
