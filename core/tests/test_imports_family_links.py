import datetime

import pytest

from accounts.models import FamilyLink, Person
from accounts.tests.factories import EnrollmentFactory, FamilyLinkFactory, PersonFactory, make_certno
from core.tests.test_imports_common import expect_rejected, make_regions, run_import, write_csv

pytestmark = pytest.mark.django_db

CHILD = make_certno(datetime.date(2012, 3, 4), "2", serial=40)


@pytest.fixture(autouse=True)
def regions(db):
    make_regions()


@pytest.fixture
def holder():
    return EnrollmentFactory(person__psn_no="3100000000000005").person


def link_row(holder_psn_no, relative_certno, **overrides):
    row = {"holder_psn_no": holder_psn_no, "relative_certno": relative_certno, "relative_name": "李小",
           "relation": "child", "begndate": "2023-01-01", "enddate": ""}
    row.update(overrides)
    return row


def test_links_create_uninsured_relatives_and_order(tmp_path, holder):
    spouse = PersonFactory(gend="2")
    other_holder = PersonFactory()
    FamilyLinkFactory(holder=other_holder, relative=spouse, order=3)
    rows = [link_row(holder.psn_no, CHILD), link_row(holder.psn_no, spouse.certno, relation="spouse", relative_name=""),
            link_row(other_holder.psn_no, CHILD, relation="child", enddate="2030-12-31")]
    path = write_csv(tmp_path / "links.csv", "family_links", rows)

    assert run_import("family_links", path) == (0, ["family_links: created 3, updated 0, unchanged 0"])

    child = Person.objects.get(certno=CHILD)
    assert (child.psn_name, child.gend, child.brdy) == ("李小", "2", datetime.date(2012, 3, 4))
    assert child.psn_no == "3100000000000006"  # the holder's region, after the highest number
    assert not child.enrollments.exists()
    assert [(link.holder, link.order) for link in FamilyLink.objects.filter(relative=child)] == [
        (holder, 1), (other_holder, 2)]
    assert FamilyLink.objects.get(holder=holder, relative=spouse).order == 4

    assert run_import("family_links", path) == (0, ["family_links: created 0, updated 0, unchanged 3"])

    rows[0]["enddate"] = "2024-06-30"
    write_csv(path, "family_links", rows)
    assert run_import("family_links", path) == (0, ["family_links: created 0, updated 1, unchanged 2"])
    link = FamilyLink.objects.get(holder=holder, relative=child)
    assert (link.enddate, link.order) == (datetime.date(2024, 6, 30), 1)
    assert link.history.count() == 2


def test_bad_links(tmp_path, holder):
    before = Person.objects.count()
    rows = [
        link_row(holder.psn_no, CHILD),
        link_row("NOBODY", CHILD),
        link_row(holder.psn_no, holder.certno, relation="spouse"),
        link_row(holder.psn_no, CHILD, relation="cousin"),
        link_row(holder.psn_no, make_certno(datetime.date(1950, 1, 1), "1", serial=41), relative_name="",
                 begndate="2023-01-01", enddate="2022-12-31"),
        link_row(holder.psn_no, CHILD[:17] + ("1" if CHILD[17] != "1" else "2")),
    ]
    path = write_csv(tmp_path / "links.csv", "family_links", rows)
    wrong = "1" if CHILD[17] != "1" else "2"
    expect_rejected("family_links", path, [
        "row 3, column holder_psn_no: no person has the number NOBODY",
        "row 4, column relative_certno: a person cannot be linked to themselves",
        f"row 5, column relative_certno: holder_psn_no {holder.psn_no}, relative_certno {CHILD} is already in row 2 "
        "of this file",
        'row 5, column relation: "cousin" is not one of spouse, parent, child',
        "row 6, column relative_name: a value is required",
        "row 6, column enddate: the end date 2022-12-31 is before the start date 2023-01-01",
        f"row 7, column relative_certno: the check digit is {wrong}, it should be {CHILD[17]}",
    ])
    assert Person.objects.count() == before
    assert not FamilyLink.objects.exists()


def test_a_new_relative_named_once_and_bad_row_later(tmp_path, holder):
    second = EnrollmentFactory().person
    rows = [link_row(holder.psn_no, CHILD), link_row(second.psn_no, CHILD, relative_name=""),
            link_row(second.psn_no, holder.certno, relation="parent", begndate="x")]
    path = write_csv(tmp_path / "links.csv", "family_links", rows)
    expect_rejected("family_links", path,
                    ['row 4, column begndate: "x" is not a date in the form YYYY-MM-DD'])

    write_csv(path, "family_links", rows[:2])
    assert run_import("family_links", path) == (0, ["family_links: created 2, updated 0, unchanged 0"])
    assert Person.objects.get(certno=CHILD).psn_name == "李小"
