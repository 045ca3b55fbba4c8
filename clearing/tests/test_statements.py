"""Clearing statements on JN-2024's payment methods (CONTRACT.md "Clearing with facilities"), every figure worked out
by hand: capitation 12.00 per enrollee signed on the 1st, 45.00 per enrollee recognised for M03900 hypertension,
itemised fund payments net of reversals, separately paid drugs on their own line (70% of their in-scope amount, no
deductible, their own bucket); late reversals carried; maker-checker; idempotent run_clearing."""

import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Sum

from claims.models import Disease, Settlement
from claims.services import settlement_create, settlement_reverse
from claims.tests.conftest import D, RecognitionFactory, enrollee, request
from clearing.errors import ClearingError
from clearing.models import Deduction, Signing, Statement, StatementEvent
from clearing.selectors import fund_balance, statement_answer
from clearing.statements import statement_approve, statement_review, statements_build

pytestmark = pytest.mark.django_db
MARCH, APRIL = D(2025, 3, 1), D(2025, 4, 1)


def settle(facility, person, *items, setl_date="2025-03-10", med_type="11", **extra) -> Settlement:
    answer, _created = settlement_create(facility=facility, data=request(
        person.psn_no, *items, setl_date=setl_date, med_type=med_type,
        medins_setl_id=f"{person.psn_no}-{setl_date}-{med_type}", acct_used_flag="0", **extra))
    return Settlement.objects.get(setl_id=answer["setl_id"])


@pytest.fixture
def month(world):
    """JN1 (level 1, Jinan) in March 2025, under JN-2024:
    - A signed since 2025-01-01 and C since 2024-01-01 (no visit): capitation 2 × 12.00 = 24.00. A's visit,
      A50 6 × 50.00 = 300.00 in scope, deductible 200.00, 70% × 100.00 = 70.00, is covered by it.
    - B signed only from 2025-03-02 (not on the 1st): the same visit, 70.00, itemised.
    - D unsigned: A50 6 × 50.00 + S70 2 × 500.00 (class B 10%: 900.00 in scope). S70 apart: 70% × 900.00 =
      630.00 on the separately paid line (medfee 1,000.00); the rest 300.00, 200.00 deductible, 70.00 itemised.
    - E recognised for M03900 since 2025-01-01, F since 2024-06-01 (no visit): per disease 2 × 45.00 = 90.00.
      E's visit (14), A50 2 × 50.00 = 100.00, no deductible, 70% = 70.00, covered by it.
    - G's visit (70.00, itemised) is reversed before the build: netted out.
    """
    jinan, jn1 = world["regions"]["370100"], world["facilities"]["JN1"]
    people = {name: enrollee(jinan, brdy=D(1980, 1, 1)).person for name in "ABCDEFG"}
    for name, begndate in (("A", D(2025, 1, 1)), ("B", D(2025, 3, 2)), ("C", D(2024, 1, 1))):
        Signing.objects.create(person=people[name], facility=jn1, begndate=begndate)
    m03900 = Disease.objects.get(opsp_dise_code="M03900")
    RecognitionFactory(person=people["E"], disease=m03900, facility=jn1, begndate=D(2025, 1, 1))
    RecognitionFactory(person=people["F"], disease=m03900, facility=jn1, begndate=D(2024, 6, 1))
    settlements = {
        "A": settle(jn1, people["A"], ("A50", "6", "50")),
        "B": settle(jn1, people["B"], ("A50", "6", "50")),
        "D": settle(jn1, people["D"], ("A50", "6", "50"), ("S70", "2", "500")),
        "E": settle(jn1, people["E"], ("A50", "2", "50"), med_type="14", dise_codg="M03900"),
        "G": settle(jn1, people["G"], ("A50", "6", "50")),
    }
    settlement_reverse(settlement=settlements["G"], reason="wrong patient")
    users = {name: User.objects.create_user(name, is_staff=True) for name in ("maker", "checker")}
    return {"facility": jn1, "region": jinan, "people": people, "settlements": settlements, "users": users}


def lines(statement: Statement) -> list[tuple]:
    return [(line.clr_way, line.med_type_group, line.dise_code, line.count, str(line.medfee_sumamt),
             str(line.fund_pay_sumamt), str(line.amount)) for line in statement.lines.order_by("clr_way")]


MARCH_LINES = [
    ("capitation", "general", "", 2, "300.00", "70.00", "24.00"),
    ("itemised", "general", "", 2, "600.00", "140.00", "140.00"),
    ("per_disease", "chronic", "M03900", 2, "100.00", "70.00", "90.00"),
    ("sep_pay", "sep_pay", "", 1, "1000.00", "630.00", "630.00"),
]


