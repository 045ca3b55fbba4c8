"""Report pages: only staff with the report's view permission; the chart is inline SVG; the CSV and XLSX exports
parse and carry the page's numbers. Alerts: review and "run now" for the supervisor group only."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from reports.definitions import REPORTS
from reports.models import Alert, AlertStatus
from reports.summaries import account_flows_rebuild
from reports.tests.conftest import D, user_in, user_with

pytestmark = pytest.mark.django_db


def page(name: str) -> str:
    model = REPORTS[name].model._meta
    return reverse(f"admin:{model.app_label}_{model.model_name}_changelist")


def test_report_pages_need_the_report_permission(client, book):
    client.force_login(user_with("claims.view_settlement", username="clerk"))
    for name in REPORTS:
        assert client.get(page(name), {"month": "2025-03", "facility": "HJN1"}).status_code == 403, name
    client.force_login(user_with("reports.view_fundexpenditure", username="one"))
    assert client.get(page("expenditure"), {"month": "2025-03"}).status_code == 200
    assert client.get(page("facilities"), {"month": "2025-03"}).status_code == 403


def test_every_role_sees_every_report(client, book):
    client.force_login(user_in("read_only", "ro"))
    for name in REPORTS:
        response = client.get(page(name), {"month_from": "2025-03", "month_to": "2025-04", "facility": "HJN1"})
        assert response.status_code == 200, name
        assert b'class="report-chart"' in response.content  # inline SVG
        assert b'src="http' not in response.content and b'href="http' not in response.content  # nothing fetched


def test_expenditure_page_csv_and_xlsx_carry_the_same_numbers(client, book):
    client.force_login(user_in("read_only", "ro"))
    params = {"month_from": "2025-03", "month_to": "2025-04"}
    html = client.get(page("expenditure"), params).content.decode()
    assert "1090.00" in html and "350.00" in html  # the total and Shanghai's row

    response = client.get(page("expenditure"), {**params, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["month"], r["admdvs"], r["hosp_lv"], r["med_type"], r["fund_paid"]) for r in rows] == [
        ("2025-03", "310000", "3", "11", "350.00"), ("2025-03", "370100", "1", "11", "210.00"),
        ("2025-03", "370100", "2", "11", "240.00"), ("2025-03", "370100", "2", "14", "70.00"),
        ("2025-04", "370100", "3", "11", "220.00")]

    response = client.get(page("expenditure"), {**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(rows[0].keys())
    money = [Decimal(str(v[-1])).quantize(Decimal("0.01")) for v in values[1:]]
    assert money == [Decimal(r["fund_paid"]) for r in rows]
    assert sum(money) == Decimal("1090.00")


def test_mutual_aid_exports(client, book):
    account_flows_rebuild(month=D(2025, 3, 1), through=timezone.now())
    client.force_login(user_in("read_only", "ro"))
    response = client.get(page("mutual-aid"), {"month": "2025-03", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["relation"], r["count"], r["amount"]) for r in rows] == [("child", "1", "150.00")]
    sheet = load_workbook(io.BytesIO(client.get(page("mutual-aid"), {"month": "2025-03", "format": "xlsx"})
                                     .content)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["child"]


def test_rebuild_button_needs_the_change_permission(client, book, django_capture_on_commit_callbacks):
    url = reverse("admin:reports_accountflow_rebuild")
    client.force_login(user_in("read_only", "ro"))
    assert client.post(url, {"month": "2025-03"}).status_code == 403
    client.force_login(user_in("supervisor", "sup"))
    with django_capture_on_commit_callbacks(execute=True):
        with_commit = client.post(url, {"month_from": "2025-03", "month_to": "2025-03"})
    assert with_commit.status_code == 302
    html = client.get(page("account-flows"), {"month": "2025-03"}).content.decode()
    assert "last rebuilt" in html and "by sup" in html and "280.00" in html


def test_alert_review_in_admin(client, book, django_capture_on_commit_callbacks):
    client.force_login(user_in("supervisor", "sup"))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("admin:reports_alert_run"), {"month": "2025-03"}).status_code == 302
    alert = Alert.objects.create(rule="over_price_limit", subject_type="facility", subject_key="HJN1",
                                 period_start=D(2025, 2, 1), period_end=D(2025, 2, 28))
    url = reverse("admin:reports_alert_change", args=[alert.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"status": "confirmed", "note": "overcharged"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CONFIRMED and alert.note == "overcharged" and alert.reviewer is not None

    client.force_login(user_in("read_only", "ro"))
    assert client.get(url).status_code == 200  # sees it
    assert client.post(url, {"status": "dismissed", "note": "no"}).status_code == 403
    assert client.get(reverse("admin:reports_alert_run")).status_code == 403
