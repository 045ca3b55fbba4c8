"""Journeys: a supervisor reads a report's chart; a clerk whose browser asks for English gets the office in Chinese,
switches it to English and back."""

import pytest
from django.db.models import Q, Sum
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import LedgerEntry
from core.tests.browser.conftest import demo_user, replica_caught_up, shoot
from reports.summaries import account_flows_rebuild

pytestmark = pytest.mark.browser


def test_a_supervisor_reads_the_facilities_ranked_with_a_chart(page: Page, login_as: object) -> None:
    login_as(demo_user("supervisor"))
    page.goto("/admin/reports/facilitymonth/")
    page.fill("#id_month_from", "2026-01")
    page.fill("#id_month_to", "2026-12")
    page.click("form.report-filters input[type=submit]")
    chart = page.locator("svg.report-chart")
    expect(chart).to_be_visible()
    bars = chart.locator("rect")
    rows = page.locator("table.report tbody tr")
    expect(rows.first).to_be_visible()
    assert bars.count() == rows.count() >= 2  # one bar a facility
    sizes = chart.locator(".chart-label").evaluate_all("labels => labels.map(l => l.getBoundingClientRect().height)")
    assert min(sizes) >= 12, sizes
    shoot(page, "report-facilities-ranked")


def test_account_income_and_spending_shows_today_s_bills_without_a_rebuild(page: Page, login_as: object) -> None:
    """The session's bills of today (conftest, 285.00 each, paid from the accounts where they hold money) are in the
    report at once: the month's summary stops at the end of yesterday and the page says the rest is read live."""
    today = timezone.localdate()
    # What the accounts paid for own bills this month, by region, from the ledger (a reversal nets its bill out).
    own_bills = (Q(kind="settlement") | Q(kind="reversal", reverses__kind="settlement")) & Q(
        period__gte=today.replace(day=1), period__lte=today)
    paid = {admdvs: -(LedgerEntry.objects.filter(own_bills, account__person__enrollments__region__admdvs=admdvs,
                                                 account__person__enrollments__insutype="310")
                      .aggregate(total=Sum("amount"))["total"] or 0) for admdvs in ("310000", "370100")}
    assert sum(paid.values()) > 0  # the session's bills of today
    account_flows_rebuild(month=today, trigger="by_hand")  # the month summarised up to the end of yesterday
    replica_caught_up()
    login_as(demo_user("superuser"))
    page.goto(f"/admin/reports/accountflow/?month_from={today:%Y-%m}&month_to={today:%Y-%m}")
    notes = page.locator("#content p.help")
    expect(notes.last).to_contain_text("实时读取")
    for admdvs, amount in paid.items():
        if amount:
            row = page.locator("table.report tbody tr", has_text="本人结算").filter(has_text=admdvs)
            expect(row).to_contain_text(f"{amount:.2f}")
    shoot(page, "report-account-flows-live")


def test_the_language_switch_turns_the_office_english_and_back(page: Page, login_as: object) -> None:
    login_as(demo_user("registry_clerk"))
    # The browser asks for English (conftest): the office is Chinese until the clerk chooses otherwise.
    assert page.evaluate("() => navigator.language") == "en-US"
    page.goto("/admin/accounts/person/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#site-name")).to_have_text("医保经办管理系统")
    page.select_option("#language-select", "en")
    page.click("#language-switcher button")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url("/admin/accounts/person/")
    expect(page.locator("#site-name")).to_have_text("Medical insurance back office")
    shoot(page, "language-english")
    page.goto("/admin/")  # the choice holds on the next page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.select_option("#language-select", "zh-hans")
    page.click("#language-switcher button")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#site-name")).to_have_text("医保经办管理系统")