def test_each_payment_method_on_jn_2024_numbers(month):
    assert [str(s.fund_pay_sumamt) for s in month["settlements"].values()] == [
        "70.00", "70.00", "700.00", "70.00", "70.00"]
    result = statements_build(month=MARCH, region=month["region"])
    assert (result.created, result.rebuilt, result.unchanged) == (1, 0, 0)
    statement = Statement.objects.get(facility=month["facility"], month=MARCH)
    assert lines(statement) == MARCH_LINES
    # 24.00 + 140.00 + 90.00 + 630.00
    assert (statement.status, statement.lines_amount, statement.deducted, statement.payable) == (
        "draft", Decimal("884.00"), Decimal("0.00"), Decimal("884.00"))
    # The system's totals beside the facility's applications: A, B, D, E live (G reversed).
    assert (statement.settlements_count, statement.medfee_sumamt, statement.fund_pay_sumamt) == (
        4, Decimal("2000.00"), Decimal("910.00"))


def test_the_invariant_lines_cover_every_fund_payment_and_payable_is_lines_less_deductions(month):
    call_command("run_clearing", "--month", "2025-03", stdout=io.StringIO())
    for statement in Statement.objects.all():
        live = Settlement.objects.filter(facility=statement.facility, setl_date__year=statement.month.year,
                                         setl_date__month=statement.month.month, status="settled")
        fund = live.aggregate(total=Sum("fund_pay_sumamt"))["total"]
        # itemised + covered by capitation or per disease + separately paid = the settlements' fund payments
        assert sum(line.fund_pay_sumamt for line in statement.lines.all()) == fund
        assert sum(line.medfee_sumamt for line in statement.lines.all()) == live.aggregate(
            total=Sum("medfee_sumamt"))["total"]
        assert statement.payable == sum(line.amount for line in statement.lines.all()) - sum(
            d.amount for d in statement.deductions.all())


def test_run_clearing_twice_changes_nothing_and_a_reversal_rebuilds_the_draft(month):
    out = io.StringIO()
    call_command("run_clearing", "--month", "2025-03", "--admdvs", "370100", stdout=out)
    assert out.getvalue().strip() == "clearing 2025-03 370100: created 1, rebuilt 0, unchanged 0, left as approved 0"
    statement = Statement.objects.get(month=MARCH)
    history, events = statement.history.count(), StatementEvent.objects.count()
    out = io.StringIO()
    call_command("run_clearing", "--month", "2025-03", stdout=out)
    assert out.getvalue().strip() == "clearing 2025-03: created 0, rebuilt 0, unchanged 1, left as approved 0"
    assert (statement.history.count(), StatementEvent.objects.count()) == (history, events)

    # B's visit reversed while the statement is a draft: the next run nets it out (itemised 1, 300.00, 70.00).
    settlement_reverse(settlement=month["settlements"]["B"], reason="duplicate")
    statements_build(month=MARCH)
    statement.refresh_from_db()
    assert lines(statement)[1] == ("itemised", "general", "", 1, "300.00", "70.00", "70.00")
    assert statement.payable == Decimal("814.00")
    assert list(statement.events.values_list("action", flat=True)) == ["built", "rebuilt"]


def test_maker_checker_and_the_trail(month):
    statements_build(month=MARCH)
    statement = Statement.objects.get(month=MARCH)
    maker, checker = month["users"]["maker"], month["users"]["checker"]
    with pytest.raises(ClearingError, match="only a reviewed statement") as refused:
        statement_approve(statement=statement, user=checker)
    assert refused.value.err_code == "STATEMENT_NOT_REVIEWED"
    statement_review(statement=statement, user=maker)
    with pytest.raises(ClearingError, match="another user must approve") as refused:
        statement_approve(statement=statement, user=maker)
    assert refused.value.err_code == "APPROVAL_OWN_REQUEST"
    statement_approve(statement=statement, user=checker)
    statement.refresh_from_db()
    assert (statement.status, statement.reviewed_by, statement.approved_by) == ("approved", maker, checker)
    assert [(e.action, e.actor) for e in statement.events.all()] == [
        ("built", None), ("reviewed", maker), ("approved", checker)]
    # The fund now owes the facility the payable.
    assert fund_balance(region_id=month["region"].pk) == Decimal("884.00")


def test_a_statement_whose_settlements_changed_after_the_build_cannot_pass(month):
    statements_build(month=MARCH)
    statement = Statement.objects.get(month=MARCH)
    statement_review(statement=statement, user=month["users"]["maker"])
    settlement_reverse(settlement=month["settlements"]["B"], reason="duplicate")
    with pytest.raises(ClearingError, match="changed since the statement was built") as refused:
        statement_approve(statement=statement, user=month["users"]["checker"])
    assert refused.value.err_code == "STATEMENT_OUT_OF_DATE"
    # The next run sends it back to draft with the new figures.
    assert statements_build(month=MARCH).rebuilt == 1
    statement.refresh_from_db()
    assert (statement.status, statement.reviewed_by, statement.payable) == ("draft", None, Decimal("814.00"))


