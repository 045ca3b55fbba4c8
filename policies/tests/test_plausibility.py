"""The plausibility limits per bill line and per bill (issue 11): policy data on the version, seeded, cloned,
compared, validated, edited in drafts, answered by the API. Their effect on settling: claims/tests/test_api_edges.py."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from policies.models import PolicyVersion
from policies.selectors import policy_version_changed_cells
from policies.services import policy_version_clone, policy_version_publish
from policies.validation import policy_version_problems

pytestmark = pytest.mark.django_db


def test_every_seeded_version_has_the_limits(seeded):
    assert {(v.code, v.plausible_line_max, v.plausible_bill_max) for v in PolicyVersion.objects.all()} == {
        (code, Decimal("100000.00"), Decimal("200000.00")) for code in ("SH-2023-07", "JN-2022", "JN-2024",
                                                                         "JN-R-2024")}


def test_clone_copies_the_limits_the_diff_shows_a_change_and_publish_checks_them(seeded, policy_manager):
    source = PolicyVersion.objects.get(code="JN-2024")
    draft = policy_version_clone(version=source, code="JN-2025", actor=policy_manager,
                                 effective_from=source.effective_from.replace(year=2025))
    assert (draft.plausible_line_max, draft.plausible_bill_max) == (Decimal("100000.00"), Decimal("200000.00"))
    draft.plausible_line_max = Decimal("250000.00")
    draft.save()
    assert policy_version_problems(draft) == [
        "the plausibility limit per bill line (250000.00) is above the limit per bill (200000.00)"]
    draft.plausible_bill_max = Decimal("300000.00")
    draft.save()
    changed = [c for c in policy_version_changed_cells(source, PolicyVersion.objects.get(pk=draft.pk))
               if c[1].startswith("plausibility")]
    assert changed == [
        ("Version and options", "plausibility limit per bill line", "value", "100,000.00", "250,000.00"),
        ("Version and options", "plausibility limit per bill", "value", "200,000.00", "300,000.00")]
    assert policy_version_problems(draft) == []
    policy_version_publish(version=draft, actor=policy_manager)


def test_the_database_refuses_a_limit_of_zero(seeded, policy_manager):
    draft = policy_version_clone(version=PolicyVersion.objects.get(code="JN-2024"), code="D", actor=policy_manager)
    draft.plausible_bill_max = Decimal("0.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        draft.save()


def test_admin_edits_the_limits_in_drafts(seeded, policy_manager, client):
    client.force_login(policy_manager)
    draft = policy_version_clone(version=PolicyVersion.objects.get(code="JN-2024"), code="D", actor=policy_manager)
    page = client.get(reverse("admin:policies_policyversion_change", args=[draft.pk])).content.decode()
    assert 'name="plausible_line_max"' in page and 'name="plausible_bill_max"' in page


def test_api_answers_the_limits(seeded, clerk):
    api = APIClient()
    api.force_authenticate(clerk)
    body = api.get("/api/v1/policies/", {"admdvs": "370100", "date": "2025-03-01"}).json()
    assert body["plausibility"] == {"line_max": "100000.00", "bill_max": "200000.00"}
