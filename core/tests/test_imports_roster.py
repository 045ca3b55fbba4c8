import datetime
from decimal import Decimal

import openpyxl
import pytest

from accounts.models import Employer, Enrollment, Person
from accounts.tests.factories import EmployerFactory, EnrollmentFactory, PersonFactory, make_certno
from core.certno import certno_make
from core.imports import import_file
from core.tests.test_imports_common import HEADERS, expect_rejected, roster_row, run_import, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def regions(db):
    from core.tests.test_imports_common import make_regions

    make_regions()


def counts():
    return (Person.objects.count(), Enrollment.objects.count(), Employer.objects.count(),
            Person.history.count(), Enrollment.history.count())


def test_good_roster_creates_persons_enrollments_and_employers(tmp_path):
    retired = roster_row(2, psn_type="1201", clct_base="", retire_date="2030-06-01", emp_no="E002", emp_name="济南厂",
                         insuplc_admdvs="370100")
    flexible = roster_row(3, psn_type="1103", emp_no="", emp_name="", gend="", brdy="", psn_no="X9")
    path = write_csv(tmp_path / "roster.csv", "roster", [roster_row(1), retired, flexible])

    assert run_import("roster", path) == (0, ["roster: created 3, updated 0, unchanged 0"])

    person = Person.objects.get(certno=retired["certno"])
    assert person.psn_no == "3701000000000001"  # region code + serial
    enrollment = person.enrollments.get()
    assert (enrollment.insutype, enrollment.psn_type, enrollment.region.admdvs) == ("310", "1201", "370100")
    assert enrollment.retire_date == datetime.date(2030, 6, 1) and enrollment.clct_base is None
    assert enrollment.employer.emp_name == "济南厂"
    first = Person.objects.get(certno=roster_row(1)["certno"])
    assert first.psn_no == "3100000000000001"
    assert first.enrollments.get().clct_base == Decimal("8000.00")
    flex = Person.objects.get(psn_no="X9")
    assert flex.gend == "1" and flex.brdy == datetime.date.fromisoformat(roster_row(3)["brdy"])
    assert flex.enrollments.get().employer is None
    assert Employer.objects.count() == 2


def test_psn_no_continues_from_the_highest_existing(tmp_path):
    PersonFactory(psn_no="3100000000000041")
    PersonFactory(psn_no="31000000000000099")  # another length: not a generated number
    path = write_csv(tmp_path / "roster.csv", "roster", [roster_row(1), roster_row(2, psn_no="3100000000000042")])

    assert run_import("roster", path)[0] == 0

    assert Person.objects.get(certno=roster_row(1)["certno"]).psn_no == "3100000000000043"


def test_reimport_unchanged_writes_nothing(tmp_path):
    rows = [roster_row(1), roster_row(2, psn_type="1203", clct_base="", retire_date="2020-01-01", emp_no="")]
    path = write_csv(tmp_path / "roster.csv", "roster", rows)
    assert run_import("roster", path)[0] == 0
    before = counts()

    assert run_import("roster", path) == (0, ["roster: created 0, updated 0, unchanged 2"])
    assert counts() == before


def test_changed_row_is_updated_with_history(tmp_path):
    path = write_csv(tmp_path / "roster.csv", "roster", [roster_row(1), roster_row(2)])
    run_import("roster", path)
    history = Enrollment.history.count(), Person.history.count()

    changed = write_csv(tmp_path / "roster2.csv", "roster",
                        [roster_row(1, clct_base="9000.50", emp_name="新名字"), roster_row(2, emp_name="新名字")])
    assert run_import("roster", changed) == (0, ["roster: created 0, updated 1, unchanged 1"])

    enrollment = Enrollment.objects.get(person__certno=roster_row(1)["certno"])
    assert enrollment.clct_base == Decimal("9000.50")
    assert enrollment.employer.emp_name == "新名字"
    assert Enrollment.history.count() == history[0] + 1
    assert Person.history.count() == history[1]  # the person itself did not change
    assert Employer.history.filter(emp_no="E001").count() == 2


