"""`persons/…` of the partner API: lookup by ID card, the person, the account and the accumulators. Money as the
contract writes it (strings with two decimals), ID numbers masked, recognitions of the token's facility only."""

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import EmployerFactory, FamilyLinkFactory, PersonFactory, make_certno
from claims.errors import ClaimError
from claims.models import Accumulator
from claims.services import settlement_create
from claims.tests.conftest import D, RecognitionFactory, enrollee, fund, partner, request

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(world):
    """A Shanghai enrollee with an employer, funds, two family links whose holders may pay (Shanghai employee
    enrollees), two active ones whose holders may not (insured in Jinan; not insured), an ended and a future one,
    and recognitions at SH1 and SH2."""
    sh = world["regions"]["310000"]
    e = enrollee(sh, brdy=D(1980, 1, 1))
    e.employer = EmployerFactory(emp_name="上海某某有限公司", region=sh)
    e.save()
    p = e.person
    fund(p, current="100.00", historical="1000.50")
    spouse, mother = enrollee(sh, brdy=D(1981, 5, 1)).person, enrollee(sh, brdy=D(1955, 5, 1)).person
    old, later, uninsured = (PersonFactory() for _ in range(3))
    faraway = enrollee(world["regions"]["370100"], brdy=D(1978, 5, 1)).person
    FamilyLinkFactory(holder=mother, relative=p, relation="child", begndate=D(2023, 1, 1), order=1)
    FamilyLinkFactory(holder=spouse, relative=p, relation="spouse", begndate=D(2023, 1, 1), order=0)
    FamilyLinkFactory(holder=faraway, relative=p, relation="child", begndate=D(2023, 1, 1), order=2)
    FamilyLinkFactory(holder=uninsured, relative=p, relation="child", begndate=D(2023, 1, 1), order=3)
    FamilyLinkFactory(holder=old, relative=p, relation="spouse", begndate=D(2020, 1, 1), enddate=D(2022, 12, 31))
    FamilyLinkFactory(holder=later, relative=p, relation="child", begndate=D(2099, 1, 1))
    RecognitionFactory(person=p, disease__opsp_dise_code="M03900", facility=world["facilities"]["SH1"],
                       begndate=D(2024, 1, 1), enddate=D(2026, 12, 31))
    RecognitionFactory(person=p, disease__opsp_dise_code="M07803", facility=world["facilities"]["SH2"],
                       begndate=D(2024, 1, 1))
    return {"person": p, "spouse": spouse, "mother": mother}


def expected_person(family) -> dict:
    p = family["person"]
    return {
        "baseinfo": {"psn_no": p.psn_no, "psn_name": p.psn_name, "gend": "1",
                     # Withheld: with the masked certno (digits 7-14 hidden) it would give the whole ID number back.
                     "brdy": None,
                     # Born on 1 January: completed years are the difference of the years.
                     "age": timezone.localdate().year - 1980,
                     "certno": f"310101********{p.certno[-4:]}"},
        # 100.00 current + 1,000.50 historical.
        # Active since it began (the dated status from begndate, 2010-01-01).
        "insuinfo": [{"insutype": "310", "psn_type": "1101", "psn_insu_stas": "1", "insuplc_admdvs": "310000",
                      "emp_name": "上海某某有限公司", "balc": "1100.50", "stas_date": "2010-01-01",
                      "psn_insu_date": "2010-01-01", "paus_insu_date": None,
                      "stas_history": [{"stas_date": "2010-01-01", "psn_insu_stas": "1"}]}],
        # Active links in their order (the spouse's is 0, the mother's 1); the ended and the future one are not,
        # nor those whose holders' accounts may not pay (insured in Jinan: mutual aid stays within one region; not
        # insured at all).
        "mulaid_payers": [{"psn_no": family["spouse"].psn_no, "relation": "spouse"},
                          {"psn_no": family["mother"].psn_no, "relation": "child"}],
        # SH1 sees its own recognition, not SH2's.
        "opsp_recognitions": [{"opsp_dise_code": "M03900", "opsp_dise_name": "高血压", "begndate": "2024-01-01",
                               "enddate": "2026-12-31"}],
    }


def test_lookup_by_id_card_and_get_answer_the_person_with_a_masked_id(world, family):
    api = partner(world["facilities"]["SH1"])
    p = family["person"]
    looked_up = api.post("/api/v1/persons/lookup/", {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno},
                         format="json")
    assert looked_up.status_code == 200, looked_up.json()
    assert looked_up.json() == expected_person(family)
    assert p.certno not in looked_up.content.decode()
    got = api.get(f"/api/v1/persons/{p.psn_no}/")
    assert got.status_code == 200 and got.json() == expected_person(family)
    form = api.post("/api/v1/persons/lookup/", {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno})
    assert form.status_code == 200 and form.json() == expected_person(family)


