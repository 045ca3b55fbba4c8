"""Each staff role may do exactly what its job needs (issue 11): every role against every money and policy action,
through the gate the admin itself uses (its page, its action list, its service), allowed or refused."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.adjustments import account_adjustment_approve
from accounts.models import AccountAdjustment
from accounts.roles import ROLES, roles_sync
from accounts.tests.factories import PersonFactory
from claims.models import Settlement
from core.approvals import ApprovalError
from core.imports.jobs import import_job_approve
from core.models import ImportJob
from policies.models import PolicyVersion
from reports.models import Alert

pytestmark = pytest.mark.django_db


def _page(url_name: str) -> Callable[[User], bool]:
    def allowed(user: User) -> bool:
        client = Client()
        client.force_login(user)
        status = client.get(reverse(url_name)).status_code
        assert status in (200, 403), status
        return status == 200
    return allowed


def _admin_action(model: type, action: str) -> Callable[[User], bool]:
    def allowed(user: User) -> bool:
        request = RequestFactory().get("/")
        request.user = user
        return action in admin.site._registry[model].get_actions(request)
    return allowed


def _approves(make: Callable[[User], object], approve: Callable[[object, User], object]) -> Callable[[User], bool]:
    def allowed(user: User) -> bool:
        maker = User.objects.create_user("maker", is_staff=True)
        request = make(maker)
        try:
            approve(request, user)
        except ApprovalError as e:
            assert e.err_code == "APPROVAL_NOT_ALLOWED"
            return False
        return True
    return allowed


def _pending_adjustment(maker: User) -> AccountAdjustment:
    return AccountAdjustment.objects.create(person=PersonFactory(), kind="correction", pocket="current",
                                            amount=Decimal("88888.00"), reason="top-up", requested_by=maker)


def _pending_balances_job(maker: User) -> ImportJob:
    job = ImportJob(kind="balances", status=ImportJob.Status.PENDING, started_by=maker)
    job.file.save("b.csv", ContentFile(b"psn_no,pocket,amount,as_of\n"), save=False)
    job.save()
    return job


ACTIONS: dict[str, tuple[Callable[[User], bool], set[str]]] = {
    # money
    "start a credit run": (_page("admin:accounts_creditrun_start"), {"account_officer"}),
    "pay a relative's contribution from an account": (_page("admin:accounts_relativecontribution_add"),
                                                      {"account_officer"}),
    "ask for a correction or an opening balance": (_page("admin:accounts_accountadjustment_add"),
                                                   {"account_officer"}),
    "upload opening balances": (_page("admin:accounts_ledgerentry_import"), {"account_officer"}),
    "approve money moved by hand": (
        _approves(_pending_adjustment, lambda a, u: account_adjustment_approve(adjustment_id=a.pk, user=u)),
        {"money_approver"}),
    "approve a balances file": (
        _approves(_pending_balances_job, lambda j, u: import_job_approve(job_id=j.pk, user=u)), {"money_approver"}),
    "reverse a settlement": (_admin_action(Settlement, "reverse_settlements"), {"settlement_auditor"}),
    "settle a late bill (补结算)": (_page("admin:claims_settlement_late"), {"settlement_auditor"}),
    # policy
    "publish a policy version": (_admin_action(PolicyVersion, "publish_selected"), {"policy_manager"}),
    "start a what-if run of a policy version": (lambda u: u.has_perm("whatif.add_whatifrun"), {"policy_manager"}),
    "change a catalog item's price limit": (lambda u: u.has_perm("claims.change_item"), {"registry_clerk"}),
    "review a supervision alert": (lambda u: admin.site._registry[Alert].has_change_permission(_request(u)),
                                   {"supervisor"}),
}


def _request(user: User) -> object:
    request = RequestFactory().get("/")
    request.user = user
    return request


@pytest.fixture(scope="module")
def matrix_media(tmp_path_factory, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        roles_sync()  # once for the 70 cases (idempotent; every test that needs the roles syncs them)
    return tmp_path_factory.mktemp("media")


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_each_money_and_policy_action(role, action, settings, matrix_media):
    settings.MEDIA_ROOT = matrix_media
    user = User.objects.create_user(f"u-{role}", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    user = User.objects.get(pk=user.pk)
    gate, allowed_roles = ACTIONS[action]
    assert gate(user) == (role in allowed_roles), f"{role} / {action}"


def test_every_permission_a_role_names_exists():
    """A role naming a permission that does not exist would silently grant nothing."""
    from django.contrib.auth.models import Permission

    from accounts.roles import _granted

    permissions = list(Permission.objects.select_related("content_type"))
    for name, role in ROLES.items():
        for spec in role["perms"]:
            assert _granted(spec, permissions), f"{name}: {spec}"

