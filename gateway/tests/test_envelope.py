"""The envelope: malformed messages are clean -1 answers (HTTP 200, never a 500), strict formats, msgid
idempotency (the first answer kept, another body refused), the message log, and answers shaped as documented."""

import json
import logging
from decimal import Decimal

import pytest
from rest_framework import serializers

from claims.models import Settlement
from gateway.api.registry import transaction_of, transactions
from gateway.models import Message, Outcome, Visit
from gateway.tests.test_visit import detail, jinan, jinan_bill, register, settle_input  # noqa: F401  (jinan: fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]


def refused_with(answer: dict, code: str, *words: str) -> None:
    assert answer["infcode"] == -1 and answer["err_msg"].startswith(f"{code}: "), answer
    assert answer["output"] == {} and answer["inf_refmsgid"] and answer["respond_time"]
    for word in words:
        assert word in answer["err_msg"], (word, answer["err_msg"])


@pytest.mark.parametrize(("body", "word"), [
    (b"{not json", "JSON"), (b"[1, 2]", "object"), ("\ufeff{".encode(), "JSON"), (b"\xff\xfe", "JSON"),
    (b'{"infno": "1101", "input": NaN}', "JSON"), (b"[" * 5000 + b"]" * 5000, "JSON")])
def test_a_body_that_is_not_a_message_is_a_clean_refusal(world, his, body, word):
    gw = his(world["facilities"]["JN1"])
    response = gw.post(body)
    assert response.status_code == 200
    refused_with(response.json(), "INVALID_REQUEST", word)
    assert Message.objects.get().outcome == Outcome.REFUSED


@pytest.mark.parametrize(("change", "word"), [
    ({"infno": "9999"}, "9999"), ({"infno": "22O7"}, "infno"), ({"infno": None}, "infno"),
    ({"infno": True}, "infno"), ({"msgid": ""}, "msgid"), ({"msgid": "has space"}, "msgid"),
    ({"msgid": "x" * 65}, "msgid"), ({"msgid": 123}, "msgid"), ({"input": None}, "input"),
    ({"input": []}, "input"), ({"input": "data"}, "input")])
def test_a_bad_envelope_is_a_clean_refusal(world, his, change, word):
    gw = his(world["facilities"]["JN1"])
    body = gw.envelope("9001", {"signIn": {"opter_no": "OP01"}})
    body.update(change)
    response = gw.post(body)
    assert response.status_code == 200
    refused_with(response.json(), "INVALID_REQUEST", word)


def test_every_transaction_refuses_empty_and_mistyped_input_cleanly(world, his):
    gw = his(world["facilities"]["JN1"])
    hostile = [{}, {"data": None}, {"data": []}, {"data": {"psn_no": ["x"]}}, {"feedetail": {}},
               {"feedetail": [None]}, {"data": {"psn_no": "P1", "mdtrt_id": {"a": 1}}},
               {"signIn": "x"}, {"signOut": {}}, {"mdtrtinfo": 5}]
    for txn in transactions():
        for n, input_ in enumerate(hostile):
            response = gw.post(gw.envelope(txn.infno, input_, msgid=f"H{txn.infno}{n:04d}"))
            assert response.status_code == 200, (txn.infno, input_, response.content)
            answer = response.json()
            assert answer["infcode"] == -1, (txn.infno, input_, answer)
            assert answer["err_msg"].split(":")[0] in ("INVALID_REQUEST", "PERSON_NOT_FOUND"), answer


