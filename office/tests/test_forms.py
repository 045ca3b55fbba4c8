"""Forms that open clean: the reconciliation report and the diff do not greet the user with "required" errors;
the publish page disables 发布 when the check already refuses, and says the refusal once."""

import pytest
from django.test import Client
from django.urls import reverse

from policies.models import PolicyVersion
from policies.tests.conftest import policy_manager, seeded  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def jn24(seeded: None) -> PolicyVersion:  # noqa: F811
    return PolicyVersion.objects.get(code="JN-2024")


def test_the_reconciliation_report_opens_without_errors(admin_client: Client) -> None:
    url = reverse("admin:reports_reconciliationreport_changelist")
    html = admin_client.get(url).content.decode()
    assert "errorlist" not in html
    html = admin_client.get(url, {"facility": "NOSUCH"}).content.decode()
    assert "errorlist" in html  # asked for, and wrong: then it says so


def test_the_diff_opens_without_errors(client: Client, policy_manager: object, jn24: PolicyVersion) -> None:  # noqa: F811
    client.force_login(policy_manager)
    html = client.get(reverse("admin:policies_policyversion_diff")).content.decode()
    assert "errorlist" not in html


def test_a_refused_publish_is_said_once_and_the_button_is_disabled(client: Client, policy_manager: object,  # noqa: F811
                                                                 jn24: PolicyVersion) -> None:  # noqa: F811
    client.force_login(policy_manager)
    client.post(reverse("admin:policies_policyversion_clone", args=[jn24.pk]),
                {"code": "JN-2025", "effective_from": "2025-01-01", "title": "JN 2025"})
    draft = PolicyVersion.objects.get(code="JN-2025")
    rule = draft.benefit_rules.get(enrollee_class__code="in_service", facility_level="3", med_group="general")
    rule.rate = "0.45"
    rule.save()
    publish = reverse("admin:policies_policyversion_publish", args=[draft.pk])
    problem = "in-service reimbursement rate 45.00% at level 3 is below the Shandong minimum of 50%"
    page = client.get(publish).content.decode()
    assert page.count(problem) == 1
    assert 'type="submit" class="default" value="Publish" disabled' in page
    refused = client.post(publish, follow=True).content.decode()
    assert refused.count(problem) == 1
    rule.rate = "0.52"
    rule.save()
    assert "disabled" not in client.get(publish).content.decode().split('value="Publish"')[1][:20]
