import pytest
from django.urls import reverse

from policies.models import PolicyVersion
from policies.tests.conftest import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def jn24(seeded):
    return PolicyVersion.objects.get(code="JN-2024")


def lifecycle_requests(version):
    diff = reverse("admin:policies_policyversion_diff")
    return [
        ("get", reverse("admin:policies_policyversion_clone", args=[version.pk]), {}),
        ("post", reverse("admin:policies_policyversion_clone", args=[version.pk]),
         {"code": "JN-2025", "effective_from": "2025-01-01"}),
        ("get", reverse("admin:policies_policyversion_publish", args=[version.pk]), {}),
        ("post", reverse("admin:policies_policyversion_publish", args=[version.pk]), {}),
        ("post", reverse("admin:policies_policyversion_retire", args=[version.pk]), {}),
        ("get", f"{diff}?a={version.pk}&b={version.pk}", {}),
    ]


def test_clerk_is_refused_every_lifecycle_view(client, clerk, jn24):
    client.force_login(clerk)
    for method, url, data in lifecycle_requests(jn24):
        assert getattr(client, method)(url, data).status_code == 403, url
    changelist = reverse("admin:policies_policyversion_changelist")
    for action in ("clone_selected", "publish_selected", "retire_selected"):
        client.post(changelist, {"action": action, "_selected_action": [jn24.pk]})
    assert list(PolicyVersion.objects.values_list("code", "status").order_by("code")) == [
        ("JN-2022", "published"), ("JN-2024", "published"), ("JN-R-2024", "published"), ("SH-2023-07", "published")]
    # The clerk may read (policies.view_*), but not change, a published version.
    assert client.get(reverse("admin:policies_policyversion_change", args=[jn24.pk])).status_code == 200
    assert client.post(reverse("admin:policies_policyversion_change", args=[jn24.pk]), {}).status_code == 403


def test_policy_manager_done_when_through_the_admin(client, policy_manager, jn24):
    client.force_login(policy_manager)
    response = client.post(reverse("admin:policies_policyversion_clone", args=[jn24.pk]),
                           {"code": "JN-2025", "effective_from": "2025-01-01", "title": "JN 2025"})
    draft = PolicyVersion.objects.get(code="JN-2025")
    assert response.status_code == 302 and response["Location"].endswith(f"/{draft.pk}/change/")
    rule = draft.benefit_rules.get(enrollee_class__code="in_service", facility_level="3", med_group="general")
    rule.rate = "0.45"
    rule.save()
    publish = reverse("admin:policies_policyversion_publish", args=[draft.pk])
    page = client.get(publish)
    assert page.status_code == 200
    assert "below the Shandong minimum of 50%" in page.content.decode()
    assert "JN-2024 will end on 2024-12-31" in page.content.decode()
    refused = client.post(publish, follow=True)
    assert "in-service reimbursement rate 45.00% at level 3 is below the Shandong minimum of 50%" in (
        refused.content.decode())
    draft.refresh_from_db()
    assert draft.status == "draft"
    rule.rate = "0.52"
    rule.save()
    assert client.post(publish).status_code == 302
    draft.refresh_from_db()
    jn24.refresh_from_db()
    assert draft.status == "published" and jn24.effective_to == D(2024, 12, 31)
    assert draft.history.first().history_user == policy_manager


def test_manager_actions_on_the_changelist(client, policy_manager, jn24):
    client.force_login(policy_manager)
    changelist = reverse("admin:policies_policyversion_changelist")
    client.post(changelist, {"action": "clone_selected", "_selected_action": [jn24.pk]})
    draft = PolicyVersion.objects.get(code="JN-2024-draft")
    assert draft.status == "draft"
    client.post(changelist, {"action": "retire_selected", "_selected_action": [jn24.pk]})
    jn24.refresh_from_db()
    assert jn24.status == "retired"
    client.post(changelist, {"action": "publish_selected", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == "published"
    jn22 = PolicyVersion.objects.get(code="JN-2022")
    response = client.post(changelist, {"action": "diff_selected", "_selected_action": [jn22.pk, jn24.pk]})
    assert response.status_code == 302 and "diff/?a=" in response["Location"]


def test_admin_pages_render(client, policy_manager, jn24):
    client.force_login(policy_manager)
    jn22 = PolicyVersion.objects.get(code="JN-2022")
    changelist = client.get(reverse("admin:policies_policyversion_changelist"))
    assert changelist.status_code == 200 and "JN-2024" in changelist.content.decode()
    change = client.get(reverse("admin:policies_policyversion_change", args=[jn24.pk]))
    body = change.content.decode()
    assert change.status_code == 200
    assert "General outpatient and emergency (med_type 11, 13)" in body and "4,500.00" in body
    assert "Clone into a draft" in body and "Retire" in body
    diff = client.get(reverse("admin:policies_policyversion_diff"), {"a": jn22.pk, "b": jn24.pk})
    assert diff.status_code == 200 and 'class="changed"' in diff.content.decode()
    assert client.get(reverse("admin:policies_policyversion_diff")).status_code == 200
    assert client.get(reverse("admin:policies_policyversion_history", args=[jn24.pk])).status_code == 200
    assert client.get(reverse("admin:policies_region_changelist"), {"q": "3701"}).status_code == 200
    assert client.get(reverse("admin:policies_policyauditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:policies_policyversion_add")).status_code == 200
    assert client.get(reverse("admin:policies_policyversion_retire", args=[jn24.pk])).status_code == 200


def test_draft_is_editable_in_the_admin(client, policy_manager, jn24):
    from policies.services import policy_version_clone

    draft = policy_version_clone(version=jn24, code="JN-2025", effective_from=D(2025, 1, 1), actor=None)
    client.force_login(policy_manager)
    page = client.get(reverse("admin:policies_policyversion_change", args=[draft.pk]))
    assert page.status_code == 200 and 'name="benefit_rules-0-rate"' in page.content.decode()
    published = client.get(reverse("admin:policies_policyversion_change", args=[jn24.pk]))
    assert 'name="benefit_rules-0-rate"' not in published.content.decode()