def test_another_facility_sees_its_own_recognitions_only(world, family):
    # SH2's recognition ties the person to SH2; JN1 has no tie until it looks the person up.
    psn_no = family["person"].psn_no
    body = partner(world["facilities"]["SH2"]).get(f"/api/v1/persons/{psn_no}/").json()
    assert body["opsp_recognitions"] == [{"opsp_dise_code": "M07803", "opsp_dise_name": "血液透析",
                                          "begndate": "2024-01-01", "enddate": None}]
    untied = partner(world["facilities"]["JN1"]).get(f"/api/v1/persons/{psn_no}/")
    assert untied.status_code == 404 and untied.json()["err_code"] == "PERSON_NOT_FOUND"
    body = partner(world["facilities"]["JN1"], family["person"]).get(f"/api/v1/persons/{psn_no}/").json()
    assert body["opsp_recognitions"] == []


def test_person_without_insurance_has_no_insuinfo(world):
    child = PersonFactory(brdy=D(2015, 6, 1), gend="2")
    body = partner(world["facilities"]["SH1"], child).get(f"/api/v1/persons/{child.psn_no}/").json()
    assert body["insuinfo"] == [] and body["mulaid_payers"] == [] and body["baseinfo"]["gend"] == "2"


def test_person_detail_costs_a_fixed_number_of_queries(world, family, django_assert_max_num_queries):
    api = partner(world["facilities"]["SH1"])
    # token, person + account, enrollments, their dated statuses, links, the holders' employee enrollments and
    # their dated statuses (mutual aid's bounds), recognitions, the tie: as many for four links as for none
    with django_assert_max_num_queries(9):
        assert api.get(f"/api/v1/persons/{family['person'].psn_no}/").status_code == 200


def test_lookup_refusals(world):
    api = partner(world["facilities"]["SH1"])
    nobody = make_certno(D(1990, 2, 3), "2")
    unknown = api.post("/api/v1/persons/lookup/", {"mdtrt_cert_type": "02", "mdtrt_cert_no": nobody}, format="json")
    assert unknown.status_code == 404 and unknown.json()["err_code"] == "PERSON_NOT_FOUND"
    other_card = api.post("/api/v1/persons/lookup/", {"mdtrt_cert_type": "03", "mdtrt_cert_no": nobody},
                          format="json")
    assert other_card.status_code == 400 and other_card.json()["err_code"] == "INVALID_REQUEST"
    assert "mdtrt_cert_type" in other_card.json()["err_msg"]
    bad_check_digit = nobody[:17] + ("0" if nobody[17] != "0" else "1")
    bad = api.post("/api/v1/persons/lookup/", {"mdtrt_cert_type": "02", "mdtrt_cert_no": bad_check_digit},
                   format="json")
    # Its shape is right but its check digit is wrong: bad input, 400, saying which digit it should be.
    assert (bad.status_code, bad.json()["err_code"]) == (400, "INVALID_REQUEST")
    assert "mdtrt_cert_no" in bad.json()["err_msg"] and "check digit" in bad.json()["err_msg"]
    short = api.post("/api/v1/persons/lookup/", {"mdtrt_cert_type": "02", "mdtrt_cert_no": nobody[:17]},
                     format="json")
    assert short.status_code == 400 and "mdtrt_cert_no" in short.json()["err_msg"]
    missing = api.get("/api/v1/persons/P404/")
    assert missing.status_code == 404 and missing.json()["err_code"] == "PERSON_NOT_FOUND"


def test_lookup_accepts_a_lower_case_x(world):
    for serial in range(1, 60):
        certno = make_certno(D(1985, 3, 4), serial=serial)
        if certno.endswith("X"):
            break
    assert certno.endswith("X")
    person = PersonFactory(brdy=D(1985, 3, 4), certno=certno)
    body = partner(world["facilities"]["SH1"]).post(
        "/api/v1/persons/lookup/", {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno.lower()}, format="json").json()
    assert body["baseinfo"]["psn_no"] == person.psn_no


