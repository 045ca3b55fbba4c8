from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from policies.errors import PolicyError
from policies.models import BenefitRule, CreditRule, EnrolleeClass, PolicyAuditEvent, PolicyVersion, ReferenceValue
from policies.selectors import policy_version_changed_cells, policy_version_in_force
from policies.services import policy_version_clone, policy_version_publish, policy_version_retire
from policies.tests.conftest import D, set_rule

pytestmark = pytest.mark.django_db


def counts(version):
    return [model.objects.filter(version=version).count()
            for model in (ReferenceValue, EnrolleeClass, BenefitRule, CreditRule)]


def test_clone_copies_every_row(seeded, policy_manager):
    source = PolicyVersion.objects.get(code="JN-2022")
    draft = policy_version_clone(version=source, code="JN-X", actor=policy_manager)
    assert draft.status == "draft" and draft.effective_from == source.effective_from
    assert draft.effective_to == source.effective_to
    assert counts(draft) == counts(source) == [10, 2, 12, 4]
    assert all(r.enrollee_class.version_id == draft.pk for r in draft.benefit_rules.all())
    assert policy_version_changed_cells(source, draft) == [
        ("Version and options", "code", "value", "JN-2022", "JN-X"),
        ("Version and options", "status", "value", "published", "draft"),
    ]
    event = PolicyAuditEvent.objects.get(version=draft)
    assert (event.action, event.actor, event.detail) == ("clone", policy_manager, "from JN-2022")
    assert draft.history.first().history_user == policy_manager
    with pytest.raises(PolicyError):
        policy_version_clone(version=source, code="JN-X", actor=policy_manager)


def test_only_drafts_are_editable(seeded):
    rule = BenefitRule.objects.filter(version__code="JN-2024").first()
    rule.rate = Decimal("0.99")
    with pytest.raises(PolicyError) as exc:
        rule.save()
    assert exc.value.err_code == "POLICY_NOT_DRAFT"
    with pytest.raises(PolicyError):
        rule.delete()


def test_diff_lists_the_changed_cell(seeded):
    jn24 = PolicyVersion.objects.get(code="JN-2024")
    draft = policy_version_clone(version=jn24, code="JN-2025", effective_from=D(2025, 1, 1), actor=None)
    set_rule(draft, cls="in_service", level="3", rate="0.52")
    changed = policy_version_changed_cells(jn24, draft)
    assert ("General outpatient and emergency (med_type 11, 13)", "rate · in-service", "level 3", "50.00%",
            "52.00%") in changed
    assert ("Version and options", "in force from", "value", "2024-01-01", "2025-01-01") in changed
    jn22 = PolicyVersion.objects.get(code="JN-2022")
    assert ("Personal-account credits", "in-service: employer share 0.5% (halved)", "share or amount", "0.50%",
            None) in policy_version_changed_cells(jn22, jn24)


def test_done_when_scenario(seeded, policy_manager):
    jn24 = PolicyVersion.objects.get(code="JN-2024")
    draft = policy_version_clone(version=jn24, code="JN-2025", effective_from=D(2025, 1, 1), actor=policy_manager)
    set_rule(draft, cls="in_service", level="3", rate="0.45")
    with pytest.raises(PolicyError) as exc:
        policy_version_publish(version=draft, actor=policy_manager)
    assert exc.value.messages == [
        "in-service reimbursement rate 45.00% at level 3 is below the Shandong minimum of 50% (in-service)"]
    set_rule(draft, cls="in_service", level="3", rate="0.52")
    policy_version_publish(version=draft, actor=policy_manager)
    jn24.refresh_from_db()
    assert jn24.effective_to == D(2024, 12, 31) and jn24.status == "published"
    assert PolicyVersion.objects.get(code="JN-2025").status == "published"
    assert [(e.action, e.actor) for e in PolicyAuditEvent.objects.filter(version=jn24)][0] == ("end", policy_manager)
    assert jn24.history.first().history_user == policy_manager

    client = APIClient()
    client.force_authenticate(policy_manager)
    new = client.get("/api/v1/policies/", {"admdvs": "370100", "date": "2025-03-01"}).json()
    old = client.get("/api/v1/policies/", {"admdvs": "370100", "date": "2024-12-31"}).json()
    assert new["code"] == "JN-2025" and old["code"] == "JN-2024" and old["effective_to"] == "2024-12-31"
    assert {"enrollee_class": "in_service", "facility_level": "3", "rate": "0.5200"}.items() <= next(
        r for r in new["benefit_rules"] if r["enrollee_class"] == "in_service" and r["facility_level"] == "3"
        and r["med_group"] == "general").items()


def test_publish_refuses_overlap_with_a_later_or_equal_start(seeded):
    jn22 = PolicyVersion.objects.get(code="JN-2022")
    same_start = policy_version_clone(version=jn22, code="JN-2022b", actor=None)
    with pytest.raises(PolicyError) as exc:
        policy_version_publish(version=same_start, actor=None)
    assert "overlaps published version JN-2022 (2022-01-01 to 2023-12-31)" in exc.value.err_msg
    earlier = policy_version_clone(version=jn22, code="JN-2021", effective_from=D(2021, 1, 1), actor=None)
    with pytest.raises(PolicyError) as exc:  # open-ended, runs into JN-2022 and JN-2024 which start later
        policy_version_publish(version=earlier, actor=None)
    assert any("JN-2024" in m for m in exc.value.messages)
    earlier.effective_to = D(2021, 12, 31)
    earlier.save()
    ReferenceValue.objects.create(version=earlier, kind="provincial_avg_wage", year=2021, amount=Decimal("90000"))
    policy_version_publish(version=earlier, actor=None)
    assert policy_version_in_force("370100", D(2021, 12, 31)).code == "JN-2021"
    assert policy_version_in_force("370100", D(2022, 1, 1)).code == "JN-2022"


def test_publish_inside_a_closed_predecessor_ends_it(seeded):
    sh = PolicyVersion.objects.get(code="SH-2023-07")
    draft = policy_version_clone(version=sh, code="SH-2025", effective_from=D(2025, 1, 1),
                                 effective_to=D(2026, 12, 31), actor=None)
    policy_version_publish(version=draft, actor=None)
    sh.refresh_from_db()
    assert sh.effective_to == D(2024, 12, 31)
    assert policy_version_in_force("310000", D(2026, 12, 31)).code == "SH-2025"


def test_publish_and_retire_states(seeded, policy_manager):
    jn24 = PolicyVersion.objects.get(code="JN-2024")
    with pytest.raises(PolicyError) as exc:
        policy_version_publish(version=jn24, actor=policy_manager)
    assert exc.value.err_code == "POLICY_INVALID_STATE"
    policy_version_retire(version=jn24, actor=policy_manager)
    jn24.refresh_from_db()
    assert jn24.status == "retired"
    with pytest.raises(PolicyError):
        policy_version_in_force("370100", D(2024, 6, 1))
    with pytest.raises(PolicyError):
        policy_version_retire(version=jn24, actor=policy_manager)
    event = PolicyAuditEvent.objects.get(version=jn24, action="retire")
    assert event.actor == policy_manager
    # Once JN-2024 is retired its period is free: a successor from 2024-01-01 can be published.
    draft = policy_version_clone(version=jn24, code="JN-2024b", effective_from=D(2024, 1, 1), actor=None)
    policy_version_publish(version=draft, actor=None)
    assert policy_version_in_force("370100", D(2024, 6, 1)).code == "JN-2024b"
