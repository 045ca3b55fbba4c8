"""Reads off the primary, against a real streaming replica (DATABASE_REPLICA_URL: in CI the replica
deploy/local_topology.py's pg-up makes of the primary). The replica holds pytest's test database because it
streams the whole primary cluster; `replica_paused()` stops its replay (pg_wal_replay_pause) to make it lag.
These tests commit (transaction=True): an uncommitted write never reaches a replica."""

import datetime
import time

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Employer
from accounts.tests.factories import RegionFactory
from claims.tests.factories import FacilityFactory
from core import replica
from core.replica import PIN_COOKIE, REPLICA, read_alias, replica_scope
from core.tests.replica import REPLICA_TEST, replica_caught_up, replica_paused

pytestmark = REPLICA_TEST


@pytest.fixture
def region():
    return RegionFactory()


def employers() -> set[str]:
    return set(Employer.objects.values_list("emp_no", flat=True))


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.org", "pw-boss-123")
    client.force_login(user)
    client.cookies.pop(PIN_COOKIE, None)
    return client


def test_a_marked_read_goes_to_the_replica_and_everything_that_must_be_fresh_to_the_primary(region):
    Employer.objects.create(emp_no="ER-1001", region=region)
    replica_caught_up()
    assert read_alias() == DEFAULT_DB_ALIAS  # outside a marked view: the primary
    with replica_paused():
        Employer.objects.create(emp_no="ER-1002", region=region)  # committed on the primary, not replayed
        assert employers() == {"ER-1001", "ER-1002"}
        with replica_scope():
            assert read_alias() == REPLICA
            assert employers() == {"ER-1001"}  # the lagging replica
            with transaction.atomic():  # inside a transaction: the primary
                assert read_alias() == DEFAULT_DB_ALIAS
                assert employers() == {"ER-1001", "ER-1002"}
            assert Employer.objects.all().db == REPLICA
            assert Employer.objects.select_for_update().db == DEFAULT_DB_ALIAS  # a lock is routed as a write...
            assert employers() == {"ER-1001", "ER-1002"}  # ...and pins what follows to the primary
        with replica_scope():
            assert employers() == {"ER-1001"}  # a new scope is not pinned
            Employer.objects.create(emp_no="ER-1003", region=region)  # this request wrote: pinned from now on
            assert read_alias() == DEFAULT_DB_ALIAS
            assert employers() == {"ER-1001", "ER-1002", "ER-1003"}
    with replica_scope():
        assert read_alias() == REPLICA
        assert employers() == {"ER-1001", "ER-1002", "ER-1003"}  # replayed


def test_an_admin_list_reads_the_lagging_replica_unless_the_browser_just_wrote(staff, region):
    Employer.objects.create(emp_no="ER-1001", region=region)
    changelist = reverse("admin:accounts_employer_changelist")
    replica_caught_up()
    with replica_paused():
        Employer.objects.create(emp_no="ER-1002", region=region)  # someone else's write, not yet on the replica
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            page = staff.get(changelist)
        assert page.status_code == 200
        assert "ER-1001" in page.content.decode() and "ER-1002" not in page.content.decode()
        assert any("accounts_employer" in q["sql"] for q in on_replica.captured_queries)
        assert PIN_COOKIE not in page.cookies  # a read pins nothing

        # The clerk adds an employer: the request wrote, so the answer pins the browser to the primary...
        added = staff.post(reverse("admin:accounts_employer_add"),
                           {"emp_no": "ER-1003", "emp_name": "三号单位", "region": region.pk})
        assert added.status_code == 302, added.content.decode()[:2000]
        pin = added.cookies[PIN_COOKIE]
        assert int(pin["max-age"]) == 10 and float(pin.value) > time.time()
        # ...and the list it returns to shows the new row (and the other write), read from the primary.
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            page = staff.get(changelist)
        content = page.content.decode()
        assert "ER-1003" in content and "ER-1002" in content
        assert not on_replica.captured_queries

        # The pin's end has passed (the cookie outlived it): the replica again.
        staff.cookies[PIN_COOKIE] = f"{time.time() - 1:.0f}"
        assert "ER-1003" not in staff.get(changelist).content.decode()

        # Not an admin page marked as reading the replica: the change form reads the primary.
        e2 = Employer.objects.get(emp_no="ER-1002")
        assert staff.get(reverse("admin:accounts_employer_change", args=[e2.pk])).status_code == 200
    assert "ER-1003" in staff.get(changelist).content.decode()


def test_report_pages_and_their_exports_read_the_replica(staff):
    month = f"{datetime.date.today():%Y-%m}"
    page = reverse("admin:reports_fundexpenditure_changelist") + f"?month_from={month}&month_to={month}"
    checks = [page, f"{page}&format=csv", f"{page}&format=xlsx",
              f"/api/v1/reports/expenditure/?month_from={month}&month_to={month}",
              reverse("admin:accounts_person_changelist"), reverse("admin:claims_settlement_changelist")]
    for url in checks:
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            answer = staff.get(url)
        assert answer.status_code == 200, (url, answer.content[:500])
        assert on_replica.captured_queries, url


def test_an_admin_export_reads_the_replica(staff):
    FacilityFactory(fixmedins_code="H-BEFORE")
    export = reverse("admin:claims_facility_export")
    form = staff.get(export).context["form"]
    data = {"format": "0", **{name: "on" for name, f in form.fields.items() if isinstance(f, forms.BooleanField)}}
    replica_caught_up()
    with replica_paused():
        FacilityFactory(fixmedins_code="H-AFTER")  # not on the paused replica
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            exported = staff.post(export, data)
    assert exported.status_code == 200 and exported["Content-Disposition"].startswith("attachment")
    content = exported.content.decode("utf-8-sig")
    assert "H-BEFORE" in content and "H-AFTER" not in content
    assert any("claims_facility" in q["sql"] for q in on_replica.captured_queries)


def test_an_unreachable_replica_sends_the_reads_to_the_primary(monkeypatch, region):
    Employer.objects.create(emp_no="ER-1001", region=region)
    settings_dict = connections[REPLICA].settings_dict
    connections[REPLICA].close()
    monkeypatch.setitem(settings_dict, "PORT", "1")  # nothing listens there
    monkeypatch.setitem(settings_dict["OPTIONS"], "connect_timeout", 2)
    monkeypatch.setattr(replica, "_replica_down_until", 0.0)
    try:
        with replica_scope():
            assert read_alias() == DEFAULT_DB_ALIAS
            assert employers() == {"ER-1001"}
            assert replica._replica_down_until > time.monotonic()  # not tried again on every read
    finally:
        connections[REPLICA].close()
        replica._replica_down_until = 0.0
