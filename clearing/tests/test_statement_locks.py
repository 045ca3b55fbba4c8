"""A settlement racing the approval of its month's statement, on PostgreSQL (transactions on connections of their
own, held open on purpose). The settlement path reads the statement with a share lock
(`clearing.statements.statement_status_shared`): an approval under way makes a settlement wait and then find the
statement approved (its payment carried to the next statement); a settlement under way makes an approval wait and
then refuse (the month's settlements changed); two settlements of one facility and month do not wait for each
other's lock on the statement. Figures from test_statements' March at JN1: an unsigned enrollee's A50 6 × 50.00 =
300.00 in scope, deductible 200.00, 70% × 100.00 = 70.00 itemised."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from claims.tests.conftest import D, enrollee
from clearing.models import Deduction, Statement
from clearing.statements import (
    ClearingError,
    statement_approve,
    statement_review,
    statement_status_shared,
    statements_build,
)
from clearing.tests.test_statements import MARCH, month, settle  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WAIT = 1.0  # seconds a blocked transaction is given to show that it waits


class Held(threading.Thread):
    """Runs `work()` in a transaction of its own connection, then keeps the transaction open until `release`."""

    def __init__(self, work) -> None:  # noqa: ANN001
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None
        self.done, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.result = self.work()
                self.done.set()
                self.release.wait(30)
        except Exception as e:  # noqa: BLE001  (the test reads it)
            self.error = e
        finally:
            self.done.set()
            connection.close()


class Free(threading.Thread):
    """Runs `work()` on a connection of its own (its own transactions), once."""

    def __init__(self, work) -> None:  # noqa: ANN001
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None

    def run(self) -> None:
        try:
            self.result = self.work()
        except Exception as e:  # noqa: BLE001  (the test reads it)
            self.error = e
        finally:
            connection.close()


@pytest.fixture
def reviewed(month):  # noqa: F811
    statements_build(month=MARCH)
    statement = Statement.objects.get(month=MARCH)
    statement_review(statement=statement, user=month["users"]["maker"])
    return statement


def newcomer(month):  # noqa: ANN001, ANN201, F811
    return enrollee(month["region"], brdy=D(1980, 1, 1)).person


def test_a_settlement_during_an_approval_waits_and_is_carried(month, reviewed):  # noqa: F811
    person = newcomer(month)
    approval = Held(lambda: statement_approve(statement=reviewed, user=month["users"]["checker"]))
    approval.start()
    try:
        assert approval.done.wait(10) and approval.error is None
        settling = Free(lambda: settle(month["facility"], person, ("A50", "6", "50")))
        settling.start()
        settling.join(WAIT)
        assert settling.is_alive(), "the settlement should wait for the approval's lock"
    finally:
        approval.release.set()
        approval.join(10)
    settling.join(10)
    assert settling.error is None and not settling.is_alive()
    # The approved March statement paid nothing for it: its 70.00 is carried to the next statement, negative.
    late = Deduction.objects.get(kind="late_settlement")
    assert (late.settlement, late.amount, late.month) == (settling.result, Decimal("-70.00"), MARCH)


def test_an_approval_during_a_settlement_waits_and_refuses(month, reviewed):  # noqa: F811
    person = newcomer(month)
    settling = Held(lambda: settle(month["facility"], person, ("A50", "6", "50")))
    settling.start()
    try:
        assert settling.done.wait(10) and settling.error is None
        approval = Free(lambda: statement_approve(statement=reviewed, user=month["users"]["checker"]))
        approval.start()
        approval.join(WAIT)
        assert approval.is_alive(), "the approval should wait for the settlement's transaction"
    finally:
        settling.release.set()
        settling.join(10)
    approval.join(10)
    assert isinstance(approval.error, ClearingError) and "changed since the statement was built" in str(
        approval.error)
    reviewed.refresh_from_db()
    assert reviewed.status == "reviewed" and not Deduction.objects.filter(kind="late_settlement").exists()


def test_two_settlements_reading_the_statement_do_not_wait_for_each_other(month, reviewed):  # noqa: F811
    """The statement's share lock alone (a settlement's whole transaction may still wait on other rows it shares
    with another, the report summaries' month row)."""
    read = lambda: statement_status_shared(facility_id=month["facility"].pk, month=MARCH)  # noqa: E731
    holding = Held(read)
    holding.start()
    try:
        assert holding.done.wait(10) and holding.result == "reviewed"
        other = Free(lambda: transaction.atomic()(read)())
        other.start()
        other.join(10)
        assert not other.is_alive() and other.result == "reviewed", "a second reader waited for the first"
    finally:
        holding.release.set()
        holding.join(10)
