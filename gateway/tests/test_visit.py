"""A whole visit through the gateway, with the numbers worked out by hand: the same bill as the REST API's JINAN
case (claims/tests/test_api_settlements.py), and the same answer."""

import json

import pytest

from accounts.models import LedgerEntry
from claims.models import Accumulator, Settlement
from claims.tests.conftest import D, enrollee, fund
from claims.tests.test_api_settlements import JINAN_ANSWER
from gateway.models import Message, Reconciliation, Visit, VisitSettlement

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]

MONEY = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
         "hifp_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay",
         "balc")


@pytest.fixture
def jinan(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="500.00")
    return p


def detail(sn: str, mdtrt_id: str, psn_no: str, batch: str, code: str, cnt, pric, amount) -> dict:
    return {"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": batch, "med_type": "11",
            "fee_ocur_time": "2025-03-10 09:40:00", "med_list_codg": code, "medins_list_codg": f"HIS-{code}",
            "det_item_fee_sumamt": amount, "cnt": cnt, "pric": pric, "bilg_dept_codg": "D01", "bilg_dr_codg": "DR1"}


def register(gw, person, begntime: str = "2025-03-10 09:30:00") -> str:
    gw.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno, "psn_cert_type": "01",
                            "certno": person.certno, "psn_name": person.psn_name}})
    out = gw.ok("2201", {"data": {"psn_no": person.psn_no, "insutype": "310", "begntime": begntime,
                                  "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno, "ipt_otp_no": "MZ0001",
                                  "atddr_no": "DR1", "dr_name": "王医生", "dept_code": "D01", "dept_name": "内科",
                                  "caty": "A03"}})
    return out["data"]["mdtrt_id"]


def jinan_bill(gw, person, mdtrt_id: str) -> tuple[dict, dict]:
    """JINAN_ITEMS in two batches: numbers as a HIS may write them (JSON numbers and strings)."""
    first = gw.send("2204", {"feedetail": [
        detail("1", mdtrt_id, person.psn_no, "B1", "A50", 6, "55.00", "330.00"),
        detail("2", mdtrt_id, person.psn_no, "B1", "B30", "1", 30, 30)]})
    second = gw.send("2204", {"feedetail": [
        detail("3", mdtrt_id, person.psn_no, "B2", "C", "1", "12.5", "12.50"),
        detail("4", mdtrt_id, person.psn_no, "B2", "X99", 1, "7.30", "7.3")]})
    return first, second


def settle_input(person, mdtrt_id: str, total: str = "379.80", **extra) -> dict:
    return {"data": {"psn_no": person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
                     "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id,
                     "chrg_bchno": "B2", "acct_used_flag": "1", "insutype": "310", **extra}}