def test_a_reversal_after_approval_goes_to_the_next_month(month):
    statements_build(month=MARCH)
    statement = Statement.objects.get(month=MARCH)
    statement_review(statement=statement, user=month["users"]["maker"])
    statement_approve(statement=statement, user=month["users"]["checker"])

    # B's itemised visit (70.00) reversed after approval: March stays as approved; the 70.00 waits for April.
    settlement_reverse(settlement=month["settlements"]["B"], reason="duplicate")
    # A's visit was covered by capitation: the statement paid nothing for it apart, so nothing is carried.
    settlement_reverse(settlement=month["settlements"]["A"], reason="duplicate")
    statements_build(month=MARCH)
    statement.refresh_from_db()
    assert (statement.status, lines(statement), statement.payable) == ("approved", MARCH_LINES, Decimal("884.00"))
    late = Deduction.objects.get()
    assert (late.kind, late.settlement, late.amount, late.statement, late.reason) == (
        "late_reversal", month["settlements"]["B"], Decimal("70.00"), None,
        "reversed after the 2025-03 statement was approved")

    # April: capitation A, B (signed from 03-02, so on April 1st) and C, 3 × 12.00 = 36.00; per disease E and F,
    # 2 × 45.00 = 90.00; lines 126.00, less the carried 70.00: payable 56.00.
    statements_build(month=APRIL)
    april = Statement.objects.get(month=APRIL)
    assert lines(april) == [("capitation", "general", "", 3, "0.00", "0.00", "36.00"),
                            ("per_disease", "chronic", "M03900", 2, "0.00", "0.00", "90.00")]
    assert (april.lines_amount, april.deducted, april.payable) == (
        Decimal("126.00"), Decimal("70.00"), Decimal("56.00"))
    answer = statement_answer(april)
    assert answer["deductions"] == [{"setl_id": month["settlements"]["B"].setl_id, "month": "2025-03",
                                     "kind": "late_reversal", "amount": Decimal("70.00"),
                                     "reason": "reversed after the 2025-03 statement was approved"}]


def test_the_partner_api_answers_the_facilitys_statement(month):
    from claims.tests.conftest import partner

    statements_build(month=MARCH)
    client = partner(month["facility"])
    answer = client.get("/api/v1/clearing/?month=2025-03").json()
    assert {k: answer[k] for k in ("month", "fixmedins_code", "status", "payable")} == {
        "month": "2025-03", "fixmedins_code": "HJN1", "status": "draft", "payable": "884.00"}
    assert [(x["clr_way"], x["med_type_group"], x["count"], x["medfee_sumamt"], x["fund_pay_sumamt"], x["amount"])
            for x in answer["lines"]] == [(w, g, c, m, f, a) for w, g, _d, c, m, f, a in MARCH_LINES]
    assert answer["deductions"] == []
    assert answer["audit"] == "not_audited"
    assert answer["application"]["system"]["fund_appy_sumamt"] == "910.00"
    assert client.get("/api/v1/clearing/?month=2025-02").status_code == 404
    assert client.get("/api/v1/clearing/?month=March").json()["err_code"] == "INVALID_REQUEST"
    # Another facility's token sees its own month only.
    assert partner(month["region"].facilities.get(fixmedins_code="HJN2")).get(
        "/api/v1/clearing/?month=2025-03").status_code == 404


def test_the_separately_paid_line_stops_at_the_drugs_own_cap(world):
    # H, unsigned, at JN2 (level 2: everything itemised) in March 2025, two bills of S70 60 × 600.00 = 36,000.00
    # (class B 10%: 32,400.00 in scope). The first pays 70% × 32,400.00 = 22,680.00 apart; the second only the
    # 7,320.00 left of the 30,000.00 cap (CONTRACT.md JN-2024: 70%, no deductible, bucket sep_pay, cap 30,000 a year).
    jn2 = world["facilities"]["JN2"]
    person = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    settle(jn2, person, ("S70", "60", "600"), setl_date="2025-03-10")
    settle(jn2, person, ("S70", "60", "600"), setl_date="2025-03-11")
    statements_build(month=MARCH)
    statement = Statement.objects.get(facility=jn2, month=MARCH)
    # The separately paid line: 2 bills, medfee 72,000.00, fund 22,680.00 + 7,320.00 = 30,000.00; the bills have no
    # other line, so the itemised line counts them with nothing left to pay.
    assert lines(statement) == [("itemised", "general", "", 2, "0.00", "0.00", "0.00"),
                                ("sep_pay", "sep_pay", "", 2, "72000.00", "30000.00", "30000.00")]
    assert statement.payable == Decimal("30000.00")
