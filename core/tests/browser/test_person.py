"""Journey: a clerk finds a person by the last six digits of the ID number and reads the person whole: registry,
enrollments with their dated statuses, family links both ways, the account's pockets and its ledger in place
(filtered by kind, paged) and in the ledger list, this year's accumulators, settlements, contributions,
recognitions, signings and filings."""

import datetime
import re

import pytest
from django.db.models import Count
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import FamilyLink, Person
from claims.models import Facility
from clearing.models import Signing
from core.tests.browser.conftest import demo_user, replica_caught_up, shoot

pytestmark = pytest.mark.browser

# The inline tables of the person's page, by their formset prefix (the reverse accessor of each model).
SECTIONS = ("enrollments", "links_as_holder", "links_as_relative", "recognitions", "contributions",
            "cross_region_filings", "accumulators", "settlements", "signings")


def _relative_who_settled() -> tuple[Person, Person]:
    """A relative of an account holder, with settlements, a recognition, a filing and dated statuses of their own;
    and the holder."""
    relative = (Person.objects.filter(links_as_relative__isnull=False, settlements__isnull=False,
                                      recognitions__isnull=False, enrollments__status_changes__isnull=False)
                .annotate(filings=Count("cross_region_filings")).order_by("-filings", "pk").first())
    holder = FamilyLink.objects.filter(relative=relative).select_related("holder").order_by("pk").first().holder
    return relative, holder


def test_a_clerk_finds_a_person_by_the_id_s_last_digits_and_reads_them_whole(page: Page, login_as: object) -> None:
    relative, holder = _relative_who_settled()
    facility = Facility.objects.filter(region__admdvs=relative.enrollments.first().region.admdvs,
                                       fixmedins_type="1", hosp_lv="1").order_by("pk").first()
    Signing.objects.get_or_create(person=relative, facility=facility,
                                  begndate=timezone.localdate().replace(day=1) - datetime.timedelta(days=60))
    replica_caught_up()
    login_as(demo_user("registry_clerk"))

    page.goto("/admin/accounts/person/")
    page.fill("#searchbar", relative.certno[-6:])
    page.press("#searchbar", "Enter")
    expect(page).to_have_url(re.compile(r"\?q=" + relative.certno[-6:]))
    row = page.locator("#result_list tbody tr", has_text=relative.psn_no)
    expect(row).to_have_count(1)
    shoot(page, "person-search-last-6-digits")
    row.locator("th a").click()

    expect(page.locator("#content h1, #content h2").first).to_be_visible()
    for section in SECTIONS:
        expect(page.locator(f"#{section}-group")).to_be_attached()
    expect(page.locator("#settlements-group tbody tr.has_original")).not_to_have_count(0)
    expect(page.locator("#recognitions-group tbody tr.has_original")).not_to_have_count(0)
    expect(page.locator("#signings-group")).to_contain_text(facility.fixmedins_code)
    history = page.locator("#enrollments-group tr.has_original td.field-status_history").first
    expect(history).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d"))
    expect(page.locator("#links_as_relative-group")).to_contain_text(holder.psn_no)
    shoot(page, "person-relative")

    # The other way: the holder's page lists this person among the relatives the account pays for.
    page.goto(f"/admin/accounts/person/{holder.pk}/change/")
    expect(page.locator("#links_as_holder-group")).to_contain_text(relative.psn_no)
    summary = page.locator(".field-account_summary")
    expect(summary).to_contain_text("历年账户")
    expect(page.locator("#contributions-group tbody tr.has_original")).not_to_have_count(0)
    # The enrollments' table and the ledger fit the window: neither scrolls sideways in its box at 1366 px.
    for box in ("#enrollments-group fieldset.module", "#person-ledger .person-ledger-table"):
        over = page.locator(box).evaluate("el => el.scrollWidth - el.clientWidth")
        assert over <= 1, f"{box} scrolls {over} px sideways at 1366"
    # Its selects read whole: the insurance type's and the region's chosen option is not cut (the text's width, in
    # the select's own font, fits inside the select less its arrow).
    for field in ("insutype", "region"):
        cut = page.locator(f"#enrollments-group td.field-{field} select").first.evaluate(
            """el => { const ctx = document.createElement('canvas').getContext('2d');
                       ctx.font = getComputedStyle(el).font;
                       return ctx.measureText(el.options[el.selectedIndex].text).width - (el.clientWidth - 24); }""")
        assert cut <= 0, f"the enrollment's {field} select cuts its option by {cut:.0f} px at 1366"
    shoot(page, "person-holder")

    # The ledger in place: every entry of the account counted, paged by 20, filtered by kind without leaving.
    ledger = page.locator("#person-ledger")
    count = holder.account.entries.count()
    expect(ledger.locator(".person-ledger-pages")).to_contain_text(f"{count}")
    expect(ledger.locator("#person-ledger-entries tbody tr")).to_have_count(min(count, 20))
    kind = holder.account.entries.order_by("-id").first()
    ledger.get_by_role("link", name=kind.get_kind_display()).click()
    expect(page).to_have_url(re.compile(rf"/person/{holder.pk}/change/\?ledger_kind={kind.kind}"))
    same_kind = holder.account.entries.filter(kind=kind.kind).count()
    expect(ledger.locator(".person-ledger-pages")).to_contain_text(f"{same_kind}")
    expect(ledger.locator("#person-ledger-entries tbody tr")).to_have_count(min(same_kind, 20))
    shoot(page, "person-ledger-inline")

    # The ledger: the account's entries, filtered by kind and paged.
    summary.locator("a").first.click()
    expect(page).to_have_url(re.compile(r"/admin/accounts/ledgerentry/\?account__id__exact=\d+"))
    total = int(re.search(r"\d+", page.inner_text("#changelist-form .paginator")).group())
    assert total == holder.account.entries.count()
    expect(page.locator("#changelist-filter")).to_be_visible()
    shoot(page, "person-ledger")
