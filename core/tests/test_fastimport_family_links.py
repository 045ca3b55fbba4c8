"""The set-based writer of `family_links` (core.imports.writers.FamilyLinkWriter): new relatives created uninsured
with generated numbers, link order, updates with history, and the same answers as the row-by-row path it
replaced, in a number of queries that does not grow with the file."""

import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import FamilyLink, Person
from accounts.tests.factories import EnrollmentFactory, FamilyLinkFactory, PersonFactory, make_certno
from core.imports import import_file
from core.tests.test_imports_common import expect_rejected, import_both_ways, make_regions, run_import, write_csv
from policies.models import Region

pytestmark = pytest.mark.django_db
D = datetime.date

CHILD = make_certno(D(2012, 3, 4), "2", serial=40)  # a girl, born 2012-03-04
GRANDPA = make_certno(D(1948, 7, 9), "1", area="370102", serial=41)
WIFE = make_certno(D(1985, 11, 30), "2", area="440103", serial=42)  # Guangdong: province 440000
SON = make_certno(D(2015, 1, 20), "1", serial=43)


@pytest.fixture(autouse=True)
def regions(db):
    make_regions()


@pytest.fixture
def family():
    """Holders in Shanghai, in Jinan and without an enrollment; an existing relative with a link of order 3; the
    highest generated numbers so far: Shanghai 5, Jinan 7."""
    sh = EnrollmentFactory(person__psn_no="3100000000000005").person
    jn = EnrollmentFactory(person__psn_no="3701000000000007", region=Region.objects.get(admdvs="370100")).person
    nobody = PersonFactory(psn_no="P77")
    aunt = PersonFactory(gend="2")
    other = PersonFactory()
    FamilyLinkFactory(holder=other, relative=aunt, order=3)
    return {"sh": sh, "jn": jn, "nobody": nobody, "aunt": aunt, "other": other}


def link_row(holder: Person, certno: str, name: str = "", relation: str = "child", begndate: str = "2023-01-01",
             enddate: str = "") -> dict[str, str]:
    return {"holder_psn_no": holder.psn_no, "relative_certno": certno, "relative_name": name, "relation": relation,
            "begndate": begndate, "enddate": enddate}


def family_rows(f: dict[str, Person]) -> list[dict[str, str]]:
    return [
        link_row(f["sh"], CHILD, "李小"),                                          # row 2
        link_row(f["jn"], GRANDPA, "王老", relation="parent"),                     # row 3
        link_row(f["nobody"], WIFE, "赵芳", relation="spouse"),                    # row 4
        link_row(f["jn"], CHILD, enddate="2030-12-31"),                            # row 5: named in row 2
        link_row(f["sh"], f["aunt"].certno, relation="parent"),                    # row 6
        link_row(f["nobody"], f["aunt"].certno, "别名", relation="parent"),        # row 7: the name is not used
        link_row(f["sh"], SON, "李二"),                                            # row 8
    ]


def links() -> list[tuple]:
    return [(link.holder.psn_no, link.relative.certno, link.relation, link.begndate, link.enddate, link.order)
            for link in FamilyLink.objects.select_related("holder", "relative").order_by("id")]


