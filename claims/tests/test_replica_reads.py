"""The settlement path never reads the replica, even while the replica lags (core.replica; against a real
streaming replica, see core/tests/replica.py)."""

import datetime
from decimal import Decimal

import time_machine
from django.db import connections
from django.test.utils import CaptureQueriesContext

from accounts.models import PersonalAccount
from claims.tests.conftest import API_TODAY, enrollee, fund, partner
from core.replica import PIN_COOKIE, REPLICA
from core.tests.replica import REPLICA_TEST, replica_caught_up, replica_paused

pytestmark = REPLICA_TEST


def test_nothing_on_the_settlement_path_reads_the_replica_even_while_it_lags(world):
    with time_machine.travel(API_TODAY, tick=True):
        person = enrollee(world["regions"]["370100"], brdy=datetime.date(1980, 1, 1)).person
        replica_caught_up()
        with replica_paused():
            # Everything below happens after the replica stopped: token, tie, money. A read of the replica would
            # see no token (401), no tie (404) and no account (no account payment).
            fund(person, historical="500.00")
            api = partner(world["facilities"]["JN1"], person)
            body = {"medins_setl_id": "R1", "psn_no": person.psn_no, "med_type": "11", "setl_date": "2025-03-10",
                    "acct_used_flag": "1", "items": [{"item_code": "A50", "qty": "2", "price": "50.00"}]}
            with CaptureQueriesContext(connections[REPLICA]) as on_replica:
                created = api.post("/api/v1/settlements/", body, format="json")
                again = api.post("/api/v1/settlements/", body, format="json")
                account = api.get(f"/api/v1/persons/{person.psn_no}/account/")
                reconciliation = api.get("/api/v1/reconciliation/?month=2025-03")
            assert created.status_code == 201, created.json()
            # Jinan level 1, in-service: 100.00 in scope, all below the 200.00 deductible, so the fund pays 0.00
            # and the account pays all 100.00 of the 500.00 put in while the replica was paused.
            assert (created.json()["acct_pay"], created.json()["balc"]) == ("100.00", "400.00")
            assert again.status_code == 200 and again.json() == created.json()
            assert account.json()["balc"] == "400.00"
            assert reconciliation.json()["setl_cnt"] == 1
            assert PIN_COOKIE not in created.cookies  # partners carry no session: nothing to pin
            assert not on_replica.captured_queries
    assert PersonalAccount.objects.get(person=person).balc_historical == Decimal("400.00")
