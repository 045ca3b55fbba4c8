"""Hostile and broken files are refused whole, with one clear message, by every import path: `import_csv` (exit 1),
the admin's import jobs (failed, with the message) and the list pages' import button (django-import-export);
nothing is imported. And the three paths number bad rows alike: the header is row 1, the first data row row 2."""

import html
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from claims.models import Disease
from core.imports.jobs import import_job_run
from core.models import ImportJob
from core.tests.test_imports_common import HEADERS, run_import

pytestmark = pytest.mark.django_db

HEADER = ",".join(HEADERS["diseases"])
ROWS = [("M03900", "高血压"), ("M07803", "血液透析"), ("M01600", "糖尿病")]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def csv_bytes(*lines: str, end: str = "\n") -> bytes:
    return end.join(lines).encode() + end.encode()


def xlsx_bytes(rows: list[tuple], *, dimension: str | None = None) -> bytes:
    """A workbook of `rows`; with `dimension`, the sheet's XML declares that used range instead of the true one (as
    some programs write it)."""
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    if dimension is None:
        return out.getvalue()
    edited = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as source, zipfile.ZipFile(edited, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rb'<dimension ref="[A-Z0-9:]+" ?/>', f'<dimension ref="{dimension}"/>'.encode(),
                                  data)
                assert n == 1
            target.writestr(item, data)
    return edited.getvalue()


DATA = [f"{code},{name},," for code, name in ROWS]
NOT_UTF8 = "save it as CSV UTF-8"

# name: (file name, content, the one message every path gives)
CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    # openpyxl's read-only mode reads only the declared range: A1:M1 hid the three data rows ("created 0", exit 0).
    "declared range hides rows": (
        "d.xlsx", lambda: xlsx_bytes([HEADERS["diseases"], *ROWS], dimension="A1:M1"),
        "the sheet says it uses the cells A1:M1, but cell A2 outside them holds a value: the program that wrote "
        "the file got the sheet's size wrong, and rows or columns would be missed. Open the file in Excel or WPS "
        "and save it again"),
    "declared range hides a column": (
        "d.xlsx", lambda: xlsx_bytes([HEADERS["diseases"], *[(*r, "大类") for r in ROWS]], dimension="A1:B4"),
        "the sheet says it uses the cells A1:B4, but cell C1 outside them holds a value: the program that wrote "
        "the file got the sheet's size wrong, and rows or columns would be missed. Open the file in Excel or WPS "
        "and save it again"),
    "CR-only line endings": (
        "d.csv", lambda: csv_bytes(HEADER, *DATA, end="\r"),
        "the file's lines end with a carriage return alone (CR, an old Mac format); save it as CSV UTF-8, whose "
        "lines end with LF or CR LF"),
    "a lone CR inside row 3": (
        "d.csv", lambda: csv_bytes(HEADER, DATA[0], "M07803,血液\r透析,,", DATA[2]),
        "row 3: a line break inside a cell that is not in quotes (a carriage return alone?); save the file as CSV "
        "UTF-8"),
    "a NUL byte in a cell": (
        "d.csv", lambda: csv_bytes(HEADER, DATA[0], "M07803,血液\x00透析,,", DATA[2]),
        "row 3, column opsp_dise_name: the cell holds a NUL character (byte 0), which is not text: the file is "
        "damaged or was not saved as CSV UTF-8"),
    "UTF-16 with a byte-order mark": (
        "d.csv", lambda: "\n".join([HEADER, *DATA]).encode("utf-16"),
        "the file is UTF-16 text (Excel's \"Unicode text\"); save it as CSV UTF-8"),
    "UTF-16 without a byte-order mark": (
        "d.csv", lambda: "\n".join([HEADER, *DATA]).encode("utf-16-le"),
        "the file is not UTF-8 text (its header row holds NUL bytes, as UTF-16 text does); save it as CSV UTF-8"),
    "GB18030": ("d.csv", lambda: "\n".join([HEADER, *DATA]).encode("gb18030"),
                f"the file is not UTF-8 text (byte {len(HEADER) + 8}); {NOT_UTF8}"),
    "an empty file": ("d.csv", lambda: b"", "the file is empty; row 1 must be the header row"),
    "an empty sheet": ("d.xlsx", lambda: xlsx_bytes([]), "the file is empty; row 1 must be the header row"),
    "a header row only": (
        "d.csv", lambda: csv_bytes(HEADER),
        "the file has no data rows: row 1 is the header row and the data start in row 2"),
    "a header row only, in a sheet": (
        "d.xlsx", lambda: xlsx_bytes([HEADERS["diseases"]]),
        "the file has no data rows: row 1 is the header row and the data start in row 2"),
    "a repeated header column": (
        "d.csv", lambda: csv_bytes(HEADER + ",opsp_dise_name", *[d + ",x" for d in DATA]),
        f"the header row is wrong (repeated columns: opsp_dise_name); it must be: {HEADER}"),
    "a missing header column": (
        "d.csv", lambda: csv_bytes(HEADER.rsplit(",", 1)[0], *[d[:-1] for d in DATA]),
        f"the header row is wrong (missing columns: recognition_criteria); it must be: {HEADER}"),
}


