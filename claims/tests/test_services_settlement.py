"""Settle and reverse through the services, checking what they write: balances, ledger, accumulators. The
arithmetic of each case is in its comments (CONTRACT.md's seeded versions)."""

import pytest

from accounts.ledger import ledger_verify
from accounts.models import EntryKind, LedgerEntry, PersonalAccount
from accounts.tests.factories import FamilyLinkFactory, PersonFactory
from claims.errors import ClaimError
from claims.models import Accumulator, Settlement
from claims.services import settlement_create, settlement_preview, settlement_reverse
from claims.tests.conftest import SETTLEMENT_STATEMENTS, D, PsnType, RecognitionFactory, enrollee, fund, request

pytestmark = pytest.mark.django_db


def balances(person):
    account = PersonalAccount.objects.get(person=person)
    return str(account.balc_current), str(account.balc_historical)


def counters(person, bucket="general"):
    row = Accumulator.objects.get(person=person, bucket=bucket)
    return str(row.dedc_used), str(row.hifp_paid)


def test_shanghai_current_pocket_first_then_deductible_then_fund_and_reversal(world):
    p = enrollee(world["regions"]["310000"], brdy=D(1980, 1, 1)).person
    fund(p, current="100.00", historical="1000.00")
    h3 = world["facilities"]["SH3"]
    # Visit 1, level 3, in-service: A50 10 × 50.00 = 500.00 in scope, C 1 × 30.00 out of scope; total 530.00.
    # Current pocket pays 100.00 of in-scope first; 400.00 left all goes to the 500.00 deductible; fund 0.00.
    # Personal part 530.00: 100.00 already from current, 430.00 from historical; balance 1,100.00 − 530.00 = 570.00.
    first, created = settlement_create(facility=h3, data=request(p.psn_no, ("A50", "10", "50"), ("C", "1", "30")))
    assert created
    assert (first["medfee_sumamt"], first["inscp_scp_amt"], first["act_pay_dedc"], first["hifp_pay"],
            first["acct_pay"], first["psn_cash_pay"], first["balc"]) == (
        "530.00", "500.00", "400.00", "0.00", "530.00", "0.00", "570.00")
    assert balances(p) == ("0.00", "570.00") and counters(p) == ("400.00", "0.00")
    # Visit 2, level 3: 1,000.00 in scope; 100.00 deductible left; fund 70% × 900.00 = 630.00;
    # personal 370.00 from historical; balance 570.00 − 370.00 = 200.00.
    second, _ = settlement_create(facility=h3, data=request(p.psn_no, ("A50", "20", "50"), medins_setl_id="M2"))
    assert (second["act_pay_dedc"], second["hifp_pay"], second["acct_pay"], second["balc"]) == (
        "100.00", "630.00", "370.00", "200.00")
    assert counters(p) == ("500.00", "630.00")

    reversed_ = settlement_reverse(settlement=Settlement.objects.get(setl_id=second["setl_id"]), reason="duplicate")
    assert reversed_.status == "reversed"
    assert balances(p) == ("0.00", "570.00") and counters(p) == ("400.00", "0.00")
    again = settlement_reverse(settlement=reversed_, reason="duplicate")
    assert again.reversed_at == reversed_.reversed_at
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    assert ledger_verify() == []


def test_retry_returns_the_first_answer_and_another_body_conflicts(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="50.00")
    h1 = world["facilities"]["JN1"]
    data = request(p.psn_no, ("A50", "2", "50"))
    first, created = settlement_create(facility=h1, data=data)
    retry, created_again = settlement_create(facility=h1, data={**data, "items": [
        {"item_code": "A50", "qty": __import__("decimal").Decimal("2.000"), "price": data["items"][0]["price"]}]})
    assert (created, created_again, retry) == (True, False, first)
    with pytest.raises(ClaimError) as conflict:
        settlement_create(facility=h1, data=request(p.psn_no, ("A50", "3", "50")))
    assert conflict.value.err_code == "IDEMPOTENCY_CONFLICT"
    assert Settlement.objects.count() == 1 and balances(p) == ("0.00", "0.00")


def test_preview_writes_nothing(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="80.00")
    before = LedgerEntry.objects.count()
    answer = settlement_preview(facility=world["facilities"]["JN2"], data=request(p.psn_no, ("A50", "10", "50")))
    # Jinan level 2: 500.00 in scope, deductible 400.00, fund 60% × 100.00 = 60.00, personal 440.00:
    # 80.00 from the account, 360.00 cash.
    assert (answer["act_pay_dedc"], answer["hifp_pay"], answer["acct_pay"], answer["psn_cash_pay"]) == (
        "400.00", "60.00", "80.00", "360.00")
    assert LedgerEntry.objects.count() == before and not Settlement.objects.exists()
    assert not Accumulator.objects.exists()


