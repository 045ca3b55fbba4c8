"""Every way back: 2202, 2205, 2208, and 2601 for each message it undoes, for one that did nothing and for one that
never arrived (whose late arrival is then refused)."""

import pytest

from accounts.models import LedgerEntry
from claims.models import Accumulator, Settlement
from claims.tests.conftest import D
from gateway.models import FeeBatch, Message, Outcome, Visit, VisitInfo
from gateway.tests.test_visit import detail, jinan, jinan_bill, register, settle_input  # noqa: F401  (jinan: fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]


def reverse(gw, person, omsgid: str, oinfno: str) -> dict:
    return gw.send("2601", {"data": {"psn_no": person.psn_no, "omsgid": omsgid, "oinfno": oinfno}})


def balance(person) -> str:
    person.account.refresh_from_db()
    return f"{person.account.balc:.2f}"


@pytest.fixture
def visit(world, jinan, his):  # noqa: F811
    """A registered visit of `jinan` at JN1 with JINAN_ITEMS in batches B1 (360.00) and B2 (19.80)."""
    gw = his(world["facilities"]["JN1"])
    mdtrt_id = register(gw, jinan)
    jinan_bill(gw, jinan, mdtrt_id)
    return gw, mdtrt_id


def test_2202_cancels_the_registration_and_nothing_more_happens_on_it(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    assert gw.ok("2202", {"data": {"psn_no": jinan.psn_no, "mdtrt_id": mdtrt_id, "ipt_otp_no": "MZ0001"}}) == {}
    assert Visit.objects.get(mdtrt_id=mdtrt_id).status == "cancelled"
    for infno, body in (("2204", {"feedetail": [detail("9", mdtrt_id, jinan.psn_no, "B9", "C", 1, 1, 1)]}),
                        ("2207", settle_input(jinan, mdtrt_id))):
        refused = gw.send(infno, body)
        assert refused["infcode"] == -1 and refused["err_msg"].startswith("INVALID_REQUEST: "), refused
        assert "cancelled" in refused["err_msg"]
    # Cancelling again does nothing more; someone else's visit is no one's.
    assert gw.ok("2202", {"data": {"psn_no": jinan.psn_no, "mdtrt_id": mdtrt_id}}) == {}
    other = gw.send("2202", {"data": {"psn_no": "P9999", "mdtrt_id": mdtrt_id}})
    assert other["err_msg"].startswith("INVALID_REQUEST: ")


def test_2205_cancels_a_batch_the_settlement_counts_the_rest_and_the_number_may_come_again(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    gw.ok("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "psn_no": jinan.psn_no}})
    # Left: B2, C 12.50 and X99 7.30, out of scope: no fund; the account pays 19.80: 500.00 → 480.20.
    stale = gw.send("2207", settle_input(jinan, mdtrt_id, chrg_bchno="B2"))
    assert stale["err_msg"].startswith("INVALID_REQUEST: ") and "19.80" in stale["err_msg"]
    # B1 is no live batch any more.
    gone = gw.send("2206", settle_input(jinan, mdtrt_id, total="19.80", chrg_bchno="B1"))
    assert gone["err_msg"].startswith("INVALID_REQUEST: ") and "B1" in gone["err_msg"]
    # The same number uploaded again: a new live batch (A50 1 × 40.00, in scope, under the deductible).
    gw.ok("2204", {"feedetail": [detail("5", mdtrt_id, jinan.psn_no, "B1", "A50", 1, 40, "40.00")]})
    answer = gw.ok("2207", settle_input(jinan, mdtrt_id, total="59.80", chrg_bchno="B1"))["setlinfo"]
    # 59.80: in scope 40.00 all to the deductible (200.00 at level 1), no fund; the account pays all: 440.20.
    assert (answer["medfee_sumamt"], answer["act_pay_dedc"], answer["hifp_pay"], answer["acct_pay"],
            answer["balc"]) == ("59.80", "40.00", "0.00", "59.80", "440.20")
    # Under a live settlement no batch may go.
    refused = gw.send("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": jinan.psn_no}})
    assert refused["err_msg"].startswith("ALREADY_SETTLED: ")
    assert FeeBatch.objects.filter(cancelled_at__isnull=True).count() == 2


def test_2205_with_0000_cancels_every_batch(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    gw.ok("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": jinan.psn_no}})
    assert not FeeBatch.objects.filter(cancelled_at__isnull=True).exists()
    nothing = gw.send("2207", settle_input(jinan, mdtrt_id, chrg_bchno=""))
    assert nothing["err_msg"].startswith("INVALID_REQUEST: ") and "no fee details" in nothing["err_msg"]
    unknown = gw.send("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "B7", "psn_no": jinan.psn_no}})
    assert unknown["err_msg"].startswith("INVALID_REQUEST: ")


def test_2208_twice_answers_the_same_and_restores_once(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    setl_id = gw.ok("2207", settle_input(jinan, mdtrt_id))["setlinfo"]["setl_id"]
    assert balance(jinan) == "207.84"
    body = {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no}}
    first, second = gw.ok("2208", body), gw.ok("2208", body)
    assert first == second and first["setlinfo"]["status"] == "reversed"
    assert balance(jinan) == "500.00"
    assert LedgerEntry.objects.filter(ref_id=setl_id, kind="reversal").count() == 1
    wrong_visit = gw.send("2208", {"data": {"setl_id": setl_id, "mdtrt_id": "X1", "psn_no": jinan.psn_no}})
    assert wrong_visit["err_msg"].startswith("INVALID_REQUEST: ")


def test_2601_of_a_2207_reverses_the_settlement_once(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    msgid = "HJN1202503101000009001"
    answer = gw.send("2207", settle_input(jinan, mdtrt_id), msgid=msgid)
    assert answer["infcode"] == 0 and balance(jinan) == "207.84"
    assert reverse(gw, jinan, msgid, "2207")["infcode"] == 0
    # 207.84 + 292.16 back; the counters back to zero; the settlement says who reversed it.
    assert balance(jinan) == "500.00"
    assert Accumulator.objects.get(person=jinan).dedc_used == 0
    settlement = Settlement.objects.get()
    assert settlement.status == "reversed" and "2601" in settlement.reversal_reason
    assert settlement.reversed_by_token == gw.token_row
    # Again, under another msgid: nothing more. The 2207 resent: its first answer, as for any msgid.
    assert reverse(gw, jinan, msgid, "2207")["infcode"] == 0
    assert LedgerEntry.objects.filter(ref_id=settlement.setl_id, kind="reversal").count() == 1
    assert gw.send("2207", settle_input(jinan, mdtrt_id), msgid=msgid) == answer
    # The visit is open again.
    assert gw.ok("2207", settle_input(jinan, mdtrt_id))["setlinfo"]["balc"] == "207.84"


def test_2601_of_a_2204_cancels_exactly_its_batch(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    msgid = "HJN1202503101000009002"
    gw.ok("2204", {"feedetail": [detail("7", mdtrt_id, jinan.psn_no, "B3", "C", 2, "5.00", "10.00")]}, msgid=msgid)
    assert reverse(gw, jinan, msgid, "2204")["infcode"] == 0
    live = FeeBatch.objects.filter(cancelled_at__isnull=True).order_by("id")
    assert [b.chrg_bchno for b in live] == ["B1", "B2"]
    assert FeeBatch.objects.get(chrg_bchno="B3").cancelled_by_msgid != ""
    # The settlement counts B1 and B2 only: the JINAN bill, 379.80.
    assert gw.ok("2207", settle_input(jinan, mdtrt_id))["setlinfo"]["medfee_sumamt"] == "379.80"


def test_2601_of_a_2201_cancels_the_registration_unless_it_is_settled(world, jinan, his):  # noqa: F811
    gw = his(world["facilities"]["JN1"])
    gw.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": jinan.certno}})
    registration = {"data": {"psn_no": jinan.psn_no, "insutype": "310", "begntime": "2025-03-10 09:30:00"}}
    gw.ok("2201", registration, msgid="HJN1202503101000009003")
    assert reverse(gw, jinan, "HJN1202503101000009003", "2201")["infcode"] == 0
    assert Visit.objects.get().status == "cancelled"

    mdtrt_id = gw.ok("2201", registration, msgid="HJN1202503101000009004")["data"]["mdtrt_id"]
    jinan_bill(gw, jinan, mdtrt_id)
    gw.ok("2207", settle_input(jinan, mdtrt_id))
    refused = reverse(gw, jinan, "HJN1202503101000009004", "2201")
    assert refused["infcode"] == -1 and refused["err_msg"].startswith("ALREADY_SETTLED: ")
    assert Visit.objects.get(mdtrt_id=mdtrt_id).status == "open"
    assert Message.objects.get(msgid="HJN1202503101000009004").reversed_at is None


def test_2601_of_a_2203_brings_back_the_information_before_it(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    info = {"mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no, "dise_codg": "R51"}
    gw.ok("2203", {"mdtrtinfo": {**info, "med_type": "11"}})
    gw.ok("2203", {"mdtrtinfo": {**info, "med_type": "13"}}, msgid="HJN1202503101000009005")
    assert reverse(gw, jinan, "HJN1202503101000009005", "2203")["infcode"] == 0
    assert [(i.med_type, i.reversed_at is None) for i in VisitInfo.objects.order_by("id")] == [
        ("11", True), ("13", False)]
    # 2207 without a med_type settles under 2203's, the 11 that counts again.
    answer = gw.ok("2207", settle_input(jinan, mdtrt_id, med_type=""))
    assert answer["setlinfo"]["med_type"] == "11"


def test_2601_of_a_message_that_did_nothing_does_nothing(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    refused = gw.send("2207", settle_input(jinan, mdtrt_id, total="1.00"), msgid="HJN1202503101000009006")
    assert refused["infcode"] == -1
    gw.ok("2206", settle_input(jinan, mdtrt_id), msgid="HJN1202503101000009007")
    for msgid, infno in (("HJN1202503101000009006", "2207"), ("HJN1202503101000009007", "2206")):
        assert reverse(gw, jinan, msgid, infno)["infcode"] == 0
    assert not Settlement.objects.exists() and balance(jinan) == "500.00"
    wrong = reverse(gw, jinan, "HJN1202503101000009007", "2207")
    assert wrong["infcode"] == 0  # reversed already: nothing more, whatever it is called now


def test_2601_of_a_message_that_never_arrived_refuses_it_when_it_comes(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    late = "HJN1202503101000009008"
    first = reverse(gw, jinan, late, "2207")
    assert (first["infcode"], first["output"]) == (0, {})
    assert reverse(gw, jinan, late, "2207")["infcode"] == 0  # again: nothing more
    row = Message.objects.get(msgid=late)
    assert row.outcome == Outcome.REVERSED_BEFORE_ARRIVAL and row.reversed_by_msgid
    arrived = gw.send("2207", settle_input(jinan, mdtrt_id), msgid=late)
    assert arrived["infcode"] == -1 and arrived["err_msg"].startswith("ALREADY_REVERSED: "), arrived
    assert not Settlement.objects.exists() and balance(jinan) == "500.00"
    # It stays refused, and the visit settles under another msgid.
    assert gw.send("2207", settle_input(jinan, mdtrt_id), msgid=late)["err_msg"].startswith("ALREADY_REVERSED: ")
    assert gw.ok("2207", settle_input(jinan, mdtrt_id))["setlinfo"]["balc"] == "207.84"


def test_2601_refuses_what_cannot_be_undone_and_a_wrong_infno(visit, jinan):  # noqa: F811
    gw, mdtrt_id = visit
    setl_id = gw.ok("2207", settle_input(jinan, mdtrt_id))["setlinfo"]["setl_id"]
    gw.ok("2208", {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no}},
          msgid="HJN1202503101000009009")
    cannot = reverse(gw, jinan, "HJN1202503101000009009", "2208")
    assert cannot["err_msg"].startswith("INVALID_REQUEST: ") and "2208" in cannot["err_msg"]
    gw.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no, "med_type": "11"}},
          msgid="HJN1202503101000009010")
    wrong = reverse(gw, jinan, "HJN1202503101000009010", "2204")
    assert wrong["err_msg"].startswith("INVALID_REQUEST: ") and "2203" in wrong["err_msg"]
    itself = gw.send("2601", {"data": {"psn_no": jinan.psn_no, "omsgid": "HJN1202503101000009011",
                                       "oinfno": "2601"}}, msgid="HJN1202503101000009011")
    assert itself["err_msg"].startswith("INVALID_REQUEST: ")


def test_3203_files_a_clearing_application_and_3204_or_2601_cancels_it(world, jinan, his):  # noqa: F811
    from clearing.models import ClearingApplication

    gw = his(world["facilities"]["JN1"])
    application = {"data": {"clr_type": "11", "clr_way": "1", "setl_optins": "370100", "begndate": "2025-03-01",
                            "enddate": "2025-03-31", "medfee_sumamt": "379.80", "fund_appy_sumamt": 87.64,
                            "acct_pay": "292.16", "cash_payamt": "0"}}
    first = gw.ok("3203", application, msgid="HJN1202503101000009020")["data"]["clr_appy_evt_id"]
    row = ClearingApplication.objects.get(clr_appy_evt_id=first)
    assert (row.month, str(row.fund_appy_sumamt), row.msgid) == (D(2025, 3, 1), "87.64", "HJN1202503101000009020")
    assert reverse(gw, jinan, "HJN1202503101000009020", "3203")["infcode"] == 0
    row.refresh_from_db()
    assert row.is_cancelled
    second = gw.ok("3203", application)["data"]["clr_appy_evt_id"]
    assert gw.ok("3204", {"data": {"clr_appy_evt_id": second, "clr_optins": "370100"}}) == {}
    again = gw.send("3204", {"data": {"clr_appy_evt_id": second, "clr_optins": "370100"}})
    assert again["err_msg"].startswith("ALREADY_REVERSED: ")
    spanning = gw.send("3203", {"data": {**application["data"], "enddate": "2025-04-02"}})
    assert spanning["err_msg"].startswith("INVALID_REQUEST: ")
