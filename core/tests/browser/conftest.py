"""Browser journeys: Playwright (sync API) driving Debian's Chromium against one live server.

Every test module here is marked `browser` (the root conftest skips them outside CI when there is no Chromium,
and stops a CI run without one). The browser asks for English (Accept-Language en-US, time zone Asia/Shanghai)
and the server has the production default language (zh-hans; the test settings read English): every page opens in
Chinese, since Chinese is the default unless the user chose English with the switch. Pages open at 1366×768;
`shoot` writes a full-page screenshot of the page at 1366×768 and at 1920×1080 to SCREENSHOTS_DIR
(`test-artifacts/screenshots/` unless BROWSER_SCREENSHOTS_DIR says otherwise), kept as CI output.

To keep the suite quick, one browser, one live server and one set of data serve the whole session: the demo data
(`seed_demo`, small) is made once, committed, before the first journey, and emptied after the last. The journeys
therefore take no `django_db` mark (pytest-django runs tests without one after all others, so no other test sees
the data); each may read and write the database (autouse `_browser_db`), and each makes what it changes itself
(its own person, draft or file) so that the order they run in does not matter. A test that does take a
transactional mark empties the database when it ends: the next journey seeds it again.
"""

import io
import os
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client, override_settings
from django.test.utils import setup_databases, teardown_databases
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from pytest_django.fixtures import _get_databases_for_setup
from pytest_django.live_server_helper import LiveServer

from accounts.models import Enrollment, InsuStatus, InsuType, LedgerEntry
from accounts.roles import roles_sync
from claims.errors import ClaimError
from claims.models import Facility
from claims.services import settlement_create
from conftest import CHROMIUM_PATH
from core.management.commands.seed_demo import DEMO_PASSWORD
from core.replica import REPLICA

