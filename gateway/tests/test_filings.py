"""2501 / 2502 cross-region filings and 2503 / 2504 chronic-disease recognition filings, their 2601 reversals, and
what they change for settling: a Jinan enrollee referred to Shanghai, a recognition counted once staff approve it."""

import pytest

from claims.errors import ClaimError
from claims.models import CrossRegionFiling, FilingStatus, Recognition, RecognitionSource, RecognitionStatus
from claims.recognitions import recognition_decide
from claims.services import settlement_preview
from claims.tests.conftest import D, enrollee, request
from gateway.tests.test_visit import jinan  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]


def lookup(gw, person) -> None:
    gw.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno}})


def filing_input(person, **extra) -> dict:
    return {"data": {"psn_no": person.psn_no, "insutype": "310", "mdtrtarea_admvs": "310000",
                     "begndate": "2025-03-01", "enddate": "", "diag_code": "I10", "diag_name": "高血压",
                     "refl_rea": "上级医院诊治", **extra}}


def test_2501_files_a_referral_that_lifts_the_unfiled_rate_cut_and_2502_cancels_it(world, jinan, his):  # noqa: F811
    gw = his(world["facilities"]["JN1"])
    refused = gw.send("2501", filing_input(jinan))
    assert refused["infcode"] == -1 and refused["err_msg"].startswith("PERSON_NOT_FOUND: ")  # no tie yet
    lookup(gw, jinan)
    sn = gw.ok("2501", filing_input(jinan))["result"]["trt_dcla_detl_sn"]
    filing = CrossRegionFiling.objects.get(pk=int(sn))
    assert (filing.person, filing.mdtrtarea_admvs, filing.filing_type, filing.begndate, filing.enddate,
            filing.facility, filing.status) == (jinan, "310000", "referral", D(2025, 3, 1), None,
                                                world["facilities"]["JN1"], FilingStatus.ACTIVE)
    # JN-2024 at Shanghai level 1, filed: 70% of (500.00 − 200.00) = 210.00 (unfiled: 60%, 180.00).
    bill = request(jinan.psn_no, ("A50", "10", "50"))
    assert settlement_preview(facility=world["facilities"]["SH1"], data=bill)["hifp_pay"] == "210.00"
    again = gw.send("2501", filing_input(jinan))
    assert again["err_msg"].startswith("INVALID_REQUEST: ")
    own = gw.send("2501", filing_input(jinan, mdtrtarea_admvs="370100", begndate="2025-03-02"))
    assert own["err_msg"].startswith("INVALID_REQUEST: ")

    other = his(world["facilities"]["JN2"])
    lookup(other, jinan)
    stranger = other.send("2502", {"data": {"trt_dcla_detl_sn": sn, "psn_no": jinan.psn_no}})
    assert stranger["err_msg"].startswith("INVALID_REQUEST: ")
    assert gw.ok("2502", {"data": {"trt_dcla_detl_sn": sn, "psn_no": jinan.psn_no, "memo": "患者取消"}}) == {}
    filing.refresh_from_db()
    assert (filing.status, filing.memo) == (FilingStatus.CANCELLED, "患者取消")
    assert settlement_preview(facility=world["facilities"]["SH1"], data=bill)["hifp_pay"] == "180.00"
    twice = gw.send("2502", {"data": {"trt_dcla_detl_sn": sn, "psn_no": jinan.psn_no}})
    assert twice["err_msg"].startswith("ALREADY_REVERSED: ")


def test_2601_of_a_2501_cancels_the_filing(world, jinan, his):  # noqa: F811
    gw = his(world["facilities"]["JN1"])
    lookup(gw, jinan)
    envelope = gw.envelope("2501", filing_input(jinan, filing_type="temporary"))
    answer = gw.post(envelope).json()
    assert answer["infcode"] == 0
    gw.ok("2601", {"data": {"psn_no": jinan.psn_no, "omsgid": envelope["msgid"], "oinfno": "2501"}})
    assert CrossRegionFiling.objects.get().status == FilingStatus.CANCELLED


def recognition_input(person, **extra) -> dict:
    return {"data": {"psn_no": person.psn_no, "insutype": "310", "opsp_dise_code": "M03900",
                     "opsp_dise_name": "高血压", "hosp_ide_date": "2025-03-05", "diag_dr_codg": "DR1",
                     "diag_dr_name": "王医生", "evidence": "三次非同日血压 ≥160/100 mmHg", "begndate": "2025-03-10",
                     "enddate": "", **extra}}


