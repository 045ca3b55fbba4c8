"""The facility, catalog and recognition admin: every page renders, roles, masking, search and query counts."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from accounts.roles import roles_sync
from accounts.tests.factories import PersonFactory, RegionFactory
from claims.models import Disease, Facility, Item, Recognition
from claims.tests.factories import DiseaseFactory, FacilityFactory, ItemFactory, RecognitionFactory
from core.certno import certno_mask

pytestmark = pytest.mark.django_db

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
    # See accounts/tests/test_admin.py: roles.py's `accounts.view_*` wildcard also grants view_full_certno.
    Group.objects.get(name="read_only").permissions.remove(Permission.objects.get(codename="view_full_certno"))


def _staff_client(username: str, group: str) -> Client:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clerk(roles: None) -> Client:
    """A registry clerk: keeps facilities, catalogs and recognitions, sees whole ID numbers."""
    return _staff_client("clerk", "registry_clerk")


@pytest.fixture
def reader(roles: None) -> Client:
    """A read-only member of staff."""
    return _staff_client("reader", "read_only")


@pytest.fixture
def recognition(regions: dict) -> Recognition:
    """A Shanghai enrollee recognised for hypertension at a Jinan level-2 hospital, and a class B item."""
    ItemFactory(item_code="ITEM-B", chrg_item_lv="02", selfpay_prop="0.1000")
    return RecognitionFactory(person__psn_name="张伟", facility__region=regions["370100"])


MODELS = {
    "facility": lambda r: r.facility,
    "disease": lambda r: r.disease,
    "item": lambda r: Item.objects.get(item_code="ITEM-B"),
    "recognition": lambda r: r,
}


@pytest.mark.parametrize("model", MODELS)
def test_every_page_renders_for_a_superuser(admin_client: Client, recognition: Recognition, model: str) -> None:
    obj = MODELS[model](recognition)
    for url in (
        reverse(f"admin:claims_{model}_changelist"),
        reverse(f"admin:claims_{model}_add"),
        reverse(f"admin:claims_{model}_change", args=[obj.pk]),
        reverse(f"admin:claims_{model}_history", args=[obj.pk]),
        reverse(f"admin:claims_{model}_simple_history", args=[obj.pk, obj.history.latest().history_id]),
        reverse(f"admin:claims_{model}_import"),
        reverse(f"admin:claims_{model}_export"),
    ):
        assert admin_client.get(url).status_code == 200, url


@pytest.mark.parametrize("model", MODELS)
def test_a_reader_sees_lists_but_cannot_add_or_import(reader: Client, recognition: Recognition, model: str) -> None:
    obj = MODELS[model](recognition)
    assert reader.get(reverse(f"admin:claims_{model}_changelist")).status_code == 200
    assert reader.get(reverse(f"admin:claims_{model}_change", args=[obj.pk])).status_code == 200
    assert reader.get(reverse(f"admin:claims_{model}_add")).status_code == 403
    assert reader.get(reverse(f"admin:claims_{model}_import")).status_code == 403
    assert reader.get(reverse(f"admin:claims_{model}_export")).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_a_clerk_may_import(clerk: Client, recognition: Recognition, model: str) -> None:
    assert clerk.get(reverse(f"admin:claims_{model}_import")).status_code == 200


def test_recognitions_show_the_id_number_by_role(reader: Client, clerk: Client, recognition: Recognition) -> None:
    certno = recognition.person.certno
    url = reverse("admin:claims_recognition_changelist")
    html = reader.get(url).content.decode()
    assert certno not in html and certno_mask(certno) in html
    assert certno in clerk.get(url).content.decode()


@pytest.mark.parametrize("term", ["psn_no", "certno", "psn_name"])
def test_recognitions_are_searched_by_person(clerk: Client, recognition: Recognition, term: str) -> None:
    other = RecognitionFactory(person=PersonFactory(psn_name="李强"), facility=recognition.facility)
    html = clerk.get(reverse("admin:claims_recognition_changelist"),
                     {"q": getattr(recognition.person, term)}).content.decode()
    assert recognition.person.psn_no in html
    assert other.person.psn_no not in html


def test_facilities_filter_by_type_level_and_region(clerk: Client, recognition: Recognition, regions: dict) -> None:
    FacilityFactory(fixmedins_code="P31000000001", fixmedins_name="大药房", fixmedins_type="2", hosp_lv="")
    url = reverse("admin:claims_facility_changelist")
    html = clerk.get(url, {"fixmedins_type__exact": "2"}).content.decode()
    assert "P31000000001" in html and recognition.facility.fixmedins_code not in html
    html = clerk.get(url, {"hosp_lv__exact": "2", "region__id__exact": regions["370100"].pk}).content.decode()
    assert recognition.facility.fixmedins_code in html and "P31000000001" not in html


def test_items_filter_by_catalog_class(clerk: Client, recognition: Recognition) -> None:
    ItemFactory(item_code="ITEM-A")
    html = clerk.get(reverse("admin:claims_item_changelist"), {"chrg_item_lv__exact": "02"}).content.decode()
    assert "ITEM-B" in html and "ITEM-A" not in html


def test_catalogs_are_searched_by_code_and_name(clerk: Client, recognition: Recognition) -> None:
    DiseaseFactory(opsp_dise_code="M01600", opsp_dise_name="糖尿病")
    html = clerk.get(reverse("admin:claims_disease_changelist"), {"q": "M01600"}).content.decode()
    assert "糖尿病" in html and "高血压" not in html
    html = clerk.get(reverse("admin:claims_facility_changelist"),
                     {"q": recognition.facility.fixmedins_code}).content.decode()
    assert recognition.facility.fixmedins_name in html


@pytest.fixture
def thirty_of_each(regions: dict) -> None:
    diseases = [DiseaseFactory(opsp_dise_code=f"M0{i:04d}", opsp_dise_name=f"病{i}") for i in range(30)]
    for i, disease in enumerate(diseases):
        facility = FacilityFactory(region=regions["310000" if i % 2 else "370100"])
        RecognitionFactory(disease=disease, facility=facility)
        ItemFactory()


@pytest.mark.parametrize("model", [Facility, Disease, Item, Recognition])
def test_changelist_queries_do_not_grow_with_rows(clerk: Client, thirty_of_each: None, model: type,
                                                  django_assert_max_num_queries: object) -> None:
    assert model.objects.count() >= 30
    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        assert clerk.get(reverse(f"admin:claims_{model._meta.model_name}_changelist")).status_code == 200
