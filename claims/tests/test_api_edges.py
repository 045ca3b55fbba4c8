"""The partner API's own edges (issue 11, item 9): every error under /api/v1/ is `{err_code, err_msg}` JSON, numbers
and dates are read only in the contract's formats with ASCII digits, money only as strings with at most two decimals,
a retry of a reversed settlement answers its current status, and `setldetail` has one shape whatever paid."""

import pytest

from accounts.tests.factories import PersonFactory
from claims.models import Accumulator, Settlement
from claims.tests.conftest import D, enrollee, fund, partner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]

SETTLEMENTS = "/api/v1/settlements/"


def body(psn_no: str, *items: tuple, medins_setl_id: str = "M1", setl_date: str = "2025-03-10", **extra) -> dict:
    return {"medins_setl_id": medins_setl_id, "psn_no": psn_no, "med_type": "11", "setl_date": setl_date,
            "items": [{"item_code": c, "qty": q, "price": p} for c, q, p in items], **extra}


def error_of(response) -> tuple[int, str]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    answer = response.json()
    assert set(answer) == {"err_code", "err_msg"} and answer["err_msg"], answer
    return response.status_code, answer["err_code"]


@pytest.fixture
def jinan(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="500.00")
    return p


# --- every error is JSON -----------------------------------------------------------------------------------------

def test_a_body_of_10_mb_is_a_json_400(world):
    api = partner(world["facilities"]["JN1"])
    big = b'{"medins_setl_id": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    for path in (SETTLEMENTS, f"{SETTLEMENTS}preview/", "/api/v1/persons/lookup/"):
        assert error_of(api.generic("POST", path, big, content_type="application/json")) == (400, "INVALID_REQUEST")
        form = api.generic("POST", path, b"a=" + b"x" * (10 * 1024 * 1024),
                           content_type="application/x-www-form-urlencoded")
        assert error_of(form) == (400, "INVALID_REQUEST")
    assert not Settlement.objects.exists()


def test_more_than_1000_form_fields_is_a_json_400(world):
    api = partner(world["facilities"]["JN1"])
    fields = {f"f{i}": "1" for i in range(1500)}
    urlencoded = "&".join(f"{k}={v}" for k, v in fields.items()).encode()
    response = api.generic("POST", SETTLEMENTS, urlencoded, content_type="application/x-www-form-urlencoded")
    assert error_of(response) == (400, "INVALID_REQUEST")
    # The partner API reads JSON only: a form is refused before any of its fields is read.
    assert "must be JSON" in response.json()["err_msg"]
    assert error_of(api.post(SETTLEMENTS, fields)) == (400, "INVALID_REQUEST")  # multipart


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/settlements/x/y/z/", "/api/v1/persons/", "/api/v1/",
                                  "/api/v2/settlements/"])
def test_an_unknown_path_under_the_api_is_a_json_404(world, path):
    api = partner(world["facilities"]["JN1"])
    for response in (api.get(path), api.post(path, {}, format="json"), api.delete(path)):
        assert error_of(response) == (404, "NOT_FOUND")


def test_a_method_not_allowed_is_a_json_405(world):
    api = partner(world["facilities"]["JN1"])
    response = api.delete(SETTLEMENTS)
    assert error_of(response) == (405, "METHOD_NOT_ALLOWED") and "GET" in response["Allow"]
    assert error_of(api.put(f"{SETTLEMENTS}preview/", {}, format="json")) == (405, "METHOD_NOT_ALLOWED")


