"""`settlements/…` of the partner API: preview, settle (idempotent), read, list and reverse, every refusal code,
one facility never seeing another's settlements, bounded list queries and throttling per token. The arithmetic of
each case is in its comments (CONTRACT.md's seeded versions)."""

import os

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import LedgerEntry
from accounts.tests.factories import FamilyLinkFactory, PersonFactory, RegionFactory
from claims.api.throttling import PartnerTokenRateThrottle, redis_client
from claims.models import Accumulator, Settlement
from claims.services import settlement_create
from claims.tests.conftest import D, RecognitionFactory, enrollee, fund, partner, request
from claims.tests.factories import FacilityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]

SETTLEMENTS = "/api/v1/settlements/"


def body(psn_no: str, *items: tuple[str, str, str], medins_setl_id: str = "M1", med_type: str = "11",
         setl_date: str = "2025-03-10", **extra) -> dict:
    """A settlement request as a partner sends it (JSON: numbers as strings, the date as text)."""
    return {"medins_setl_id": medins_setl_id, "psn_no": psn_no, "med_type": med_type, "setl_date": setl_date,
            "items": [{"item_code": c, "qty": q, "price": p} for c, q, p in items], **extra}


# Jinan level 1 (JN1), in-service, 2025-03-10:
#   A50  6 × 55.00 = 330.00: over the 50.00 limit (55 − 50) × 6 = 30.00; in scope 300.00
#   B30  1 × 30.00 =  30.00: over the 28.00 limit 2.00; pre-self-pay (30 − 2) × 10% = 2.80; in scope 25.20
#   C    1 × 12.50 =  12.50: class C, out of scope
#   X99  1 ×  7.30 =   7.30: not in the catalog, class C, out of scope, warned
# Total 379.80 = out of scope 19.80 + over limit 32.00 + pre-self-pay 2.80 + in scope 325.20.
# Level-1 deductible 200.00; fund 70% × (325.20 − 200.00) = 87.64; personal part 379.80 − 87.64 = 292.16, all
# from the 500.00 account (Jinan's account pays out-of-scope cost too); balance after 207.84; cash 0.00.
JINAN_ITEMS = (("A50", "6", "55.00"), ("B30", "1", "30"), ("C", "1", "12.5"), ("X99", "1", "7.30"))
JINAN_ANSWER = {
    "status": "settled", "insutype": "310", "psn_type": "1101", "med_type": "11", "setl_date": "2025-03-10",
    "fixmedins_code": "HJN1", "policy_version": "JN-2024", "medfee_sumamt": "379.80", "fulamt_ownpay_amt": "19.80",
    "overlmt_selfpay": "32.00", "preselfpay_amt": "2.80", "inscp_scp_amt": "325.20", "act_pay_dedc": "200.00",
    "hifp_pay": "87.64", "oth_pay": "0.00", "fund_pay_sumamt": "87.64", "psn_part_amt": "292.16",
    "acct_pay": "292.16", "acct_mulaid_pay": "0.00", "psn_cash_pay": "0.00", "balc": "207.84",
    # Every fund has its row, whatever paid (Jinan has no supplementary fund: 0.00).
    "setldetail": [{"fund_pay_type": "310100", "fund_payamt": "87.64"},
                   {"fund_pay_type": "LOCAL_SUPP", "fund_payamt": "0.00"}],
    "warnings": ["item X99 is not in the catalog: settled as class C (out of scope)"],
}


@pytest.fixture
def jinan(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="500.00")
    return p


def test_settle_answers_201_with_the_contract_numbers_then_get_reads_it(world, jinan):
    api = partner(world["facilities"]["JN1"], jinan)
    created = api.post(SETTLEMENTS, body(jinan.psn_no, *JINAN_ITEMS), format="json")
    assert created.status_code == 201, created.json()
    answer = created.json()
    assert answer == {**JINAN_ANSWER, "setl_id": answer["setl_id"], "medins_setl_id": "M1", "psn_no": jinan.psn_no}
    assert answer["setl_id"].startswith("20250310")
    assert api.get(f"{SETTLEMENTS}{answer['setl_id']}/").json() == answer
    assert api.get(f"/api/v1/persons/{jinan.psn_no}/account/").json()["balc"] == "207.84"


