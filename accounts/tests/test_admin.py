"""The registry admin: every page renders, roles see what they may, ID numbers are masked, search and query counts."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Employer, Enrollment, FamilyLink, Person, PsnType
from accounts.roles import roles_sync
from accounts.tests.factories import (
    EmployerFactory,
    EnrollmentFactory,
    FamilyLinkFactory,
    PersonFactory,
    RegionFactory,
)
from claims.tests.factories import RecognitionFactory
from core.certno import certno_mask
from core.imports.admin import CSVImportFormat

pytestmark = pytest.mark.django_db

# Page, session and user, permissions, count, rows, prefetches and filter choices: none of them per row.
CHANGELIST_MAX_QUERIES = 10


@pytest.fixture
def regions() -> dict:
    return {
        "310000": RegionFactory(admdvs="310000", name="上海市"),
        "370100": RegionFactory(admdvs="370100", name="济南市"),
    }


@pytest.fixture
def roles(db: None) -> None:
    roles_sync()


def _staff_client(username: str, group: str) -> Client:
    role = Group.objects.get(name=group)
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(role)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clerk(roles: None) -> Client:
    """A registry clerk: edits the registry and sees whole ID numbers."""
    return _staff_client("clerk", "registry_clerk")


@pytest.fixture
def reader(roles: None) -> Client:
    """A read-only member of staff: sees every list, changes nothing, sees ID numbers masked."""
    return _staff_client("reader", "read_only")


@pytest.fixture
def enrollee(regions: dict) -> Person:
    """An in-service enrollee in Shanghai, holder of a link to their child, recognised for hypertension."""
    enrollment = EnrollmentFactory(person__psn_name="张伟", region=regions["310000"])
    person = enrollment.person
    FamilyLinkFactory(holder=person)
    RecognitionFactory(person=person)
    return person


def _history_id(obj: object) -> int:
    return obj.history.latest().history_id


def test_the_read_only_role_does_not_see_full_id_numbers(db: None) -> None:
    # The `accounts.view_*` wildcard grants standard view permissions only, never the custom view_full_certno.
    roles_sync()
    assert not Group.objects.filter(name="read_only", permissions__codename="view_full_certno").exists()
    assert Group.objects.filter(name="registry_clerk", permissions__codename="view_full_certno").exists()
    assert Group.objects.filter(name="read_only", permissions__codename="view_person").exists()


MODELS = {
    "employer": lambda p: p.enrollments.get().employer,
    "person": lambda p: p,
    "enrollment": lambda p: p.enrollments.get(),
    "familylink": lambda p: p.links_as_holder.get(),
}
IMPORTABLE = {"person", "familylink"}


@pytest.mark.parametrize("model", MODELS)
def test_every_page_renders_for_a_superuser(admin_client: Client, enrollee: Person, model: str) -> None:
    obj = MODELS[model](enrollee)
    pages = [
        reverse(f"admin:accounts_{model}_changelist"),
        reverse(f"admin:accounts_{model}_add"),
        reverse(f"admin:accounts_{model}_change", args=[obj.pk]),
        reverse(f"admin:accounts_{model}_history", args=[obj.pk]),
        reverse(f"admin:accounts_{model}_simple_history", args=[obj.pk, _history_id(obj)]),
    ]
    if model in IMPORTABLE:
        pages += [reverse(f"admin:accounts_{model}_import"), reverse(f"admin:accounts_{model}_export")]
    for url in pages:
        assert admin_client.get(url).status_code == 200, url


def test_the_person_page_shows_enrollment_links_and_recognitions(admin_client: Client, enrollee: Person) -> None:
    relative = enrollee.links_as_holder.get().relative
    FamilyLinkFactory(holder=PersonFactory(psn_name="王芳"), relative=enrollee, relation="spouse")
    response = admin_client.get(reverse("admin:accounts_person_change", args=[enrollee.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for prefix in ("enrollments", "links_as_holder", "links_as_relative", "recognitions"):
        assert f'name="{prefix}-TOTAL_FORMS" value="1"' in html, prefix
    assert relative.psn_no in html
    assert "王芳" in html
    assert "M03900" in html


@pytest.mark.parametrize("model", MODELS)
def test_a_reader_sees_lists_but_cannot_add_or_import(reader: Client, enrollee: Person, model: str) -> None:
    obj = MODELS[model](enrollee)
    assert reader.get(reverse(f"admin:accounts_{model}_changelist")).status_code == 200
    assert reader.get(reverse(f"admin:accounts_{model}_change", args=[obj.pk])).status_code == 200
    assert reader.get(reverse(f"admin:accounts_{model}_history", args=[obj.pk])).status_code == 200
    assert reader.get(reverse(f"admin:accounts_{model}_add")).status_code == 403
    if model in IMPORTABLE:
        assert reader.get(reverse(f"admin:accounts_{model}_import")).status_code == 403


def test_a_reader_sees_the_id_number_masked_everywhere(reader: Client, enrollee: Person) -> None:
    masked = certno_mask(enrollee.certno)
    assert masked.startswith("310101") and "********" in masked
    urls = [
        reverse("admin:accounts_person_changelist"),
        reverse("admin:accounts_person_change", args=[enrollee.pk]),
        reverse("admin:accounts_person_history", args=[enrollee.pk]),
        reverse("admin:accounts_person_simple_history", args=[enrollee.pk, _history_id(enrollee)]),
        reverse("admin:accounts_enrollment_changelist"),
        reverse("admin:claims_recognition_changelist"),
    ]
    for url in urls:
        html = reader.get(url).content.decode()
        assert enrollee.certno not in html, url
    for url in urls[:2] + urls[3:]:
        assert masked in reader.get(url).content.decode(), url


def test_a_reader_does_not_see_an_old_id_number_in_the_history(reader: Client, clerk: Client,
                                                               enrollee: Person) -> None:
    old = enrollee.certno
    enrollee.certno = PersonFactory.build().certno
    enrollee.save()
    url = reverse("admin:accounts_person_history", args=[enrollee.pk])
    html = reader.get(url).content.decode()
    assert old not in html and enrollee.certno not in html
    assert certno_mask(old) in html and certno_mask(enrollee.certno) in html
    assert old in clerk.get(url).content.decode()


def test_a_reader_cannot_revert_from_the_history(reader: Client, enrollee: Person) -> None:
    first = enrollee.history.earliest().history_id
    enrollee.psn_name = "李娜"
    enrollee.save()
    response = reader.post(reverse("admin:accounts_person_simple_history", args=[enrollee.pk, first]), {})
    assert response.status_code == 403
    enrollee.refresh_from_db()
    assert enrollee.psn_name == "李娜"


def test_a_reader_cannot_export_id_numbers(reader: Client, clerk: Client, enrollee: Person) -> None:
    assert reader.get(reverse("admin:accounts_person_export")).status_code == 403
    assert reader.get(reverse("admin:accounts_familylink_export")).status_code == 403
    assert clerk.get(reverse("admin:accounts_person_export")).status_code == 200


def test_a_clerk_sees_the_whole_id_number(clerk: Client, enrollee: Person) -> None:
    for url in (reverse("admin:accounts_person_changelist"),
                reverse("admin:accounts_person_change", args=[enrollee.pk]),
                reverse("admin:accounts_enrollment_changelist")):
        assert enrollee.certno in clerk.get(url).content.decode(), url
    assert clerk.get(reverse("admin:accounts_person_import")).status_code == 200


def test_without_the_permission_a_person_is_added_with_a_full_number_then_masked(enrollee: Person) -> None:
    user = User.objects.create_user("intake", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="accounts", codename__in=["add_person", "change_person", "view_person"]))
    client = Client()
    client.force_login(user)
    certno = PersonFactory.build().certno
    add = client.get(reverse("admin:accounts_person_add")).content.decode()
    assert 'name="certno"' in add
    response = client.post(reverse("admin:accounts_person_add"), {
        "psn_no": "P9000000001", "certno": certno.lower(), "psn_name": "赵敏", "gend": "1", "brdy": "1980-05-17",
    })
    assert response.status_code == 302, response.content.decode()
    person = Person.objects.get(psn_no="P9000000001")
    assert person.certno == certno
    html = client.get(reverse("admin:accounts_person_change", args=[person.pk])).content.decode()
    assert certno not in html and certno_mask(certno) in html
    assert 'name="certno"' not in html


def test_saving_the_person_form_without_the_permission_keeps_the_number(enrollee: Person) -> None:
    user = User.objects.create_user("editor", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="accounts", codename__in=["change_person", "view_person"]))
    client = Client()
    client.force_login(user)
    response = client.post(reverse("admin:accounts_person_change", args=[enrollee.pk]), {
        "psn_no": enrollee.psn_no, "psn_name": "张伟伟", "gend": "1", "brdy": "1980-05-17",
        "certno": "110101199001010011",
    })
    assert response.status_code == 302
    old = enrollee.certno
    enrollee.refresh_from_db()
    assert enrollee.psn_name == "张伟伟" and enrollee.certno == old


@pytest.mark.parametrize("term", ["psn_no", "certno", "psn_name"])
def test_search_finds_the_person(clerk: Client, enrollee: Person, term: str) -> None:
    other = PersonFactory(psn_name="李强")
    response = clerk.get(reverse("admin:accounts_person_changelist"), {"q": getattr(enrollee, term)})
    html = response.content.decode()
    assert enrollee.psn_no in html
    assert other.psn_no not in html


def test_search_by_id_number_ignores_case_and_spaces(clerk: Client, regions: dict) -> None:
    person = PersonFactory(certno="11010119800517001X", brdy=datetime.date(1980, 5, 17))
    response = clerk.get(reverse("admin:accounts_person_changelist"), {"q": " 11010119800517001x "})
    assert person.psn_no in response.content.decode()


def test_enrollments_and_links_are_searched_by_person(clerk: Client, enrollee: Person) -> None:
    link = enrollee.links_as_holder.get()
    html = clerk.get(reverse("admin:accounts_enrollment_changelist"), {"q": enrollee.certno}).content.decode()
    assert enrollee.psn_no in html
    html = clerk.get(reverse("admin:accounts_familylink_changelist"), {"q": link.relative.psn_no}).content.decode()
    assert enrollee.psn_no in html


@pytest.mark.parametrize(("params", "found"), [
    ({"enrollments__region__id__exact": "370100"}, False),
    ({"enrollments__psn_type__exact": PsnType.IN_SERVICE}, True),
    ({"enrollments__psn_type__exact": PsnType.RETIRED}, False),
    ({"enrollments__psn_insu_stas__exact": "1"}, True),
])
def test_person_filters(clerk: Client, enrollee: Person, regions: dict, params: dict, found: bool) -> None:
    if "enrollments__region__id__exact" in params:
        params = {"enrollments__region__id__exact": regions[params["enrollments__region__id__exact"]].pk}
    html = clerk.get(reverse("admin:accounts_person_changelist"), params).content.decode()
    assert (enrollee.psn_no in html) is found


@pytest.fixture
def thirty_enrollees(regions: dict) -> None:
    for i in range(30):
        enrollment = EnrollmentFactory(region=regions["310000" if i % 2 else "370100"])
        FamilyLinkFactory(holder=enrollment.person)


@pytest.mark.parametrize("model", [Employer, Person, Enrollment, FamilyLink])
def test_changelist_queries_do_not_grow_with_rows(clerk: Client, thirty_enrollees: None, model: type,
                                                  django_assert_max_num_queries: object) -> None:
    assert model.objects.count() >= 30
    url = reverse(f"admin:accounts_{model._meta.model_name}_changelist")
    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        assert clerk.get(url).status_code == 200


def test_autocomplete_finds_a_person_by_id_number(clerk: Client, enrollee: Person) -> None:
    response = clerk.get(reverse("admin:autocomplete"), {
        "app_label": "accounts", "model_name": "enrollment", "field_name": "person", "term": enrollee.certno,
    })
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(enrollee.pk)]
    assert enrollee.certno not in response.content.decode()


def test_the_site_has_its_title_and_a_language_switcher(admin_client: Client) -> None:
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "Medical insurance back office" in html
    assert f'action="{reverse("set_language")}"' in html
    assert 'value="zh-hans"' in html and 'value="en"' in html
    response = admin_client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("admin:index")})
    assert response.status_code == 302
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert 'lang="zh-hans"' in html


def test_employer_admin_lists_by_region(clerk: Client, regions: dict) -> None:
    EmployerFactory(emp_name="济南单位", region=regions["370100"])
    html = clerk.get(reverse("admin:accounts_employer_changelist"),
                     {"region__id__exact": regions["370100"].pk}).content.decode()
    assert "济南单位" in html


def test_a_clerk_imports_a_roster_with_preview_and_confirm(clerk: Client, regions: dict) -> None:
    certno = PersonFactory.build().certno
    csv = ("psn_no,certno,psn_name,gend,brdy,psn_type,insuplc_admdvs,emp_no,emp_name,clct_base,begndate,"
           "retire_date,psn_insu_stas\n"
           f"P8000000001,{certno},孙丽,,,1101,310000,E90000001,上海某公司,9000.00,2020-01-01,,1\n")
    formats = admin.site._registry[Person].get_import_formats()
    fmt = str(next(i for i, f in enumerate(formats) if f is CSVImportFormat))
    url = reverse("admin:accounts_person_import")
    preview = clerk.post(url, {"resource": "0", "format": fmt,
                               "import_file": SimpleUploadedFile("roster.csv", csv.encode())})
    assert preview.status_code == 200
    confirm = preview.context["confirm_form"]
    assert not Person.objects.filter(psn_no="P8000000001").exists()
    response = clerk.post(reverse("admin:accounts_person_process_import"),
                          {**confirm.initial, "resource": "0"})
    assert response.status_code == 302, response.content.decode()[:2000]
    person = Person.objects.get(psn_no="P8000000001")
    enrollment = person.enrollments.get()
    assert enrollment.employer.emp_no == "E90000001" and enrollment.region.admdvs == "310000"


def test_a_clerk_suspends_an_enrollment_from_a_date_and_the_page_shows_the_dated_statuses(
        clerk: Client, enrollee: Person) -> None:
    enrollment = enrollee.enrollments.get()
    url = reverse("admin:accounts_enrollment_change", args=[enrollment.pk])
    form = {"person": enrollee.pk, "insutype": "310", "psn_type": "1101", "region": enrollment.region_id,
            "employer": enrollment.employer_id, "clct_base": "8000.00", "begndate": "2015-01-01", "enddate": "",
            "retire_date": "", "psn_insu_stas": "2", "stas_date": "2025-03-05",
            "status_changes-TOTAL_FORMS": "0", "status_changes-INITIAL_FORMS": "1",
            "status_changes-MIN_NUM_FORMS": "0", "status_changes-MAX_NUM_FORMS": "0"}
    response = clerk.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    enrollment.refresh_from_db()
    assert list(enrollment.status_changes.order_by("stas_date").values_list("stas_date", "psn_insu_stas")) == [
        (datetime.date(2015, 1, 1), "1"), (datetime.date(2025, 3, 5), "2")]
    assert (enrollment.status_on(datetime.date(2025, 3, 4)), enrollment.status_on(datetime.date(2025, 3, 5))) == (
        "1", "2")
    assert "2025-03-05" in clerk.get(url).content.decode()
