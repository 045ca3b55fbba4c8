"""Shared helpers of the import tests (write CSV files, run the command, build rows) and the file-level tests."""

import contextlib
import csv
import datetime
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from accounts.tests.factories import RegionFactory, make_certno
from core.imports import IMPORT_KINDS, import_file, import_resource_class, writers

# The contract's header rows, straight from the resources (tests below also check them against CONTRACT.md).
HEADERS = {kind: import_resource_class(kind).columns for kind in IMPORT_KINDS}


def write_csv(path: Path, kind: str, rows: list[dict[str, str]], *, bom: bool = False,
              optional: tuple[str, ...] = ()) -> Path:
    """The kind's contract header, then the `optional` columns named (CONTRACT.md's optional columns)."""
    header = (*HEADERS[kind], *optional)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([row.get(c, "") for c in header] for row in rows)
    path.write_bytes(("\ufeff" if bom else "").encode() + out.getvalue().encode())
    return path


def run_import(kind: str, path: Path, *, dry_run: bool = False) -> tuple[int, list[str]]:
    """Run `import_csv` as the CLI would; the exit status and the stdout lines."""
    out, err = io.StringIO(), io.StringIO()
    args = [kind, str(path)] + (["--dry-run"] if dry_run else [])
    try:
        call_command("import_csv", *args, stdout=out, stderr=err)
        status = 0
    except CommandError as e:
        status = e.returncode
    return status, out.getvalue().splitlines()


def roster_row(n: int, **overrides: str) -> dict[str, str]:
    """A valid in-service roster row; n makes the ID number unique."""
    brdy = datetime.date(1970, 1, 1) + datetime.timedelta(days=n % 9000)
    row = {
        "psn_no": "", "certno": make_certno(brdy, "1", serial=n // 9000), "psn_name": f"张{n}", "gend": "1",
        "brdy": brdy.isoformat(), "psn_type": "1101", "insuplc_admdvs": "310000", "emp_no": "E001",
        "emp_name": "上海某公司", "clct_base": "8000.00", "begndate": "2015-01-01", "retire_date": "",
        "psn_insu_stas": "1",
    }
    row.update(overrides)
    return row


def expect_rejected(kind: str, path: Path, lines: list[str]) -> None:
    status, out = run_import(kind, path)
    assert status == 1
    assert out == lines


def import_both_ways(kind: str, path: Path, snapshot: Callable[[], Any], *, user: Any = None) -> tuple[Any, Any]:
    """Import `path` through the row-by-row `ResourceWriter` (the django-import-export save path), rolled back,
    then through the kind's own writer, kept. Returns for each what the import said (errors and counts) and
    `snapshot()` of the database after it: the set-based writer must give the same."""
    answers = []
    for rowwise in (True, False):
        with transaction.atomic():
            patch = mock.patch.dict(writers.WRITERS, {kind: writers.ResourceWriter}) if rowwise \
                else contextlib.nullcontext()
            with patch:
                outcome = import_file(kind, path, dry_run=False, user=user)
            answers.append(((outcome.errors, outcome.created, outcome.updated, outcome.unchanged), snapshot()))
            transaction.set_rollback(rowwise)
    return answers[0], answers[1]


def make_regions() -> None:
    RegionFactory(admdvs="310000", name="上海市")
    RegionFactory(admdvs="370100", name="济南市")


@pytest.fixture(autouse=True)
def regions(db):
    make_regions()


def test_headers_are_the_contracts():
    contract = (Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.md")
    if not contract.exists():
        pytest.skip("CONTRACT.md not beside the repository")
    text = contract.read_text()
    for kind, header in HEADERS.items():
        assert f"| `{kind}` | `{','.join(header)}` |" in text


def test_smoke_roster(tmp_path):
    path = write_csv(tmp_path / "r.csv", "roster", [roster_row(1), roster_row(2)])
    assert run_import("roster", path) == (0, ["roster: created 2, updated 0, unchanged 0"])


def test_unknown_kind_is_an_argparse_error(tmp_path):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("import_csv", "balances_typo", str(tmp_path / "x.csv"))


def test_unreadable_files(tmp_path):
    latin = tmp_path / "roster.csv"
    latin.write_bytes(",".join(HEADERS["roster"]).encode() + b"\n,\xd5\xc5\n")
    position = len(",".join(HEADERS["roster"])) + 2
    assert run_import("roster", latin) == (
        1, [f"the file is not UTF-8 text (byte {position}); save it as CSV UTF-8"])
    other = tmp_path / "roster.ods"
    other.write_text("x")
    assert run_import("roster", other) == (1, ["cannot read a .ods file; use .csv or .xlsx"])
    assert run_import("roster", tmp_path / "missing.csv")[0] == 1


def test_trailing_empty_cells_are_ignored_and_extra_cells_are_not(tmp_path):
    path = tmp_path / "diseases.csv"
    path.write_text("opsp_dise_code,opsp_dise_name,opsp_dise_majcls_name,recognition_criteria,\n"
                    "M03900,高血压,,,\n\nM07803,透析,,,x\n")
    assert run_import("diseases", path) == (1, ["row 4 has 5 cells but the header row has 4"])