def test_preview_answers_and_saves_nothing(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="80.00")
    entries = LedgerEntry.objects.count()
    response = partner(world["facilities"]["JN2"], p).post(f"{SETTLEMENTS}preview/",
                                                            body(p.psn_no, ("A50", "10", "50")), format="json")
    assert response.status_code == 200, response.json()
    # Jinan level 2: 500.00 in scope, deductible 400.00, fund 60% × 100.00 = 60.00, personal 440.00:
    # 80.00 from the account, 360.00 cash, balance 0.00.
    answer = response.json()
    assert (answer["setl_id"], answer["status"], answer["medfee_sumamt"], answer["act_pay_dedc"], answer["hifp_pay"],
            answer["psn_part_amt"], answer["acct_pay"], answer["psn_cash_pay"], answer["balc"]) == (
        "", "preview", "500.00", "400.00", "60.00", "440.00", "80.00", "360.00", "0.00")
    assert not Settlement.objects.exists() and not Accumulator.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_a_retry_answers_200_with_the_first_answer_and_another_body_409(world, jinan):
    api = partner(world["facilities"]["JN1"], jinan)
    first = api.post(SETTLEMENTS, body(jinan.psn_no, *JINAN_ITEMS), format="json").json()
    # The same request with numbers written otherwise, keys in another order and the defaults spelled out.
    # (Money is always a string, CONTRACT.md.)
    same = {"items": [{"price": "55.0", "qty": "6.000", "item_code": "A50"},
                      {"item_code": "B30", "qty": 1, "price": "30"},
                      {"item_code": "C", "qty": "1", "price": "12.50"}, {"item_code": "X99", "qty": 1, "price": "7.3"}],
            "setl_date": "2025-03-10", "med_type": "11", "psn_no": jinan.psn_no, "medins_setl_id": "M1",
            "ext_rx": False, "acct_used_flag": "1", "dise_codg": ""}
    retry = api.post(SETTLEMENTS, same, format="json")
    assert retry.status_code == 200 and retry.json() == first
    other = api.post(SETTLEMENTS, body(jinan.psn_no, ("A50", "7", "55.00")), format="json")
    assert other.status_code == 409 and other.json()["err_code"] == "IDEMPOTENCY_CONFLICT"
    assert Settlement.objects.count() == 1
    assert api.get(f"/api/v1/persons/{jinan.psn_no}/account/").json()["balc"] == "207.84"
    # Another facility may use the same medins_setl_id: the key is the facility's.
    assert partner(world["facilities"]["JN2"], jinan).post(SETTLEMENTS, body(jinan.psn_no, ("C", "1", "1")),
                                                    format="json").status_code == 201


def test_reversal_restores_and_answers_the_same_twice(world, jinan):
    api = partner(world["facilities"]["JN1"], jinan)
    answer = api.post(SETTLEMENTS, body(jinan.psn_no, *JINAN_ITEMS), format="json").json()
    url = f"{SETTLEMENTS}{answer['setl_id']}/reversal/"
    first = api.post(url, {"reason": "patient left before the dispensary"}, format="json")
    assert first.status_code == 200 and first.json() == {**answer, "status": "reversed"}
    again = api.post(url, {"reason": "again"}, format="json")
    assert again.status_code == 200 and again.json() == first.json()
    # 207.84 + 292.16 back = 500.00; the deductible and fund counters back to zero.
    assert api.get(f"/api/v1/persons/{jinan.psn_no}/account/").json()["balc"] == "500.00"
    assert api.get(f"/api/v1/persons/{jinan.psn_no}/accumulators/", {"year": 2025}).json()["buckets"] == [
        {"bucket": "general", "dedc_used": "0.00", "hifp_paid": "0.00"}]
    assert api.get(f"{SETTLEMENTS}{answer['setl_id']}/").json()["status"] == "reversed"
    # The partner token that reversed it is the actor on record.
    reversed_ = Settlement.objects.get(setl_id=answer["setl_id"])
    assert reversed_.reversed_by_token.facility == world["facilities"]["JN1"] and reversed_.reversed_by is None
    missing_reason = api.post(url, {}, format="json")
    assert missing_reason.status_code == 400 and "reason" in missing_reason.json()["err_msg"]


