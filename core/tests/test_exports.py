"""Exports safe to open: formula-like cells quoted, CSV with a byte-order mark (the admin's exports are tested in
office/tests/test_exports.py)."""

import io
from decimal import Decimal

import pytest
import tablib
from openpyxl import load_workbook

from core.exports import BOM, SafeCSV, SafeXLSX, cell_safe


@pytest.mark.parametrize(("value", "safe"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("-12.50", "-12.50"),       # a negative amount stays a number
    ("+86", "+86"),
    ("张伟", "张伟"),
    ("a=b", "a=b"),
    (Decimal("-1.00"), Decimal("-1.00")),
    (None, None),
])
def test_formula_like_cells_are_quoted(value: object, safe: object) -> None:
    assert cell_safe(value) == safe


def test_the_csv_and_xlsx_formats_quote_formulae_and_the_csv_has_a_bom() -> None:
    data = tablib.Dataset(["=1+1", "-5.00", "王芳"], headers=["a", "b", "c"])
    csv = SafeCSV().export_data(data)
    assert csv.startswith(BOM)
    assert csv[len(BOM):].splitlines() == ["a,b,c", "'=1+1,-5.00,王芳"]
    sheet = load_workbook(io.BytesIO(SafeXLSX().export_data(data))).active
    assert [c.value for c in sheet[2]] == ["'=1+1", "-5.00", "王芳"]
    assert sheet["A2"].data_type == "s"  # text, not a formula


