"""The crawler: a superuser reading Chinese visits every admin list, an add page and a change page of each model
(the demo data, made by seed_demo), and finds no English of the project's own catalog and no bare code column."""

import io
import re

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Page

from core.tests.browser.catalog import project_entries
from core.tests.browser.conftest import shoot, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A cell that is nothing but a code needs its name beside it: a lower-case identifier (`general`, `historical`) in
# any cell, or a column of nothing but numbers of up to six digits (`310`, `1201`, `310100`).
WORD_CODE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
DIGIT_CODE = re.compile(r"^\d{1,6}$")
# Columns of numbers, orders, years, counts and logins, not codes.
NOT_CODE_HEADERS = re.compile(r"^ID$|数|年度|次|行|笔|页|序号|顺序|排名|天|用户名")
# The list's table: headers, and each row's cells; the row's link to its page (its own code or number, shown beside
# its name) is left out.
TABLE = """() => {
  const table = document.querySelector('#result_list');
  if (!table) return null;
  const cells = tr => [...tr.children].map(td => td.querySelector('a[href*="/change/"]') && td.matches('th')
                                           ? '' : td.innerText.trim());
  return {heads: [...table.querySelectorAll('thead th')].map(th => th.innerText.trim()),
          rows: [...table.querySelectorAll('tbody tr')].map(cells)};
}"""


def _pages(superuser: object) -> list[tuple[str, str]]:
    """(name, URL) of every admin changelist, its add page where adding is allowed, and one change page."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    pages = []
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        pages.append((f"{info} list", reverse(f"admin:{info}_changelist")))
        if model_admin.has_add_permission(request):
            pages.append((f"{info} add", reverse(f"admin:{info}_add")))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            try:
                pages.append((f"{info} change", reverse(f"admin:{info}_change", args=[obj.pk])))
            except NoReverseMatch:
                pass
    return pages


def _bare_code_columns(table: dict | None) -> list[str]:
    if not table or not table["rows"]:
        return []
    found = []
    for column, head in enumerate(table["heads"]):
        cells = [row[column] for row in table["rows"] if column < len(row) and row[column]]
        if not cells or NOT_CODE_HEADERS.search(head):
            continue
        codes = sorted({cell for cell in cells if WORD_CODE.match(cell)})
        if not codes and all(DIGIT_CODE.match(cell) for cell in cells):
            codes = sorted(set(cells))
        if codes:
            found.append(f"{head or column}: {codes[:5]}")
    return found


def test_every_admin_page_reads_chinese_with_codes_named(page: Page, login_as: object, roles: None) -> None:
    call_command("seed_demo", enrollees=200, settlements=40, stdout=io.StringIO())
    superuser = staff_user("root", superuser=True)
    login_as(superuser)
    entries = project_entries()

    problems = []
    visited = 0
    for name, url in _pages(superuser):
        response = page.goto(url, wait_until="domcontentloaded")
        visited += 1
        if response.status != 200:
            problems.append(f"{name} {url}: HTTP {response.status}")
            continue
        # The language menu names English in English, as it should; a code is shown in <code> beside its name.
        page.add_style_tag(content="#language-switcher, code { display: none; }")
        text = page.inner_text("body")
        english = {}
        for entry in entries:
            found = entry.pattern.search(text)
            if found:
                english[entry.msgid] = text[max(found.start() - 30, 0):found.end() + 30].replace("\n", " ")
        if english:
            problems.append(f"{name} {url}: English " + "; ".join(f"{m!r} in …{c}…" for m, c in english.items()))
        if name.endswith(" list"):
            for column in _bare_code_columns(page.evaluate(TABLE)):
                problems.append(f"{name} {url}: bare codes in {column}")
    shoot(page, "crawl-last-page")
    assert visited > 80
    assert not problems, f"{len(problems)} of {visited} pages:\n" + "\n".join(problems)