def test_another_facility_sees_nothing_of_the_first(world, jinan):
    mine, theirs = partner(world["facilities"]["JN1"], jinan), partner(world["facilities"]["JN2"])
    setl_id = mine.post(SETTLEMENTS, body(jinan.psn_no, *JINAN_ITEMS), format="json").json()["setl_id"]
    for response in (theirs.get(f"{SETTLEMENTS}{setl_id}/"),
                     theirs.post(f"{SETTLEMENTS}{setl_id}/reversal/", {"reason": "not mine"}, format="json")):
        assert response.status_code == 404 and response.json()["err_code"] == "SETTLEMENT_NOT_FOUND"
    assert theirs.get(SETTLEMENTS).json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert mine.get(f"{SETTLEMENTS}{setl_id}/").json()["status"] == "settled"
    unknown = mine.get(f"{SETTLEMENTS}20250310FFFFFFFFFFFFFFFF/")
    assert unknown.status_code == 404 and unknown.json()["err_code"] == "SETTLEMENT_NOT_FOUND"


def test_list_filters_by_service_date_newest_first_with_the_current_status(world, jinan):
    h1 = world["facilities"]["JN1"]
    ids = {}
    for day in ("2025-03-01", "2025-03-10", "2025-03-20"):
        answer, _ = settlement_create(facility=h1, data=request(jinan.psn_no, ("C", "1", "10"), setl_date=day,
                                                                 medins_setl_id=f"L{day}"))
        ids[day] = answer["setl_id"]
    settlement_create(facility=world["facilities"]["JN2"], data=request(jinan.psn_no, ("C", "1", "10")))
    api = partner(h1)
    listed = api.post(f"{SETTLEMENTS}{ids['2025-03-10']}/reversal/", {"reason": "wrong patient"}, format="json")
    assert listed.status_code == 200
    page = api.get(SETTLEMENTS).json()
    assert page["count"] == 3
    assert [(s["setl_id"], s["status"]) for s in page["results"]] == [
        (ids["2025-03-20"], "settled"), (ids["2025-03-10"], "reversed"), (ids["2025-03-01"], "settled")]
    # C 1 × 10.00: out of scope, the account pays it: 500.00 − 10.00 = 490.00 after the first.
    assert page["results"][2]["medfee_sumamt"] == "10.00" and page["results"][2]["balc"] == "490.00"
    window = api.get(SETTLEMENTS, {"setl_date_after": "2025-03-05", "setl_date_before": "2025-03-10"}).json()
    assert [s["setl_id"] for s in window["results"]] == [ids["2025-03-10"]]
    assert api.get(SETTLEMENTS, {"setl_date_after": "2025-03-21"}).json()["count"] == 0
    bad = api.get(SETTLEMENTS, {"setl_date_after": "March"})
    assert bad.status_code == 400 and bad.json()["err_code"] == "INVALID_REQUEST"
    assert "setl_date" in bad.json()["err_msg"]


def test_the_list_costs_the_same_few_queries_however_long(world, jinan, django_assert_max_num_queries):
    h1 = world["facilities"]["JN1"]
    for n in range(30):
        settlement_create(facility=h1, data=request(jinan.psn_no, ("C", "1", "1"), medins_setl_id=f"Q{n}"))
    api = partner(h1)
    # token, count, page: nothing per settlement.
    with django_assert_max_num_queries(3):
        response = api.get(SETTLEMENTS)
    assert response.json()["count"] == 30 and len(response.json()["results"]) == 30


