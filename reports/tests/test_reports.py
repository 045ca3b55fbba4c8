"""Each report's numbers against the hand-computed book of conftest.py (amounts in its comments)."""

from decimal import Decimal

import pytest
from django.utils import timezone, translation

from reports.definitions import REPORTS, report_run
from reports.summaries import account_flows_rebuild
from reports.tests.conftest import D

pytestmark = pytest.mark.django_db
M = Decimal


def run(name: str, **params: str) -> list[dict]:
    form, result = report_run(REPORTS[name], params)
    assert result is not None, form.errors
    return result


def test_fund_expenditure(book):
    result = run("expenditure", month_from="2025-03", month_to="2025-04")
    rows = [(r["month"], r["admdvs"], r["fund_type"], r["hosp_lv"], r["enrollee_class"], r["med_type"],
             r["settlements"], r["fund_paid"]) for r in result.rows]
    assert rows == [
        ("2025-03", "310000", "310100", "3", "in_service", "11", 1, M("350.00")),  # d
        ("2025-03", "370100", "310100", "1", "in_service", "11", 1, M("210.00")),  # a (h settled and reversed)
        ("2025-03", "370100", "310100", "2", "in_service", "11", 1, M("240.00")),  # b
        ("2025-03", "370100", "310100", "2", "in_service", "14", 1, M("70.00")),   # c
        ("2025-04", "370100", "310100", "3", "retired", "11", 1, M("220.00")),     # g
    ]
    assert result.totals == {"settlements": 5, "fund_paid": M("1090.00")}
    # Beside each code, its name in the reader's language.
    with translation.override("zh-hans"):
        named = run("expenditure", month="2025-04").rows[0]
    assert (named["fund_type_label"], named["hosp_lv_label"], named["enrollee_class_label"],
            named["med_type_label"]) == ("统筹基金", "三级", "退休", "普通门诊")
    assert result.chart.labels == ["2025-03", "2025-04"]
    assert result.chart.series[0][1] == [M("870.00"), M("220.00")]
    filtered = run("expenditure", month="2025-03", region="370100", hosp_lv="2")
    assert [(r["med_type"], r["fund_paid"]) for r in filtered.rows] == [("11", M("240.00")), ("14", M("70.00"))]


def test_account_flows(book):
    account_flows_rebuild(month=D(2025, 3, 1), through=timezone.now())
    result = run("account-flows", month="2025-03", region="370100")
    rows = {(r["direction"], r["kind"]): (r["entries"], r["income"], r["spending"]) for r in result.rows}
    credit = [r for r in result.rows if r["kind"] == "credit_in_service"]
    assert rows == {
        ("income", "credit_in_service"): (1, M("200.00"), M("0.00")),  # p1: 2% of 10,000.00
        ("income", "credit_retired"): (1, M("80.00"), M("0.00")),      # p2, retired, 75: 80.00 a month
        ("spending", "settlement"): (1, M("0.00"), M("100.00")),       # e 100.00; h 200.00 and its reversal
        ("spending", "mulaid_settlement"): (1, M("0.00"), M("150.00")),  # f, from holder's account
    }
    assert credit[0]["credit_rule"]  # the credit rule's name
    assert result.totals["income"] == M("280.00") and result.totals["spending"] == M("250.00")
    assert any("last rebuilt" in note for note in result.notes)


def test_mutual_aid(book):
    account_flows_rebuild(month=D(2025, 3, 1), through=timezone.now())
    result = run("mutual-aid", month="2025-03")
    assert [(r["relation"], r["kind"], r["count"], r["amount"]) for r in result.rows] == [
        ("child", "mulaid_settlement", 1, M("150.00"))]


def test_chronic_diseases(book):
    result = run("chronic-diseases", month_from="2025-03", month_to="2025-04")
    assert [(r["disease"], r["recognised_persons"], r["visits"], r["medfee_sumamt"], r["hifp_pay"], r["fund_paid"])
            for r in result.rows] == [("M03900", 1, 1, M("100.00"), M("70.00"), M("70.00"))]  # c


def test_facility_ranking(book):
    by_fund = run("facilities", month_from="2025-03", month_to="2025-04", region="370100")
    assert [(r["rank"], r["fixmedins_code"], r["settlements"], r["medfee_sumamt"], r["fund_paid"])
            for r in by_fund.rows] == [
        (1, "HJN2", 2, M("700.00"), M("310.00")),   # b 600.00 / 240.00 + c 100.00 / 70.00
        (2, "HJN3", 1, M("1000.00"), M("220.00")),  # g
        (3, "HJN1", 2, M("650.00"), M("210.00")),   # a 500.00 / 210.00 + f 150.00 / 0 (h reversed)
        (4, "PJN", 1, M("100.00"), M("0.00")),      # e
    ]
    by_count = run("facilities", month_from="2025-03", month_to="2025-04", region="370100", order="n_settlements",
                   limit="2")
    assert [r["fixmedins_code"] for r in by_count.rows] == ["HJN2", "HJN1"]


def test_reconciliation(book):
    result = run("reconciliation", month="2025-03", facility="HJN1")
    # a: fund 210.00, cash 290.00; f: relatives' accounts 150.00; h reversed. 650.00 in all.
    assert [(r["fund_pay_type"], r["amount"]) for r in result.rows] == [
        ("310100", M("210.00")), ("LOCAL_SUPP", M("0.00")), ("ACCT", M("0.00")), ("ACCT_MULAID", M("150.00")),
        ("CASH", M("290.00"))]
    assert result.totals["setl_cnt"] == 2 and result.totals["medfee_sumamt"] == M("650.00")
    assert result.totals["amount"] == result.totals["medfee_sumamt"]


def test_bad_filters_are_form_errors(world):
    form, result = report_run(REPORTS["expenditure"], {"month_from": "2025-13"})
    assert result is None and "month_from" in form.errors
    form, result = report_run(REPORTS["expenditure"], {"month_from": "2025-05", "month_to": "2025-04"})
    assert result is None
