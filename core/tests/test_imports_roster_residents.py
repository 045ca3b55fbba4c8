"""The roster's optional columns `insutype` and `stas_date` (CONTRACT.md "Optional columns"), through both import
paths: the streaming set-based engine (`import_file`, `import_csv`) and the resources row by row (the admin's)."""

import datetime

import pytest

from accounts.models import Enrollment, EnrollmentStatus, Person
from core.imports import import_file, import_file_rowwise
from core.tests.test_imports_common import make_regions, roster_row, write_csv

pytestmark = pytest.mark.django_db
D = datetime.date
OPTIONAL = ("insutype", "stas_date")
PATHS = {"streaming": import_file, "rowwise": import_file_rowwise}


@pytest.fixture(autouse=True)
def regions(db):
    make_regions()


def resident_row(n: int, **overrides: str) -> dict[str, str]:
    values = {"insuplc_admdvs": "370100", "psn_type": "", "emp_no": "", "emp_name": "", "clct_base": "",
              "begndate": "2024-01-01", "insutype": "390", "stas_date": ""}
    return roster_row(n, **{**values, **overrides})


def statuses(certno: str, insutype: str) -> list[tuple[datetime.date, str]]:
    enrollment = Enrollment.objects.get(person__certno=certno, insutype=insutype)
    return list(EnrollmentStatus.objects.filter(enrollment=enrollment).order_by("stas_date")
                .values_list("stas_date", "psn_insu_stas"))


@pytest.mark.parametrize("path_kind", PATHS)
def test_residents_and_dated_statuses(tmp_path, path_kind):
    run = PATHS[path_kind]
    employee = roster_row(1, insutype="", stas_date="")
    suspended = roster_row(2, insutype="310", psn_insu_stas="2", stas_date="2024-06-01")
    child = resident_row(3)
    path = write_csv(tmp_path / "r.csv", "roster", [employee, suspended, child], optional=OPTIONAL)
    outcome = run("roster", path, dry_run=False)
    assert (outcome.errors, outcome.created, outcome.updated, outcome.unchanged) == ([], 3, 0, 0)

    resident = Enrollment.objects.get(person__certno=child["certno"])
    assert (resident.insutype, resident.psn_type, resident.employer, resident.clct_base,
            resident.region.admdvs) == ("390", "", None, None, "370100")
    # A new enrollee's status from begndate when stas_date is blank, from stas_date when given.
    assert statuses(employee["certno"], "310") == [(D(2015, 1, 1), "1")]
    assert statuses(suspended["certno"], "310") == [(D(2024, 6, 1), "2")]
    assert statuses(child["certno"], "390") == [(D(2024, 1, 1), "1")]
    assert Enrollment.objects.get(person__certno=suspended["certno"]).status_on(D(2024, 5, 31)) is None

    # The employee suspended from 2025-03-05, then the same file again: nothing more.
    employee.update(psn_insu_stas="2", stas_date="2025-03-05")
    path = write_csv(tmp_path / "r2.csv", "roster", [employee, suspended, child], optional=OPTIONAL)
    outcome = run("roster", path, dry_run=False)
    assert (outcome.errors, outcome.created, outcome.updated, outcome.unchanged) == ([], 0, 1, 2)
    assert statuses(employee["certno"], "310") == [(D(2015, 1, 1), "1"), (D(2025, 3, 5), "2")]
    enrollment = Enrollment.objects.get(person__certno=employee["certno"])
    assert (enrollment.status_on(D(2025, 3, 4)), enrollment.status_on(D(2025, 3, 5))) == ("1", "2")
    again = run("roster", path, dry_run=False)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Person.objects.count() == 3


@pytest.mark.parametrize("path_kind", PATHS)
def test_a_resident_row_leaves_the_employee_columns_blank(tmp_path, path_kind):
    bad = resident_row(4, psn_type="1101", clct_base="100.00")
    path = write_csv(tmp_path / "r.csv", "roster", [bad, roster_row(5, insutype="391", stas_date="2024-13-01")],
                     optional=OPTIONAL)
    outcome = PATHS[path_kind]("roster", path, dry_run=False)
    assert outcome.errors == [
        "row 2, column psn_type: resident insurance (390) has no psn_type: leave it blank",
        "row 2, column clct_base: resident insurance (390) has no clct_base: leave it blank",
        'row 3, column insutype: "391" is not one of 310, 390',
        'row 3, column stas_date: "2024-13-01" is not a date in the form YYYY-MM-DD',
    ]
    assert not Enrollment.objects.exists()
