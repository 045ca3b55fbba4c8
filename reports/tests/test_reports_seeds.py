"""The reports of treatment in another region and of recognitions by disease and facility, on visits settled
through the services (amounts worked out in claims/tests/test_services_cross_region.py) and recognitions in every
state."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from claims.models import CrossRegionFiling, Disease, Recognition, RecognitionStatus, Settlement
from claims.recognitions import recognition_apply, recognition_decide
from claims.services import settlement_create, settlement_reverse
from claims.tests.conftest import D, enrollee, fund, request, world  # noqa: F401  (world: fixture)
from reports.definitions import REPORTS, report_run

pytestmark = pytest.mark.django_db
M = Decimal


def run(name: str, **params: str):
    form, result = report_run(REPORTS[name], params)
    assert result is not None, form.errors
    return result


def test_cross_region_spending_by_region_of_treatment(world):  # noqa: F811
    jinan, shanghai = world["regions"]["370100"], world["regions"]["310000"]
    unfiled = enrollee(jinan, brdy=D(1980, 1, 1)).person
    filed = enrollee(jinan, brdy=D(1981, 1, 1)).person
    visitor = enrollee(shanghai, brdy=D(1982, 1, 1)).person
    fund(visitor, current="100.00")
    CrossRegionFiling.objects.create(person=filed, mdtrtarea_admvs="310000", filing_type="long_term",
                                     begndate=D(2025, 1, 1))
    CrossRegionFiling.objects.create(person=visitor, mdtrtarea_admvs="370000", filing_type="temporary",
                                     begndate=D(2025, 1, 1))
    sh1, jn1 = world["facilities"]["SH1"], world["facilities"]["JN1"]
    settlement_create(facility=sh1, data=request(unfiled.psn_no, ("A50", "10", "50"), medins_setl_id="U1"))
    settlement_create(facility=sh1, data=request(filed.psn_no, ("A50", "10", "50"), medins_setl_id="F1"))
    settlement_create(facility=jn1, data=request(visitor.psn_no, ("A50", "20", "50"), medins_setl_id="V1"))
    settlement_create(facility=jn1, data=request(filed.psn_no, ("A50", "10", "50"), medins_setl_id="HOME"))
    answer, _ = settlement_create(facility=sh1, data=request(unfiled.psn_no, ("A50", "2", "50"),
                                                             medins_setl_id="U2", setl_date="2025-03-11"))
    settlement_reverse(settlement=Settlement.objects.get(setl_id=answer["setl_id"]), reason="test")

    result = run("cross-region", month="2025-03")
    rows = [(r["treated_in"], r["insured_in"], r["cross_region"], r["settlements"], r["medfee_sumamt"],
             r["fund_paid"], r["accounts"], r["cash"]) for r in result.rows]
    assert rows == [
        # JN-2024 at Shanghai level 1: filed 70% of 300.00; unfiled 60% (the reversed U2 netted out; HOME is local).
        ("310000", "370100", "filed", 1, M("500.00"), M("210.00"), M("0.00"), M("290.00")),
        ("310000", "370100", "unfiled", 1, M("500.00"), M("180.00"), M("0.00"), M("320.00")),
        # SH-2023-07 at Jinan level 1: current pocket 100.00, deductible 500.00, 80% of 400.00.
        ("370100", "310000", "filed", 1, M("1000.00"), M("320.00"), M("100.00"), M("580.00")),
    ]
    assert result.totals == {"settlements": 3, "medfee_sumamt": M("2000.00"), "fund_paid": M("710.00"),
                             "accounts": M("100.00"), "cash": M("1190.00")}
    assert [r["cross_region"] for r in run("cross-region", month="2025-03", region="370100").rows] == [
        "filed", "unfiled"]
    assert len(run("cross-region", month="2025-03", treated_in="370100").rows) == 1
    assert run("cross-region", month="2025-04").rows == []


def test_recognitions_by_disease_and_facility_in_every_state(world):  # noqa: F811
    today = timezone.localdate()
    first = today.replace(day=1)
    jinan = world["regions"]["370100"]
    hospital = world["facilities"]["JN2"]
    disease = Disease.objects.get(opsp_dise_code="M03900")
    maker = User.objects.create_user("maker")
    checker = User.objects.create_user("checker")
    people = [enrollee(jinan, brdy=D(1960 + n, 1, 1)).person for n in range(5)]

    def application(person, begndate=first):
        return recognition_apply(person=person, disease=disease, facility=hospital, begndate=begndate,
                                 evidence="血压记录", user=maker)

    recognition_decide(recognition=application(people[0]), user=checker, approve=True)
    recognition_decide(recognition=application(people[1]), user=checker, approve=False, note="证据不足")
    application(people[2])
    # Approved long ago, ended on the month's first day: valid in the month and ended in it.
    old = application(people[3], begndate=first - datetime.timedelta(days=400))
    Recognition.objects.filter(pk=old.pk).update(status=RecognitionStatus.APPROVED, enddate=first,
                                                 decided_at=timezone.now() - datetime.timedelta(days=400))
    # Recognised elsewhere: a row of its own.
    Recognition.objects.create(person=people[4], disease=disease, facility=world["facilities"]["JN1"],
                               begndate=D(2020, 1, 1))

    result = run("recognitions", month=f"{today:%Y-%m}", region="370100")
    rows = [(r["disease"], r["fixmedins_code"], r["persons"], r["approved"], r["refused"], r["expired"],
             r["pending"]) for r in result.rows]
    assert rows == [("M03900", "HJN1", 1, 0, 0, 0, 0),
                    ("M03900", "HJN2", 2, 1, 1, 1, 1)]
    assert result.totals == {"persons": 3, "approved": 1, "refused": 1, "expired": 1, "pending": 1}
    assert run("recognitions", month=f"{today:%Y-%m}", region="310000").rows == []