def test_existing_person_gets_the_enrollment_updated(tmp_path):
    enrollment = EnrollmentFactory(employer=EmployerFactory(emp_no="E001", emp_name="上海某公司"))
    person = enrollment.person
    row = roster_row(1, certno=person.certno, psn_name=person.psn_name, brdy=person.brdy.isoformat(),
                     psn_no=person.psn_no, begndate="2016-01-01", clct_base="8000")
    path = write_csv(tmp_path / "roster.csv", "roster", [row])

    assert run_import("roster", path) == (0, ["roster: created 0, updated 1, unchanged 0"])
    enrollment.refresh_from_db()
    assert enrollment.begndate == datetime.date(2016, 1, 1)
    assert Enrollment.objects.count() == 1


def test_dry_run_counts_and_writes_nothing(tmp_path):
    path = write_csv(tmp_path / "roster.csv", "roster", [roster_row(1), roster_row(2)])

    assert run_import("roster", path, dry_run=True) == (
        0, ["roster: created 2, updated 0, unchanged 0 (dry run, nothing written)"])
    assert counts() == (0, 0, 0, 0, 0)


def test_bom_csv(tmp_path):
    path = write_csv(tmp_path / "roster.csv", "roster", [roster_row(1)], bom=True)
    assert run_import("roster", path) == (0, ["roster: created 1, updated 0, unchanged 0"])


def test_xlsx_with_typed_cells(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(HEADERS["roster"]))
    row = roster_row(1)
    values = [row[c] for c in HEADERS["roster"]]
    values[HEADERS["roster"].index("brdy")] = datetime.datetime.fromisoformat(row["brdy"])  # a date cell
    values[HEADERS["roster"].index("clct_base")] = 8000.5  # a number cell
    sheet.append(values)
    sheet.append([None] * len(values))  # a blank row at the end, as spreadsheets often have
    bad = roster_row(2, psn_type="9999")
    sheet.append([bad[c] for c in HEADERS["roster"]])
    book.save(tmp_path / "roster.xlsx")

    assert run_import("roster", tmp_path / "roster.xlsx") == (
        1, ['row 4, column psn_type: "9999" is not one of 1101, 1103, 1201, 1203'])

    sheet.delete_rows(4)
    book.save(tmp_path / "roster.xlsx")
    assert run_import("roster", tmp_path / "roster.xlsx") == (0, ["roster: created 1, updated 0, unchanged 0"])
    assert Enrollment.objects.get().clct_base == Decimal("8000.50")


def test_import_file_returns_an_outcome(tmp_path):
    path = write_csv(tmp_path / "roster.csv", "roster", [roster_row(1)])
    outcome = import_file("roster", path, dry_run=False)
    assert (outcome.ok, outcome.created, outcome.summary()) == (True, 1, "roster: created 1, updated 0, unchanged 0")


