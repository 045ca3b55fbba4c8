"""Separately paid drugs through the settlement services (JN-2024, CONTRACT.md): two accumulator buckets locked in
one order, written with the settlement and restored exactly by its reversal; the lines keep the catalog terms they
were settled with; the path costs two statements more only for bills that have such drugs."""

import random
import threading
from decimal import Decimal

import pytest
from django.db import connections

from accounts.ledger import ledger_verify
from claims.errors import ClaimError
from claims.models import Accumulator, Settlement, SettlementLine
from claims.services import settlement_create, settlement_preview, settlement_reverse
from claims.tests.conftest import SETTLEMENT_STATEMENTS, D, enrollee, fund, request
from claims.tests.test_services_settlement import balances
from claims.tests.test_settlement_properties import books_check, make_family

pytestmark = pytest.mark.django_db


def counters(person) -> dict[str, tuple[str, str]]:
    return {a.bucket: (str(a.dedc_used), str(a.hifp_paid)) for a in Accumulator.objects.filter(person=person)}


def test_a_mixed_bill_settles_both_parts_and_its_reversal_restores_both_buckets(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="1000.00")
    # JN-2024, in-service, level 1: A50 6 × 50.00 = 300.00 (at its limit), all in scope; S70 2 × 500.00 = 1,000.00,
    # class B 10%: 100.00 pre-self-pay, 900.00 in scope.
    # S70 apart: 70% × 900.00 = 630.00. The rest: 200.00 deductible, 70% × 100.00 = 70.00.
    # Fund 700.00; personal 600.00 from the account: 1,000.00 − 600.00 = 400.00.
    data = request(p.psn_no, ("A50", "6", "50"), ("S70", "2", "500"))
    preview = settlement_preview(facility=world["facilities"]["JN1"], data=data)
    answer, created = settlement_create(facility=world["facilities"]["JN1"], data=data)
    assert created and {k: v for k, v in preview.items() if k not in ("setl_id", "status")} == {
        k: v for k, v in answer.items() if k not in ("setl_id", "status")}
    assert (answer["medfee_sumamt"], answer["preselfpay_amt"], answer["inscp_scp_amt"], answer["act_pay_dedc"],
            answer["hifp_pay"], answer["fund_pay_sumamt"], answer["acct_pay"], answer["psn_cash_pay"],
            answer["balc"]) == ("1300.00", "100.00", "1200.00", "200.00", "700.00", "700.00", "600.00", "0.00",
                                "400.00")
    assert answer["setldetail"] == [{"fund_pay_type": "310100", "fund_payamt": "700.00"},
                                    {"fund_pay_type": "LOCAL_SUPP", "fund_payamt": "0.00"}]
    assert counters(p) == {"general": ("200.00", "70.00"), "sep_pay": ("0.00", "630.00")}
    settlement = Settlement.objects.get(setl_id=answer["setl_id"])
    assert (settlement.bucket, settlement.sep_bucket, settlement.sep_hifp_pay) == (
        "general", "sep_pay", Decimal("630.00"))
    assert [s["code"] for s in settlement.explanation][:2] == ["lines", "sep_pay"]
    assert sorted(SettlementLine.objects.filter(settlement=settlement).values_list(
        "item_code", "sep_pay", "selfpay_prop", "pric_uplmt_amt")) == [
        ("A50", False, Decimal("0"), Decimal("50.00")), ("S70", True, Decimal("0.1"), None)]

    settlement_reverse(settlement=settlement, reason="wrong patient")
    assert counters(p) == {"general": ("0.00", "0.00"), "sep_pay": ("0.00", "0.00")}
    assert balances(p) == ("0.00", "1000.00")
    assert ledger_verify() == []


