"""The funds apart and the balances a facility owes back, on the JN-2024 month of test_statements (whose figures are
worked out there): a resident's (390) visit sits on the resident fund's lines, ledger and payment row; a fund's part
below zero is carried, explicitly, to the facility's next statement (CONTRACT.md "Clearing with facilities": what
each fund owes each facility, payable = lines less deductions; late reversals go to the next open statement)."""

import csv
import io
from decimal import Decimal

import pytest

from accounts.tests.factories import EnrollmentFactory, PersonFactory
from claims.models import Disease
from claims.services import settlement_reverse
from claims.tests.conftest import D, RecognitionFactory, enrollee
from clearing.models import BankAccount, Deduction, FundLedgerEntry, Signing, Statement
from clearing.paying import fund_ledger_check, payment_csv, payment_file_create, payment_rows
from clearing.selectors import fund_balance, statement_answer
from clearing.statements import statement_approve, statement_fund_parts, statement_review, statements_build
from clearing.tests.test_statements import APRIL, MARCH, month, settle  # noqa: F401
from policies.models import InsuType, PaymentMethod, PolicyVersion

pytestmark = pytest.mark.django_db
MAY = MARCH.replace(month=5)


def approve(statement: Statement, users: dict) -> Statement:
    statement_review(statement=statement, user=users["maker"])
    return statement_approve(statement=statement, user=users["checker"])


def test_a_residents_visit_is_the_resident_funds_from_line_to_payment(month):  # noqa: F811
    # R, a Jinan resident (390, no account), at JN1 in March: JN-R-2024 level 1, no deductible, 50% of A50
    # 6 × 50.00 = 300.00 → 150.00 from the resident fund, itemised (residents' version sets no capitation).
    resident = EnrollmentFactory(person=PersonFactory(), region=month["region"], insutype=InsuType.RESIDENT,
                                 psn_type="", employer=None, clct_base=None).person
    visit = settle(month["facility"], resident, ("A50", "6", "50"))
    assert (visit.insutype, str(visit.fund_pay_sumamt), visit.policy_version.code) == ("390", "150.00", "JN-R-2024")

    statements_build(month=MARCH)
    statement = Statement.objects.get(month=MARCH)
    # The employee fund's lines as in test_statements (884.00), and the resident fund's own itemised line.
    stored = sorted((line.insutype, line.clr_way, line.count, str(line.amount)) for line in statement.lines.all())
    assert stored == [("310", "capitation", 2, "24.00"), ("310", "itemised", 2, "140.00"),
                      ("310", "per_disease", 2, "90.00"), ("310", "sep_pay", 1, "630.00"),
                      ("390", "itemised", 1, "150.00")]
    # 884.00 + 150.00 = 1,034.00 payable; the parts by fund.
    assert statement.payable == Decimal("1034.00")
    assert statement_fund_parts(statement) == {"310": Decimal("884.00"), "390": Decimal("150.00")}
    # The facility sees one itemised general line (the funds are the agency's books): 2 + 1 settlements,
    # medfee 600.00 + 300.00, fund 140.00 + 150.00.
    itemised = [x for x in statement_answer(statement)["lines"] if x["clr_way"] == "itemised"]
    assert itemised == [{"clr_way": "itemised", "med_type_group": "general", "dise_code": "", "count": 3,
                         "medfee_sumamt": Decimal("900.00"), "fund_pay_sumamt": Decimal("290.00"),
                         "amount": Decimal("290.00")}]

    approve(statement, month["users"])
    assert sorted(FundLedgerEntry.objects.values_list("insutype", "kind", "amount")) == [
        ("310", "owed", Decimal("884.00")), ("390", "owed", Decimal("150.00"))]
    assert (fund_balance(insutype="310"), fund_balance(insutype="390")) == (Decimal("884.00"), Decimal("150.00"))
    BankAccount.objects.create(facility=month["facility"], bank_name="bank", account_name="HJN1",
                               account_no="12345678")
    payment = payment_file_create(region=month["region"], month=MARCH, user=month["users"]["maker"])
    assert (payment.total, payment.carried_total) == (Decimal("1034.00"), Decimal("0.00"))
    # A row per fund: each fund pays its own part from its own books.
    assert [(row[2], row[6], row[7]) for row in payment_rows(payment)] == [
        ("310", Decimal("884.00"), Decimal("0.00")), ("390", Decimal("150.00"), Decimal("0.00"))]
    assert sorted(FundLedgerEntry.objects.filter(kind="paid").values_list("insutype", "amount")) == [
        ("310", Decimal("884.00")), ("390", Decimal("150.00"))]
    assert fund_balance() == Decimal("0.00") and fund_ledger_check() == []