def test_2503_applies_staff_approve_and_then_the_visit_settles_as_chronic(world, jinan, his,  # noqa: F811
                                                                         django_user_model):
    gw = his(world["facilities"]["JN2"])
    lookup(gw, jinan)
    sn = gw.ok("2503", recognition_input(jinan))["result"]["trt_dcla_detl_sn"]
    application = Recognition.objects.get(pk=int(sn))
    assert (application.status, application.source, application.facility, application.begndate) == (
        RecognitionStatus.APPLIED, RecognitionSource.GATEWAY, world["facilities"]["JN2"], D(2025, 3, 10))
    assert "160/100" in application.evidence and "王医生" in application.evidence
    assert gw.ok("5301", {"data": {"psn_no": jinan.psn_no}}) == {"feedetail": []}
    chronic = request(jinan.psn_no, ("A50", "4", "50"), med_type="14", dise_codg="M03900")
    with pytest.raises(ClaimError) as not_yet:
        settlement_preview(facility=world["facilities"]["JN2"], data=chronic)
    assert not_yet.value.err_code == ClaimError.DISEASE_NOT_RECOGNISED

    reviewer = django_user_model.objects.create_user("reviewer")
    recognition_decide(recognition=application, user=reviewer, approve=True, enddate=D(2026, 3, 9))
    assert gw.ok("5301", {"data": {"psn_no": jinan.psn_no}}) == {"feedetail": [
        {"opsp_dise_code": "M03900", "opsp_dise_name": "高血压", "begndate": "2025-03-10",
         "enddate": "2026-03-09"}]}
    # JN-2024 M03900, in service: no deductible, 70% of 200.00 = 140.00.
    assert settlement_preview(facility=world["facilities"]["JN2"], data=chronic)["hifp_pay"] == "140.00"
    decided = gw.send("2504", {"data": {"trt_dcla_detl_sn": sn, "psn_no": jinan.psn_no}})
    assert decided["err_msg"].startswith("INVALID_REQUEST: ")


def test_2504_and_2601_withdraw_an_application_not_yet_decided(world, jinan, his):  # noqa: F811
    gw = his(world["facilities"]["JN2"])
    lookup(gw, jinan)
    unknown = gw.send("2503", recognition_input(jinan, opsp_dise_code="M99999"))
    assert unknown["err_msg"].startswith("DISEASE_NOT_COVERED: ")
    sn = gw.ok("2503", recognition_input(jinan))["result"]["trt_dcla_detl_sn"]
    assert gw.ok("2504", {"data": {"trt_dcla_detl_sn": sn, "psn_no": jinan.psn_no, "memo": "误报"}}) == {}
    assert Recognition.objects.get(pk=int(sn)).status == RecognitionStatus.CANCELLED
    twice = gw.send("2504", {"data": {"trt_dcla_detl_sn": sn, "psn_no": jinan.psn_no}})
    assert twice["err_msg"].startswith("ALREADY_REVERSED: ")
    # The key is free again: a new application, withdrawn by a reversal of its message.
    envelope = gw.envelope("2503", recognition_input(jinan))
    again = gw.post(envelope).json()["output"]["result"]["trt_dcla_detl_sn"]
    gw.ok("2601", {"data": {"psn_no": jinan.psn_no, "omsgid": envelope["msgid"], "oinfno": "2503"}})
    assert Recognition.objects.get(pk=int(again)).status == RecognitionStatus.CANCELLED


def test_2503_needs_evidence_and_a_medical_institution(world, his):
    person = enrollee(world["regions"]["370100"], brdy=D(1970, 1, 1)).person
    gw = his(world["facilities"]["JN1"])
    lookup(gw, person)
    bare = gw.send("2503", recognition_input(person, evidence="", hosp_ide_date="", diag_dr_codg="",
                                             diag_dr_name=""))
    assert bare["err_msg"].startswith("INVALID_REQUEST: ") and "evidence" in bare["err_msg"]
    pharmacy = his(world["facilities"]["JNP"])
    lookup(pharmacy, person)
    refused = pharmacy.send("2503", recognition_input(person))
    assert refused["err_msg"].startswith("INVALID_REQUEST: ") and "pharmacy" in refused["err_msg"]