@pytest.mark.parametrize("case", CASES)
def test_import_csv_refuses_with_exit_1(case, tmp_path):
    name, content, message = CASES[case]
    path = tmp_path / name
    path.write_bytes(content())
    assert run_import("diseases", path) == (1, [message])
    assert not Disease.objects.exists()


@pytest.mark.parametrize("case", CASES)
def test_an_import_job_fails_with_the_message(case, admin_user):
    name, content, message = CASES[case]
    job = ImportJob.objects.create(kind="diseases", file=ContentFile(content(), name=name), started_by=admin_user)
    job = import_job_run(job_id=job.pk)
    assert (job.status, job.error, job.created) == ("failed", message, 0)
    assert not Disease.objects.exists()


def admin_import(client, name: str, content: bytes, **headers: str):  # noqa: ANN201
    formats = admin.site._registry[Disease].get_import_formats()
    fmt = next(i for i, f in enumerate(formats) if f().get_extension() == Path(name).suffix[1:])
    return client.post(reverse("admin:claims_disease_import"),
                       {"resource": "0", "format": str(fmt), "import_file": SimpleUploadedFile(name, content)},
                       **headers)


@pytest.mark.parametrize("case", CASES)
def test_the_list_pages_import_button_refuses_with_the_message(case, admin_client):
    name, content, message = CASES[case]
    data = content()
    if not data:
        message = "The submitted file is empty."  # Django's file field says it before the file is read
    response = admin_import(admin_client, name, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert html.escape(message) in page
    assert "Traceback" not in page and "confirm_form" not in response.context
    assert not Disease.objects.exists()


@pytest.mark.parametrize("name", ["d.csv", "d.xlsx"])
def test_every_path_numbers_bad_rows_as_the_spreadsheet_does(name, tmp_path, admin_client, admin_user):
    """Row 1 the header, 2 good, 3 blank, 4 and 5 bad: every path says rows 4 and 5 (the list page's button said 3
    and 4 where the jobs said 4 and 5)."""
    rows = [HEADERS["diseases"], ("M03900", "高血压", "", ""), ("", "", "", ""), ("X1", "", "", ""),
            ("M07803", "", "", "")]
    content = (xlsx_bytes(rows) if name.endswith(".xlsx")
               else csv_bytes(*(",".join(r) for r in rows)))
    code_message, name_message = "a disease code is M and five digits, e.g. M03900", "a value is required"
    expected = [f"row 4, column opsp_dise_code: {code_message}", f"row 4, column opsp_dise_name: {name_message}",
                f"row 5, column opsp_dise_name: {name_message}"]

    path = tmp_path / name
    path.write_bytes(content)
    assert run_import("diseases", path) == (1, expected)

    job = ImportJob.objects.create(kind="diseases", file=ContentFile(content, name=name), started_by=admin_user)
    job = import_job_run(job_id=job.pk)
    with job.bad_rows.open("rb") as f:
        bad_rows = f.read().decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in bad_rows] == ["row", "4", "5"]

    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"  # the language switch's choice
    with translation.override(None):  # the request below switches the thread to Chinese; switched back after
        response = admin_import(admin_client, name, content)
    result = response.context["result"]
    assert [(r.number, sorted(r.error_dict)) for r in result.invalid_rows] == [
        (4, ["opsp_dise_code", "opsp_dise_name"]), (5, ["opsp_dise_name"])]
    page = response.content.decode()
    # django-import-export's own zh_Hans heading reads "某些行验数据证失败"; ours is in the project's catalog.
    assert "部分行未通过校验" in page and "某些行验数据证失败" not in page
    assert not Disease.objects.exists()


def test_a_good_sheet_with_a_declared_range_larger_than_its_data_imports(tmp_path):
    """Programs that declare more than they fill (formatted empty cells) are common and harmless."""
    path = tmp_path / "d.xlsx"
    path.write_bytes(xlsx_bytes([HEADERS["diseases"], *ROWS], dimension="A1:Z100"))
    assert run_import("diseases", path) == (0, ["diseases: created 3, updated 0, unchanged 0"])
