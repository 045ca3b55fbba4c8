"""The admin's import button (django-import-export) reading files as `import_csv` and the import jobs do.

django-import-export reads uploads through tablib, which trusts an XLSX sheet's declared size, stops at nothing in
a CSV and numbers rows from the first data row. Its formats are replaced here by ones that read through
`core.imports.streaming`: the same refusals with the same messages, and each data row carries the spreadsheet row
number (header = row 1) that `ImportResource` shows for bad rows.
"""

from typing import Any

import tablib
from django import forms
from django.utils.translation import gettext_noop
from import_export.formats import base_formats

from core.imports.base import ImportFileError
from core.imports.streaming import read_table_bytes

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
