"""Journey: an approver of money moved by hand opens the back office and sees what waits for them, today's and
this month's settlements with a chart of who paid, and the policy version about to end; every figure opens the
list it counts, filtered the same way."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.adjustments import account_adjustment_request
from accounts.models import AccountAdjustment, PersonalAccount
from claims.models import Settlement, SettlementStatus
from core.tests.browser.conftest import SIZES, demo_user, replica_caught_up, shoot
from office.dashboard import policy_versions_ending

pytestmark = pytest.mark.browser

# The chart's labels, as drawn on the screen: no smaller than this many pixels.
READABLE_PX = 12


def _listed(page: Page) -> int:
    """The number of rows a change list counts (its paginator: "4 结算")."""
    return int(re.search(r"\d+", page.inner_text("#changelist-form .paginator")).group())


def test_the_home_page_shows_what_waits_and_each_figure_opens_its_list(page: Page, login_as: object) -> None:
    account = PersonalAccount.objects.select_related("person").order_by("pk").first()
    account_adjustment_request(person=account.person, kind="correction", pocket="historical",
                               amount=Decimal("10.00"), reason="journey: the home page",
                               user=demo_user("account_officer"))
    replica_caught_up()
    today = timezone.localdate()
    settled_today = Settlement.objects.filter(setl_date=today, status=SettlementStatus.SETTLED).count()
    pending = AccountAdjustment.objects.filter(status=AccountAdjustment.Status.PENDING).count()
    assert settled_today >= 4 and pending >= 1  # the session's bills of today (conftest) and the one just asked

    login_as(demo_user("money_approver"))
    page.goto("/admin/")
    settlements = page.locator("#office-settlements")
    expect(settlements.locator("h2")).to_contain_text(today.isoformat())
    counts = settlements.locator("tbody tr").first.locator("td a")
    expect(counts.nth(0)).to_have_text(str(settled_today))
    waiting = page.locator("#office-waiting")
    expect(waiting).to_contain_text("待审批")
    # SH-2023-07 ends on 2026-12-31 with nothing after it (unless the policy journey published its successor).
    ending = [v.code for v in policy_versions_ending(today)]
    warnings = page.locator("#office-warnings")
    for code in ending:
        expect(warnings).to_contain_text(code)

    # The chart is drawn at its own size: its labels are readable at both window sizes, and each links to a list.
    labels = page.locator("#office-settlements svg .chart-label")
    expect(labels).to_have_count(5)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        sizes = labels.evaluate_all("labels => labels.map(l => l.getBoundingClientRect().height)")
        assert min(sizes) >= READABLE_PX, (width, sizes)
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    shoot(page, "home-money-approver")

    # Every figure and every bar links somewhere; the counts open lists that count the same.
    links = page.locator("#office-home a[href]")
    hrefs = sorted(set(links.evaluate_all("links => links.map(a => a.getAttribute('href'))")))
    assert len(hrefs) >= 5
    bars = page.locator("#office-settlements svg a.chart-link")
    expect(bars).to_have_count(5)

    counts.nth(0).click()
    expect(page).to_have_url(re.compile(r"/admin/claims/settlement/\?.*setl_date__day="))
    assert _listed(page) == settled_today
    shoot(page, "home-settled-today-list")
    page.go_back()
    waiting.get_by_role("link", name=str(pending)).first.click()
    expect(page).to_have_url(re.compile(r"/admin/accounts/accountadjustment/\?status__exact=pending"))
    assert _listed(page) == pending
    if ending:
        page.go_back()
        warnings.locator("a").first.click()
        expect(page.locator("#result_list")).to_contain_text(ending[0])
    for href in hrefs:
        response = page.goto(href)
        assert response.status == 200, href
