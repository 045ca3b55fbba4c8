"""Suite-wide fixtures and the PostgreSQL / worker / replica gates.

Tests marked `postgres` need row locks and real concurrency, tests marked `worker` a broker in
TEST_CELERY_BROKER_URL, tests marked `replica` a streaming replica of the primary in DATABASE_REPLICA_URL, tests
marked `browser` Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium) driven by Playwright.
Outside CI they skip when those are missing; in CI (CI=true) a missing server or browser stops the run with an
error, so it can never pass by skipping.
"""

import os
from collections.abc import Iterator

import pytest
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
HAS_BROKER = bool(os.environ.get("TEST_CELERY_BROKER_URL"))
HAS_REPLICA = ON_POSTGRES and bool(os.environ.get("DATABASE_REPLICA_URL"))
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
HAS_CHROMIUM = os.access(CHROMIUM_PATH, os.X_OK)


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not (ON_POSTGRES and HAS_BROKER and HAS_REPLICA):
        pytest.exit("CI needs DATABASE_URL on PostgreSQL, DATABASE_REPLICA_URL (its streaming replica) and "
                    "TEST_CELERY_BROKER_URL (see .ci/run)", returncode=1)
    if IN_CI and not HAS_CHROMIUM:
        pytest.exit(f"CI needs Chromium at {CHROMIUM_PATH} for the browser tests (see .ci/run)", returncode=1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if "worker" in item.keywords and not HAS_BROKER:
            item.add_marker(pytest.mark.skip(reason="needs a broker (set TEST_CELERY_BROKER_URL)"))
        if "replica" in item.keywords and not HAS_REPLICA:
            item.add_marker(pytest.mark.skip(reason="needs a streaming replica (set DATABASE_REPLICA_URL)"))
        if "browser" in item.keywords and not HAS_CHROMIUM:
            item.add_marker(pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM_PATH} (apt-get install chromium)"))


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Each test's database starts anew; so must the process-local caches (policy versions, partner tokens)."""
    from core.cache import process_caches_clear

    process_caches_clear()


@pytest.fixture(autouse=True)
def _language_put_back() -> Iterator[None]:
    """A staff page activates the office's language (zh-hans unless the switch's cookie says otherwise) in the
    test's thread and Django leaves it active after the response: put the settings' language back after each test,
    so that a test's messages do not depend on which test ran before it in the same worker."""
    from django.conf import settings
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _one_replica_test_at_a_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """pytest-xdist's workers share the one replica: a test that pauses its replay must not hold up another's."""
    if "replica" not in request.keywords or not HAS_REPLICA:
        yield
        return
    from core.tests.replica import one_replica_test_at_a_time

    with one_replica_test_at_a_time():
        yield
