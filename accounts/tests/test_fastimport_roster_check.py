"""The roster's fast check (`RosterResource.fast_validator`) against `validate_row`: for every row it accepts, the
same values, the same person and the same memory of earlier rows as `validate_row`; every row it leaves goes
through `validate_row`, so a bad row's messages are the same as before. Rows drawn from cells that are good, bad
and unusual (not canonical ID numbers, signs, full-width digits, resident rows, numbers and names repeated)."""

import datetime
import random
from decimal import Decimal

import pytest

from accounts.resources import RosterResource
from core.certno import certno_make
from core.imports import import_file
from core.imports.engine import BatchColumns
from core.tests.test_imports_common import make_regions, roster_row, write_csv

pytestmark = pytest.mark.django_db

HEADER = ["psn_no", "certno", "psn_name", "gend", "brdy", "psn_type", "insuplc_admdvs", "emp_no", "emp_name",
          "clct_base", "begndate", "retire_date", "psn_insu_stas"]
OPTIONAL = ["insutype", "stas_date"]


def _certno(n: int, gend: str = "1") -> str:
    brdy = datetime.date(1950, 1, 1) + datetime.timedelta(days=n * 37 % 20000)
    serial = f"{n % 1000:03d}"
    serial = serial[:2] + str((int(serial[2]) // 2) * 2 + (1 if gend == "1" else 0))
    return certno_make(f"310101{brdy:%Y%m%d}{serial}")


@pytest.fixture
def known(tmp_path):
    """Persons and an employer already in the database, imported as a clerk would."""
    make_regions()
    rows = [roster_row(0, certno=_certno(900_001), brdy="", gend="", psn_no="310000P1", emp_no="E900",
                       emp_name="老单位"),
            roster_row(0, certno=_certno(900_002), brdy="", gend="", psn_no="310000P2", emp_no="E900",
                       emp_name="老单位")]
    outcome = import_file("roster", write_csv(tmp_path / "known.csv", "roster", rows), dry_run=False)
    assert outcome.ok, outcome.errors
    return {"certnos": [_certno(900_001), _certno(900_002)], "psn_nos": ["310000P1", "310000P2"]}


def _rows(rng: random.Random, n: int, known: dict, *, optional: bool) -> list[list[str]]:
    rows: list[list[str]] = []
    for i in range(1, n + 1):
        gend = rng.choice("12")
        certno = _certno(i, gend)
        birth = datetime.date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
        cells = {"psn_no": "", "certno": certno, "psn_name": f"职工{i}", "gend": gend, "brdy": birth.isoformat(),
                 "psn_type": "1101", "insuplc_admdvs": "310000", "emp_no": f"E{i % 5}", "emp_name": f"单位{i % 5}",
                 "clct_base": "8000.00", "begndate": "2015-01-01", "retire_date": "", "psn_insu_stas": "1",
                 "insutype": "", "stas_date": ""}
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2, 3))):
            column = rng.choice(list(cells))
            earlier = rows[rng.randrange(len(rows))] if rows else None
            cells[column] = rng.choice(VARIANTS[column](cells, birth, known, earlier))
        if not optional:
            cells.pop("insutype"), cells.pop("stas_date")
        rows.append(list(cells.values()))
    return rows


