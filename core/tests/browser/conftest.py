"""Browser journeys: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Every test module here is marked `browser` (the root conftest skips them outside CI when there is no Chromium,
and stops a CI run without one). Pages open in Chinese (the browser's language zh-CN, time zone Asia/Shanghai) at
1366×768; `shoot` writes a full-page screenshot of the page at 1366×768 and at 1920×1080 to SCREENSHOTS_DIR
(`test-artifacts/screenshots/` unless BROWSER_SCREENSHOTS_DIR says otherwise), kept as CI output.
"""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from accounts.roles import roles_sync
from conftest import CHROMIUM_PATH

SCREENSHOTS_DIR = Path(os.environ.get("BROWSER_SCREENSHOTS_DIR",
                                      Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"))
SIZES = ((1366, 768), (1920, 1080))
PASSWORD = "a-browser-journey-2026"
# The flags a headless Chromium needs on a machine without a network or a sandbox of its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def playwright_running() -> Iterator[Playwright]:
    """Playwright's sync API runs an event loop in this thread for as long as it is started, and Django refuses
    database calls from a thread with a running loop: DJANGO_ALLOW_ASYNC_UNSAFE lifts that while it runs."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    runner = sync_playwright().start()
    try:
        yield runner
    finally:
        runner.stop()
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="session")
def chromium(playwright_running: Playwright) -> Iterator[Browser]:
    browser = playwright_running.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def context(chromium: Browser, live_server: object) -> Iterator[BrowserContext]:
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                   viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A page that fails its test on any uncaught JavaScript error."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def roles(transactional_db: None) -> None:
    roles_sync()


def staff_user(username: str, role: str | None = None, *, superuser: bool = False) -> User:
    """A staff login with PASSWORD, in one of accounts.roles' groups (or a superuser)."""
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True, is_superuser=superuser)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def login_as(context: BrowserContext, live_server: object) -> Callable[[User], None]:
    """Give the browser a user's session without the login form (the login journey goes through the form)."""

    def login(user: User) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])

    return login


def shoot(page: Page, name: str) -> list[Path]:
    """Full-page screenshots of the page as it is, at 1366×768 and at 1920×1080; the viewport is put back."""
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    paths = []
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        path = SCREENSHOTS_DIR / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}-{width}x{height}.png"
        page.screenshot(path=path, full_page=True)
        paths.append(path)
    page.set_viewport_size(before)
    return paths


def overflowing_columns(page: Page, table: str = "#result_list") -> list[str]:
    """Headers of the table's columns that end beyond the right edge of the window (hidden or to be scrolled to)."""
    return page.eval_on_selector_all(
        f"{table} thead th",
        "ths => ths.filter(th => th.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(th => th.innerText.trim())")