def test_the_drugs_cap_spans_the_year_and_is_their_own(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    h2 = world["facilities"]["JN2"]
    # S70 60 × 600.00 = 36,000.00, in scope 32,400.00: 70% = 22,680.00. Then again: 7,320.00 left of 30,000.
    first, _ = settlement_create(facility=h2, data=request(p.psn_no, ("S70", "60", "600")))
    second, _ = settlement_create(facility=h2, data=request(p.psn_no, ("S70", "60", "600"), medins_setl_id="M2"))
    assert (first["hifp_pay"], second["hifp_pay"]) == ("22680.00", "7320.00")
    # A general-outpatient bill after it still has its whole 4,500 cap: A50 4 × 50.00 at level 2 (deductible 400)
    # is all deductible; nothing is blocked by the drug's cap.
    third, _ = settlement_create(facility=h2, data=request(p.psn_no, ("A50", "4", "50"), medins_setl_id="M3"))
    assert (third["act_pay_dedc"], third["hifp_pay"]) == ("200.00", "0.00")
    assert counters(p) == {"general": ("200.00", "0.00"), "sep_pay": ("0.00", "30000.00")}


def test_in_shanghai_the_drug_is_an_ordinary_line(world):
    # SH-2023-07 sets no terms for separately paid drugs: S70 settles as any class B line, one bucket.
    p = enrollee(world["regions"]["310000"], brdy=D(1980, 1, 1)).person
    answer, _ = settlement_create(facility=world["facilities"]["SH1"], data=request(p.psn_no, ("S70", "2", "500")))
    settlement = Settlement.objects.get(setl_id=answer["setl_id"])
    assert (settlement.sep_bucket, settlement.sep_hifp_pay) == ("", Decimal("0.00"))
    # In-service level 1: in scope 900.00, all of it to the 500 deductible first: 500.00; fund 80% × 400.00 = 320.00.
    assert (answer["act_pay_dedc"], answer["hifp_pay"]) == ("500.00", "320.00")
    assert set(counters(p)) == {"general"}


def test_two_statements_more_only_with_separately_paid_drugs(world, django_assert_num_queries):
    """A bill with a separately paid drug adds the lock of its bucket and its update (plus, the first time in the
    year, its creation and the lock again); test_services_settlement counts the bills without."""
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="5000.00")
    h2 = world["facilities"]["JN2"]
    lines = [("A50", "1", "50"), ("S70", "1", "28")] * 5
    settlement_create(facility=h2, data=request(p.psn_no, ("A50", "1", "50")))  # caches, the general row
    # The first time: the S70 item's first read, then its bucket's lock (no row yet), creation, lock, update.
    with django_assert_num_queries(SETTLEMENT_STATEMENTS + 1 + 4):
        settlement_create(facility=h2, data=request(p.psn_no, *lines, medins_setl_id="M2"))
    with django_assert_num_queries(SETTLEMENT_STATEMENTS + 2):
        answer, created = settlement_create(facility=h2, data=request(p.psn_no, *lines, medins_setl_id="M3"))
    assert created and Decimal(answer["hifp_pay"]) > 0


def test_a_disease_visit_with_a_drug_needs_its_recognition_as_before(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    with pytest.raises(ClaimError) as refused:
        settlement_create(facility=world["facilities"]["JN1"],
                          data=request(p.psn_no, ("S70", "1", "100"), med_type="14", dise_codg="M03900"))
    assert refused.value.err_code == "DISEASE_NOT_RECOGNISED"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_bills_with_drugs_and_reversals_lose_nothing(world):
    """8 threads settle and reverse 400 Jinan bills of one family, most with a separately paid drug: two buckets per
    person locked in one order by settlements and reversals alike; no deadlock, and every counter equals its live
    settlements."""
    family = make_family(world["regions"]["370100"])
    fund(family["holder"], historical="50000.00")
    settled: list[str] = []
    errors: list[str] = []
    guard = threading.Lock()

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            for k in range(50):
                try:
                    if settled and rng.random() < 0.3:
                        with guard:
                            setl_id = rng.choice(settled)
                        settlement_reverse(settlement=Settlement.objects.get(setl_id=setl_id), reason="test")
                        continue
                    patient = rng.choice(("holder", "spouse", "parent"))
                    items = [("S70", str(rng.randint(1, 5)), str(rng.randint(10, 900)))]
                    if rng.random() < 0.7:
                        items.append(("A50", str(rng.randint(1, 9)), "50"))
                    data = request(family[patient].psn_no, *items, medins_setl_id=f"T{n}-{k}",
                                   setl_date=f"2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                                   mulaid_psn_no=family["holder"].psn_no if patient != "holder" else None)
                    answer, _ = settlement_create(facility=world["facilities"][f"JN{rng.choice('123')}"], data=data)
                    with guard:
                        settled.append(answer["setl_id"])
                except ClaimError:
                    pass
                except Exception as e:  # noqa: BLE001  (every unexpected failure is collected and reported)
                    with guard:
                        errors.append(f"{type(e).__name__}: {e}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors[:5]
    assert Settlement.objects.exclude(sep_bucket="").count() > 100
    books_check()
