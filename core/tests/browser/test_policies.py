"""Journey: a policy manager clones Shanghai's version into next year's draft, compares the two and publishes the
draft; a second draft from the same day overlaps it and is refused (said once, left a draft); a Jinan draft for
2027 cannot be published before the year's average wage is known (the page says why and disables 发布)."""

import re

import pytest
from playwright.sync_api import Page, expect

from core.tests.browser.conftest import demo_user, shoot
from policies.models import PolicyStatus, PolicyVersion

pytestmark = pytest.mark.browser

NEXT_YEAR = "2027-01-01"


def _clone(page: Page, source: PolicyVersion, code: str, title: str) -> PolicyVersion:
    page.goto(f"/admin/policies/policyversion/{source.pk}/clone/")
    page.fill("#id_code", code)
    page.fill("#id_title", title)
    page.fill("#id_effective_from", NEXT_YEAR)
    page.fill("#id_effective_to", "")
    page.click("#content form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text(code)
    return PolicyVersion.objects.get(code=code)


def _publish(page: Page, version: PolicyVersion) -> None:
    page.goto(f"/admin/policies/policyversion/{version.pk}/publish/")
    page.click("#content form input[type=submit].default")


def test_clone_compare_publish_and_refused_publishes(page: Page, login_as: object) -> None:
    shanghai = PolicyVersion.objects.get(code="SH-2023-07")
    login_as(demo_user("policy_manager"))
    draft = _clone(page, shanghai, "SH-2027-J", "上海市职工医保 2027（旅程）")
    assert draft.status == PolicyStatus.DRAFT
    shoot(page, "policy-draft")

    page.goto(f"/admin/policies/policyversion/diff/?a={shanghai.pk}&b={draft.pk}")
    diff = page.locator("#content")
    expect(diff).to_contain_text("上海市职工医保 2027（旅程）")
    expect(diff).to_contain_text(NEXT_YEAR)
    shoot(page, "policy-diff")

    _publish(page, draft)
    expect(page.locator(".messagelist .success")).to_contain_text("SH-2027-J")
    draft.refresh_from_db()
    assert draft.status == PolicyStatus.PUBLISHED
    shoot(page, "policy-published")

    # A second draft from the same day overlaps the version just published: refused, said once, left a draft.
    other = _clone(page, shanghai, "SH-2027-K", "上海市职工医保 2027（重叠）")
    _publish(page, other)
    expect(page).to_have_url(re.compile(rf"/policyversion/{other.pk}/publish/"))
    errors = page.locator(".messagelist .error")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("SH-2027-J")
    other.refresh_from_db()
    assert other.status == PolicyStatus.DRAFT
    shoot(page, "policy-publish-refused-overlap")

    # Jinan's bounds need the year's average wage: the page lists the problem and 发布 cannot be pressed.
    jinan = _clone(page, PolicyVersion.objects.get(code="JN-2024"), "JN-2027-J", "济南市职工医保 2027（旅程）")
    page.goto(f"/admin/policies/policyversion/{jinan.pk}/publish/")
    expect(page.locator("#content ul.errorlist")).to_contain_text("2027")
    expect(page.locator("#content form input[type=submit].default")).to_be_disabled()
    shoot(page, "policy-publish-refused-check")
    jinan.refresh_from_db()
    assert jinan.status == PolicyStatus.DRAFT
