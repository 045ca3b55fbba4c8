"""Fixtures for settlement tests: the seeded versions, a facility of every kind in Shanghai and Jinan, and a small
catalog (class A with a price limit, class B with a pre-self-pay share, class C)."""

import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts.ledger import account_correct
from accounts.models import PsnType
from accounts.tests.conftest import enrollee
from claims.tests.factories import DiseaseFactory, FacilityFactory, ItemFactory, RecognitionFactory

D = datetime.date


# The statements of a settlement that a fund pays part of (test_services_settlement counts them): the two report
# summaries' upserts are one statement on PostgreSQL (reports.summaries), two elsewhere.
SETTLEMENT_STATEMENTS = 11 + (1 if connection.vendor == "postgresql" else 2)


@pytest.fixture
def world(db):
    call_command("seed_policies", stdout=io.StringIO())
    from policies.models import Region

    regions = {r.admdvs: r for r in Region.objects.all()}
    facilities = {}
    for admdvs, prefix in (("310000", "SH"), ("370100", "JN")):
        for level in ("1", "2", "3"):
            facilities[f"{prefix}{level}"] = FacilityFactory(fixmedins_code=f"H{prefix}{level}", hosp_lv=level,
                                                             region=regions[admdvs])
        facilities[f"{prefix}P"] = FacilityFactory(fixmedins_code=f"P{prefix}", fixmedins_type="2", hosp_lv="",
                                                   region=regions[admdvs])
    ItemFactory(item_code="A50", chrg_item_lv="01", pric_uplmt_amt=Decimal("50.00"))
    ItemFactory(item_code="B30", chrg_item_lv="02", selfpay_prop=Decimal("0.10"), pric_uplmt_amt=Decimal("28.00"))
    ItemFactory(item_code="C", chrg_item_lv="03")
    # A separately paid drug (sep_pay_flag), class B with a 10% pre-self-pay share.
    ItemFactory(item_code="S70", chrg_item_lv="02", selfpay_prop=Decimal("0.10"), sep_pay_flag=True)
    DiseaseFactory(opsp_dise_code="M03900", opsp_dise_name="高血压")
    DiseaseFactory(opsp_dise_code="M07803", opsp_dise_name="血液透析")
    return {"regions": regions, "facilities": facilities}


def fund(person, current: str = "0", historical: str = "0") -> None:
    """Put money in a person's pockets (a correction entry each, so the ledger stays exact)."""
    if Decimal(current):
        account_correct(person=person, pocket="current", amount=Decimal(current), reason="test funds")
    if Decimal(historical):
        account_correct(person=person, pocket="historical", amount=Decimal(historical), reason="test funds")


def request(psn_no: str, *items: tuple[str, str, str], med_type: str = "11", setl_date: str = "2025-03-10",
            medins_setl_id: str = "M1", **extra) -> dict:
    return {"medins_setl_id": medins_setl_id, "psn_no": psn_no, "med_type": med_type,
            "setl_date": D.fromisoformat(setl_date), "acct_used_flag": "1",
            "items": [{"item_code": c, "qty": Decimal(q), "price": Decimal(p)} for c, q, p in items], **extra}


__all__ = ["D", "partner", "PsnType", "RecognitionFactory", "enrollee", "fund", "request"]


# The partner API settles service dates from today − 30 days to today (Asia/Shanghai): API tests that settle the
# seeded versions' dates of March 2025 run on this day.
API_TODAY = "2025-03-20 10:00 +0800"


@pytest.fixture
def api_today():
    with time_machine.travel(API_TODAY, tick=True):
        yield D(2025, 3, 20)


def partner(facility, *tied) -> APIClient:
    """A client with a new token of `facility`, which looked up each person in `tied` just now (a tie: CONTRACT.md,
    "Partner REST API")."""
    from claims.partner import person_lookup_record
    from claims.tokens import partner_token_create

    _, raw = partner_token_create(facility=facility)
    for person in tied:
        person_lookup_record(facility=facility, person=person)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client