SCREENSHOTS_DIR = Path(os.environ.get("BROWSER_SCREENSHOTS_DIR",
                                      Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"))
SIZES = ((1366, 768), (1920, 1080))
PASSWORD = "a-browser-journey-2026"
# seed_demo's logins (password DEMO_PASSWORD), one per role.
DEMO_LOGINS = {"registry_clerk": "clerk", "account_officer": "officer", "money_approver": "approver",
               "policy_manager": "policy", "settlement_auditor": "auditor", "supervisor": "supervisor",
               "clearing_officer": "clearing", "read_only": "reader", "superuser": "admin"}
# Small: the journeys need a few of everything, not volume.
DEMO_SIZE = {"enrollees": 200, "settlements": 40}
# The flags a headless Chromium needs on a machine without a network or a sandbox of its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"]

__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "PASSWORD", "SIZES", "overflowing_columns", "replica_caught_up", "shoot",
           "staff_user"]


# --- the data and the server, once a session ------------------------------------------------------------------------

def _seeded() -> bool:
    return User.objects.filter(username=DEMO_LOGINS["superuser"]).exists()


def _seed() -> None:
    roles_sync()
    call_command("seed_demo", stdout=io.StringIO(), **DEMO_SIZE)
    _settle_today()
    replica_caught_up()


# Today's bills (the demo's end in October): a consultation and a CT scan at a level-3 hospital of each region.
TODAYS_BILL = [{"item_code": "XA01AAA001", "qty": Decimal(1), "price": Decimal("25.00")},
               {"item_code": "F00000001203", "qty": Decimal(1), "price": Decimal("260.00")}]
TODAYS_FACILITIES = {"310000": "H31010400003", "370100": "H37010200003"}


def _settle_today(per_region: int = 2) -> None:
    """A few settlements dated today, through the partner API's service, so that the home page has today's figures
    and the reversal and slip journeys settlements of their own."""
    today = timezone.localdate()
    for admdvs, code in TODAYS_FACILITIES.items():
        facility = Facility.objects.get(fixmedins_code=code)
        enrollees = (Enrollment.objects.filter(region__admdvs=admdvs, insutype=InsuType.EMPLOYEE,
                                               psn_insu_stas=InsuStatus.ACTIVE, person__account__isnull=False)
                     .select_related("person").order_by("pk"))
        settled = 0
        for number, enrollment in enumerate(enrollees):
            data = {"medins_setl_id": f"JOURNEY{today:%Y%m%d}{admdvs}{number:03d}",
                    "psn_no": enrollment.person.psn_no, "med_type": "11", "setl_date": today,
                    "acct_used_flag": "1", "items": TODAYS_BILL}
            try:
                settlement_create(facility=facility, data=data)
            except ClaimError:
                continue
            settled += 1
            if settled == per_region:
                break


def _empty() -> None:
    """Flush the database. On SQLite the flush DELETEs row by row, which the ledger's immutability triggers refuse
    (PostgreSQL's TRUNCATE does not fire them): the ledger is emptied first with them lifted."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                           [LedgerEntry._meta.db_table])
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            cursor.execute(f'DELETE FROM "{LedgerEntry._meta.db_table}"')
            for _name, sql in triggers:
                cursor.execute(sql)
    call_command("flush", interactive=False, verbosity=0, database=DEFAULT_DB_ALIAS)


def replica_caught_up() -> None:
    """With a streaming replica (CI), the admin's lists read it: wait until it has what the test thread wrote."""
    if REPLICA in connections.settings:
        from core.tests.replica import replica_caught_up as wait

        wait()


@pytest.fixture(scope="session")
def browser_data(request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: object,
                 django_db_keepdb: bool) -> Iterator[None]:
    """The demo data, made once for the session, emptied at its end.

    pytest-django makes the test database only when a collected test is marked for it: when the journeys run
    alone, they make it here (never the database DATABASE_URL names)."""
    aliases, _serialized = _get_databases_for_setup(request.session.items)
    own = DEFAULT_DB_ALIAS not in aliases
    with django_db_blocker.unblock():
        made = setup_databases(verbosity=0, interactive=False, aliases={DEFAULT_DB_ALIAS},
                               keepdb=django_db_keepdb) if own else None
        if not _seeded():
            _seed()
    yield
    with django_db_blocker.unblock():
        _empty()
        if made is not None and not django_db_keepdb:
            teardown_databases(made, verbosity=0)


@pytest.fixture(autouse=True)
def _office_default_language() -> Iterator[None]:
    """The live server speaks as production does: zh-hans unless the user chose otherwise (office.middleware)."""
    with override_settings(LANGUAGE_CODE="zh-hans"):
        yield


@pytest.fixture(autouse=True)
def _browser_db(browser_data: None, django_db_blocker: object) -> Iterator[None]:
    """Each journey reads and writes the session's data (seeded again if a transactional test emptied it)."""
    with django_db_blocker.unblock():
        if not _seeded():
            _seed()
        yield


@pytest.fixture(scope="session")
def browser_server(browser_data: None, django_db_blocker: object) -> Iterator[LiveServer]:
    """One live server for the session (pytest-django's `live_server` would empty the database after each test)."""
    with django_db_blocker.unblock():
        server = LiveServer("localhost")
    server._live_server_modified_settings.enable()
    try:
        yield server
    finally:
        server._live_server_modified_settings.disable()
        server.stop()


# --- the browser --------------------------------------------------------------------------------------------------

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
def context(chromium: Browser, browser_server: LiveServer) -> Iterator[BrowserContext]:
    """A browser of its own for each test (no cookies of another), on the session's browser and server."""
    context = chromium.new_context(base_url=browser_server.url, locale="en-US", timezone_id="Asia/Shanghai",
                                   viewport={"width": SIZES[0][0], "height": SIZES[0][1]}, accept_downloads=True)
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails its test on any uncaught JavaScript error."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def roles() -> None:
    """The role groups (made with the session's data)."""


def staff_user(username: str, role: str | None = None, *, superuser: bool = False) -> User:
    """A staff login with PASSWORD, in one of accounts.roles' groups (or a superuser); made once a session."""
    user, created = User.objects.get_or_create(username=username,
                                               defaults={"is_staff": True, "is_superuser": superuser})
    if created:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        if role:
            user.groups.add(Group.objects.get(name=role))
    return user


def demo_user(role: str) -> User:
    """seed_demo's login for a role (`superuser` for the administrator)."""
    return User.objects.get(username=DEMO_LOGINS[role])


@pytest.fixture
def login_as(context: BrowserContext, browser_server: LiveServer) -> Callable[[User], None]:
    """Give the browser a user's session without the login form (the login journey goes through the form)."""

    def login(user: User) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.clear_cookies()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value,
                              "url": browser_server.url}])

    return login


# --- looking at pages ---------------------------------------------------------------------------------------------

def shoot(page: Page, name: str) -> list[Path]:
    """Full-page screenshots of the page as it is, at 1366×768 and at 1920×1080; the viewport is put back.
    Each journey's page must fit the window's width at both sizes: none scrolls sideways."""
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    paths = []
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        path = SCREENSHOTS_DIR / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}-{width}x{height}.png"
        page.screenshot(path=path, full_page=True)
        paths.append(path)
        sideways = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert sideways <= 1, f"{name} at {width}: the page scrolls {sideways} px sideways ({path.name})"
    page.set_viewport_size(before)
    return paths


def overflowing_columns(page: Page, table: str = "#result_list") -> list[str]:
    """Headers of the table's columns that end beyond the right edge of the window (hidden or to be scrolled to)."""
    return page.eval_on_selector_all(
        f"{table} thead th",
        "ths => ths.filter(th => th.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(th => th.innerText.trim())")
