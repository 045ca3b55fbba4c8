"""Login throttling (django-axes): five failures lock the username from any address and the address for any
username, a success clears its own failures, the lockout is listed (and lifted) in the admin; partner tokens and
the test client's force_login are untouched. Staff sessions end with the browser, and after eight hours."""

import io

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from claims.tests.conftest import partner
from claims.tests.factories import FacilityFactory
from core.auth import client_ip

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
PASSWORD = "the-right-one-2026"


@pytest.fixture
def staff() -> dict[str, User]:
    return {name: User.objects.create_user(name, password=PASSWORD, is_staff=True) for name in ("clerk", "auditor")}


def _login(username: str, password: str, address: str = "10.0.0.1") -> int:
    response = Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password,
                                                        "next": "/admin/"})
    return response.status_code


def _fail(username: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        assert _login(username, "wrong", address) == 200  # the form again, with its error


def test_five_failures_lock_the_user_out_even_with_the_right_password(staff: dict) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    _fail("clerk", 4)
    assert _login("clerk", PASSWORD) == 302  # four failures: still in, and the success clears them
    _fail("clerk", 4)
    assert _login("clerk", PASSWORD) == 302
    _fail("clerk", 4)
    assert _login("clerk", "wrong") == 429  # the fifth failure locks
    response = Client(REMOTE_ADDR="10.0.0.1").post(LOGIN, {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 429
    assert "Login locked" in response.content.decode() and "15 minutes" in response.content.decode()


def test_the_username_is_locked_from_every_address(staff: dict) -> None:
    for n in range(4):  # one failure from each of five addresses
        _fail("clerk", 1, address=f"10.0.1.{n}")
    assert _login("clerk", "wrong", address="10.0.1.4") == 429
    assert _login("clerk", PASSWORD, address="10.0.9.9") == 429
    assert _login("auditor", PASSWORD, address="10.0.9.9") == 302  # another user from that address is not


def test_the_address_is_locked_for_every_username(staff: dict) -> None:
    for name in ("a", "b", "c", "d"):  # five guessed usernames from one address
        _fail(name, 1, address="10.0.2.1")
    assert _login("e", "wrong", address="10.0.2.1") == 429
    assert _login("auditor", PASSWORD, address="10.0.2.1") == 429
    assert _login("auditor", PASSWORD, address="10.0.2.2") == 302


def test_the_lockout_is_listed_in_the_admin_and_deleting_it_unlocks(staff: dict, admin_client: Client) -> None:
    _fail("clerk", 4, address="10.0.3.1")
    assert _login("clerk", "wrong", address="10.0.3.1") == 429
    attempt = AccessAttempt.objects.get(username="clerk")
    assert attempt.failures_since_start == 5 and attempt.ip_address == "10.0.3.1"

    listing = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "10.0.3.1" in listing.content.decode()
    response = admin_client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert _login("clerk", PASSWORD, address="10.0.3.1") == 302


def test_partner_tokens_and_force_login_are_not_throttled(staff: dict) -> None:
    call_command("seed_policies", stdout=io.StringIO())
    _fail("clerk", 4, address="127.0.0.1")  # the address the test clients use
    assert _login("clerk", "wrong", address="127.0.0.1") == 429
    assert _login("auditor", PASSWORD, address="127.0.0.1") == 429

    api = partner(FacilityFactory(fixmedins_code="H001"))
    response = api.get("/api/v1/policies/", {"admdvs": "310000", "date": "2023-07-01"})
    assert response.status_code == 200 and response.json()["code"] == "SH-2023-07"

    client = Client()
    client.force_login(staff["clerk"])
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize(("proxies", "forwarded", "address"), [
    (0, "203.0.113.9", "127.0.0.1"),  # no proxy: the header is the client's to write, and ignored
    (1, "203.0.113.9", "203.0.113.9"),  # nginx appended what it saw
    (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a forged entry to its left changes nothing
    (2, "198.51.100.7, 10.1.1.1", "198.51.100.7"),
    (1, "", "127.0.0.1"),
])
def test_the_address_counted_is_the_one_the_outermost_proxy_saw(proxies: int, forwarded: str, address: str) -> None:
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(PROXY_COUNT=proxies):
        assert client_ip(request) == address


def test_a_staff_session_ends_with_the_browser_and_after_eight_hours(staff: dict) -> None:
    client = Client()
    response = client.post(LOGIN, {"username": "clerk", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # a browser-session cookie
    assert client.session.get_expiry_age() == 8 * 3600