def test_a_whole_visit_answers_the_rest_apis_numbers(world, jinan, his):
    gw = his(world["facilities"]["JN1"])
    signed_in = gw.ok("9001", {"signIn": {"opter_no": "OP01", "mac": "00-16-EA-AE-3C-40", "ip": "10.0.0.8"}})
    assert len(signed_in["signinoutb"]["sign_no"]) == 24
    person = gw.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": jinan.certno}})
    assert person["baseinfo"]["psn_no"] == jinan.psn_no and person["idetinfo"] == []
    assert person["baseinfo"]["certno"] == jinan.certno[:6] + "********" + jinan.certno[-4:]
    # The mask hides digits 7-14, the birth date: the answer carries the age, and brdy (CONTRACT.md names it)
    # without the date, or the two fields together would give the whole number back.
    assert (person["baseinfo"]["brdy"], person["baseinfo"]["age"]) == (None, 45)  # 1980-01-01, today 2025-03-20
    assert "19800101" not in json.dumps(person) and "1980-01-01" not in json.dumps(person)
    assert person["insuinfo"][0]["balc"] == "500.00"
    mdtrt_id = register(gw, jinan)
    assert Visit.objects.get(mdtrt_id=mdtrt_id).service_date == D(2025, 3, 10)
    assert gw.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no, "med_type": "11",
                                        "begntime": "2025-03-10 09:30:00", "main_cond_dscr": "头痛",
                                        "dise_codg": "R51", "dise_name": "头痛"},
                          "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "R51",
                                        "diag_name": "头痛"}]}) == {}

    first, second = jinan_bill(gw, jinan, mdtrt_id)
    # Each line split as CONTRACT.md's line rule and the settlement split it (JINAN_ITEMS' comment):
    # A50 6 × 55.00: over the 50.00 limit 30.00, in scope 300.00; B30 1 × 30.00: over 2.00, pre-self-pay 2.80,
    # in scope 25.20; C 12.50 and X99 7.30 out of scope (X99 not in the catalog: warned).
    assert first["infcode"] == 0 and first["warn_msg"] == ""
    assert first["output"]["result"] == [
        {"feedetl_sn": "1", "det_item_fee_sumamt": "330.00", "cnt": "6.00", "pric": "55.00", "pric_uplmt_amt": "50.00",
         "selfpay_prop": "0.0000", "fulamt_ownpay_amt": "0.00", "overlmt_amt": "30.00", "preselfpay_amt": "0.00",
         "inscp_scp_amt": "300.00", "chrgitm_lv": "01"},
        {"feedetl_sn": "2", "det_item_fee_sumamt": "30.00", "cnt": "1.00", "pric": "30.00", "pric_uplmt_amt": "28.00",
         "selfpay_prop": "0.1000", "fulamt_ownpay_amt": "0.00", "overlmt_amt": "2.00", "preselfpay_amt": "2.80",
         "inscp_scp_amt": "25.20", "chrgitm_lv": "02"}]
    assert [(r["feedetl_sn"], r["fulamt_ownpay_amt"], r["chrgitm_lv"], r["pric_uplmt_amt"])
            for r in second["output"]["result"]] == [("3", "12.50", "03", None), ("4", "7.30", "03", None)]
    assert "X99" in second["warn_msg"]

    preview = gw.ok("2206", settle_input(jinan, mdtrt_id))
    assert {k: preview["setlinfo"][k] for k in MONEY} == {k: JINAN_ANSWER[k] for k in MONEY}
    assert preview["setlinfo"]["setl_id"] == "" and not Settlement.objects.exists()

    settle_msgid = f"{gw.facility.fixmedins_code}202503101000000001"
    answer = gw.send("2207", settle_input(jinan, mdtrt_id), msgid=settle_msgid)
    assert answer["infcode"] == 0, answer
    setlinfo = answer["output"]["setlinfo"]
    expected = {k: v for k, v in JINAN_ANSWER.items() if k not in ("setldetail", "warnings")}
    assert setlinfo == {**expected, "setl_id": setlinfo["setl_id"], "medins_setl_id": settle_msgid,
                        "psn_no": jinan.psn_no, "mdtrt_id": mdtrt_id}
    assert answer["output"]["setldetail"] == [{"fund_pay_type": "310100", "fund_payamt": "87.64"},
                                              {"fund_pay_type": "LOCAL_SUPP", "fund_payamt": "0.00"}]
    assert "X99" in answer["warn_msg"]
    assert answer["inf_refmsgid"].startswith("370100") and len(answer["inf_refmsgid"]) == 30
    assert len(answer["refmsg_time"]) == 17 and len(answer["respond_time"]) == 17
    settlement = Settlement.objects.get(setl_id=setlinfo["setl_id"])
    assert settlement.setl_date == D(2025, 3, 10) and settlement.lines.count() == 4
    assert VisitSettlement.objects.get().visit.mdtrt_id == mdtrt_id

    # Year-to-date: the deductible 200.00 and the fund's 87.64.
    cum = gw.ok("5206", {"data": {"psn_no": jinan.psn_no, "cum_ym": "202503"}})["cuminfo"]
    assert cum == [{"insutype": "310", "year": 2025, "cum_type_code": "general.dedc_used", "cum": "200.00"},
                   {"insutype": "310", "year": 2025, "cum_type_code": "general.hifp_paid", "cum": "87.64"}]

    # The day's totals: the facility's figures agree with the system's.
    day = {"insutype": "310", "clr_type": "11", "setl_optins": "370100", "stmt_begndate": "2025-03-10",
           "stmt_enddate": "2025-03-10"}
    agreed = gw.ok("3201", {"data": {**day, "medfee_sumamt": "379.80", "fund_pay_sumamt": 87.64, "acct_pay": "292.16",
                                     "fixmedins_setl_cnt": 1}})["stmtinfo"]
    assert (agreed["stmt_rslt"], agreed["setl_optins"]) == ("0", "370100")
    assert agreed["system_figures"] == {"medfee_sumamt": "379.80", "fund_pay_sumamt": "87.64", "acct_pay": "292.16",
                                        "fixmedins_setl_cnt": 1}

    # Cancelled: every yuan back (207.84 + 292.16 = 500.00), the counters back to zero.
    cancelled = gw.ok("2208", {"data": {"setl_id": setlinfo["setl_id"], "mdtrt_id": mdtrt_id,
                                        "psn_no": jinan.psn_no}})
    assert cancelled["setlinfo"] == {**setlinfo, "status": "reversed"}
    jinan.account.refresh_from_db()
    assert jinan.account.balc == 500
    assert Accumulator.objects.get(person=jinan).hifp_paid == 0
    # Now the facility's 379.80 disagrees: the system nets the cancelled settlement out, and says both figures.
    disagreed = gw.ok("3201", {"data": {**day, "medfee_sumamt": "379.80", "fund_pay_sumamt": "87.64",
                                        "acct_pay": "292.16", "fixmedins_setl_cnt": "1"}})["stmtinfo"]
    assert disagreed["stmt_rslt"] == "1"
    assert "379.80" in disagreed["stmt_rslt_dscr"] and "0.00" in disagreed["stmt_rslt_dscr"]
    assert [r.agreed for r in Reconciliation.objects.order_by("id")] == [True, False]

    assert gw.ok("9002", {"signOut": {"sign_no": signed_in["signinoutb"]["sign_no"], "opter_no": "OP01"}})
    assert Message.objects.filter(kept=True, infcode=0).count() == 14


