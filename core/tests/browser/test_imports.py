"""Journeys through imports: a clerk's file with a bad row is refused whole and says which row and column, the fixed
file goes in; an officer's opening balances wait for a second person, who approves them from the home page."""

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Enrollment, InsuStatus, InsuType, Person, PersonalAccount, PsnType
from claims.models import Facility
from core.certno import certno_make
from core.models import ImportJob
from core.tests.browser.conftest import demo_user, replica_caught_up, shoot
from policies.models import Region

pytestmark = pytest.mark.browser

FACILITIES_HEADER = "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs,begndate,enddate,online_flag\n"
# Row 3 names a hospital level that does not exist (1, 2 or 3).
FACILITIES_BAD = (FACILITIES_HEADER + "H31011500901,上海市浦东新区某社区卫生服务中心（旅程）,1,1,310000,2026-12-01,,0\n"
                  "H31011500902,上海市浦东新区某区级医院（旅程）,1,7,310000,2026-12-01,,0\n")
FACILITIES_FIXED = FACILITIES_BAD.replace(",1,7,310000", ",1,2,310000")


def _upload(page: Page, kind: str, name: str, text: str) -> ImportJob:
    page.goto("/admin/core/importjob/add/")
    expect(page.locator("body")).to_contain_text(re.compile(kind))  # the expected columns of each kind are shown
    page.select_option("#id_kind", kind)
    page.set_input_files("#id_file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}])
    page.click("input[name=_save]")
    expect(page).to_have_url(re.compile(r"/admin/core/importjob/\d+/change/"))
    return ImportJob.objects.get(pk=int(re.search(r"/importjob/(\d+)/", page.url).group(1)))


def test_a_file_with_a_bad_row_is_refused_whole_and_the_fixed_file_goes_in(page: Page, login_as: object) -> None:
    login_as(demo_user("registry_clerk"))
    job = _upload(page, "facilities", "facilities-bad.csv", FACILITIES_BAD)
    expect(page.locator("#job-bad")).to_have_text("1")
    job.refresh_from_db()
    assert (job.status, job.bad, job.created) == (ImportJob.Status.FAILED, 1, 0)
    assert not Facility.objects.filter(fixmedins_code__in=["H31011500901", "H31011500902"]).exists()
    with page.expect_download() as download:
        page.click("a.button[href*='bad-rows']")
    bad_rows = download.value.path().read_text(encoding="utf-8-sig")
    assert "H31011500902" in bad_rows and "hosp_lv" in bad_rows and "H31011500901" not in bad_rows
    shoot(page, "import-bad-row")

    job = _upload(page, "facilities", "facilities-fixed.csv", FACILITIES_FIXED)
    expect(page.locator("#job-created")).to_have_text("2")
    job.refresh_from_db()
    assert (job.status, job.bad, job.created) == (ImportJob.Status.DONE, 0, 2)
    assert Facility.objects.get(fixmedins_code="H31011500902").hosp_lv == "2"
    shoot(page, "import-fixed-file")


def test_opening_balances_wait_for_a_second_person_who_approves_them(page: Page, login_as: object) -> None:
    person, _ = Person.objects.get_or_create(psn_no="3100000000099001", defaults={
        "certno": certno_make("31010119800101123"), "psn_name": "贺旅程", "gend": "1",
        "brdy": datetime.date(1980, 1, 1)})
    Enrollment.objects.get_or_create(person=person, insutype=InsuType.EMPLOYEE, defaults={
        "region": Region.objects.get(admdvs="310000"), "psn_type": PsnType.IN_SERVICE,
        "psn_insu_stas": InsuStatus.ACTIVE, "clct_base": Decimal("10000.00"), "begndate": datetime.date(2026, 1, 1)})
    replica_caught_up()

    login_as(demo_user("account_officer"))
    job = _upload(page, "balances", "balances.csv",
                  f"psn_no,pocket,amount,as_of\n{person.psn_no},historical,1234.56,2025-12-31\n")
    expect(page.locator("#job-approval")).to_contain_text("等待")
    assert job.status == ImportJob.Status.PENDING
    assert not PersonalAccount.objects.filter(person=person, balc_historical__gt=0).exists()
    shoot(page, "money-import-pending")

    login_as(demo_user("money_approver"))
    page.goto("/admin/")
    page.locator("#office-waiting a[href*='core/importjob']").first.click()
    expect(page).to_have_url(re.compile(r"status__exact=pending"))
    page.locator(f"#result_list a[href*='/importjob/{job.pk}/change/']").click()
    shoot(page, "money-import-to-approve")
    page.click("#job-approval input[type=submit].default")
    expect(page.locator(".messagelist")).to_contain_text(str(job.pk))
    job.refresh_from_db()
    assert (job.status, job.reviewed_by.username, job.created) == (ImportJob.Status.DONE, "approver", 1)
    # 1,234.56 into the historical pocket, as the file says.
    assert PersonalAccount.objects.get(person=person).balc_historical == Decimal("1234.56")
    shoot(page, "money-import-approved")
