"""Every change list fits a 1366×768 and a 1920×1080 window: the table ends inside the window (no column hidden to
the right or behind a scroll bar) and no header or cell is squeezed to one character a line; pages with inline
tables do not scroll sideways (an inline table scrolls inside its own box)."""

import pytest
from django.contrib import admin
from django.urls import reverse
from playwright.sync_api import Page

from core.tests.browser.conftest import SIZES, demo_user, shoot

pytestmark = pytest.mark.browser

# Lists whose screenshots are kept (the issue names them): settlements, ledger, enrollments, credit runs. They are
# visited first, the settlements first of all: a browser's very first page is laid out as a new clerk sees it.
SHOT = ("claims_settlement", "accounts_ledgerentry", "accounts_enrollment", "accounts_creditrun")

# What a list's table looks like in this window: the headers ending beyond its right edge, and the cells of three
# characters or more laid out with fewer than two characters a line (a name wrapped one character a line).
MEASURE = """() => {
  const table = document.querySelector('#result_list');
  if (!table) return null;
  const edge = window.innerWidth + 1;
  const beyond = [...table.querySelectorAll('thead th')]
    .filter(th => th.getBoundingClientRect().right > edge).map(th => th.innerText.trim());
  const lines = el => {  // the lines its text is laid out on
    const tops = new Set();
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      if (!walker.currentNode.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(walker.currentNode);
      for (const rect of range.getClientRects()) if (rect.width > 0) tops.add(Math.round(rect.top));
    }
    return tops.size;
  };
  const squeezed = [...table.querySelectorAll('thead th, tbody tr:nth-child(-n+10) > *')].filter(cell => {
    const text = cell.innerText.replace(/\\s+/g, '');
    const n = lines(cell);
    return text.length >= 3 && n >= 3 && text.length / n < 2;
  }).map(cell => cell.innerText.trim().replace(/\\s+/g, ' '));
  return {beyond, squeezed, tableRight: Math.round(table.getBoundingClientRect().right)};
}"""
SIDEWAYS = "() => document.documentElement.scrollWidth - window.innerWidth"


def _at_both_sizes(page: Page, check: object) -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        check(width)
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})


def test_every_change_list_and_inline_page_fits_the_window(page: Page, login_as: object) -> None:
    login_as(demo_user("superuser"))
    problems: list[str] = []
    lists = 0
    registry = {f"{model._meta.app_label}_{model._meta.model_name}": (model, model_admin)
                for model, model_admin in admin.site._registry.items()}
    for info in sorted(registry, key=lambda info: (SHOT.index(info) if info in SHOT else len(SHOT), info)):
        model, model_admin = registry[info]
        url = reverse(f"admin:{info}_changelist")
        response = page.goto(url)  # "load": after office.js has marked the columns
        if response.status != 200:
            problems.append(f"{url}: HTTP {response.status}")
            continue

        def check_list(width: int, url: str = url) -> None:
            found = page.evaluate(MEASURE)
            if found is None:
                return
            if found["beyond"]:
                problems.append(f"{url} at {width}: columns beyond the window's edge {found['beyond']}")
            if found["squeezed"]:
                problems.append(f"{url} at {width}: one character a line {found['squeezed'][:4]}")

        if page.locator("#result_list").count():
            lists += 1
            _at_both_sizes(page, check_list)
            if info in SHOT:
                shoot(page, f"list-{info}")

        first = model._default_manager.order_by("pk").first()
        if model_admin.inlines and first is not None:
            change = reverse(f"admin:{info}_change", args=[first.pk])
            if page.goto(change).status != 200:
                continue

            def check_sideways(width: int, change: str = change) -> None:
                if (over := page.evaluate(SIDEWAYS)) > 1:
                    problems.append(f"{change} at {width}: the page scrolls {over} px sideways")

            _at_both_sizes(page, check_sideways)
    assert lists >= 20  # the lists with rows in the demo data
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