def test_first_import_creates_relatives_numbered_by_region_and_orders_the_links(tmp_path, family):
    user = User.objects.create_user("clerk")
    f = family
    path = write_csv(tmp_path / "links.csv", "family_links", family_rows(f))

    outcome = import_file("family_links", path, dry_run=False, user=user)

    assert (outcome.errors, outcome.created, outcome.updated, outcome.unchanged) == ([], 7, 0, 0)
    new = {p.certno: (p.psn_no, p.psn_name, p.gend, p.brdy) for p in Person.objects.filter(
        certno__in=[CHILD, GRANDPA, WIFE, SON])}
    assert new == {
        # Shanghai holder: after the highest Shanghai number (5), in file order (rows 2 and 8).
        CHILD: ("3100000000000006", "李小", "2", D(2012, 3, 4)),
        SON: ("3100000000000007", "李二", "1", D(2015, 1, 20)),
        # Jinan holder: after 3701000000000007.
        GRANDPA: ("3701000000000008", "王老", "1", D(1948, 7, 9)),
        # Holder without an enrollment: the relative's province from the ID number, the first number there.
        WIFE: ("4400000000000001", "赵芳", "2", D(1985, 11, 30)),
    }
    assert not Person.objects.filter(certno__in=new, enrollments__isnull=False).exists()
    assert f["aunt"].psn_name != "别名" and Person.objects.get(pk=f["aunt"].pk).psn_name == f["aunt"].psn_name
    other = f["other"].psn_no
    assert links() == [
        (other, f["aunt"].certno, "child", D(2022, 7, 1), None, 3),      # the factory's link, untouched
        (f["sh"].psn_no, CHILD, "child", D(2023, 1, 1), None, 1),
        (f["jn"].psn_no, GRANDPA, "parent", D(2023, 1, 1), None, 1),
        (f["nobody"].psn_no, WIFE, "spouse", D(2023, 1, 1), None, 1),
        (f["jn"].psn_no, CHILD, "child", D(2023, 1, 1), D(2030, 12, 31), 2),  # CHILD's second link
        (f["sh"].psn_no, f["aunt"].certno, "parent", D(2023, 1, 1), None, 4),  # after the existing order 3
        (f["nobody"].psn_no, f["aunt"].certno, "parent", D(2023, 1, 1), None, 5),
        (f["sh"].psn_no, SON, "child", D(2023, 1, 1), None, 1),
    ]
    # History as django-simple-history writes it on save: one '+' per new person and link, by the importing user.
    assert sorted((h.certno, h.psn_no, h.history_type, h.history_user_id)
                  for h in Person.history.filter(certno__in=new)) == sorted((c, new[c][0], "+", user.pk) for c in new)
    assert sorted((h.relative_id, h.order, h.history_type, h.history_user_id)
                  for h in FamilyLink.history.filter(history_user=user)) == sorted(
        (link.relative_id, link.order, "+", user.pk) for link in FamilyLink.objects.exclude(holder=f["other"]))


def test_reimport_changes_nothing_and_a_changed_file_updates_with_history(tmp_path, family):
    f = family
    rows = family_rows(f)
    path = write_csv(tmp_path / "links.csv", "family_links", rows)
    assert run_import("family_links", path) == (0, ["family_links: created 7, updated 0, unchanged 0"])
    before = (links(), Person.objects.count(), Person.history.count(), FamilyLink.history.count())

    assert run_import("family_links", path) == (0, ["family_links: created 0, updated 0, unchanged 7"])
    assert (links(), Person.objects.count(), Person.history.count(), FamilyLink.history.count()) == before

    rows[0]["enddate"] = "2024-06-30"                       # row 2: updated
    rows[4]["relation"] = "spouse"                          # row 6: updated
    rows[1]["relative_name"] = "王老先生"                    # row 3: an existing person's name is not imported
    del rows[6]                                             # row 8 left out: its link stays
    rows.append(link_row(f["other"], CHILD))                # new: CHILD's third link
    write_csv(path, "family_links", rows)

    assert run_import("family_links", path) == (0, ["family_links: created 1, updated 2, unchanged 4"])

    assert links()[1:] == [
        (f["sh"].psn_no, CHILD, "child", D(2023, 1, 1), D(2024, 6, 30), 1),  # order kept
        (f["jn"].psn_no, GRANDPA, "parent", D(2023, 1, 1), None, 1),
        (f["nobody"].psn_no, WIFE, "spouse", D(2023, 1, 1), None, 1),
        (f["jn"].psn_no, CHILD, "child", D(2023, 1, 1), D(2030, 12, 31), 2),
        (f["sh"].psn_no, f["aunt"].certno, "spouse", D(2023, 1, 1), None, 4),
        (f["nobody"].psn_no, f["aunt"].certno, "parent", D(2023, 1, 1), None, 5),
        (f["sh"].psn_no, SON, "child", D(2023, 1, 1), None, 1),
        (f["other"].psn_no, CHILD, "child", D(2023, 1, 1), None, 3),
    ]
    assert Person.objects.get(certno=GRANDPA).psn_name == "王老"
    changed = FamilyLink.objects.get(holder=f["sh"], relative__certno=CHILD)
    assert [(h.history_type, h.enddate) for h in changed.history.order_by("history_id")] == [
        ("+", None), ("~", D(2024, 6, 30))]
    # 8 '+' rows of the first import, then 1 '+' and 2 '~'.
    assert FamilyLink.history.count() == before[3] + 3