@pytest.mark.parametrize(("field", "value", "word"), [
    ("det_item_fee_sumamt", "330.001", "decimals"), ("det_item_fee_sumamt", 330.005, "decimals"),
    ("det_item_fee_sumamt", "３３０.00", "ASCII"), ("det_item_fee_sumamt", True, "number"),
    ("det_item_fee_sumamt", "1e2", "number"), ("det_item_fee_sumamt", "-330.00", "from 0"),
    ("det_item_fee_sumamt", "99999999999.00", "from 0"), ("cnt", "0", "above 0"), ("cnt", "1.00001", "decimals"),
    ("pric", "-1", "from 0"), ("fee_ocur_time", "2025/03/10 09:40:00", "yyyy-MM-dd HH:mm:ss"),
    ("fee_ocur_time", "2025-03-10T09:40:00", "yyyy-MM-dd HH:mm:ss"),
    ("fee_ocur_time", "2025-02-30 09:40:00", "yyyy-MM-dd HH:mm:ss"),
    ("fee_ocur_time", "２０２５-03-10 09:40:00", "yyyy-MM-dd HH:mm:ss"),
    ("med_type", "99", "med_type")])
def test_strict_formats_in_fee_details(world, jinan, his, field, value, word):  # noqa: F811
    gw = his(world["facilities"]["JN1"])
    mdtrt_id = register(gw, jinan)
    row = detail("1", mdtrt_id, jinan.psn_no, "B1", "A50", 6, "55.00", "330.00")
    row[field] = value
    answer = gw.send("2204", {"feedetail": [row]})
    refused_with(answer, "INVALID_REQUEST", f"feedetail.0.{field}", word)


def test_fee_detail_rules(world, jinan, his):  # noqa: F811
    gw = his(world["facilities"]["JN1"])
    mdtrt_id = register(gw, jinan)
    wrong_sum = detail("1", mdtrt_id, jinan.psn_no, "B1", "A50", 6, "55.00", "330.01")
    refused_with(gw.send("2204", {"feedetail": [wrong_sum]}), "INVALID_REQUEST", "330.00")
    two_visits = [detail("1", mdtrt_id, jinan.psn_no, "B1", "C", 1, 1, 1), detail("2", "X", jinan.psn_no, "B1", "C",
                                                                                   1, 1, 1)]
    refused_with(gw.send("2204", {"feedetail": two_visits}), "INVALID_REQUEST", "mdtrt_id")
    same_sn = [detail("1", mdtrt_id, jinan.psn_no, "B1", "C", 1, 1, 1)] * 2
    refused_with(gw.send("2204", {"feedetail": same_sn}), "INVALID_REQUEST", "1")
    gw.ok("2204", {"feedetail": [detail("1", mdtrt_id, jinan.psn_no, "B1", "C", 1, 1, 1)]})
    again = gw.send("2204", {"feedetail": [detail("2", mdtrt_id, jinan.psn_no, "B1", "C", 1, 1, 1)]})
    refused_with(again, "INVALID_REQUEST", "B1")
    reused_sn = gw.send("2204", {"feedetail": [detail("1", mdtrt_id, jinan.psn_no, "B2", "C", 1, 1, 1)]})
    refused_with(reused_sn, "INVALID_REQUEST", "1")


def test_the_same_msgid_answers_the_first_answer_and_another_body_is_refused(world, jinan, his):  # noqa: F811
    gw = his(world["facilities"]["JN1"])
    mdtrt_id = register(gw, jinan)
    jinan_bill(gw, jinan, mdtrt_id)
    msgid = "HJN1202503101000000777"
    first = gw.send("2207", settle_input(jinan, mdtrt_id), msgid=msgid)
    assert first["infcode"] == 0
    # The same message with its money written otherwise and keys in another order, another inf_time.
    same = settle_input(jinan, mdtrt_id, total=Decimal("379.8"))
    same["data"] = dict(reversed(list(same["data"].items())))
    assert gw.send("2207", json.loads(json.dumps(same, default=str)), msgid=msgid, inf_time="2025-03-10 10:05:00") \
        == first
    other = gw.send("2207", settle_input(jinan, mdtrt_id, acct_used_flag="0"), msgid=msgid)
    refused_with(other, "IDEMPOTENCY_CONFLICT", msgid)
    another_infno = gw.send("2206", settle_input(jinan, mdtrt_id), msgid=msgid)
    refused_with(another_infno, "IDEMPOTENCY_CONFLICT")
    assert Settlement.objects.count() == 1
    assert [m.outcome for m in Message.objects.filter(msgid=msgid).order_by("id")] == [
        Outcome.DONE, Outcome.REPLAYED, Outcome.CONFLICT, Outcome.CONFLICT]
    assert Message.objects.filter(msgid=msgid, kept=True).count() == 1


