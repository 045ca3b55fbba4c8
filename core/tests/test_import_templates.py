"""A template per import kind: its header row and an example row, downloadable from the upload page, which shows
the expected columns of every kind the user may import."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from core.exports import BOM
from core.imports import IMPORT_KINDS, import_resource_class

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", list(IMPORT_KINDS))
def test_each_kind_has_a_template_with_its_header_and_an_example(admin_client: Client, kind: str) -> None:
    response = admin_client.get(reverse("admin:core_importjob_template", args=[kind]))
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    header, example = list(csv.reader(io.StringIO(text[len(BOM):])))
    assert tuple(header) == import_resource_class(kind).all_columns()
    assert len(example) == len(header) and any(example)


def test_the_upload_page_shows_the_expected_columns(admin_client: Client) -> None:
    html = admin_client.get(reverse("admin:core_importjob_add")).content.decode()
    assert "psn_no,pocket,amount,as_of" in html
    assert reverse("admin:core_importjob_template", args=["balances"]) in html


def test_no_template_of_a_kind_the_user_may_not_import(client: Client, django_user_model: object) -> None:
    user = django_user_model.objects.create_user("nobody", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:core_importjob_template", args=["balances"])).status_code in (403, 404)
