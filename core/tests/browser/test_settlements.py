"""Journeys on settlements: an auditor reverses today's bill and sees the account paid back; a reader prints a
settlement slip, a PDF with the settlement's own numbers."""

import io
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from accounts.models import LedgerEntry
from claims.models import Settlement, SettlementStatus
from core.tests.browser.conftest import demo_user, shoot

pytestmark = pytest.mark.browser


def _todays(admdvs: str) -> Settlement:
    """One of the session's bills of today (conftest): 25.00 consultation + 260.00 CT scan = 285.00."""
    return (Settlement.objects.filter(setl_date=timezone.localdate(), medins_setl_id__startswith="JOURNEY",
                                      facility__region__admdvs=admdvs, status=SettlementStatus.SETTLED)
            .order_by("pk").first())


def test_an_auditor_reverses_a_settlement_and_the_account_is_paid_back(page: Page, login_as: object) -> None:
    settlement = _todays("370100")
    paid = settlement.acct_pay
    login_as(demo_user("settlement_auditor"))
    page.goto(f"/admin/claims/settlement/{settlement.pk}/change/")
    expect(page.locator("#content")).to_contain_text(settlement.setl_id)
    shoot(page, "settlement-before-reversal")
    reverse_button = page.locator(".object-tools button[type=submit]")
    expect(reverse_button).to_have_text("撤销")
    reverse_button.click()
    expect(page.locator("#content")).to_contain_text(settlement.setl_id)
    page.fill("#id_reason", "旅程：重复结算")
    page.click("input[type=submit].default")
    expect(page.locator(".messagelist .success")).to_contain_text(settlement.setl_id)
    settlement.refresh_from_db()
    assert settlement.status == SettlementStatus.REVERSED
    # Every account debit the bill made has its reversal entry, of the opposite amount.
    entries = LedgerEntry.objects.filter(ref_id=settlement.setl_id)
    assert sum((e.amount for e in entries), start=0) == 0 and len(entries) == (2 if paid else 0)
    page.goto(f"/admin/claims/settlement/{settlement.pk}/change/")
    expect(page.locator(".object-tools button[type=submit]")).to_have_count(0)  # nothing left to reverse
    shoot(page, "settlement-reversed")


def test_a_reader_prints_a_settlement_slip(page: Page, login_as: object) -> None:
    settlement = _todays("310000")
    login_as(demo_user("read_only"))
    page.goto(f"/admin/claims/settlement/{settlement.pk}/change/")
    link = page.locator(".object-tools a[href$='/slip/']")
    expect(link).to_be_visible()
    shoot(page, "settlement-page")
    with page.expect_popup() as opened:  # the slip opens beside the page, in Chromium's PDF viewer
        link.click()
    slip = opened.value
    expect(slip).to_have_url(re.compile(r"/slip/$"))
    slip.wait_for_load_state()
    shoot(slip, "settlement-slip")
    # The file the viewer shows, fetched again as the browser asked for it (Playwright's request API sends no
    # Accept-Language of its own): in English, and the slip is in Chinese all the same.
    response = slip.request.get(slip.url, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert re.search(r'filename="slip-%s\.pdf"' % settlement.setl_id, response.headers["content-disposition"])
    text = PdfReader(io.BytesIO(response.body())).pages[0].extract_text()
    # The slip's own numbers: its id, the person, the bill (25.00 + 260.00), what the fund and the account paid,
    # and the medical type with its name.
    for expected in (settlement.setl_id, settlement.person.psn_no, "285.00", f"{settlement.acct_pay:.2f}",
                     f"{settlement.hifp_pay:.2f}", "260.00", "11 普通门诊"):
        assert expected in text, (expected, text)
