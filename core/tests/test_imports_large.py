import pytest

from accounts.models import Employer, Enrollment, Person
from core.tests.test_imports_common import make_regions, roster_row, run_import, write_csv

pytestmark = pytest.mark.django_db

ROWS = 10_000


def big_roster() -> list[dict[str, str]]:
    return [roster_row(n, emp_no=f"E{n % 200:04d}", emp_name=f"单位{n % 200}") for n in range(1, ROWS + 1)]


def test_ten_thousand_rows(tmp_path):
    make_regions()
    rows = big_roster()
    good = write_csv(tmp_path / "good.csv", "roster", rows)
    bad_rows = [dict(row) for row in rows]
    bad_rows[99]["gend"] = "9"
    bad_rows[4999]["clct_base"] = "abc"
    bad_rows[9999]["insuplc_admdvs"] = "000000"
    bad = write_csv(tmp_path / "bad.csv", "roster", bad_rows)

    status, out = run_import("roster", bad)
    assert status == 1
    assert out == ['row 101, column gend: "9" is not one of 1, 2',
                   'row 5001, column clct_base: "abc" is not a number with at most 2 decimal places',
                   "row 10001, column insuplc_admdvs: no region has the code 000000"]
    assert (Person.objects.count(), Enrollment.objects.count(), Employer.objects.count()) == (0, 0, 0)
    assert Person.history.count() == 0

    assert run_import("roster", good) == (0, [f"roster: created {ROWS}, updated 0, unchanged 0"])
    assert (Person.objects.count(), Enrollment.objects.count(), Employer.objects.count()) == (ROWS, ROWS, 200)
    history = Person.history.count(), Enrollment.history.count()

    assert run_import("roster", good) == (0, [f"roster: created 0, updated 0, unchanged {ROWS}"])
    assert (Person.history.count(), Enrollment.history.count()) == history