def test_a_refusal_is_the_first_answer_too(world, jinan, his):  # noqa: F811
    gw = his(world["facilities"]["JN1"])
    body = {"data": {"psn_no": jinan.psn_no, "insutype": "310", "begntime": "2025-03-10 09:30:00"}}
    refused = gw.send("2201", body, msgid="HJN1202503101000000888")
    refused_with(refused, "PERSON_NOT_FOUND")  # no tie yet
    gw.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": jinan.certno}})
    assert gw.send("2201", body, msgid="HJN1202503101000000888") == refused
    assert not Visit.objects.exists()
    assert gw.ok("2201", body)["data"]["psn_no"] == jinan.psn_no


def test_registration_rules(world, jinan, his):  # noqa: F811
    gw = his(world["facilities"]["JN1"])
    base = {"psn_no": jinan.psn_no, "insutype": "310", "begntime": "2025-03-10 09:30:00"}
    # Presented by ID card in the registration itself: a tie, as a lookup is (the REST API may then read them).
    visit = gw.ok("2201", {"data": {**base, "mdtrt_cert_type": "02", "mdtrt_cert_no": jinan.certno.lower()}})
    person = gw.client.get(f"/api/v1/persons/{jinan.psn_no}/", HTTP_AUTHORIZATION=f"Token {gw.token}")
    assert person.status_code == 200
    # The window: 2025-02-18 is its first day (today 2025-03-20, 30 days), 2025-02-17 and tomorrow are out.
    assert gw.ok("2201", {"data": {**base, "begntime": "2025-02-18 00:00:00"}})
    for day in ("2025-02-17 23:59:59", "2025-03-21 00:00:00"):
        refused_with(gw.send("2201", {"data": {**base, "begntime": day}}), "SETL_DATE_OUT_OF_RANGE")
    refused_with(gw.send("2201", {"data": {**base, "insutype": "999"}}), "INVALID_REQUEST", "insutype")
    # Another facility has no tie: PERSON_NOT_FOUND, exactly as for nobody; and it cannot touch this visit.
    theirs = his(world["facilities"]["JN2"])
    refused_with(theirs.send("2201", {"data": base}), "PERSON_NOT_FOUND", jinan.psn_no)
    refused_with(theirs.send("2201", {"data": {**base, "psn_no": "P9999999999"}}), "PERSON_NOT_FOUND")
    cancel = theirs.send("2202", {"data": {"psn_no": jinan.psn_no, "mdtrt_id": visit["data"]["mdtrt_id"]}})
    refused_with(cancel, "INVALID_REQUEST")
    for infno in ("5206", "5301"):
        refused_with(theirs.send(infno, {"data": {"psn_no": jinan.psn_no, "cum_ym": "202503"}}), "PERSON_NOT_FOUND")
    refused_with(gw.send("5206", {"data": {"psn_no": jinan.psn_no, "cum_ym": "2025-03"}}), "INVALID_REQUEST",
                 "yyyyMM")


def test_a_cancelled_registration_is_no_tie(world, jinan, his):  # noqa: F811
    from claims.ties import person_tied

    gw = his(world["facilities"]["JN1"])
    out = gw.ok("2201", {"data": {"psn_no": jinan.psn_no, "insutype": "310", "begntime": "2025-03-10 09:30:00",
                                  "mdtrt_cert_type": "02", "mdtrt_cert_no": jinan.certno}})
    facility = world["facilities"]["JN1"]
    assert person_tied(facility_id=facility.pk, person_id=jinan.pk)
    gw.ok("2202", {"data": {"psn_no": jinan.psn_no, "mdtrt_id": out["data"]["mdtrt_id"]}})
    assert not person_tied(facility_id=facility.pk, person_id=jinan.pk)


