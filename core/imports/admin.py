"""The admin's import button (django-import-export) reading files as `import_csv` and the import jobs do.

django-import-export reads uploads through tablib, which trusts an XLSX sheet's declared size, stops at nothing in
a CSV and numbers rows from the first data row. Its formats are replaced here by ones that read through
`core.imports.streaming`: the same refusals with the same messages, and each data row carries the spreadsheet row
number (header = row 1) that `ImportResource` shows for bad rows.
"""

from pathlib import Path
from typing import Any

import tablib
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from import_export.formats import base_formats

from core.imports.base import ImportFileError
from core.imports.jobs import import_job_submit, import_needs_approval
from core.imports.streaming import read_table_bytes
from core.models import ImportJob

# django-import-export's heading above the bad rows, in our catalog: its own zh_Hans reads "某些行验数据证失败".
gettext_noop("Some rows failed to validate")


class _StreamingFormat:
    """Reads the uploaded bytes with `read_table_bytes`; the dataset carries `line_numbers`."""

    def is_binary(self) -> bool:
        return True

    def get_read_mode(self) -> str:
        return "rb"

    def create_dataset(self, in_stream: bytes | str, **kwargs: Any) -> tablib.Dataset:
        data = in_stream.encode() if isinstance(in_stream, str) else in_stream
        table = read_table_bytes(data, name=f"upload.{self.get_extension()}")
        table.dataset.line_numbers = table.line_numbers
        return table.dataset

    def can_export(self) -> bool:
        return False


class CSVImportFormat(_StreamingFormat, base_formats.CSV):
    pass


class XLSXImportFormat(_StreamingFormat, base_formats.XLSX):
    pass


class ImportFilesMixin:
    """Put before django-import-export's `ImportMixin` / `ImportExportMixin` in an admin's bases: CSV and XLSX read
    as every other import path reads them, a refused file's message shown as it is, bad rows numbered as in the
    spreadsheet."""

    import_formats = [CSVImportFormat, XLSXImportFormat]
    import_template_name = "admin/core/import.html"

    def add_data_read_fail_error_to_form(self, form: forms.Form, e: Exception) -> None:
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e))
            return
        super().add_data_read_fail_error_to_form(form, e)


class ApprovedImportMixin:
    """For an import button whose kind moves money (`import_job_kind`, e.g. opening balances): the preview validates
    as usual, and confirming it writes nothing: it hands the file to an import job that waits for a second person's
    approval (Core → Import jobs), where the file is imported once approved."""

    import_job_kind: str = ""

    def process_import(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not import_needs_approval(self.import_job_kind):
            return super().process_import(request, **kwargs)
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return super().process_import(request, **kwargs)
        input_format = self.get_import_formats()[int(confirm_form.cleaned_data["format"])](encoding=None)
        tmp_storage = self.get_tmp_storage_class()(name=confirm_form.cleaned_data["import_file_name"], encoding=None,
                                                   read_mode=input_format.get_read_mode(),
                                                   **self.get_tmp_storage_class_kwargs())
        data = tmp_storage.read()
        tmp_storage.remove()
        name = Path(confirm_form.cleaned_data.get("original_file_name") or f"{self.import_job_kind}.csv").name
        job = ImportJob(kind=self.import_job_kind, dry_run=False)
        job.file.save(name, ContentFile(data if isinstance(data, bytes) else data.encode()), save=False)
        import_job_submit(job=job, user=request.user)
        messages.info(request, _("The file waits for a second person's approval (import job %(id)s); nothing is "
                                 "imported before.") % {"id": job.pk})
        return HttpResponseRedirect(reverse("admin:core_importjob_change", args=[job.pk]))
