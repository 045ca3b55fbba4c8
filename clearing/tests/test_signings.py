"""Primary-care signings (家庭医生签约): the `signings` import kind through both paths, the admin and the person page,
and the tie they give a facility in the partner API."""

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.roles import roles_sync
from accounts.tests.factories import PersonFactory
from claims.tests.conftest import enrollee, partner
from claims.tests.factories import FacilityFactory
from clearing.models import Signing
from core.imports import import_file
from core.tests.test_imports_common import expect_rejected, import_both_ways, make_regions, run_import, write_csv

D = datetime.date


@pytest.fixture
def registry(db):
    make_regions()
    PersonFactory(psn_no="P1")
    PersonFactory(psn_no="P2")
    FacilityFactory(fixmedins_code="H1", hosp_lv="1")
    FacilityFactory(fixmedins_code="H2", hosp_lv="1")
    FacilityFactory(fixmedins_code="PH1", fixmedins_type="2", hosp_lv="")


def row(psn_no: str, code: str, begndate: str, enddate: str = "") -> dict[str, str]:
    return {"psn_no": psn_no, "fixmedins_code": code, "begndate": begndate, "enddate": enddate}


def signings() -> list[tuple]:
    return sorted(Signing.objects.values_list("person__psn_no", "facility__fixmedins_code", "begndate", "enddate"))


def test_import_creates_updates_and_moves_people(registry, tmp_path):
    path = write_csv(tmp_path / "s.csv", "signings", [row("P1", "H1", "2024-01-01"), row("P2", "H1", "2024-03-01")])
    assert run_import("signings", path) == (0, ["signings: created 2, updated 0, unchanged 0"])
    assert run_import("signings", path) == (0, ["signings: created 0, updated 0, unchanged 2"])
    # P1 moves to H2 from 2025-01-01: the row ending the old signing comes first.
    path = write_csv(tmp_path / "s.csv", "signings", [row("P1", "H1", "2024-01-01", "2024-12-31"),
                                                      row("P1", "H2", "2025-01-01")])
    assert run_import("signings", path) == (0, ["signings: created 1, updated 1, unchanged 0"])
    assert signings() == [("P1", "H1", D(2024, 1, 1), D(2024, 12, 31)), ("P1", "H2", D(2025, 1, 1), None),
                          ("P2", "H1", D(2024, 3, 1), None)]
    assert Signing.objects.get(facility__fixmedins_code="H1", person__psn_no="P1").history.count() == 2


def test_the_set_based_writer_matches_the_row_by_row_path(registry, tmp_path):
    Signing.objects.create(person=PersonFactory(psn_no="P3"), facility=FacilityFactory(fixmedins_code="H3"),
                           begndate=D(2023, 1, 1))
    path = write_csv(tmp_path / "s.csv", "signings", [row("P3", "H3", "2023-01-01", "2023-06-30"),
                                                      row("P1", "H1", "2024-01-01"), row("P2", "H2", "2024-01-01")])
    rowwise, setwise = import_both_ways("signings", path, signings)
    assert rowwise == setwise
    assert setwise[0] == ([], 2, 1, 0)


def test_bad_rows(registry, tmp_path):
    Signing.objects.create(person_id=PersonFactory(psn_no="P9").pk, facility=FacilityFactory(fixmedins_code="H9"),
                           begndate=D(2024, 1, 1))
    path = write_csv(tmp_path / "s.csv", "signings", [
        row("P1", "H1", "2024-01-01"), row("P404", "H404", "2024-01-01"), row("P2", "PH1", "2024-01-01"),
        row("P2", "H1", "2024-05-01", "2024-04-30"), row("P1", "H1", "2024-01-01"),
        row("P1", "H2", "2024-06-01"), row("P9", "H1", "2024-02-01")])
    expect_rejected("signings", path, [
        "row 3, column psn_no: no person has the number P404",
        "row 3, column fixmedins_code: no facility has the code H404",
        "row 4, column fixmedins_code: PH1 is a pharmacy: enrollees sign with a medical institution",
        "row 5, column enddate: the end date 2024-04-30 is before the start date 2024-05-01",
        "row 6, column psn_no: psn_no P1, fixmedins_code H1, begndate 2024-01-01 is already in row 2 of this file",
        "row 7, column begndate: P1 is signed with another facility from 2024-01-01 to open; end that signing first "
        "(in a row before this one)",
        "row 8, column begndate: P9 is signed with another facility from 2024-01-01 to open; end that signing first "
        "(in a row before this one)",
    ])
    assert Signing.objects.count() == 1


def test_an_import_job_imports_signings(registry, tmp_path):
    path = write_csv(tmp_path / "s.csv", "signings", [row("P1", "H1", "2024-01-01")])
    outcome = import_file("signings", path, dry_run=False)
    assert (outcome.errors, outcome.created) == ([], 1)


def test_one_facility_at_a_time_in_the_admin_too(registry):
    Signing.objects.create(person=PersonFactory(psn_no="P5"), facility=FacilityFactory(fixmedins_code="H5"),
                           begndate=D(2024, 1, 1), enddate=D(2024, 6, 30))
    person = Signing.objects.get().person
    other = Signing(person=person, facility=FacilityFactory(fixmedins_code="H6"), begndate=D(2024, 6, 30))
    with pytest.raises(ValidationError, match="one facility at a time"):
        other.full_clean()
    Signing(person=person, facility=other.facility, begndate=D(2024, 7, 1)).full_clean()


@pytest.fixture
def clerk(db) -> Client:
    roles_sync()
    user = User.objects.create_user("clerk", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="registry_clerk"))
    client = Client()
    client.force_login(user)
    return client


def test_admin_list_and_the_person_page(registry, clerk, django_assert_max_num_queries):
    person = PersonFactory(psn_no="P7")
    for _n in range(5):
        Signing.objects.create(person=PersonFactory(), facility=FacilityFactory(), begndate=D(2024, 1, 1))
    Signing.objects.create(person=person, facility=FacilityFactory(fixmedins_code="H77"), begndate=D(2024, 2, 1))
    with django_assert_max_num_queries(10):
        page = clerk.get(reverse("admin:clearing_signing_changelist"))
    assert page.status_code == 200 and "H77" in page.content.decode()
    person_page = clerk.get(reverse("admin:accounts_person_change", args=[person.pk])).content.decode()
    assert 'name="signings-TOTAL_FORMS"' in person_page and "2024-02-01" in person_page


def test_a_signing_valid_today_ties_the_person_to_the_facility(world, api_today):
    person = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    h1, h2 = world["facilities"]["JN1"], world["facilities"]["JN2"]
    Signing.objects.create(person=person, facility=h1, begndate=D(2025, 1, 1))
    Signing.objects.create(person=person, facility=h2, begndate=D(2024, 1, 1), enddate=D(2024, 12, 31))
    assert partner(h1).get(f"/api/v1/persons/{person.psn_no}/").status_code == 200
    ended = partner(h2).get(f"/api/v1/persons/{person.psn_no}/")
    assert (ended.status_code, ended.json()["err_code"]) == (404, "PERSON_NOT_FOUND")