def test_a_part_below_zero_is_carried_to_the_next_statement_and_shown(month):  # noqa: F811
    statements_build(month=MARCH)
    approve(Statement.objects.get(month=MARCH), month["users"])  # 884.00 owed by the employee fund

    # After approval B (itemised, 70.00) and D (unsigned: 70.00 itemised + 630.00 separately paid = 700.00) are
    # reversed: 770.00 waits for April as late reversals.
    settlement_reverse(settlement=month["settlements"]["B"], reason="duplicate")
    settlement_reverse(settlement=month["settlements"]["D"], reason="duplicate")
    assert sorted(Deduction.objects.values_list("kind", "amount", "statement")) == [
        ("late_reversal", Decimal("70.00"), None), ("late_reversal", Decimal("700.00"), None)]

    # April: capitation A, B, C 3 × 12.00 = 36.00 + per disease E, F 2 × 45.00 = 90.00 = 126.00 of lines, less
    # 770.00: payable −644.00. The facility owes the employee fund 644.00.
    statements_build(month=APRIL)
    april = Statement.objects.get(month=APRIL)
    assert (april.lines_amount, april.deducted, april.payable) == (
        Decimal("126.00"), Decimal("770.00"), Decimal("-644.00"))
    approve(april, month["users"])
    # Approval owes −644.00 and carries 644.00: the fund's books hold the balance once, on the next statement.
    assert sorted(FundLedgerEntry.objects.filter(statement=april).values_list("kind", "insutype", "amount")) == [
        ("carried", "310", Decimal("644.00")), ("owed", "310", Decimal("-644.00"))]
    carried = Deduction.objects.get(kind="carried")
    assert (carried.carried_from, carried.insutype, carried.amount, carried.month, carried.statement) == (
        april, "310", Decimal("644.00"), APRIL, None)
    assert carried.reason == ("the facility owes the 310 fund 644.00 on the approved 2025-04 statement: carried to "
                              "its next statement")
    # March's 884.00 is still owed; April's part is closed by the carry.
    assert fund_balance() == Decimal("884.00") and fund_ledger_check() == []

    # April's payment file pays nothing for it and says so: amount 0.00, carried −644.00 (no bank account needed).
    payment = payment_file_create(region=month["region"], month=APRIL, user=month["users"]["maker"])
    assert (payment.statements_count, payment.total, payment.carried_total) == (1, Decimal("0.00"),
                                                                                Decimal("644.00"))
    rows = list(csv.reader(io.StringIO(payment_csv(payment).decode("utf-8").lstrip("\ufeff"))))
    assert [row[:3] + row[6:9] for row in rows[1:]] == [["HJN1", month["facility"].fixmedins_name, "310", "0.00",
                                                         "-644.00", "CLR202504-HJN1"]]
    april.refresh_from_db()
    assert april.status == "paid" and not FundLedgerEntry.objects.filter(statement=april, kind="paid").exists()
    assert fund_balance() == Decimal("884.00") and fund_ledger_check() == []

    # May: the same 126.00 of capitation and per disease, less the carried 644.00: −518.00, the carry shown to the
    # facility among its deductions.
    statements_build(month=MAY)
    may = Statement.objects.get(month=MAY)
    assert (may.lines_amount, may.deducted, may.payable) == (Decimal("126.00"), Decimal("644.00"),
                                                             Decimal("-518.00"))
    assert statement_answer(may)["deductions"] == [
        {"setl_id": None, "month": "2025-04", "kind": "carried", "amount": Decimal("644.00"),
         "reason": "the facility owes the 310 fund 644.00 on the approved 2025-04 statement: carried to its next "
                   "statement"}]


