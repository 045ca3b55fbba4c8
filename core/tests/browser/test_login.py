"""Journey: a clerk opens the back office, mistypes the password, logs in, and logs out; all in Chinese."""

import pytest
from playwright.sync_api import Page, expect

from core.tests.browser.conftest import DEMO_LOGINS, DEMO_PASSWORD, shoot

pytestmark = pytest.mark.browser


def test_a_clerk_logs_in_after_a_wrong_password_and_logs_out(page: Page) -> None:
    clerk = DEMO_LOGINS["registry_clerk"]
    page.goto("/admin/")
    expect(page).to_have_url("/admin/login/?next=/admin/")
    expect(page.locator("#site-name")).to_have_text("医保经办管理系统")
    shoot(page, "login")

    page.fill("#id_username", clerk)
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_contain_text("请输入一个正确的")
    expect(page.locator("#id_username")).to_have_value(clerk)
    shoot(page, "login-refused")

    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url("/admin/")
    expect(page.locator("#user-tools")).to_contain_text(clerk)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    shoot(page, "home-registry-clerk")

    page.click("#logout-form button")
    expect(page.locator("#content h1")).to_have_text("登出")
    page.goto("/admin/")
    expect(page).to_have_url("/admin/login/?next=/admin/")
