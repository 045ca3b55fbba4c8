"""Chinese unless the user chose English: a browser asking for English still gets the office in Chinese; the
language switch (its cookie) decides; the partner API keeps answering in the language its caller's header asks."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def chinese_by_default(settings: object) -> None:
    settings.LANGUAGE_CODE = "zh-hans"  # the production default (the test settings read English)


def test_a_browser_asking_for_english_gets_chinese(chinese_by_default: None, admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:index"), headers={"accept-language": "en-US,en;q=0.9"})
    html = response.content.decode()
    assert 'lang="zh-hans"' in html and "医保经办管理系统" in html and "Medical insurance back office" not in html
    assert response.headers["Content-Language"] == "zh-hans"
    assert "Accept-Language" not in response.headers.get("Vary", "")
    login = Client().get(reverse("admin:login"), headers={"accept-language": "en"}).content.decode()
    assert 'lang="zh-hans"' in login


def test_the_language_switch_turns_it_english_and_back(chinese_by_default: None, admin_client: Client) -> None:
    response = admin_client.post(reverse("set_language"), {"language": "en", "next": reverse("admin:index")},
                                 headers={"accept-language": "zh-CN"})
    assert response.status_code == 302 and admin_client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = admin_client.get(reverse("admin:index"), headers={"accept-language": "zh-CN"}).content.decode()
    assert 'lang="en"' in html and "Medical insurance back office" in html
    admin_client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("admin:index")})
    html = admin_client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()
    assert 'lang="zh-hans"' in html


def test_a_language_the_office_does_not_ship_falls_back_to_chinese(chinese_by_default: None,
                                                                   admin_client: Client) -> None:
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert 'lang="zh-hans"' in admin_client.get(reverse("admin:index")).content.decode()


def test_the_partner_api_answers_in_the_language_its_caller_asks(chinese_by_default: None) -> None:
    client = Client()
    english = client.get("/api/v1/no-such-endpoint/", headers={"accept-language": "en"})
    chinese = client.get("/api/v1/no-such-endpoint/")
    assert english.status_code == chinese.status_code == 404
    assert english.json()["err_code"] == chinese.json()["err_code"]
    assert english.json()["err_msg"] != chinese.json()["err_msg"]
