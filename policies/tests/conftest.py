import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.roles import roles_sync
from policies.models import BenefitRule, PolicyVersion


@pytest.fixture
def seeded(db) -> None:
    call_command("seed_policies", stdout=open("/dev/null", "w"))


def make_user(username: str, group: str | None):
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username=username, password="pw-123-not-common", is_staff=True)
    if group:
        roles_sync()
        user.groups.add(Group.objects.get(name=group))
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def policy_manager(db):
    return make_user("manager", "policy_manager")


@pytest.fixture
def clerk(db):
    return make_user("clerk", "registry_clerk")


def set_rule(version: PolicyVersion, *, cls: str, level: str, med_group: str = "general", dise_code: str = "",
             **values) -> BenefitRule:
    rule = BenefitRule.objects.get(version=version, enrollee_class__code=cls, facility_level=level,
                                   med_group=med_group, dise_code=dise_code)
    for name, value in values.items():
        setattr(rule, name, Decimal(value) if isinstance(value, str) else value)
    rule.save()
    return rule


D = datetime.date