def test_class_change_at_retire_date_keeps_the_deductible_counter(world):
    e = enrollee(world["regions"]["310000"], brdy=D(1965, 4, 1), psn_type=PsnType.RETIRED,
                 retire_date=D(2025, 4, 1))
    p = e.person
    h1 = world["facilities"]["SH1"]
    # 2025-03-31, still in service: deductible 500; 300.00 in scope all to the deductible.
    before, _ = settlement_create(facility=h1, data=request(p.psn_no, ("A50", "6", "50"), setl_date="2025-03-31",
                                                             medins_setl_id="R1"))
    assert (before["psn_type"], before["act_pay_dedc"], before["hifp_pay"]) == ("1101", "300.00", "0.00")
    # 2025-04-01, retired on or after 2001: deductible 300 already met by the 300.00 carried over;
    # level 1 rate 85%: 200.00 × 85% = 170.00.
    after, _ = settlement_create(facility=h1, data=request(p.psn_no, ("A50", "4", "50"), setl_date="2025-04-01",
                                                            medins_setl_id="R2"))
    assert (after["psn_type"], after["act_pay_dedc"], after["hifp_pay"]) == ("1201", "0.00", "170.00")
    assert counters(p) == ("300.00", "170.00")


def test_chronic_visit_needs_a_recognition_and_has_its_own_bucket(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1950, 1, 1), psn_type=PsnType.RETIRED,
                 retire_date=D(2010, 1, 1), clct_base=None).person
    h2 = world["facilities"]["JN2"]
    data = request(p.psn_no, ("A50", "4", "50"), med_type="14", dise_codg="M03900", acct_used_flag="0")
    with pytest.raises(ClaimError) as refused:
        settlement_create(facility=h2, data=data)
    assert refused.value.err_code == "DISEASE_NOT_RECOGNISED"
    RecognitionFactory(person=p, disease__opsp_dise_code="M03900", facility=h2, begndate=D(2024, 1, 1))
    answer, _ = settlement_create(facility=h2, data=data)
    # M03900, retired: no deductible, 75% × 200.00 = 150.00, rest 50.00 cash (accounts not used).
    assert (answer["act_pay_dedc"], answer["hifp_pay"], answer["psn_cash_pay"]) == ("0.00", "150.00", "50.00")
    assert counters(p, "M03900") == ("0.00", "150.00")
    assert not Accumulator.objects.filter(bucket="general").exists()


def test_mutual_aid_from_shanghai_historical_pocket_only_and_an_uninsured_child(world):
    sh = world["regions"]["310000"]
    parent = enrollee(sh, brdy=D(1980, 1, 1)).person
    fund(parent, current="1000.00", historical="60.00")
    child = PersonFactory(brdy=D(2015, 6, 1))
    FamilyLinkFactory(holder=parent, relative=child, relation="child", begndate=D(2022, 7, 1))
    # The child has no employee insurance: no fund; 100.00 bill; the parent's historical pocket pays 60.00
    # (the current pocket, 1,000.00, may not be used for mutual aid in Shanghai), 40.00 cash.
    answer, _ = settlement_create(facility=world["facilities"]["SH1"],
                                  data=request(child.psn_no, ("A50", "2", "50")))
    assert (answer["fund_pay_sumamt"], answer["acct_pay"], answer["acct_mulaid_pay"], answer["psn_cash_pay"],
            answer["insutype"]) == ("0.00", "0.00", "60.00", "40.00", "")
    assert balances(parent) == ("1000.00", "0.00")
    entry = LedgerEntry.objects.get(kind=EntryKind.MULAID_SETTLEMENT)
    assert (entry.amount, entry.ref_id) == (-60, answer["setl_id"])
    with pytest.raises(ClaimError) as refused:
        settlement_create(facility=world["facilities"]["SH1"],
                          data=request(child.psn_no, ("A50", "1", "50"), medins_setl_id="M9",
                                       mulaid_psn_no=PersonFactory().psn_no))
    assert refused.value.err_code == "MULAID_NOT_LINKED"


@pytest.mark.parametrize(("case", "code"), [
    ("unknown person", "PERSON_NOT_FOUND"),
    ("not insured", "NOT_INSURED_ON_DATE"),
    ("not designated", "FACILITY_NOT_DESIGNATED"),
    ("41 at a hospital", "MED_TYPE_NOT_ALLOWED"),
    ("11 at a pharmacy without ext_rx", "MED_TYPE_NOT_ALLOWED"),
    ("before the version", "NO_POLICY_IN_FORCE"),
    ("chronic in Shanghai", "DISEASE_NOT_COVERED"),
])
def test_refusals(world, case, code):
    sh = world["regions"]["310000"]
    p = enrollee(sh, brdy=D(1980, 1, 1), enddate=D(2026, 6, 30)).person
    facility, data = world["facilities"]["SH2"], request(p.psn_no, ("A50", "1", "50"))
    if case == "unknown person":
        data["psn_no"] = "NOPE"
    elif case == "not insured":
        data["setl_date"] = D(2026, 7, 1)
    elif case == "not designated":
        facility.enddate = D(2025, 3, 9)
        facility.save()
    elif case == "41 at a hospital":
        data["med_type"] = "41"
    elif case == "11 at a pharmacy without ext_rx":
        facility = world["facilities"]["SHP"]
    elif case == "before the version":
        data["setl_date"] = D(2023, 6, 30)
    elif case == "chronic in Shanghai":
        RecognitionFactory(person=p, disease__opsp_dise_code="M03900", facility=facility, begndate=D(2024, 1, 1))
        data.update(med_type="14", dise_codg="M03900")
    with pytest.raises(ClaimError) as refused:
        settlement_create(facility=facility, data=data)
    assert refused.value.err_code == code
    assert not Settlement.objects.exists()