def test_an_enrollee_with_employee_and_resident_insurance_is_paid_for_once_from_the_employee_fund(world):
    """CONTRACT.md pays capitation "per enrollee signed with the facility on the month's first day" (per disease:
    per enrollee recognised); a signing names no insurance type, so the fund is that of the enrollment the person
    settles under on the 1st: the one covering the day, employee (310) before resident (390), as the settlement path
    picks it. JN1 (level 1, Jinan), March 2025. The seeded JN-R-2024 pays residents' visits itemised; here it is
    given illustrative rates of its own (8.00 capitation, 30.00 per disease for M03900 at level 1) so that a count
    under the wrong fund would show in money."""
    jinan, jn1 = world["regions"]["370100"], world["facilities"]["JN1"]
    jn_r = PolicyVersion.objects.get(code="JN-R-2024")
    PaymentMethod.objects.bulk_create([  # bulk_create: a published version's rows are not edited through save()
        PaymentMethod(version=jn_r, facility_level="1", med_type_group="general", clr_way="capitation",
                      rate=Decimal("8.00")),
        PaymentMethod(version=jn_r, facility_level="1", med_type_group="chronic", dise_code="M03900",
                      clr_way="per_disease", rate=Decimal("30.00"))])

    def resident(person, begndate):  # noqa: ANN001, ANN202
        return EnrollmentFactory(person=person, region=jinan, insutype=InsuType.RESIDENT, psn_type="",
                                 employer=None, clct_base=None, begndate=begndate)

    # P: employee since 2010 and resident since 2024-01-01, both valid on 2025-03-01: counted once, under 310.
    both = enrollee(jinan, brdy=D(1980, 1, 1)).person
    resident(both, D(2024, 1, 1))
    # Q: employee insurance ended 2025-02-28, resident from 2025-03-01: on the 1st only 390 is in force.
    moved = enrollee(jinan, brdy=D(1981, 1, 1), enddate=D(2025, 2, 28)).person
    resident(moved, D(2025, 3, 1))
    # R: resident only. S: employee, resident only from 2025-03-02 (not on the 1st): 310.
    only_resident = resident(PersonFactory(), D(2024, 1, 1)).person
    later = enrollee(jinan, brdy=D(1982, 1, 1)).person
    resident(later, D(2025, 3, 2))
    for person in (both, moved, only_resident, later):
        Signing.objects.create(person=person, facility=jn1, begndate=D(2025, 1, 1))
    m03900 = Disease.objects.get(opsp_dise_code="M03900")
    for person in (both, only_resident):
        RecognitionFactory(person=person, disease=m03900, facility=jn1, begndate=D(2025, 1, 1))
    # P's visit settles under the employee enrollment (JN-2024): A50 6 × 50.00 = 300.00, deductible 200.00,
    # 70% × 100.00 = 70.00, covered by the employee fund's capitation line (paid nothing apart).
    visit = settle(jn1, both, ("A50", "6", "50"))
    assert (visit.insutype, str(visit.fund_pay_sumamt)) == ("310", "70.00")

    statements_build(month=MARCH)
    statement = Statement.objects.get(facility=jn1, month=MARCH)
    # 310 capitation: P and S, 2 × 12.00 = 24.00 (P's visit 300.00 / 70.00 covered); 390 capitation: Q and R,
    # 2 × 8.00 = 16.00; 310 per disease: P, 1 × 45.00 = 45.00; 390 per disease: R, 1 × 30.00 = 30.00.
    # Counting P under both funds would have made 390's lines 3 × 8.00 = 24.00 and 2 × 30.00 = 60.00 (153.00).
    assert sorted((line.insutype, line.clr_way, line.dise_code, line.count, str(line.medfee_sumamt),
                   str(line.fund_pay_sumamt), str(line.amount)) for line in statement.lines.all()) == [
        ("310", "capitation", "", 2, "300.00", "70.00", "24.00"),
        ("310", "per_disease", "M03900", 1, "0.00", "0.00", "45.00"),
        ("390", "capitation", "", 2, "0.00", "0.00", "16.00"),
        ("390", "per_disease", "M03900", 1, "0.00", "0.00", "30.00")]
    # 24.00 + 45.00 = 69.00 from the employee fund, 16.00 + 30.00 = 46.00 from the resident fund: 115.00.
    assert statement.payable == Decimal("115.00")
    assert statement_fund_parts(statement) == {"310": Decimal("69.00"), "390": Decimal("46.00")}
