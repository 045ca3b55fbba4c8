"""The streaming, set-based engine behind `import_file` (core.imports.engine): batches, progress, the bad-rows
file, history of bulk writes, psn_no numbering, and the same answers as the resources' row-by-row path."""

import csv
import datetime
import itertools
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from accounts.models import Employer, Enrollment, Person
from accounts.tests.factories import PersonFactory
from claims.models import Facility
from core.imports import engine, import_file, import_file_rowwise
from core.tests.test_imports_common import make_regions, roster_row, run_import, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def regions(db):
    make_regions()


def roster(n: int, **overrides: str) -> list[dict[str, str]]:
    return [roster_row(i, emp_no=f"E{i % 7:03d}", emp_name=f"单位{i % 7}", **overrides) for i in range(1, n + 1)]


def test_progress_is_reported_batch_by_batch_while_reading_then_writing(tmp_path):
    path = write_csv(tmp_path / "r.csv", "roster", roster(25))
    seen = []
    outcome = import_file("roster", path, dry_run=False, batch_rows=10,
                          progress=lambda p: seen.append((p.phase, p.rows_read, p.rows_validated, p.rows_written,
                                                          p.percent)))
    assert outcome.ok and outcome.created == 25
    reading = [s for s in seen if s[0] == "reading"]
    assert [s[1] for s in reading] == [10, 20, 25]  # after every batch, before the file is done
    assert [s[2] for s in reading] == [10, 20, 25]
    writing = [s for s in seen if s[0] == "writing"]
    assert writing and writing[-1][3] == 25 and all(a[3] <= b[3] for a, b in itertools.pairwise(writing))
    percents = [s[4] for s in seen]
    assert percents == sorted(percents) and 0 < percents[0] < 100 and percents[-1] == 100


def test_bad_rows_file_holds_each_bad_row_with_its_messages(tmp_path):
    rows = roster(30)
    rows[4]["gend"] = "3"
    rows[4]["begndate"] = ""
    rows[21]["insuplc_admdvs"] = "999999"
    path = write_csv(tmp_path / "r.csv", "roster", rows)
    bad_path = tmp_path / "bad.csv"

    outcome = import_file("roster", path, dry_run=False, batch_rows=8, bad_rows_path=bad_path)

    assert (outcome.ok, outcome.bad, outcome.rows) == (False, 2, 30)
    assert outcome.errors == ['row 6, column gend: "3" is not one of 1, 2',
                              "row 6, column begndate: a value is required",
                              "row 23, column insuplc_admdvs: no region has the code 999999"]
    with bad_path.open(encoding="utf-8-sig", newline="") as f:
        written = list(csv.DictReader(f))
    assert [(r["row"], r["certno"], r["errors"]) for r in written] == [
        ("6", rows[4]["certno"], 'gend: "3" is not one of 1, 2; begndate: a value is required'),
        ("23", rows[21]["certno"], "insuplc_admdvs: no region has the code 999999")]
    assert written[0]["gend"] == "3"  # the cells as they were, to fix and upload again
    assert (Person.objects.count(), Employer.objects.count(), Person.history.count()) == (0, 0, 0)


def test_error_lines_past_the_memory_limit_are_all_printed(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "ERROR_LINES_IN_MEMORY", 3)
    path = write_csv(tmp_path / "r.csv", "roster", roster(10, gend="9"))
    status, out = run_import("roster", path)
    assert status == 1
    assert out == [f'row {n}, column gend: "9" is not one of 1, 2' for n in range(2, 12)]


def test_bulk_writes_leave_history_with_the_user(tmp_path):
    user = User.objects.create_user("importer")
    path = write_csv(tmp_path / "r.csv", "roster", roster(3))
    assert import_file("roster", path, dry_run=False, user=user).created == 3
    rows = roster(3)
    rows[1]["clct_base"] = "9999.00"
    rows[2]["psn_name"] = "改名"
    write_csv(path, "roster", rows)

    outcome = import_file("roster", path, dry_run=False, user=user)

    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 2, 1)
    person = Person.objects.get(certno=rows[2]["certno"])
    assert [(h.history_type, h.psn_name, h.history_user) for h in person.history.order_by("history_id")] == [
        ("+", "张3", user), ("~", "改名", user)]
    enrollment = Enrollment.objects.get(person__certno=rows[1]["certno"])
    assert [(h.history_type, str(h.clct_base)) for h in enrollment.history.order_by("history_id")] == [
        ("+", "8000.00"), ("~", "9999.00")]
    assert Employer.history.filter(history_type="+").count() == 7 - 4  # E001, E002, E003 of rows 1..3
    assert Person.history.count() == 4 and Enrollment.history.count() == 4


def test_generated_numbers_continue_above_the_database_and_the_file(tmp_path):
    PersonFactory(psn_no="3100000000000041")
    rows = [roster_row(1), roster_row(2, psn_no="3100000000000050"), roster_row(3),
            roster_row(4, insuplc_admdvs="370100")]
    path = write_csv(tmp_path / "r.csv", "roster", rows)

    assert import_file("roster", path, dry_run=False).created == 4

    numbers = {p.certno: p.psn_no for p in Person.objects.all()}
    assert [numbers[r["certno"]] for r in rows] == ["3100000000000051", "3100000000000050", "3100000000000052",
                                                   "3701000000000001"]