def test_mutual_aid_through_the_api(world):
    sh = world["regions"]["310000"]
    parent = enrollee(sh, brdy=D(1980, 1, 1)).person
    fund(parent, current="1000.00", historical="60.00")
    child = PersonFactory(brdy=D(2015, 6, 1))
    FamilyLinkFactory(holder=parent, relative=child, relation="child", begndate=D(2022, 7, 1))
    api = partner(world["facilities"]["SH1"], child, parent)
    # The child has no employee insurance: no fund; 2 × 50.00 = 100.00; the parent's historical pocket pays 60.00
    # (Shanghai's mutual aid may not use the current pocket), 40.00 cash.
    answer = api.post(SETTLEMENTS, body(child.psn_no, ("A50", "2", "50"), mulaid_psn_no=parent.psn_no),
                      format="json").json()
    assert (answer["insutype"], answer["policy_version"], answer["fund_pay_sumamt"], answer["acct_pay"],
            answer["acct_mulaid_pay"], answer["psn_cash_pay"], answer["setldetail"]) == (
        "", "", "0.00", "0.00", "60.00", "40.00",
        [{"fund_pay_type": "310100", "fund_payamt": "0.00"}, {"fund_pay_type": "LOCAL_SUPP", "fund_payamt": "0.00"}])
    assert api.get(f"/api/v1/persons/{parent.psn_no}/account/").json()["pockets"] == {
        "current": "1000.00", "historical": "0.00"}


REFUSALS = [
    ("unknown person", "PERSON_NOT_FOUND", 404),
    ("no tie", "PERSON_NOT_FOUND", 404),
    ("not insured", "NOT_INSURED_ON_DATE", 400),
    ("not designated", "FACILITY_NOT_DESIGNATED", 400),
    ("41 at a hospital", "MED_TYPE_NOT_ALLOWED", 400),
    ("11 at a pharmacy without ext_rx", "MED_TYPE_NOT_ALLOWED", 400),
    ("no version in the region", "NO_POLICY_IN_FORCE", 404),
    ("not recognised", "DISEASE_NOT_RECOGNISED", 400),
    ("chronic in Shanghai", "DISEASE_NOT_COVERED", 400),
    ("mutual aid from a stranger", "MULAID_NOT_LINKED", 400),
    ("chronic without a disease", "INVALID_REQUEST", 400),
    ("tomorrow", "SETL_DATE_OUT_OF_RANGE", 400),
    ("31 days ago", "SETL_DATE_OUT_OF_RANGE", 400),
    ("far in the future", "SETL_DATE_OUT_OF_RANGE", 400),
]


@pytest.mark.parametrize("path", [SETTLEMENTS, f"{SETTLEMENTS}preview/"])
@pytest.mark.parametrize(("case", "code", "http_status"), REFUSALS)
def test_refusals_through_the_api(world, path, case, code, http_status):
    # Today is 2025-03-20 (api_today): service dates from 2025-02-18 to 2025-03-20 are in the window.
    p = enrollee(world["regions"]["310000"], brdy=D(1980, 1, 1), enddate=D(2025, 3, 15)).person
    facility, data = world["facilities"]["SH2"], body(p.psn_no, ("A50", "1", "50"))
    if case == "unknown person":
        data["psn_no"] = "NOPE"
    elif case == "not insured":
        data["setl_date"] = "2025-03-16"
    elif case == "not designated":
        # Designated today, not yet on the service date.
        facility = FacilityFactory(fixmedins_code="HSHNEW", hosp_lv="2", region=world["regions"]["310000"],
                                   begndate=D(2025, 3, 11))
    elif case == "41 at a hospital":
        data["med_type"] = "41"
    elif case == "11 at a pharmacy without ext_rx":
        facility = world["facilities"]["SHP"]
    elif case == "no version in the region":
        p = enrollee(RegionFactory(admdvs="320100", name="南京"), brdy=D(1980, 1, 1)).person
        data["psn_no"] = p.psn_no
    elif case == "not recognised":
        p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
        facility, data = world["facilities"]["JN2"], body(p.psn_no, ("A50", "1", "50"), med_type="14",
                                                          dise_codg="M03900")
    elif case == "chronic in Shanghai":
        RecognitionFactory(person=p, disease__opsp_dise_code="M03900", facility=facility, begndate=D(2024, 1, 1))
        data.update(med_type="14", dise_codg="M03900")
    elif case == "mutual aid from a stranger":
        data["mulaid_psn_no"] = PersonFactory().psn_no
    elif case == "chronic without a disease":
        data["med_type"] = "14"
    elif case == "tomorrow":
        data["setl_date"] = "2025-03-21"
    elif case == "31 days ago":
        data["setl_date"] = "2025-02-17"
    elif case == "far in the future":
        data["setl_date"] = "2099-06-01"
    response = partner(facility, *([] if case == "no tie" else [p])).post(path, data, format="json")
    assert (response.status_code, response.json()["err_code"]) == (http_status, code), response.json()
    assert response.json()["err_msg"]
    if code == "INVALID_REQUEST":
        assert "dise_codg" in response.json()["err_msg"]
    if case == "no tie":
        # Exactly the answer for a person who does not exist.
        nobody = partner(facility).post(path, {**data, "psn_no": "P9999999999"}, format="json").json()
        assert response.json()["err_msg"] == nobody["err_msg"].replace("P9999999999", p.psn_no)
    assert not Settlement.objects.exists()
    assert not Accumulator.objects.exists()


