"""Staff pages of the gateway: a visit with its bill, diagnoses and settlements, on its own page and from the
settlement's and the person's; the message log with its filters; reconciliations that disagreed with the
settlements of the period. ID numbers masked without the permission; answers hidden without it; bounded queries."""

from decimal import Decimal

import pytest
from django.urls import reverse

from claims.models import Settlement
from claims.tests.test_admin import _staff_client as _staff
from claims.tests.test_admin import roles  # noqa: F401  (fixture: the role groups, read_only without full IDs)
from gateway.models import Message, Reconciliation, Visit
from gateway.tests.test_visit import jinan, jinan_bill, register, settle_input  # noqa: F401  (jinan: fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today", "roles")]


@pytest.fixture
def day(world, jinan, his):  # noqa: F811
    """A settled visit with two batches, one of them cancelled and sent again, a reversed settlement, and a 3201
    that disagreed."""
    gw = his(world["facilities"]["JN1"])
    mdtrt_id = register(gw, jinan)
    gw.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no, "med_type": "11", "dise_codg": "R51",
                                 "dise_name": "头痛"},
                   "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "R51", "diag_name": "头痛"}]})
    jinan_bill(gw, jinan, mdtrt_id)
    first = gw.ok("2207", settle_input(jinan, mdtrt_id))["setlinfo"]
    gw.ok("2208", {"data": {"setl_id": first["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": jinan.psn_no}})
    second = gw.ok("2207", settle_input(jinan, mdtrt_id))["setlinfo"]
    gw.send("2207", settle_input(jinan, mdtrt_id, total="1.00"))  # refused
    gw.ok("3201", {"data": {"insutype": "310", "clr_type": "11", "stmt_begndate": "2025-03-10",
                            "stmt_enddate": "2025-03-10", "medfee_sumamt": "759.60", "fund_pay_sumamt": "175.28",
                            "acct_pay": "500.00", "fixmedins_setl_cnt": 2}})
    return {"mdtrt_id": mdtrt_id, "first": first["setl_id"], "second": second["setl_id"]}


def test_a_visit_page_shows_its_bill_information_and_settlements_with_the_id_masked(day, jinan):  # noqa: F811
    reader = _staff("reader", "read_only")
    visit = Visit.objects.get(mdtrt_id=day["mdtrt_id"])
    page = reader.get(reverse("admin:gateway_visit_change", args=[visit.pk])).content.decode()
    for text in (day["mdtrt_id"], "B1", "B2", "A50", "330.00", "R51", "头痛", day["first"], day["second"],
                 "11 general outpatient", jinan.certno[:6] + "********" + jinan.certno[-4:]):
        assert text in page, text
    assert jinan.certno not in page
    listing = reader.get(reverse("admin:gateway_visit_changelist"), {"q": jinan.psn_no, "status": "settled"})
    assert listing.status_code == 200 and day["mdtrt_id"] in listing.content.decode()
    auditor = _staff("auditor", "settlement_auditor")
    assert jinan.certno in auditor.get(reverse("admin:gateway_visit_change", args=[visit.pk])).content.decode()


def test_the_settlement_and_the_person_show_the_visit(day, jinan):  # noqa: F811
    reader = _staff("reader", "read_only")
    settlement = Settlement.objects.get(setl_id=day["second"])
    page = reader.get(reverse("admin:claims_settlement_change", args=[settlement.pk])).content.decode()
    assert day["mdtrt_id"] in page and "R51" in page and reverse("admin:gateway_visit_change", args=[
        Visit.objects.get().pk]) in page
    person = reader.get(reverse("admin:accounts_person_change", args=[jinan.pk])).content.decode()
    assert day["mdtrt_id"] in person


def test_the_message_log_filters_and_hides_answers_without_the_permission(day, django_assert_max_num_queries):
    reader = _staff("reader", "read_only")
    url = reverse("admin:gateway_message_changelist")
    with django_assert_max_num_queries(12):
        everything = reader.get(url)
    assert everything.status_code == 200
    refused = reader.get(url, {"infno": "2207", "outcome": "refused"}).content.decode()
    assert "ALREADY_SETTLED" in refused and "2207 outpatient settlement" in refused
    assert reader.get(url, {"infcode": "-1"}).status_code == 200
    assert reader.get(url, {"received_at__year": "2025", "received_at__month": "3"}).status_code == 200
    message = Message.objects.filter(infno="1101").first()
    hidden = reader.get(reverse("admin:gateway_message_change", args=[message.pk])).content.decode()
    assert "baseinfo" not in hidden
    shown = _staff("auditor", "settlement_auditor").get(reverse("admin:gateway_message_change",
                                                                args=[message.pk])).content.decode()
    assert "baseinfo" in shown


def test_a_reconciliation_that_disagreed_lists_the_settlements_of_the_period(day):
    reader = _staff("reader", "read_only")
    row = Reconciliation.objects.get()
    # The facility counted both settlements; the system has one standing: 379.80, one reversed.
    assert not row.agreed and (row.sys_medfee_sumamt, row.sys_setl_cnt) == (Decimal("379.80"), 1)
    listing = reader.get(reverse("admin:gateway_reconciliation_changelist"), {"agreed__exact": "0"}).content.decode()
    assert "HJN1" in listing
    page = reader.get(reverse("admin:gateway_reconciliation_change", args=[row.pk])).content.decode()
    for text in (day["first"], day["second"], "759.60", "379.80", "reversed", day["mdtrt_id"]):
        assert text in page, text
