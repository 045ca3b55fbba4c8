"""The re-adjudication audit on the March 2025 month of test_statements: the stored settlements re-adjudicate to
what was paid; a stored amount changed behind the system's back is found; the statement shows the state."""

from decimal import Decimal

import pytest

from claims.models import Settlement
from clearing.audit import audit_month, audit_run
from clearing.models import Statement
from clearing.selectors import statement_audit_state
from clearing.statements import statements_build
from clearing.tests.test_statements import MARCH, month  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_the_month_re_adjudicates_to_what_was_paid_and_a_tampered_amount_is_found(month):  # noqa: F811
    statements_build(month=MARCH)
    statement = Statement.objects.get(month=MARCH)
    assert statement_audit_state(statement) == "not_audited"
    run = audit_month(month=MARCH)
    # A, B, D, E live (G reversed): all four re-adjudicate to the amounts paid.
    assert (run.checked, run.differences, run.findings.count()) == (4, 0, 0)
    assert statement_audit_state(statement) == "clean"

    # B's stored fund payment raised by 10.00 behind the system's back: 80.00 paid, 70.00 due.
    b = month["settlements"]["B"]
    Settlement.objects.filter(pk=b.pk).update(hifp_pay=Decimal("80.00"), fund_pay_sumamt=Decimal("80.00"))
    again = audit_run(first_day=b.setl_date, last_day=b.setl_date)
    assert again.differences == 1
    assert sorted(again.findings.values_list("settlement__setl_id", "field", "paid", "recomputed")) == [
        (b.setl_id, "fund_pay_sumamt", "80.00", "70.00"), (b.setl_id, "hifp_pay", "80.00", "70.00")]
    assert statement_audit_state(statement) == "differences"


def test_a_sample_is_drawn_with_its_seed(month):  # noqa: F811
    day = month["settlements"]["A"].setl_date
    one = audit_run(first_day=day, last_day=day, share=Decimal("0.5"), seed=3)
    two = audit_run(first_day=day, last_day=day, share=Decimal("0.5"), seed=3)
    assert one.checked == two.checked == 2