def test_the_window_includes_its_first_day_and_today(world, jinan):
    # Today 2025-03-20, SETTLEMENT_BACKDATE_DAYS 30: 2025-02-18 and 2025-03-20 settle; C 1 × 1.00, out of scope,
    # from the account: 500.00 − 1.00 − 1.00 = 498.00.
    api = partner(world["facilities"]["JN1"], jinan)
    for n, day in enumerate(("2025-02-18", "2025-03-20")):
        response = api.post(SETTLEMENTS, body(jinan.psn_no, ("C", "1", "1"), medins_setl_id=f"W{n}", setl_date=day),
                            format="json")
        assert response.status_code == 201, response.json()
    assert api.get(f"/api/v1/persons/{jinan.psn_no}/account/").json()["balc"] == "498.00"


def test_the_window_follows_the_setting(world, jinan, settings):
    settings.SETTLEMENT_BACKDATE_DAYS = 5
    api = partner(world["facilities"]["JN1"], jinan)
    # 2025-03-15 is the first day of a 5-day window ending 2025-03-20; 2025-03-14 is not.
    assert api.post(SETTLEMENTS, body(jinan.psn_no, ("C", "1", "1"), setl_date="2025-03-15"),
                    format="json").status_code == 201
    refused = api.post(SETTLEMENTS, body(jinan.psn_no, ("C", "1", "1"), medins_setl_id="M2", setl_date="2025-03-14"),
                       format="json")
    assert (refused.status_code, refused.json()["err_code"]) == (400, "SETL_DATE_OUT_OF_RANGE")


def test_future_years_cannot_reopen_the_cap(world, jinan):
    # The attack of issue 11: bills dated in later years would each find a fresh annual cap. All refused, and no
    # accumulator row appears for those years.
    api = partner(world["facilities"]["JN1"], jinan)
    for n, day in enumerate(("2030-06-01", "2031-06-01", "2099-06-01")):
        response = api.post(SETTLEMENTS, body(jinan.psn_no, ("A50", "100", "50"), medins_setl_id=f"F{n}",
                                              setl_date=day), format="json")
        assert (response.status_code, response.json()["err_code"]) == (400, "SETL_DATE_OUT_OF_RANGE")
    assert not Accumulator.objects.exists() and not Settlement.objects.exists()


def test_a_retry_after_the_window_moved_on_gets_the_first_answer(world, jinan):
    api = partner(world["facilities"]["JN1"], jinan)
    first = api.post(SETTLEMENTS, body(jinan.psn_no, *JINAN_ITEMS), format="json").json()
    # 2025-03-10 left the window on 2025-04-10 (30 days): a retry then still answers the first answer.
    with time_machine.travel("2025-04-12 09:00 +0800"):
        retry = api.post(SETTLEMENTS, body(jinan.psn_no, *JINAN_ITEMS), format="json")
    assert retry.status_code == 200 and retry.json() == first