def test_missing_and_extra_header_columns(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("psn_no,certno,psn_name,nickname\n,x,y,z\n")
    status, out = run_import("roster", path)
    assert status == 1
    assert out == ["the header row is wrong (missing columns: gend, brdy, psn_type, insuplc_admdvs, emp_no, "
                   "emp_name, clct_base, begndate, retire_date, psn_insu_stas; unknown columns: nickname); "
                   "it must be: " + ",".join(HEADERS["roster"]) + ", optionally followed by any of insutype,stas_date"]


# --- every validation: one bad row each, nothing written --------------------------------------------------------

MALE_1980 = make_certno(datetime.date(1980, 5, 17), "1", serial=7)


@pytest.mark.parametrize(("overrides", "line"), [
    ({"certno": MALE_1980[:17] + ("0" if MALE_1980[17] != "0" else "1")},
     f"column certno: the check digit is {'0' if MALE_1980[17] != '0' else '1'}, it should be {MALE_1980[17]}"),
    ({"certno": MALE_1980[:17]}, "column certno: an ID number has 18 characters, this one has 17"),
    ({"certno": "31010119800517A01X"}, "column certno: an ID number is 17 digits and a digit or X"),
    ({"certno": certno_make("31010119801341001")}, "column certno: digits 7 to 14 are not a valid birth date"),
    ({"certno": certno_make("99999919800517001")}, "column certno: the first six digits are not a known region code"),
    ({"certno": MALE_1980, "brdy": "1980-05-18"},
     "column certno: brdy 1980-05-18 does not match the birth date in the ID number, 1980-05-17"),
    ({"certno": MALE_1980, "brdy": "1980-05-17", "gend": "2"},
     "column certno: gend 2 does not match the ID number, whose 17th digit says 1"),
    ({"gend": "3"}, 'column gend: "3" is not one of 1, 2'),
    ({"brdy": "1980/05/17"}, 'column brdy: "1980/05/17" is not a date in the form YYYY-MM-DD'),
    ({"insuplc_admdvs": "110000"}, "column insuplc_admdvs: no region has the code 110000"),
    ({"psn_type": "1102"}, 'column psn_type: "1102" is not one of 1101, 1103, 1201, 1203'),
    ({"psn_insu_stas": "3"}, 'column psn_insu_stas: "3" is not one of 1, 2, 4'),
    ({"psn_type": "1201", "clct_base": ""},
     "column retire_date: person type 1201 is retired and needs a retirement date"),
    ({"retire_date": "1960-01-01"},
     "column retire_date: the retirement date 1960-01-01 is before the date of birth 1970-01-03"),
    ({"begndate": "2015-02-30"}, 'column begndate: "2015-02-30" is not a date in the form YYYY-MM-DD'),
    ({"begndate": ""}, "column begndate: a value is required"),
    ({"clct_base": "8,000"}, 'column clct_base: "8,000" is not a number with at most 2 decimal places'),
    ({"clct_base": "8000.123"}, 'column clct_base: "8000.123" is not a number with at most 2 decimal places'),
    ({"clct_base": "-1.00"}, "column clct_base: -1.00 is less than 0"),
    ({"clct_base": ""}, "column clct_base: person type 1101 is in service and needs a contribution base"),
    ({"emp_no": "", "emp_name": ""},
     "column emp_no: person type 1101 needs an employer; only flexible employment (1103, 1203) may leave emp_no blank"),
    ({"emp_no": "E999", "emp_name": ""}, "column emp_name: employer E999 is new and needs a name"),
    ({"psn_name": ""}, "column psn_name: a value is required"),
])
def test_roster_validation(tmp_path, overrides, line):
    path = write_csv(tmp_path / "roster.csv", "roster", [roster_row(1), roster_row(2, **overrides)])
    expect_rejected("roster", path, [f"row 3, {line}"])
    assert counts() == (0, 0, 0, 0, 0)


def test_psn_no_of_another_person(tmp_path):
    other = PersonFactory(psn_no="P1")
    path = write_csv(tmp_path / "roster.csv", "roster", [roster_row(1, psn_no="P1")])
    expect_rejected("roster", path, [
        f"row 2, column psn_no: person number P1 belongs to another person (ID number {other.certno_masked})"])


def test_psn_no_twice_in_the_file_and_duplicate_certno(tmp_path):
    rows = [roster_row(1, psn_no="P7"), roster_row(2, psn_no="P7"), roster_row(3), roster_row(1, psn_name="重复")]
    path = write_csv(tmp_path / "roster.csv", "roster", rows)
    expect_rejected("roster", path, [
        "row 3, column psn_no: person number P7 is given to another ID number in row 2",
        f"row 5, column certno: certno {roster_row(1)['certno']} is already in row 2 of this file",
    ])
    assert counts() == (0, 0, 0, 0, 0)


def test_one_row_several_columns_and_bad_rows_roll_back_good_ones(tmp_path):
    PersonFactory()
    before = counts()
    rows = [roster_row(1), roster_row(2, gend="x", begndate="", insuplc_admdvs="1")]
    path = write_csv(tmp_path / "roster.csv", "roster", rows)
    expect_rejected("roster", path, [
        'row 3, column gend: "x" is not one of 1, 2',
        "row 3, column insuplc_admdvs: no region has the code 1",
        "row 3, column begndate: a value is required",
    ])
    assert counts() == before


def test_after_a_bad_row_later_rows_are_checked_against_the_file(tmp_path):
    rows = [roster_row(1, gend="x"), roster_row(2, emp_no="E9", emp_name="新单位", psn_no="Q1"),
            roster_row(3, emp_no="E9", emp_name=""), roster_row(4, psn_no="Q1")]
    path = write_csv(tmp_path / "roster.csv", "roster", rows)
    expect_rejected("roster", path, ['row 2, column gend: "x" is not one of 1, 2',
                                     "row 5, column psn_no: person number Q1 is given to another ID number in row 3"])