def test_a_retry_refused_on_the_way_still_gets_the_first_answer(world):
    """Retries are recognised by the idempotency key's constraint, not a read before settling: a retry that the
    registry would now refuse (the enrollment was suspended since) answers the first answer all the same, and a
    new request is refused."""
    enrollment = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1))
    p = enrollment.person
    h1 = world["facilities"]["JN1"]
    first, _ = settlement_create(facility=h1, data=request(p.psn_no, ("A50", "2", "50")))
    enrollment.psn_insu_stas = "2"
    enrollment.stas_date = D(2025, 3, 1)  # suspended from before the service date
    enrollment.save()
    retry, created = settlement_create(facility=h1, data=request(p.psn_no, ("A50", "2", "50")))
    assert (retry, created) == (first, False)
    with pytest.raises(ClaimError) as refused:
        settlement_create(facility=h1, data=request(p.psn_no, ("A50", "2", "50"), medins_setl_id="M2"))
    assert refused.value.err_code == "NOT_INSURED_ON_DATE"
    with pytest.raises(ClaimError) as conflict:
        settlement_create(facility=h1, data=request(p.psn_no, ("A50", "3", "50")))
    assert conflict.value.err_code == "IDEMPOTENCY_CONFLICT"


def test_a_settlement_costs_a_fixed_number_of_statements(world, django_assert_num_queries):
    """The settlement path's statements, whatever the number of bill lines: patient with enrollment and family
    links, accumulator lock, accounts lock, settlement, its lines, its ledger entries, the account's balances, the
    accumulator, the two report summaries (one statement on PostgreSQL), the clearing statement of the month (a
    settlement reaching an approved month is carried to the next); plus the savepoint pair the test's transaction
    makes of the settlement's own. Catalog items come from the process cache once read."""
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="5000.00")
    h2 = world["facilities"]["JN2"]
    lines = [("A50", "1", "50"), ("B30", "2", "28"), ("C", "1", "30")] * 10
    # The first settlement in this process also loads the region's policy versions with their four rule tables
    # (5) and the items (1); the first of the year creates the accumulator row (insert + lock again: 2).
    with django_assert_num_queries(SETTLEMENT_STATEMENTS + 5 + 1 + 2):
        settlement_create(facility=h2, data=request(p.psn_no, *lines))
    with django_assert_num_queries(SETTLEMENT_STATEMENTS):
        answer, created = settlement_create(facility=h2, data=request(p.psn_no, *lines, medins_setl_id="M2"))
    assert created and answer["hifp_pay"] != "0.00"


@pytest.mark.usefixtures("api_today")
def test_a_partner_settlement_checks_the_tie_in_the_patient_statement(world, django_assert_num_queries):
    """A partner's settlement costs what any settlement costs: the tie rule (claims.ties) is a condition of the
    statement that reads the patient, not statements of its own. Without a tie: PERSON_NOT_FOUND, nothing written."""
    from claims.partner import partner_settlement_create, person_lookup_record

    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="5000.00")
    h2 = world["facilities"]["JN2"]
    with pytest.raises(ClaimError) as refused:
        partner_settlement_create(facility=h2, data=request(p.psn_no, ("A50", "1", "50")))
    assert refused.value.err_code == "PERSON_NOT_FOUND" and not Settlement.objects.exists()
    person_lookup_record(facility=h2, person=p)
    # The first creates the year's counters row and meets the 400.00 deductible (level 2, in-service); the fund
    # pays part of the second.
    partner_settlement_create(facility=h2, data=request(p.psn_no, ("A50", "10", "50")))
    with django_assert_num_queries(SETTLEMENT_STATEMENTS):
        answer, created = partner_settlement_create(facility=h2, data=request(p.psn_no, ("A50", "2", "50"),
                                                                              medins_setl_id="M2"))
    assert created and answer["hifp_pay"] != "0.00"


def test_the_answer_has_exactly_the_fields_the_schema_promises(world):
    from claims.api.serializers import SettlementOutputSerializer

    p = enrollee(world["regions"]["310000"], brdy=D(1980, 1, 1)).person
    answer, _ = settlement_create(facility=world["facilities"]["SH1"], data=request(p.psn_no, ("A50", "1", "50")))
    assert set(answer) == set(SettlementOutputSerializer().fields)
    assert SettlementOutputSerializer(answer).data == answer
