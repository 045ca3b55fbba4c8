"""Files safe to open in a spreadsheet: cells that a spreadsheet would read as a formula are quoted, CSV carries a
UTF-8 byte-order mark (so Excel shows Chinese), and the formats of django-import-export's export button do both.

A cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return, which Excel skips before one) is
prefixed with an apostrophe, as OWASP's "CSV injection" advice says; a plain number such as `-12.50` is left
alone (it cannot be a formula, and a negative amount must stay a number)."""

import re
from typing import Any

import tablib
from django.core.exceptions import FieldDoesNotExist
from django.utils.html import format_html
from import_export import fields, resources, widgets
from import_export.formats import base_formats
from import_export.forms import SelectableFieldsExportForm

from core.certno import certno_mask

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")


def cell_safe(value: Any) -> Any:
    """The value, with a text that a spreadsheet would run as a formula quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not NUMBER.fullmatch(value):
        return "'" + value
    return value


def dataset_safe(dataset: tablib.Dataset) -> tablib.Dataset:
    safe = tablib.Dataset(headers=[cell_safe(h) for h in dataset.headers or []], title=dataset.title)
    for row in dataset:
        safe.append([cell_safe(value) for value in row])
    return safe


class SafeCSV(base_formats.CSV):
    """CSV export: formula-like cells quoted, UTF-8 with a byte-order mark."""

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> str:
        return BOM + dataset_safe(dataset).export("csv", **kwargs)


class SafeXLSX(base_formats.XLSX):
    """XLSX export: formula-like cells quoted (openpyxl would store `=…` as a formula)."""

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> bytes:
        return dataset_safe(dataset).export("xlsx", **kwargs)


EXPORT_FORMATS = [SafeCSV, SafeXLSX]


class ColumnLabelsExportForm(SelectableFieldsExportForm):
    """The export page's column choices as the file names them: a column with a name of its own ("金额") under
    that name, a column named by the contract's code ("psn_no", an import's header) under its model field's name
    in the reader's language beside the code; import-export would show "Psn No" and "Amount (金额)"."""

    def _get_field_label(self, resource: type[resources.ModelResource], field_name: str) -> str:
        field = resource.fields.get(field_name)
        column = field.column_name if field else field_name
        if column != field_name:
            return column
        model = resource._meta.model
        try:
            name = model._meta.get_field((field.attribute if field and field.attribute else field_name)
                                         .split("__")[0]).verbose_name
        except (FieldDoesNotExist, AttributeError):
            return column
        return format_html("{} <code>{}</code>", name, column)


class MaskedCertnoResource(resources.ModelResource):
    """An export whose `certno` column (declared by the subclass as a Field, read through `certno_path`) is
    masked unless the resource is made with `full_certno=True` (the admin passes the user's permission). A column
    of birth dates never goes beside a masked number: subclasses export the age instead (`age_at` in core.certno
    gives it)."""

    certno_path = "person__certno"

    def __init__(self, full_certno: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.full_certno = full_certno

    def dehydrate_certno(self, obj: Any) -> str:
        value = obj
        for part in self.certno_path.split("__"):
            value = getattr(value, part, None)
            if value is None:
                return ""
        return value if self.full_certno else certno_mask(value)


def money_column(attribute: str, label: str) -> fields.Field:
    """A money column exported as its exact decimal text (`-12.50`), never a float."""
    return fields.Field(attribute=attribute, column_name=label, widget=widgets.DecimalWidget())


def text_column(attribute: str, label: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=label)


def datetime_column(attribute: str, label: str) -> fields.Field:
    """A moment in local time (Asia/Shanghai), to the second."""
    return fields.Field(attribute=attribute, column_name=label,
                        widget=widgets.DateTimeWidget(format="%Y-%m-%d %H:%M:%S"))
