"""Who may send a message: a partner token, or the x-tif headers signed with one (CONTRACT.md); every refusal is
401 or 403 without an envelope, and nothing is done."""

import hashlib
import io
import time

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command

from claims.models import PartnerToken
from claims.tests.factories import FacilityFactory
from claims.tokens import partner_token_revoke
from gateway.models import Message
from gateway.tests.conftest import Gateway

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]

SIGN_IN = {"signIn": {"opter_no": "OP01"}}


@pytest.fixture(autouse=True)
def _fresh_nonces():
    cache.clear()
    yield
    cache.clear()


def signed(gw: Gateway, *, timestamp: int | None = None, nonce: str = "a1b2c3", token: str | None = None,
           paasid: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = hashlib.sha256(f"{ts}{token or gw.token}{nonce}{ts}".encode()).hexdigest()
    return {"HTTP_X_TIF_PAASID": paasid or gw.facility.fixmedins_code, "HTTP_X_TIF_TIMESTAMP": ts,
            "HTTP_X_TIF_NONCE": nonce, "HTTP_X_TIF_SIGNATURE": signature}


def refused(response, status: int) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert "infcode" not in body and body["err_code"] in ("NOT_AUTHENTICATED", "FORBIDDEN"), body


def test_a_signature_made_with_the_facilitys_token_is_accepted(world):
    gw = Gateway(world["facilities"]["JN1"])
    response = gw.post(gw.envelope("9001", SIGN_IN), **signed(gw))
    assert response.status_code == 200 and response.json()["infcode"] == 0
    assert Message.objects.get().token == gw.token_row
    # Any live token of the facility may sign; uppercase hex is read as well.
    other = Gateway(world["facilities"]["JN1"])
    headers = signed(other, nonce="other")
    headers["HTTP_X_TIF_SIGNATURE"] = headers["HTTP_X_TIF_SIGNATURE"].upper()
    assert other.post(other.envelope("9001", SIGN_IN), **headers).json()["infcode"] == 0


def test_the_token_printed_by_create_partner_token_signs(world):
    out = io.StringIO()
    call_command("create_partner_token", "HJN2", stdout=out)
    gw = Gateway(world["facilities"]["JN2"])
    gw.token = out.getvalue().strip()
    assert gw.post(gw.envelope("9001", SIGN_IN), **signed(gw)).json()["infcode"] == 0
    # Only the seed and the digest are stored: the token itself is nowhere in the database.
    row = PartnerToken.objects.get(prefix=gw.token[:8])
    assert gw.token not in (row.seed, row.digest)


@pytest.mark.parametrize("case", ["wrong signature", "old timestamp", "future timestamp", "another facility's token",
                                  "revoked token", "no signature", "token without a seed", "no credentials",
                                  "bad token"])
def test_bad_credentials_are_401_without_an_envelope(world, case):
    gw = Gateway(world["facilities"]["JN1"])
    headers = signed(gw)
    now = int(time.time())
    if case == "wrong signature":
        headers = signed(gw, token=gw.token + "x")
    elif case == "old timestamp":
        headers = signed(gw, timestamp=now - 301)
    elif case == "future timestamp":
        headers = signed(gw, timestamp=now + 301)
    elif case == "another facility's token":
        theirs = Gateway(world["facilities"]["JN2"])
        headers = signed(gw, token=theirs.token)
    elif case == "revoked token":
        partner_token_revoke(token=gw.token_row)
    elif case == "no signature":
        del headers["HTTP_X_TIF_SIGNATURE"]
    elif case == "token without a seed":  # made before signatures: the Token header only
        PartnerToken.objects.filter(pk=gw.token_row.pk).update(seed="")
        assert gw.post(gw.envelope("9001", SIGN_IN), HTTP_AUTHORIZATION=f"Token {gw.token}").status_code == 200
    elif case == "no credentials":
        headers = {"HTTP_ACCEPT": "application/json"}
    elif case == "bad token":
        headers = {"HTTP_AUTHORIZATION": f"Token {gw.token}x"}
    response = gw.post(gw.envelope("9001", SIGN_IN), **headers)
    refused(response, 401)
    assert response["WWW-Authenticate"] == "Token"
    assert Message.objects.count() == (1 if case == "token without a seed" else 0)


def test_the_clock_window_is_300_seconds_either_way(world):
    gw = Gateway(world["facilities"]["JN1"])
    now = int(time.time())
    for n, ts in enumerate((now - 299, now + 299)):
        assert gw.post(gw.envelope("9001", SIGN_IN), **signed(gw, timestamp=ts, nonce=f"w{n}")).status_code == 200
    refused(gw.post(gw.envelope("9001", SIGN_IN), **signed(gw, timestamp=now - 3600, nonce="w9")), 401)
    # The server's clock is the one that counts: an hour later, a signature of now is an hour old.
    headers = signed(gw, nonce="w10")
    with time_machine.travel("2025-03-20 11:00 +0800", tick=False):
        refused(gw.post(gw.envelope("9001", SIGN_IN), **headers), 401)


def test_a_nonce_is_accepted_once_within_ten_minutes(world):
    gw = Gateway(world["facilities"]["JN1"])
    headers = signed(gw, nonce="once")
    assert gw.post(gw.envelope("9001", SIGN_IN), **headers).status_code == 200
    # The same headers again (a replayed request), and a new signature with the same nonce: refused.
    refused(gw.post(gw.envelope("9001", SIGN_IN), **headers), 401)
    refused(gw.post(gw.envelope("9001", SIGN_IN), **signed(gw, nonce="once", timestamp=int(time.time()) - 1)), 401)
    assert "x-tif-nonce" in gw.post(gw.envelope("9001", SIGN_IN), **headers).json()["err_msg"]
    assert Message.objects.count() == 1
    # Another facility may use the same nonce.
    theirs = Gateway(world["facilities"]["JN2"])
    assert theirs.post(theirs.envelope("9001", SIGN_IN), **signed(theirs, nonce="once")).status_code == 200


def test_another_facilitys_code_is_403_and_nothing_is_done(world):
    gw = Gateway(world["facilities"]["JN1"])
    for headers in (gw.headers(), signed(gw, nonce="n403")):
        response = gw.post(gw.envelope("9001", SIGN_IN, fixmedins_code="HJN2"), **headers)
        refused(response, 403)
        assert "HJN1" in response.json()["err_msg"]
    refused(gw.post({k: v for k, v in gw.envelope("9001", SIGN_IN).items() if k != "fixmedins_code"}), 403)
    # A signature names its facility: JN2's code in x-tif-paasid with JN1's token matches no token of JN2.
    refused(gw.post(gw.envelope("9001", SIGN_IN), **signed(gw, paasid="HJN2", nonce="n2")), 401)
    assert not Message.objects.exists()


def test_a_facility_not_designated_today_is_refused_like_rest(world):
    ended = FacilityFactory(fixmedins_code="HJNEND", hosp_lv="1", region=world["regions"]["370100"],
                            enddate=world["facilities"]["JN1"].begndate.replace(year=2025, month=3, day=19))
    gw = Gateway(ended)
    for headers in (gw.headers(), signed(gw, nonce="ended")):
        response = gw.post(gw.envelope("9001", SIGN_IN), **headers)
        refused(response, 403)
        assert "designated" in response.json()["err_msg"]
    assert not Message.objects.exists()