def test_the_settlement_after_a_cancellation_settles_the_visit_again(world, jinan, his):
    gw = his(world["facilities"]["JN1"])
    mdtrt_id = register(gw, jinan)
    jinan_bill(gw, jinan, mdtrt_id)
    first = gw.ok("2207", settle_input(jinan, mdtrt_id))["setlinfo"]
    again = gw.send("2207", settle_input(jinan, mdtrt_id))
    assert again["infcode"] == -1 and again["err_msg"].startswith("ALREADY_SETTLED: ")
    gw.ok("2208", {"data": {"setl_id": first["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no}})
    # The visit is open again: one batch cancelled (2205), then settled for what is left, B1: 360.00.
    # A50 and B30 as above: in scope 325.20, deductible 200.00, fund 70% × 125.20 = 87.64; personal part
    # 360.00 − 87.64 = 272.36 from the 500.00 account: balance 227.64.
    gw.ok("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "B2", "psn_no": jinan.psn_no}})
    second = gw.ok("2207", settle_input(jinan, mdtrt_id, total="360.00", chrg_bchno="B1"))["setlinfo"]
    assert (second["medfee_sumamt"], second["hifp_pay"], second["acct_pay"], second["balc"]) == (
        "360.00", "87.64", "272.36", "227.64")
    assert Settlement.objects.filter(status="settled").count() == 1
    assert LedgerEntry.objects.filter(ref_id=second["setl_id"]).count() == 1


def test_2207s_med_type_wins_and_2203_gives_the_disease(world, his):
    # A hypertension visit at Jinan level 2: 2203 says 14 with M03900, recognised there. JN-2024's M03900 rule:
    # no deductible, 70% in-service. A50 2 × 50.00 = 100.00 in scope: fund 70.00, personal 30.00, no account
    # money: cash 30.00.
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    from claims.tests.conftest import RecognitionFactory

    RecognitionFactory(person=p, disease__opsp_dise_code="M03900", facility=world["facilities"]["JN2"],
                       begndate=D(2024, 1, 1))
    gw = his(world["facilities"]["JN2"])
    mdtrt_id = register(gw, p)
    gw.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "med_type": "14", "dise_codg": "M03900",
                                 "dise_name": "高血压"}})
    gw.ok("2204", {"feedetail": [detail("1", mdtrt_id, p.psn_no, "B1", "A50", "2", "50", "100.00")]})
    chronic = gw.ok("2206", settle_input(p, mdtrt_id, total="100.00", med_type="", chrg_bchno=""))["setlinfo"]
    assert (chronic["med_type"], chronic["act_pay_dedc"], chronic["hifp_pay"], chronic["psn_cash_pay"]) == (
        "14", "0.00", "70.00", "30.00")
    # 2207's med_type 11 wins: general outpatient at level 2, deductible 400.00 takes the whole 100.00.
    general = gw.ok("2207", settle_input(p, mdtrt_id, total="100.00", med_type="11", chrg_bchno=""))["setlinfo"]
    assert (general["med_type"], general["act_pay_dedc"], general["hifp_pay"], general["psn_cash_pay"]) == (
        "11", "100.00", "0.00", "100.00")