def test_account_pockets_and_no_account(world, family):
    nobody = PersonFactory()
    p = family["person"]
    api = partner(world["facilities"]["JN1"], p, nobody)
    assert api.get(f"/api/v1/persons/{p.psn_no}/account/").json() == {
        "psn_no": p.psn_no, "balc": "1100.50", "pockets": {"current": "100.00", "historical": "1000.50"}}
    # A relative without insurance has no personal account.
    no_account = api.get(f"/api/v1/persons/{nobody.psn_no}/account/")
    assert no_account.status_code == 404 and no_account.json()["err_code"] == "NO_ACCOUNT"
    missing = api.get("/api/v1/persons/NOPE/account/")
    assert missing.status_code == 404 and missing.json()["err_code"] == "PERSON_NOT_FOUND"


def test_accumulators_of_the_benefit_year_starting_in_the_year(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    # Jinan level 1, in-service: A50 10 × 50.00 = 500.00 in scope; deductible 200.00; fund 70% × 300.00 = 210.00.
    settlement_create(facility=world["facilities"]["JN1"], data=request(p.psn_no, ("A50", "10", "50")))
    Accumulator.objects.create(person=p, year_start=D(2024, 1, 1), bucket="M03900", dedc_used=0, hifp_paid=12)
    api = partner(world["facilities"]["SH3"], p)
    body = api.get(f"/api/v1/persons/{p.psn_no}/accumulators/", {"year": "2025"}).json()
    assert body == {"psn_no": p.psn_no, "year": 2025,
                    "buckets": [{"bucket": "general", "dedc_used": "200.00", "hifp_paid": "210.00"}]}
    assert api.get(f"/api/v1/persons/{p.psn_no}/accumulators/", {"year": 2024}).json()["buckets"] == [
        {"bucket": "M03900", "dedc_used": "0.00", "hifp_paid": "12.00"}]
    assert api.get(f"/api/v1/persons/{p.psn_no}/accumulators/", {"year": 2023}).json()["buckets"] == []
    for params in ({}, {"year": "twenty"}, {"year": "20250"}, {"year": ""}):
        refused = api.get(f"/api/v1/persons/{p.psn_no}/accumulators/", params)
        assert refused.status_code == 400 and refused.json()["err_code"] == "INVALID_REQUEST"
        assert "year" in refused.json()["err_msg"]
    missing = api.get("/api/v1/persons/NOPE/accumulators/", {"year": 2025})
    assert missing.status_code == 404 and missing.json()["err_code"] == "PERSON_NOT_FOUND"


@pytest.mark.parametrize("path", ["/api/v1/persons/{psn_no}/", "/api/v1/persons/{psn_no}/account/",
                                  "/api/v1/persons/{psn_no}/accumulators/?year=2025"])
def test_staff_sessions_and_missing_or_bad_tokens_are_refused(world, family, path):
    path = path.format(psn_no=family["person"].psn_no)
    staff = APIClient()
    staff.force_login(get_user_model().objects.create_user("clerk", password="x", is_staff=True))
    anonymous = APIClient()
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    for client in (staff, anonymous, forged):
        response = client.get(path)
        assert response.status_code == 403, response.content
        assert set(response.json()) == {"err_code", "err_msg"}
    lookup = staff.post("/api/v1/persons/lookup/", {"mdtrt_cert_type": "02",
                                                    "mdtrt_cert_no": family["person"].certno}, format="json")
    assert lookup.status_code == 403


def test_a_tie_comes_from_a_lookup_for_24_hours_a_settlement_or_a_recognition(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="10.00")
    jn1, jn2, jn3 = (world["facilities"][code] for code in ("JN1", "JN2", "JN3"))
    url = f"/api/v1/persons/{p.psn_no}/"
    api = partner(jn1)
    assert api.get(url).status_code == 404
    # A lookup with the full ID number ties the person for 24 hours, the 24th hour included.
    with time_machine.travel("2025-03-20 08:00 +0800", tick=False):
        assert api.post("/api/v1/persons/lookup/", {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno},
                        format="json").status_code == 200
    with time_machine.travel("2025-03-21 08:00 +0800", tick=False):
        assert api.get(url).status_code == 200
        assert api.get(f"{url}account/").status_code == 200
        assert api.get(f"{url}accumulators/", {"year": 2025}).status_code == 200
    with time_machine.travel("2025-03-21 08:00:01 +0800", tick=False):
        for path in (url, f"{url}account/", f"{url}accumulators/?year=2025"):
            gone = api.get(path)
            assert gone.status_code == 404 and gone.json()["err_code"] == "PERSON_NOT_FOUND"
    # A settlement there in this or the last benefit year ties the person; one before that does not.
    with time_machine.travel("2025-03-20 10:00 +0800"):
        settlement_create(facility=jn2, data=request(p.psn_no, ("C", "1", "1"), setl_date="2024-01-05"))
        assert partner(jn2).get(url).status_code == 200
    with time_machine.travel("2026-01-02 10:00 +0800"):
        assert partner(jn2).get(url).status_code == 404
    # A recognition there, valid now or in the last benefit year.
    RecognitionFactory(person=p, disease__opsp_dise_code="M03900", facility=jn3, begndate=D(2023, 1, 1),
                       enddate=D(2024, 12, 31))
    with time_machine.travel("2025-03-20 10:00 +0800"):
        assert partner(jn3).get(url).status_code == 200
    with time_machine.travel("2026-01-02 10:00 +0800"):
        assert partner(jn3).get(url).status_code == 404


def test_no_tie_answers_exactly_as_nobody(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    api = partner(world["facilities"]["JN1"])
    for path in ("/api/v1/persons/{}/", "/api/v1/persons/{}/account/", "/api/v1/persons/{}/accumulators/?year=2025"):
        real, fake = api.get(path.format(p.psn_no)), api.get(path.format("P0000009999"))
        assert real.status_code == fake.status_code == 404
        assert real.json()["err_msg"] == fake.json()["err_msg"].replace("P0000009999", p.psn_no)


def test_the_person_answers_the_dated_status_on_the_date_asked(world, api_today):
    """The insured status shown is the one in effect on the date asked (today by default: 2025-03-20), from the
    dated history (stas_date), not the status last saved; whose accounts may pay is judged on that date too."""
    jinan = world["regions"]["370100"]
    parent = enrollee(jinan, brdy=D(1985, 1, 1))
    child = PersonFactory(brdy=D(2016, 4, 1))
    FamilyLinkFactory(holder=parent.person, relative=child, relation="child", begndate=D(2024, 1, 1))
    # Suspended from 2025-03-05; active again from 2025-06-01, recorded now (a change dated in the future).
    for status, day in (("2", D(2025, 3, 5)), ("1", D(2025, 6, 1))):
        parent.psn_insu_stas, parent.stas_date = status, day
        parent.save()
    api = partner(world["facilities"]["JN1"], parent.person, child)
    history = [{"stas_date": "2010-01-01", "psn_insu_stas": "1"}, {"stas_date": "2025-03-05", "psn_insu_stas": "2"},
               {"stas_date": "2025-06-01", "psn_insu_stas": "1"}]

    def insuinfo(**query: str) -> dict:
        response = api.get(f"/api/v1/persons/{parent.person.psn_no}/", query)
        assert response.status_code == 200, response.json()
        (row,) = response.json()["insuinfo"]
        assert row["stas_history"] == history and row["psn_insu_date"] == "2010-01-01"
        return {k: row[k] for k in ("psn_insu_stas", "stas_date", "paus_insu_date")}

    def payers(**query: str) -> list:
        return api.get(f"/api/v1/persons/{child.psn_no}/", query).json()["mulaid_payers"]

    # Today, 2025-03-20: suspended since 03-05, though the status last saved is the active one of 06-01.
    assert insuinfo() == {"psn_insu_stas": "2", "stas_date": "2025-03-05", "paus_insu_date": "2025-03-05"}
    assert insuinfo(date="2025-03-04") == {"psn_insu_stas": "1", "stas_date": "2010-01-01", "paus_insu_date": None}
    assert insuinfo(date="2025-06-01") == {"psn_insu_stas": "1", "stas_date": "2025-06-01", "paus_insu_date": None}
    # The parent's account may pay for the child on 03-04 and from 06-01, not while suspended.
    assert payers() == [] and payers(date="2025-03-05") == []
    assert payers(date="2025-03-04") == payers(date="2025-06-01") == [{"psn_no": parent.person.psn_no,
                                                                        "relation": "child"}]
    # A settlement judges the same way: the parent's own visit of 2025-03-10 is refused.
    with pytest.raises(ClaimError) as refused:
        settlement_create(facility=world["facilities"]["JN1"], data=request(parent.person.psn_no, ("A50", "1", "50")))
    assert refused.value.err_code == "NOT_INSURED_ON_DATE"
    for bad in ("2025-3-4", "1899-12-31", "tomorrow"):
        response = api.get(f"/api/v1/persons/{parent.person.psn_no}/", {"date": bad})
        assert response.status_code == 400 and response.json()["err_code"] == "INVALID_REQUEST", bad
