"""Claim review on the March 2025 month of test_statements (JN1 under JN-2024): batches by hand, threshold, random
draw with a seed; a refused line's fund share becomes a deduction on the statement; extrapolation when the
version says so. Numbers by hand from the fixture's bills."""

from decimal import Decimal

import pytest

from clearing.errors import ClearingError
from clearing.models import Deduction, ReviewItem, Statement
from clearing.review import review_batch_close, review_batch_create, review_decide
from clearing.statements import statement_approve, statement_review, statements_build
from clearing.tests.test_statements import MARCH, month  # noqa: F401  (fixture)
from policies.models import PolicyVersion

pytestmark = pytest.mark.django_db


def decide_all(batch, user, refusals: dict[tuple[str, str], tuple[str, str]]) -> None:
    """Accept every line of the batch but those in `refusals`: (setl_id, item_code) → (amount, reason)."""
    for item in ReviewItem.objects.filter(batch=batch).select_related("settlement"):
        for line in item.settlement.lines.all():
            refused = refusals.get((item.settlement.setl_id, line.item_code))
            if refused:
                review_decide(item=item, line=line, decision="refuse", refused_amount=Decimal(refused[0]),
                              reason=refused[1], user=user)
            else:
                review_decide(item=item, line=line, decision="accept", user=user)


def test_a_refused_line_becomes_a_deduction_on_the_open_statement(month):  # noqa: F811
    statements_build(month=MARCH)
    reviewer = month["users"]["maker"]
    s = month["settlements"]
    batch = review_batch_create(region=month["region"], month=MARCH, selection="manual", user=reviewer,
                                setl_ids=[s["D"].setl_id, s["B"].setl_id])
    with pytest.raises(ClearingError, match="not decided yet") as refused:
        review_batch_close(batch=batch, user=reviewer)
    assert refused.value.err_code == "REVIEW_UNDECIDED"
    # D: one S70 box of two refused, 500.00 of the drugs' 1,000.00, of which the fund paid 630.00: 315.00.
    # B: 100.00 of its A50 line refused; the fund paid 70.00 of its 300.00: 100.00 × 70 / 300 = 23.33.
    decide_all(batch, reviewer, {(s["D"].setl_id, "S70"): ("500.00", "no indication"),
                                 (s["B"].setl_id, "A50"): ("100.00", "two visits billed as one")})
    with pytest.raises(ClearingError, match="at most the line's") as refused:
        item = ReviewItem.objects.get(batch=batch, settlement=s["B"])
        review_decide(item=item, line=s["B"].lines.get(), decision="refuse", refused_amount=Decimal("300.01"),
                      reason="too much", user=reviewer)
    assert refused.value.err_code == "INVALID_REQUEST"
    deductions = review_batch_close(batch=batch, user=reviewer)
    assert sorted((d.settlement.setl_id, d.amount, d.reason) for d in deductions) == sorted([
        (s["D"].setl_id, Decimal("315.00"), "S70 500.00: no indication"),
        (s["B"].setl_id, Decimal("23.33"), "A50 100.00: two visits billed as one")])
    statement = Statement.objects.get(month=MARCH)
    # 884.00 − 315.00 − 23.33
    assert (statement.deducted, statement.payable) == (Decimal("338.33"), Decimal("545.67"))
    with pytest.raises(ClearingError, match="is closed") as refused:
        review_batch_close(batch=batch, user=reviewer)
    assert refused.value.err_code == "REVIEW_BATCH_CLOSED"


def test_a_deduction_after_approval_waits_for_the_next_statement(month):  # noqa: F811
    statements_build(month=MARCH)
    statement = Statement.objects.get(month=MARCH)
    statement_review(statement=statement, user=month["users"]["maker"])
    statement_approve(statement=statement, user=month["users"]["checker"])
    # Fund payments above 100.00: only D (700.00). Refusing all of D refuses exactly the fund's 700.00.
    batch = review_batch_create(region=month["region"], month=MARCH, selection="threshold",
                                threshold=Decimal("100.00"), user=month["users"]["maker"])
    s = month["settlements"]
    assert list(batch.items.values_list("settlement_id", flat=True)) == [s["D"].pk]
    decide_all(batch, month["users"]["maker"], {(s["D"].setl_id, "S70"): ("1000.00", "not prescribed"),
                                                (s["D"].setl_id, "A50"): ("300.00", "not prescribed")})
    [deduction] = review_batch_close(batch=batch, user=month["users"]["maker"])
    assert (deduction.amount, deduction.statement) == (Decimal("700.00"), None)
    statement.refresh_from_db()
    assert statement.payable == Decimal("884.00")
    # April: capitation 3 × 12.00 + per disease 2 × 45.00 = 126.00, less 700.00: −574.00 (the facility owes).
    statements_build(month=MARCH.replace(month=4))
    april = Statement.objects.get(month=MARCH.replace(month=4))
    assert (april.lines_amount, april.deducted, april.payable) == (
        Decimal("126.00"), Decimal("700.00"), Decimal("-574.00"))


def test_a_random_sample_is_repeatable_and_extrapolated_when_the_version_says_so(month):  # noqa: F811
    PolicyVersion.objects.filter(code="JN-2024").update(review_extrapolate=True)
    statements_build(month=MARCH)
    s = month["settlements"]
    reviewer = month["users"]["maker"]
    # Live in March: A, B, D, E (G reversed); a quarter is one; seed 1 draws the second by id: B.
    batch = review_batch_create(region=month["region"], month=MARCH, selection="random", share=Decimal("0.25"),
                                seed=1, user=reviewer)
    again = review_batch_create(region=month["region"], month=MARCH, selection="random", share=Decimal("0.25"),
                                seed=1, user=reviewer)
    assert list(batch.items.values_list("settlement_id", flat=True)) == [s["B"].pk] == list(
        again.items.values_list("settlement_id", flat=True))
    # Half of B's A50 line refused: 150.00 × 70 / 300 = 35.00, an error rate of 35.00 / 70.00 = 50%, applied to
    # the month's other fund payments: A 70.00 + D 700.00 + E 70.00 = 840.00 → 420.00.
    decide_all(batch, reviewer, {(s["B"].setl_id, "A50"): ("150.00", "over-treatment")})
    review_batch_close(batch=batch, user=reviewer)
    assert sorted((d.kind, d.amount) for d in Deduction.objects.all()) == [
        ("extrapolated", Decimal("420.00")), ("review", Decimal("35.00"))]
    statement = Statement.objects.get(month=MARCH)
    assert statement.payable == Decimal("429.00")  # 884.00 − 35.00 − 420.00


def test_no_extrapolation_by_default(month):  # noqa: F811
    statements_build(month=MARCH)
    s = month["settlements"]
    batch = review_batch_create(region=month["region"], month=MARCH, selection="random", share=Decimal("0.25"),
                                seed=1, user=month["users"]["maker"])
    decide_all(batch, month["users"]["maker"], {(s["B"].setl_id, "A50"): ("150.00", "over-treatment")})
    review_batch_close(batch=batch, user=month["users"]["maker"])
    assert list(Deduction.objects.values_list("kind", "amount")) == [("review", Decimal("35.00"))]