def test_a_facility_whose_designation_ended_may_do_nothing(world, jinan):
    ended = FacilityFactory(fixmedins_code="HJNEND", hosp_lv="1", region=world["regions"]["370100"],
                            begndate=D(2020, 1, 1), enddate=D(2025, 3, 19))
    api = partner(ended, jinan)
    for response in (api.get(SETTLEMENTS), api.get(f"/api/v1/persons/{jinan.psn_no}/"),
                     api.post(SETTLEMENTS, body(jinan.psn_no, ("C", "1", "1"), setl_date="2025-03-18"),
                              format="json")):
        assert response.status_code == 403 and response.json()["err_code"] == "FORBIDDEN"
    assert not Settlement.objects.exists()


def test_staff_sessions_and_missing_tokens_are_refused(world, jinan):
    staff = APIClient()
    staff.force_login(get_user_model().objects.create_superuser("root", password="x"))
    for client in (staff, APIClient()):
        assert client.get(SETTLEMENTS).status_code == 403
        response = client.post(SETTLEMENTS, body(jinan.psn_no, *JINAN_ITEMS), format="json")
        assert response.status_code == 403 and set(response.json()) == {"err_code", "err_msg"}
    assert not Settlement.objects.exists()


def test_throttling_is_per_token(world, monkeypatch, settings):
    # SimpleRateThrottle binds its rates when the class is defined, so the setting alone does not reach it.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"partner": "3/min"}}
    monkeypatch.setattr(PartnerTokenRateThrottle, "THROTTLE_RATES", {"partner": "3/min"})
    cache.clear()
    first, second = partner(world["facilities"]["JN1"]), partner(world["facilities"]["JN1"])
    assert [first.get(SETTLEMENTS).status_code for _ in range(3)] == [200, 200, 200]
    throttled = first.get(SETTLEMENTS)
    assert throttled.status_code == 429 and throttled.json()["err_code"] == "THROTTLED"
    assert second.get(SETTLEMENTS).status_code == 200
    cache.clear()


@pytest.mark.worker
def test_throttling_counts_in_redis_as_production_shares_it(world, monkeypatch, settings):
    # Production's cache is Redis (CACHE_URL), shared by the workers; the same counting as below, on it. The
    # Redis server is the worker tests' broker (TEST_CELERY_BROKER_URL), a database of its own.
    server = os.environ["TEST_CELERY_BROKER_URL"].rsplit("/", 1)[0]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"{server}/13"}}
    assert redis_client() is not None  # the Redis client's path, not the generic incr/add
    cache.clear()
    assert partner(world["facilities"]["JN1"]).get(SETTLEMENTS).status_code == 200
    # The window's first request gave its counter an expiry: the window (60 s at 6,000/min) and 5 s more.
    keys = redis_client().keys("*throttle_partner_*")
    assert len(keys) == 1 and 60 < redis_client().ttl(keys[0]) <= 65
    test_throttling_counts_every_request_in_a_window_and_says_when_to_retry(world, monkeypatch)


def test_throttling_counts_every_request_in_a_window_and_says_when_to_retry(world, monkeypatch):
    # 3 a minute: requests 1 to 3 of the minute pass, the 4th is refused with the seconds left of the minute; the
    # next minute starts a new count. The clock is the throttle's own (`timer`).
    monkeypatch.setattr(PartnerTokenRateThrottle, "THROTTLE_RATES", {"partner": "3/min"})
    now = [600.0 * 60 + 45.2]  # 45.2 s into a minute
    monkeypatch.setattr(PartnerTokenRateThrottle, "timer", lambda self: now[0])
    cache.clear()
    client = partner(world["facilities"]["JN1"])
    assert [client.get(SETTLEMENTS).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(SETTLEMENTS)
    assert refused.status_code == 429 and refused["Retry-After"] == "15"  # 60 − 45.2 = 14.8, rounded up
    now[0] += 15
    assert client.get(SETTLEMENTS).status_code == 200
    cache.clear()