VARIANTS = {
    "psn_no": lambda c, b, k, e: ["", "", "A1", "310000X" + c["certno"][-4:], "x" * 31, "ab-1", "３1", k["psn_nos"][0],
                                  e[0] if e and e[0] else "P-dup", "PSN" + c["certno"][-6:]],
    "certno": lambda c, b, k, e: [c["certno"].lower(), c["certno"][:17], c["certno"][:17] + "0", k["certnos"][0],
                                  k["certnos"][1], e[1] if e else "", "", f" {c['certno']}",
                                  c["certno"][:6] + "19991340" + c["certno"][14:], "000000" + c["certno"][6:]],
    "psn_name": lambda c, b, k, e: ["", "x" * 50, "x" * 51, "李四"],
    "gend": lambda c, b, k, e: ["", "3", "1", "2", "0"],
    "brdy": lambda c, b, k, e: ["", b.isoformat(), "2020-01-01", f"{b:%Y/%m/%d}", "１９７０-01-01",
                                (b + datetime.timedelta(days=1)).isoformat()],
    "psn_type": lambda c, b, k, e: ["", "1101", "1103", "1201", "1203", "9999"],
    "insuplc_admdvs": lambda c, b, k, e: ["", "370100", "999999", "310000 "],
    "emp_no": lambda c, b, k, e: ["", "E900", "E777", "E" * 31, "E1"],
    "emp_name": lambda c, b, k, e: ["", "单位1", "老单位", "另一个名字", "x" * 201],
    "clct_base": lambda c, b, k, e: ["", "8000", "8000.5", "8000.555", "-1", "-0", "1e3", "abc", "١٢٣", "9" * 12,
                                     "9" * 13, "12.", ".5", "0", "0.00", "+5", "1_000"],
    "begndate": lambda c, b, k, e: ["", "2015-02-30", "2015-1-1", "2030-12-31"],
    "retire_date": lambda c, b, k, e: ["", "2020-01-01", "1900-01-01", "2020-02-30", (b).isoformat()],
    "psn_insu_stas": lambda c, b, k, e: ["", "1", "2", "9"],
    "insutype": lambda c, b, k, e: ["", "310", "390", "999", "390"],
    "stas_date": lambda c, b, k, e: ["", "2024-01-01", "2024-13-01"],
}


def _described(values: dict) -> dict:
    """Values comparable across the two paths: the region by its code, every value with its type and text."""
    return {k: (type(v).__name__, str(v.admdvs if k == "region" and v is not None else v))
            for k, v in values.items()}


@pytest.mark.parametrize("optional", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_check_accepts_only_what_validate_row_accepts_with_the_same_values(known, optional, seed):
    rng = random.Random(seed)
    header = HEADER + (OPTIONAL if optional else [])
    rows = _rows(rng, 1500, known, optional=optional)
    fast_resource, slow_resource = RosterResource(), RosterResource()
    for resource in (fast_resource, slow_resource):
        resource.begin_file()
        resource.preload_for_validation(BatchColumns(header, rows))
    fast = fast_resource.fast_validator(header)
    blank = RosterResource._meta.model()
    accepted = refused = 0
    for line, cells in enumerate(rows, start=2):
        row = dict(zip(header, cells, strict=True))
        slow_instance = slow_resource.find_instance(row)
        slow_values, slow_reader = slow_resource.validate_row(row, line, slow_instance or blank)
        got = fast(line, cells)
        if got is None:
            fast_values, fast_reader = fast_resource.validate_row(row, line, fast_resource.find_instance(row) or blank)
            assert fast_reader.errors == slow_reader.errors
            refused += 1
        else:
            values, instance = got
            assert not slow_reader.errors, (line, cells, slow_reader.errors)
            assert _described(values) == _described(slow_values), (line, cells)
            assert instance == slow_instance
            accepted += 1
        assert fast_resource._first_line_of_key == slow_resource._first_line_of_key
        assert fast_resource._psn_no_in_file == slow_resource._psn_no_in_file
        assert fast_resource._emp_name_in_file == slow_resource._emp_name_in_file
    # Most rows are good and taken by the fast check; many are not (the variants), and go the long way.
    assert accepted > 400 and refused > 300, (accepted, refused)


def test_fast_check_values_of_a_plain_row_worked_by_hand(known):
    """A retired enrollee with a blank gender and birth date: both taken from the ID number (17th digit odd:
    male; digits 7 to 14 the birth date); blank status: active; no clct_base."""
    resource = RosterResource()
    resource.begin_file()
    certno = certno_make("31010119550304123")
    cells = ["", certno, "王五", "", "", "1201", "310000", "E900", "", "", "2015-01-01", "2015-04-01", ""]
    resource.preload_for_validation(BatchColumns(HEADER, [cells]))
    values, instance = resource.fast_validator(HEADER)(2, cells)
    assert instance is None
    assert values["gend"] == "1" and values["brdy"] == datetime.date(1955, 3, 4)
    assert values["psn_insu_stas"] == "1" and values["clct_base"] is None and values["insutype"] == "310"
    assert values["region"].admdvs == "310000" and values["retire_date"] == datetime.date(2015, 4, 1)
    cells[9] = "12345.6"
    resource.begin_file()
    resource._first_line_of_key.clear()
    values, _instance = RosterResource.fast_validator(resource, HEADER)(3, cells)
    assert values["clct_base"] == Decimal("12345.6")
