"""Journeys: a supervisor reads a report's chart; a clerk whose browser asks for English gets the office in Chinese,
switches it to English and back."""

import pytest
from playwright.sync_api import Page, expect

from core.tests.browser.conftest import demo_user, shoot

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