def test_a_bad_row_in_a_later_batch_writes_nothing(tmp_path, family):
    f = family
    rows = family_rows(f) + [link_row(f["sh"], GRANDPA, relation="cousin")]
    path = write_csv(tmp_path / "links.csv", "family_links", rows)
    before = (Person.objects.count(), Person.history.count(), links(), FamilyLink.history.count())

    # Batches of 3 rows: two are staged before the bad row is read.
    outcome = import_file("family_links", path, dry_run=False, batch_rows=3)

    assert outcome.errors == ['row 9, column relation: "cousin" is not one of spouse, parent, child']
    assert (Person.objects.count(), Person.history.count(), links(), FamilyLink.history.count()) == before
    assert len(before[2]) == 1  # the fixture's link only
    expect_rejected("family_links", path, outcome.errors)


def _snapshot() -> dict[str, list]:
    """Everything the import writes, without ids and times (which differ between two runs)."""
    psn_no = dict(Person.objects.values_list("id", "psn_no"))
    return {
        "persons": list(Person.objects.order_by("id").values_list("psn_no", "certno", "psn_name", "gend", "brdy")),
        "links": links(),
        "person history": sorted(Person.history.values_list("psn_no", "certno", "psn_name", "gend", "brdy",
                                                            "history_type", "history_user_id")),
        "link history": sorted((psn_no[h.holder_id], psn_no[h.relative_id], h.relation, h.begndate, h.enddate,
                                h.order, h.history_type, h.history_user_id) for h in FamilyLink.history.all()),
    }


def test_the_same_answers_as_the_row_by_row_path(tmp_path, family):
    user = User.objects.create_user("clerk")
    f = family
    rows = family_rows(f)
    path = write_csv(tmp_path / "links.csv", "family_links", rows)
    changed = [dict(row) for row in rows]
    changed[0]["begndate"] = "2022-01-01"
    changed[3]["relation"] = "parent"
    changed += [link_row(f["other"], CHILD, relation="parent", enddate="2025-01-01"),
                link_row(f["other"], make_certno(D(2019, 9, 9), "2", serial=44), "李三")]
    bad = [{**rows[0], "holder_psn_no": "NOBODY"}, *rows[1:]]  # both paths refuse it alike
    steps = [rows, rows, changed, changed, bad]
    for number, step in enumerate(steps):
        write_csv(path, "family_links", step)
        rowwise, setbased = import_both_ways("family_links", path, _snapshot, user=user)
        assert setbased == rowwise, f"step {number}"
    assert rowwise[0][0] == ["row 2, column holder_psn_no: no person has the number NOBODY"]


def _holders_and_rows(n: int, start: int) -> list[dict[str, str]]:
    """n rows: holders in Shanghai and Jinan, two in three with a new relative, the others linking an existing
    person (the holder before)."""
    jinan = Region.objects.get(admdvs="370100")
    holders = [EnrollmentFactory(region=jinan).person if i % 2 else EnrollmentFactory().person for i in range(n)]
    rows = []
    for i, holder in enumerate(holders):
        if i % 3 and i:
            certno = make_certno(D(2000, 1, 1) + datetime.timedelta(days=start + i), "1")
            rows.append(link_row(holder, certno, f"亲属{i}"))
        else:
            rows.append(link_row(holder, holders[i - 1].certno, relation="spouse"))
    return rows


def test_the_queries_do_not_grow_with_the_rows(tmp_path, django_assert_max_num_queries):
    small = write_csv(tmp_path / "small.csv", "family_links", _holders_and_rows(10, 0))
    large = write_csv(tmp_path / "large.csv", "family_links", _holders_and_rows(200, 1000))
    with CaptureQueriesContext(connection) as first:
        assert import_file("family_links", small, dry_run=False).created == 10
        assert import_file("family_links", small, dry_run=False).unchanged == 10

    # The same statements for 200 rows (the row-by-row path made several per row).
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert import_file("family_links", large, dry_run=False).created == 200
        assert import_file("family_links", large, dry_run=False).unchanged == 200
    assert Person.objects.filter(enrollments__isnull=True).count() == 6 + 133
