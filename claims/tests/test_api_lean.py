"""The settlement POST's lean path (claims.api.lean) answers exactly as the full path through DRF's view: the same
status, body and headers for a settlement, a retry, a conflict, a refusal, a throttled request, in either language;
and it takes the plain request only."""

import re

import pytest
from django.core.cache import cache

from claims.api import lean
from claims.api.throttling import PartnerTokenRateThrottle
from claims.models import Settlement
from claims.tests.conftest import D, enrollee, fund, partner
from claims.tests.test_api_settlements import JINAN_ITEMS, SETTLEMENTS, body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]

# Headers that differ between any two answers whatever the path.
VARYING = {"Date", "Set-Cookie"}


def _answer(response, psn_no: str) -> tuple[int, str, dict]:  # noqa: ANN001
    """Status, body and headers, with what differs between any two settlements (ids) written alike."""
    text = re.sub(r"\b[0-9]{8}[0-9A-F]{16}\b", "SETL_ID", response.content.decode()).replace(psn_no, "PSN_NO")
    text = re.sub(r"\b([A-Z])[LF]\b", r"\1_", text)  # the medins_setl_id of either path
    return response.status_code, text, {k: v for k, v in response.headers.items() if k not in VARYING}


def _both(monkeypatch, send):  # noqa: ANN001, ANN202
    """`send(suffix)`'s answer by the lean path, then by the full path (the lean path switched off), with the
    number of requests the lean path took."""
    taken = []
    plan = lean.lean_plan

    def spy(request, path):  # noqa: ANN001, ANN202
        found = plan(request, path)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(lean, "lean_plan", spy)
    fast = send("L")
    monkeypatch.setattr(lean, "lean_plan", lambda request, path: None)
    full = send("F")
    return fast, full, sum(taken)


def _jinan(world):  # noqa: ANN001, ANN202
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="500.00")
    return p


@pytest.fixture
def jinan(world):
    return _jinan(world)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_settlement_its_retry_and_a_conflict_answer_as_by_the_view(world, monkeypatch, language):
    people = {"L": _jinan(world), "F": _jinan(world)}  # one each: the first settlement uses the deductible
    api = partner(world["facilities"]["JN1"], *people.values())
    headers = {"HTTP_ACCEPT_LANGUAGE": language}

    def send(suffix: str) -> list:
        jinan = people[suffix]
        first = api.post(SETTLEMENTS, body(jinan.psn_no, *JINAN_ITEMS, medins_setl_id=f"M{suffix}"), format="json",
                         **headers)
        retry = api.post(SETTLEMENTS, body(jinan.psn_no, *JINAN_ITEMS, medins_setl_id=f"M{suffix}"), format="json",
                         **headers)
        conflict = api.post(SETTLEMENTS, body(jinan.psn_no, ("A50", "1", "5"), medins_setl_id=f"M{suffix}"),
                            format="json", **headers)
        refused = api.post(SETTLEMENTS, body(jinan.psn_no, ("A50", "1", "5"), medins_setl_id=f"N{suffix}",
                                             setl_date="2024-01-10"), format="json", **headers)
        return [first, retry, conflict, refused]

    fast, full, taken = _both(monkeypatch, send)
    assert taken == 4
    assert [r.status_code for r in fast] == [201, 200, 409, 400]
    for a, b in zip(fast, full, strict=True):
        assert _answer(a, people["L"].psn_no) == _answer(b, people["F"].psn_no)
    assert fast[1].json() == fast[0].json()
    assert fast[0].json()["psn_part_amt"] == "292.16" and fast[0]["Content-Language"] == language
    assert Settlement.objects.filter(medins_setl_id__in=["ML", "MF"]).count() == 2


def test_a_throttled_settlement_answers_as_by_the_view(world, monkeypatch):
    people = {"L": _jinan(world), "F": _jinan(world)}
    monkeypatch.setattr(PartnerTokenRateThrottle, "THROTTLE_RATES", {"partner": "1/min"})
    monkeypatch.setattr(PartnerTokenRateThrottle, "timer", lambda self: 600.0 * 60 + 45.2)

    def send(suffix: str) -> list:
        cache.clear()
        api = partner(world["facilities"]["JN1"], people[suffix])
        return [api.post(SETTLEMENTS, body(people[suffix].psn_no, ("A50", "1", "5"), medins_setl_id=f"{n}{suffix}"),
                         format="json") for n in "AB"]

    fast, full, taken = _both(monkeypatch, send)
    assert taken == 2
    assert [r.status_code for r in fast] == [201, 429] and fast[1]["Retry-After"] == "15"
    for a, b in zip(fast, full, strict=True):
        assert _answer(a, people["L"].psn_no) == _answer(b, people["F"].psn_no)
    assert Settlement.objects.filter(medins_setl_id__in=["BL", "BF"]).count() == 0
    cache.clear()


def test_only_the_plain_request_takes_the_lean_path(world, jinan, monkeypatch):
    api = partner(world["facilities"]["JN1"], jinan)
    taken = []
    plan = lean.lean_plan
    monkeypatch.setattr(lean, "lean_plan", lambda request, path: taken.append(plan(request, path)) or taken[-1])
    plain = body(jinan.psn_no, ("A50", "1", "5"))
    answers = [
        api.post(SETTLEMENTS, {**plain, "medins_setl_id": "P1"}, format="json"),  # the plain request: lean
        api.post(SETTLEMENTS, {**plain, "medins_setl_id": "P2"}, format="json", HTTP_ACCEPT="text/html"),
        api.post(SETTLEMENTS, {**plain, "medins_setl_id": "P3", "items": "A50"}, format="json"),
        api.post(SETTLEMENTS, "{", content_type="application/json"),
        api.post(f"{SETTLEMENTS}preview/", plain, format="json"),
        # No tie at JN2: lean, and refused by the service as on the full path.
        partner(world["facilities"]["JN2"]).post(SETTLEMENTS, {**plain, "medins_setl_id": "P4"}, format="json"),
    ]
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    answers.append(api.post(SETTLEMENTS, {**plain, "medins_setl_id": "P5"}, format="json"))
    assert [a is not None for a in taken] == [True, False, False, False, False, True, False]
    assert [a.status_code for a in answers] == [201, 201, 400, 400, 200, 404, 403]
    assert answers[3].json()["err_code"] == "INVALID_REQUEST"
    assert answers[5].json()["err_code"] == "PERSON_NOT_FOUND"