def test_5301_shows_this_facilitys_recognitions_only(world, jinan, his):  # noqa: F811
    from claims.tests.conftest import D, RecognitionFactory

    RecognitionFactory(person=jinan, disease__opsp_dise_code="M03900", facility=world["facilities"]["JN1"],
                       begndate=D(2024, 1, 1))
    RecognitionFactory(person=jinan, disease__opsp_dise_code="M07803", facility=world["facilities"]["JN2"],
                       begndate=D(2024, 2, 1), enddate=D(2025, 12, 31))
    gw = his(world["facilities"]["JN1"])  # the recognition there is a tie
    assert gw.ok("5301", {"data": {"psn_no": jinan.psn_no}}) == {"feedetail": [
        {"opsp_dise_code": "M03900", "opsp_dise_name": "高血压", "begndate": "2024-01-01", "enddate": None}]}


def _fields(serializer: serializers.BaseSerializer) -> set[str] | None:
    return set(serializer.fields) if isinstance(serializer, serializers.Serializer) else None


def _conforms(value: object, serializer: serializers.Field, path: str) -> None:
    """Every key the answer has is documented, and every documented key is there."""
    if isinstance(serializer, serializers.ListSerializer):
        for n, item in enumerate(value):
            _conforms(item, serializer.child, f"{path}.{n}")
    elif isinstance(serializer, serializers.Serializer):
        assert set(value) == set(serializer.fields), (path, set(value) ^ set(serializer.fields))
        for name, field in serializer.fields.items():
            _conforms(value[name], field, f"{path}.{name}")


def test_every_answer_is_shaped_as_documented(world, jinan, his, caplog):  # noqa: F811
    gw = his(world["facilities"]["JN1"])
    caplog.set_level(logging.INFO, logger="gateway")
    sign = gw.ok("9001", {"signIn": {"opter_no": "OP01"}})
    mdtrt_id = register(gw, jinan)
    gw.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no, "med_type": "11"},
                   "diseinfo": [{"diag_code": "R51"}]})
    jinan_bill(gw, jinan, mdtrt_id)
    gw.ok("2206", settle_input(jinan, mdtrt_id))
    setl_id = gw.ok("2207", settle_input(jinan, mdtrt_id))["setlinfo"]["setl_id"]
    gw.ok("5206", {"data": {"psn_no": jinan.psn_no, "cum_ym": "202503"}})
    gw.ok("5301", {"data": {"psn_no": jinan.psn_no}})
    gw.ok("3201", {"data": {"insutype": "310", "clr_type": "11", "stmt_begndate": "2025-03-01",
                            "stmt_enddate": "2025-03-31", "medfee_sumamt": 0, "fund_pay_sumamt": 0, "acct_pay": 0,
                            "fixmedins_setl_cnt": 0}})
    gw.ok("2208", {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no}})
    gw.ok("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": jinan.psn_no}})
    gw.ok("2202", {"data": {"mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no}})
    gw.ok("2601", {"data": {"psn_no": jinan.psn_no, "omsgid": "NEVER", "oinfno": "2207"}})
    gw.ok("9002", {"signOut": {"sign_no": sign["signinoutb"]["sign_no"], "opter_no": "OP01"}})
    done = Message.objects.filter(kept=True, infcode=0).exclude(outcome=Outcome.REVERSED_BEFORE_ARRIVAL)
    seen = set()
    for message in done:
        _conforms(message.answer["output"], transaction_of(message.infno).output(), message.infno)
        seen.add(message.infno)
    assert seen >= {"1101", "2201", "2202", "2203", "2204", "2205", "2206", "2207", "2208", "2601", "3201", "5206",
                    "5301", "9001", "9002"}
    # The plain log: who, what, how long, how it ended; no ID number, name or person number.
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway"]
    assert len(lines) == Message.objects.exclude(outcome=Outcome.REVERSED_BEFORE_ARRIVAL).count()
    assert all("infno=" in line and "ms=" in line for line in lines)
    assert not any(s in line for line in lines for s in (jinan.certno, jinan.psn_no, jinan.psn_name))
