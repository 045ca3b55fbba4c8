"""An Internet+ follow-up visit (Shandong 二(四)) through the gateway: the extension `online` of 2206/2207 follows
the REST API's rule (claims.services): a recognised chronic disease's follow-up at a facility designated for online
services settles as that disease's visit; elsewhere, or as another medical type, it is refused with a clear code and
nothing is written. Numbers worked out by hand from CONTRACT.md's JN-2024."""

import pytest

from accounts.models import LedgerEntry, PersonalAccount
from claims.models import Accumulator, Disease, Recognition, Settlement
from claims.tests.conftest import D, enrollee, fund
from gateway.tests.test_visit import MONEY, detail, register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]


@pytest.fixture
def patient(world):
    """A Jinan in-service enrollee with 500.00 in the (one) historical pocket, recognised for M03900 hypertension
    at JN1 (designated for online services) and at JN2 (not designated)."""
    person = enrollee(world["regions"]["370100"], brdy=D(1975, 5, 1)).person
    fund(person, historical="500.00")
    jn1, jn2 = world["facilities"]["JN1"], world["facilities"]["JN2"]
    jn1.online_service = True
    jn1.save()
    hypertension = Disease.objects.get(opsp_dise_code="M03900")
    for facility in (jn1, jn2):
        Recognition.objects.create(person=person, disease=hypertension, facility=facility, begndate=D(2024, 1, 1))
    return person


def visit(gw, person, *, med_type: str = "14", dise_codg: str = "M03900") -> str:
    """2201, 2203 (the medical type and disease) and one batch: A50 2 × 50.00 = 100.00, class A at its limit."""
    mdtrt_id = register(gw, person)
    gw.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "med_type": med_type,
                                 "begntime": "2025-03-10 09:30:00", "dise_codg": dise_codg, "dise_name": "高血压"}})
    gw.ok("2204", {"feedetail": [detail("1", mdtrt_id, person.psn_no, "B1", "A50", 2, "50.00", "100.00")]})
    return mdtrt_id


def settle_data(person, mdtrt_id: str, **extra) -> dict:
    """2206/2207's input without med_type: the visit's medical type and disease come from 2203."""
    return {"data": {"psn_no": person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
                     "medfee_sumamt": "100.00", "psn_setlway": "01", "mdtrt_id": mdtrt_id, "acct_used_flag": "1",
                     "insutype": "310", **extra}}


def test_an_online_follow_up_at_a_designated_facility_settles_as_the_diseases_visit(world, patient, his):
    gw = his(world["facilities"]["JN1"])
    mdtrt_id = visit(gw, patient)
    # JN-2024, M03900 in-service: no deductible, 70% (cap 2,000.00). 100.00 in scope: fund 70% × 100.00 = 70.00;
    # the personal part 30.00 from the own account: 500.00 − 30.00 = 470.00; cash 0.00.
    expected = {"medfee_sumamt": "100.00", "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00",
                "preselfpay_amt": "0.00", "inscp_scp_amt": "100.00", "act_pay_dedc": "0.00", "hifp_pay": "70.00",
                "oth_pay": "0.00", "fund_pay_sumamt": "70.00", "psn_part_amt": "30.00", "acct_pay": "30.00",
                "acct_mulaid_pay": "0.00", "psn_cash_pay": "0.00", "balc": "470.00"}
    preview = gw.ok("2206", settle_data(patient, mdtrt_id, online=True))["setlinfo"]
    assert {k: preview[k] for k in MONEY} == expected
    assert not Settlement.objects.exists()
    answer = gw.ok("2207", settle_data(patient, mdtrt_id, online=True))
    setlinfo = answer["setlinfo"]
    assert {k: setlinfo[k] for k in MONEY} == expected
    assert (setlinfo["med_type"], setlinfo["policy_version"]) == ("14", "JN-2024")
    assert answer["setldetail"][0] == {"fund_pay_type": "310100", "fund_payamt": "70.00"}
    settlement = Settlement.objects.get(setl_id=setlinfo["setl_id"])
    # Counted in the disease's own bucket, not the general outpatient one.
    assert (settlement.bucket, settlement.dise_codg, settlement.online) == ("M03900", "M03900", True)
    counters = Accumulator.objects.get(person=patient, year_start=D(2025, 1, 1), bucket="M03900")
    assert (str(counters.dedc_used), str(counters.hifp_paid)) == ("0.00", "70.00")
    assert not Accumulator.objects.filter(person=patient, bucket="general").exists()
    assert str(PersonalAccount.objects.get(person=patient).balc) == "470.00"


def test_an_online_visit_elsewhere_is_refused_with_a_clear_code_and_nothing_written(world, patient, his):
    jn2 = his(world["facilities"]["JN2"])
    mdtrt_id = visit(jn2, patient)
    before = LedgerEntry.objects.count()
    # JN2 is not designated for online services, though the patient is recognised there.
    refused = jn2.send("2207", settle_data(patient, mdtrt_id, online=True))
    assert refused["infcode"] == -1
    assert refused["err_msg"].startswith("FACILITY_NOT_DESIGNATED: ")
    assert "online services" in refused["err_msg"]
    assert jn2.send("2206", settle_data(patient, mdtrt_id, online=True))["err_msg"].startswith(
        "FACILITY_NOT_DESIGNATED: ")
    assert not Settlement.objects.exists() and LedgerEntry.objects.count() == before
    # The same visit in person (no `online`) settles there as the disease's visit: fund 70.00, account 30.00.
    settled = jn2.ok("2207", settle_data(patient, mdtrt_id))["setlinfo"]
    assert (settled["hifp_pay"], settled["acct_pay"], settled["balc"]) == ("70.00", "30.00", "470.00")
    assert not Settlement.objects.get(setl_id=settled["setl_id"]).online


def test_an_online_visit_must_be_a_recognised_chronic_diseases_follow_up(world, patient, his):
    gw = his(world["facilities"]["JN1"])
    # A general outpatient visit (2203 says 11) is no online follow-up.
    general = visit(gw, patient, med_type="11", dise_codg="R51")
    refused = gw.send("2207", settle_data(patient, general, online=True))
    assert refused["infcode"] == -1 and refused["err_msg"].startswith("MED_TYPE_NOT_ALLOWED: ")
    # A chronic disease the patient is not recognised for (M07803 haemodialysis) is refused as any chronic visit.
    unrecognised = visit(gw, patient, dise_codg="M07803")
    refused = gw.send("2207", settle_data(patient, unrecognised, online=True))
    assert refused["infcode"] == -1 and refused["err_msg"].startswith("DISEASE_NOT_RECOGNISED: ")
    assert not Settlement.objects.exists()
