"""The clearing applications' admin: read-only for everyone, visible to every role with the view permission."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from accounts.roles import roles_sync
from clearing.services import clearing_application_record
from clearing.tests.test_services_application import data


@pytest.fixture
def reader(world) -> Client:
    roles_sync()
    user = User.objects.create_user("reader", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="read_only"))
    client = Client()
    client.force_login(user)
    return client


def test_applications_list_and_page_render_read_only(world, reader, django_assert_max_num_queries):
    application = clearing_application_record(facility=world["facilities"]["JN1"], msgid="m1", data=data())
    for n in range(2, 6):
        clearing_application_record(facility=world["facilities"]["JN2"], msgid=f"m{n}", data=data())
    with django_assert_max_num_queries(10):
        page = reader.get(reverse("admin:clearing_clearingapplication_changelist"))
    assert page.status_code == 200 and application.clr_appy_evt_id in page.content.decode()
    detail = reader.get(reverse("admin:clearing_clearingapplication_change", args=[application.pk]))
    assert detail.status_code == 200
    assert reader.post(reverse("admin:clearing_clearingapplication_change", args=[application.pk]),
                       {}).status_code == 403
    assert reader.get(reverse("admin:clearing_clearingapplication_add")).status_code == 403
