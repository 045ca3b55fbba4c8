"""Settling through the services under issue 15's rules, each amount worked out by hand from CONTRACT.md's numbers
(the comments show the arithmetic): items no account may pay."""

import pytest

from accounts.tests.factories import FamilyLinkFactory
from claims.models import Settlement, SettlementLine
from claims.services import settlement_create
from claims.tests.conftest import D, enrollee, fund, request
from claims.tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def test_a_forbidden_item_is_paid_in_cash_though_both_accounts_hold_money(world):
    jinan = world["regions"]["370100"]
    patient = enrollee(jinan, brdy=D(1980, 1, 1)).person
    holder = enrollee(jinan, brdy=D(1978, 1, 1)).person
    FamilyLinkFactory(holder=holder, relative=patient, relation="spouse")
    fund(patient, historical="10.00")
    fund(holder, historical="1000.00")
    ItemFactory(item_code="GYM", item_name="健身卡", chrg_item_lv="01", acct_pay_forbidden=True)
    # JN-2024 in-service at level 1: A50 2 × 50.00 = 100.00 in scope, all of it to the 200.00 deductible; GYM
    # 1 × 60.00 is out of scope (acct_pay_forbidden, though class A). Fund 0.00; personal part 160.00: the own
    # account 10.00, the spouse's account 90.00 (the 100.00 accounts may pay, less 10.00), cash 60.00.
    answer, _ = settlement_create(facility=world["facilities"]["JN1"],
                                  data=request(patient.psn_no, ("A50", "2", "50"), ("GYM", "1", "60")))
    assert (answer["medfee_sumamt"], answer["fulamt_ownpay_amt"], answer["inscp_scp_amt"], answer["act_pay_dedc"],
            answer["hifp_pay"], answer["acct_pay"], answer["acct_mulaid_pay"], answer["psn_cash_pay"]) == (
        "160.00", "60.00", "100.00", "100.00", "0.00", "10.00", "90.00", "60.00")
    settlement = Settlement.objects.get(setl_id=answer["setl_id"])
    lines = dict(SettlementLine.objects.filter(settlement=settlement).values_list("item_code", "acct_pay_forbidden"))
    assert lines == {"A50": False, "GYM": True}
    explained = {step["code"]: step for step in settlement.explanation}
    assert explained["lines"]["detail"]["acct_pay_forbidden"] == "60.00"
    assert "GYM" in explained["lines"]["label"]["en"] and "GYM" in explained["lines"]["label"]["zh-hans"]
    assert explained["own_account"]["detail"]["reserved_for_cash"] == "60.00"