@pytest.mark.parametrize("broken", [False, True])
def test_the_engine_answers_as_the_resource_does(tmp_path, broken):
    PersonFactory(certno=roster_row(2)["certno"], brdy=datetime.date.fromisoformat(roster_row(2)["brdy"]),
                  psn_no="P2")
    rows = roster(12)
    rows[3]["psn_type"] = "1201"
    rows[3].update(clct_base="", retire_date="2020-01-01")
    if broken:
        rows[5]["certno"] = rows[5]["certno"][:17] + "0"
        rows[7]["psn_no"] = "P2"
        rows[9] = dict(rows[8])
    path = write_csv(tmp_path / "r.csv", "roster", rows)

    fast = import_file("roster", path, dry_run=True)
    slow = import_file_rowwise("roster", path, dry_run=True)

    assert (fast.errors, fast.created, fast.updated, fast.unchanged) == (
        slow.errors, slow.created, slow.updated, slow.unchanged)
    assert bool(fast.errors) == broken


def test_facilities_insert_update_and_history(tmp_path):
    rows = [{"fixmedins_code": f"H{i}", "fixmedins_name": f"医院{i}", "fixmedins_type": "1", "hosp_lv": "2",
             "admdvs": "310000", "begndate": "2020-01-01", "enddate": ""} for i in range(5)]
    path = write_csv(tmp_path / "f.csv", "facilities", rows)
    assert run_import("facilities", path) == (0, ["facilities: created 5, updated 0, unchanged 0"])
    rows[2]["enddate"] = "2030-12-31"
    write_csv(path, "facilities", rows)
    assert run_import("facilities", path) == (0, ["facilities: created 0, updated 1, unchanged 4"])
    changed = Facility.objects.get(fixmedins_code="H2")
    assert changed.enddate == datetime.date(2030, 12, 31)
    assert [h.history_type for h in changed.history.order_by("history_id")] == ["+", "~"]


def test_a_reimport_stages_only_rows_that_may_change_and_answers_as_the_resource_does(tmp_path, monkeypatch):
    """Re-imported rows whose person, enrollment and employer are as the file gives them are counted unchanged
    without staging; every other row goes through the plan. Same counts as the row-by-row path, same writes."""
    from core.imports import writers

    rows = roster(20)
    path = write_csv(tmp_path / "r.csv", "roster", rows, optional=("insutype", "stas_date"))
    assert import_file("roster", path, dry_run=False).created == 20
    rows[0]["clct_base"] = "9100.00"  # an enrollment change
    rows[2]["emp_name"] = rows[16]["emp_name"] = ""  # E003 (i % 7 == 3) unnamed here, renamed by line 11
    rows[9]["emp_name"] = "新名称"
    rows[4]["stas_date"] = "2024-03-01"  # a dated status not recorded yet
    rows[5]["psn_insu_stas"] = "2"
    rows[6].update(psn_type="1201", clct_base="", retire_date="2024-01-31")
    rows[7].update(psn_type="1103", emp_no="", emp_name="")  # no employer any more
    rows[11]["clct_base"] = "8000"  # the same amount written otherwise: unchanged
    path = write_csv(tmp_path / "r.csv", "roster", rows, optional=("insutype", "stas_date"))
    seen: list[tuple[int, int]] = []
    changing = writers.RosterWriter._changing

    def spy(self, cursor, batch):  # noqa: ANN001, ANN202
        kept = changing(self, cursor, batch)
        seen.append((len(batch), len(kept)))
        return kept

    monkeypatch.setattr(writers.RosterWriter, "_changing", spy)

    fast = import_file("roster", path, dry_run=True)
    slow = import_file_rowwise("roster", path, dry_run=True)
    assert (fast.errors, fast.created, fast.updated, fast.unchanged) == (
        slow.errors, slow.created, slow.updated, slow.unchanged) == ([], 0, 6, 14)
    # Updated: rows 1, 5, 6, 7 and 8 (lines 2, 6, 7, 8, 9), and one for E003's new name; the other 14 unchanged.
    # Staged: rows 1, 5, 6, 7, 8 and 10 (E003's new name); rows 3 and 17 (blank name), 12 (8000 = 8000.00) not.
    assert seen == [(20, 6)]

    outcome = import_file("roster", path, dry_run=False)
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 6, 14)
    assert Employer.objects.get(emp_no="E003").emp_name == "新名称"
    enrollments = {e.person.certno: e for e in Enrollment.objects.select_related("person", "employer")}
    assert enrollments[rows[0]["certno"]].clct_base == Decimal("9100.00")
    assert enrollments[rows[7]["certno"]].employer is None
    assert enrollments[rows[6]["certno"]].psn_type == "1201"
    assert enrollments[rows[11]["certno"]].clct_base == Decimal("8000.00")
    assert import_file("roster", path, dry_run=False).unchanged == 20
