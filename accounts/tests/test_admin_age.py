"""Where the ID number is masked the birth date is not shown beside it (the mask hides digits 7-14, the birth
date itself): the age instead. Users who see the whole number see the birth date."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from accounts.models import Person
from accounts.roles import roles_sync
from accounts.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _client(role: str) -> Client:
    roles_sync()
    user = User.objects.create_user(role, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def person(db: None) -> Person:
    return PersonFactory(certno="310101198005170341", brdy=datetime.date(1980, 5, 17))


@time_machine.travel(datetime.datetime(2026, 5, 16, 12, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")), tick=False)
def test_a_reader_sees_the_age_not_the_birth_date(person: Person) -> None:
    reader = _client("read_only")
    for url in (reverse("admin:accounts_person_changelist"), reverse("admin:accounts_person_change",
                                                                      args=[person.pk])):
        html = reader.get(url).content.decode()
        assert "310101********0341" in html
        assert "1980" not in html and "May 17" not in html, url
        # 17 May 1980 to 16 May 2026: 45 (the 46th birthday is tomorrow).
        assert ">45<" in html or "<div class=\"readonly\">45</div>" in html, url


def test_a_clerk_who_sees_the_whole_number_sees_the_birth_date(person: Person) -> None:
    clerk = _client("registry_clerk")
    html = clerk.get(reverse("admin:accounts_person_changelist")).content.decode()
    assert "310101198005170341" in html and ("1980" in html)