def test_a_bad_host_is_a_json_400_under_the_api_only(world, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    api = partner(world["facilities"]["JN1"])
    assert error_of(api.get(SETTLEMENTS, HTTP_HOST="evil.example")) == (400, "INVALID_REQUEST")
    # The admin keeps Django's own pages.
    assert not api.get("/admin/", HTTP_HOST="evil.example")["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("raw", [b"{", b'{"items": [', b"\xff", b"{'single': 1}"])
def test_parse_errors_are_json_400(world, raw):
    api = partner(world["facilities"]["JN1"])
    response = api.generic("POST", SETTLEMENTS, raw, content_type="application/json")
    assert error_of(response) == (400, "INVALID_REQUEST")


# --- contract formats, ASCII digits only ---------------------------------------------------------------------------

ARABIC_INDIC_2 = "\u0662"  # ٢
FULLWIDTH_2 = "\uff12"  # ２


@pytest.mark.parametrize(("field", "line_or_change"), [
    ("qty", ("A50", "1_000", "1.00")),
    ("qty", ("A50", ARABIC_INDIC_2, "1.00")),
    ("qty", ("A50", FULLWIDTH_2, "1.00")),
    ("qty", ("A50", "+2", "1.00")),
    ("qty", ("A50", " 2", "1.00")),
    ("qty", ("A50", "2e0", "1.00")),
    ("qty", ("A50", True, "1.00")),
    ("price", ("A50", "1", "1_000")),
    ("price", ("A50", "1", f"1{ARABIC_INDIC_2}.00")),
    ("price", ("A50", "1", f"{FULLWIDTH_2}0.00")),
    ("price", ("A50", "1", "12.345")),  # money has at most two decimals
    ("price", ("A50", "1", 12.5)),  # money is a string, never a JSON number
    ("price", ("A50", "1", 12)),
    ("price", ("A50", "1", "12.")),
    ("price", ("A50", "1", ".5")),
    ("setl_date", {"setl_date": "2025-3-10"}),
    ("setl_date", {"setl_date": "2025-03-1"}),
    ("setl_date", {"setl_date": f"2025-03-1{FULLWIDTH_2}"}),
    ("setl_date", {"setl_date": f"{ARABIC_INDIC_2}025-03-10"}),
    ("setl_date", {"setl_date": "2025-03-10 "}),
    ("setl_date", {"setl_date": "2025-02-30"}),
])
def test_numbers_and_dates_only_in_the_contracts_formats(world, jinan, field, line_or_change):
    api = partner(world["facilities"]["JN1"], jinan)
    if isinstance(line_or_change, dict):
        data = {**body(jinan.psn_no, ("A50", "1", "1.00")), **line_or_change}
    else:
        data = body(jinan.psn_no, line_or_change)
    for path in (SETTLEMENTS, f"{SETTLEMENTS}preview/"):
        response = api.post(path, data, format="json")
        assert error_of(response) == (400, "INVALID_REQUEST")
        assert field in response.json()["err_msg"], response.json()
    assert not Settlement.objects.exists() and not Accumulator.objects.exists()


def test_the_contracts_formats_settle(world, jinan):
    # A50 (limit 50.00): qty as a JSON integer and as a string with a fraction, prices with 0, 1 and 2 decimals:
    # 2 × 10 = 20.00; 0.5 × 10.5 = 5.25; 1 × 0.05 = 0.05; total 25.30, all in scope, under the 200.00 deductible:
    # the account pays it, 500.00 − 25.30 = 474.70.
    api = partner(world["facilities"]["JN1"], jinan)
    response = api.post(SETTLEMENTS, body(jinan.psn_no, ("A50", 2, "10"), ("A50", "0.5", "10.5"),
                                          ("A50", "1", "0.05")), format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["medfee_sumamt"], response.json()["balc"]) == ("25.30", "474.70")


@pytest.mark.parametrize("query", [f"year={FULLWIDTH_2}025", "year=2_025", f"year=202{ARABIC_INDIC_2}", "year=+2025",
                                   "year=25"])
def test_the_accumulators_year_is_four_ascii_digits(world, jinan, query):
    api = partner(world["facilities"]["JN1"], jinan)
    response = api.get(f"/api/v1/persons/{jinan.psn_no}/accumulators/?{query}")
    assert error_of(response) == (400, "INVALID_REQUEST") and "year" in response.json()["err_msg"]
    assert api.get(f"/api/v1/persons/{jinan.psn_no}/accumulators/?year=2025").status_code == 200


@pytest.mark.parametrize("query", ["setl_date_after=2025-3-1", f"setl_date_before=2025-03-{FULLWIDTH_2}0",
                                   "setl_date_after=2025-03-01T00:00"])
def test_the_list_filters_take_contract_dates_only(world, query):
    api = partner(world["facilities"]["JN1"])
    assert error_of(api.get(f"{SETTLEMENTS}?{query}")) == (400, "INVALID_REQUEST")
    assert api.get(f"{SETTLEMENTS}?setl_date_after=2025-03-01&setl_date_before=2025-03-20").status_code == 200


@pytest.mark.parametrize("page", ["", "abc", "1.0", "1_0", f"{FULLWIDTH_2}"])
def test_the_page_number_is_a_whole_number(world, page):
    """DRF read a blank `page=` as page 1 (schemathesis: a schema-violating request accepted); an integer with no
    such page is a 404, as DRF answers it."""
    api = partner(world["facilities"]["JN1"])
    assert error_of(api.get(f"{SETTLEMENTS}?page={page}")) == (400, "INVALID_REQUEST")
    assert api.get(f"{SETTLEMENTS}?page=1").status_code == 200
    for no_such_page in ("0", "-1", "99"):
        assert error_of(api.get(f"{SETTLEMENTS}?page={no_such_page}"))[0] == 404


@pytest.mark.parametrize("query", ["admdvs=370100&date=2025-3-10", f"admdvs=37010{FULLWIDTH_2}&date=2025-03-10",
                                   f"admdvs=370100&date=2025-03-1{ARABIC_INDIC_2}"])
def test_the_policies_query_takes_contract_formats_only(world, query):
    api = partner(world["facilities"]["JN1"])
    assert error_of(api.get(f"/api/v1/policies/?{query}")) == (400, "INVALID_REQUEST")
    assert api.get("/api/v1/policies/?admdvs=370100&date=2025-03-10").status_code == 200


# --- a retry of a reversed settlement; setldetail's shape ---------------------------------------------------------

def test_a_retry_of_a_reversed_settlement_answers_its_current_status(world, jinan):
    api = partner(world["facilities"]["JN1"], jinan)
    data = body(jinan.psn_no, ("C", "1", "12.50"))
    first = api.post(SETTLEMENTS, data, format="json").json()
    assert first["status"] == "settled"
    api.post(f"{SETTLEMENTS}{first['setl_id']}/reversal/", {"reason": "wrong patient"}, format="json")
    retry = api.post(SETTLEMENTS, data, format="json")
    assert retry.status_code == 200
    assert retry.json() == {**first, "status": "reversed"}
    # Nothing was settled again: 500.00 − 12.50 + 12.50.
    assert api.get(f"/api/v1/persons/{jinan.psn_no}/account/").json()["balc"] == "500.00"
    assert Settlement.objects.count() == 1


def test_setldetail_has_one_shape_whatever_paid(world, jinan):
    shanghai = enrollee(world["regions"]["310000"], brdy=D(1980, 1, 1)).person
    nobody = PersonFactory(brdy=D(2015, 6, 1))
    answers = []
    # The pooled fund pays: A50 10 × 50.00 = 500.00 in scope, deductible 200.00, 70% × 300.00 = 210.00.
    answers.append(partner(world["facilities"]["JN1"], jinan).post(
        SETTLEMENTS, body(jinan.psn_no, ("A50", "10", "50.00")), format="json").json())
    # No fund: a pharmacy purchase in Jinan (accounts and cash only), and a person with no insurance.
    answers.append(partner(world["facilities"]["JNP"], jinan).post(
        SETTLEMENTS, {**body(jinan.psn_no, ("C", "1", "3.00"), medins_setl_id="P1"), "med_type": "41"},
        format="json").json())
    answers.append(partner(world["facilities"]["SH1"], nobody).post(
        SETTLEMENTS, body(nobody.psn_no, ("C", "1", "3.00"), medins_setl_id="N1"), format="json").json())
    # Shanghai: the deductible (500.00 for the in-service) takes the whole bill.
    answers.append(partner(world["facilities"]["SH1"], shanghai).post(
        SETTLEMENTS, body(shanghai.psn_no, ("A50", "1", "50.00"), medins_setl_id="S1"), format="json").json())
    details = [[(row["fund_pay_type"], row["fund_payamt"]) for row in a["setldetail"]] for a in answers]
    assert details == [[("310100", "210.00"), ("LOCAL_SUPP", "0.00")],
                       [("310100", "0.00"), ("LOCAL_SUPP", "0.00")],
                       [("310100", "0.00"), ("LOCAL_SUPP", "0.00")],
                       [("310100", "0.00"), ("LOCAL_SUPP", "0.00")]]
    assert all(set(a) == set(answers[0]) for a in answers)


# --- plausibility limits (the version's; seeded 100,000.00 a line, 200,000.00 a bill) ----------------------------

def test_the_9_999_989_999_99_bill_is_refused_as_implausible(world, jinan):
    # The attack of issue 11: one line of 9,999,989,999.99 got 2,000,000,000.00 from the fund. Refused before any
    # lock or write, through preview and settle alike; no settlement, no accumulator, the account untouched.
    api = partner(world["facilities"]["JN1"], jinan)
    for path in (SETTLEMENTS, f"{SETTLEMENTS}preview/"):
        response = api.post(path, body(jinan.psn_no, ("A50", "1", "9999989999.99")), format="json")
        assert error_of(response) == (400, "AMOUNT_IMPLAUSIBLE")
        assert response.json()["err_msg"] == ("line 1 (A50) comes to 9999989999.99, above JN-2024's plausibility "
                                              "limit of 100000.00 a line")
    assert not Settlement.objects.exists() and not Accumulator.objects.exists()
    assert api.get(f"/api/v1/persons/{jinan.psn_no}/account/").json()["balc"] == "500.00"


def test_a_bill_over_the_limit_of_its_lines_together_is_refused(world, jinan):
    # Three lines of 99,999.99 each: every line under 100,000.00, the bill 299,999.97 over 200,000.00.
    api = partner(world["facilities"]["JN1"], jinan)
    response = api.post(SETTLEMENTS, body(jinan.psn_no, *[("C", "1", "99999.99")] * 3), format="json")
    assert error_of(response) == (400, "AMOUNT_IMPLAUSIBLE")
    assert response.json()["err_msg"] == ("the bill comes to 299999.97, above JN-2024's plausibility limit of "
                                          "200000.00 a bill")
    assert not Settlement.objects.exists()


def test_a_bill_at_the_limits_settles(world, jinan):
    # Exactly the limits: two lines of 100,000.00 (qty 2 × 50,000.00 and 1 × 100,000.00), the bill 200,000.00.
    # Class C, out of scope: the account pays its 500.00, cash the other 199,500.00.
    api = partner(world["facilities"]["JN1"], jinan)
    response = api.post(SETTLEMENTS, body(jinan.psn_no, ("C", "2", "50000.00"), ("C", "1", "100000.00")),
                        format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["medfee_sumamt"], response.json()["acct_pay"], response.json()["psn_cash_pay"]) == (
        "200000.00", "500.00", "199500.00")


def test_the_limits_are_the_versions(world, jinan):
    from core.cache import process_caches_clear
    from policies.models import PolicyVersion

    PolicyVersion.objects.filter(code="JN-2024").update(plausible_line_max="10.00", plausible_bill_max="15.00")
    process_caches_clear()  # an UPDATE sends no signal
    api = partner(world["facilities"]["JN1"], jinan)
    assert error_of(api.post(SETTLEMENTS, body(jinan.psn_no, ("C", "1", "10.01")), format="json")) == (
        400, "AMOUNT_IMPLAUSIBLE")
    assert error_of(api.post(SETTLEMENTS, body(jinan.psn_no, ("C", "1", "10.00"), ("C", "1", "5.01")),
                             format="json")) == (400, "AMOUNT_IMPLAUSIBLE")
    assert api.post(SETTLEMENTS, body(jinan.psn_no, ("C", "1", "10.00"), ("C", "1", "5.00")),
                    format="json").status_code == 201


def test_a_person_without_insurance_is_held_to_the_facilitys_regions_limits(world):
    nobody = PersonFactory(brdy=D(2015, 6, 1))
    api = partner(world["facilities"]["SH1"], nobody)
    response = api.post(SETTLEMENTS, body(nobody.psn_no, ("C", "1", "9999989999.99")), format="json")
    assert error_of(response) == (400, "AMOUNT_IMPLAUSIBLE") and "SH-2023-07" in response.json()["err_msg"]
