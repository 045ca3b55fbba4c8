"""A small, fully hand-computed book of settlements for the report tests (seeded versions, CONTRACT.md).

Jinan (370100, JN-2024 in 2025): general outpatient deductible 200 / 400 / 600 at level 1 / 2 / 3, shared across
levels; pooled fund 70% / 60% / 50% in service, 75% / 65% / 55% retired; M03900 no deductible, 70% in service;
pharmacy purchases (41) accounts and cash only. Shanghai (310000, SH-2023-07): in-service deductible 500, level 3
70%, current-year pocket first. Item A50: class A, price limit 50.00.
"""

import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command

from accounts.models import PsnType
from accounts.tests.conftest import contribution
from accounts.tests.factories import FamilyLinkFactory, PersonFactory
from claims.models import Settlement
from claims.services import settlement_create, settlement_reverse
from claims.tests.conftest import D, RecognitionFactory, enrollee, fund, request, world  # noqa: F401

__all__ = ["world"]


def settle(facility, psn_no, *items, **kw):  # noqa: ANN001, ANN002, ANN003, ANN201
    answer, created = settlement_create(facility=facility, data=request(psn_no, *items, **kw))
    assert created
    return answer


@pytest.fixture
def book(world):  # noqa: ANN001, ANN201, F811
    """Seven settlements (one reversed) in March and April 2025, a mutual-aid payment and a month's credits."""
    jn, sh = world["regions"]["370100"], world["regions"]["310000"]
    f = world["facilities"]
    p1 = enrollee(jn, brdy=D(1980, 1, 1)).person
    p2 = enrollee(jn, brdy=D(1950, 1, 1), psn_type=PsnType.RETIRED, retire_date=D(2010, 1, 1), clct_base=None).person
    p3 = enrollee(sh, brdy=D(1980, 1, 1)).person
    p4 = enrollee(jn, brdy=D(1980, 1, 1)).person
    p5 = enrollee(jn, brdy=D(1980, 1, 1)).person
    holder = enrollee(jn, brdy=D(1970, 1, 1)).person
    relative = PersonFactory(brdy=D(2010, 1, 1))
    FamilyLinkFactory(holder=holder, relative=relative, relation="child", begndate=D(2024, 1, 1))
    RecognitionFactory(person=p4, disease__opsp_dise_code="M03900", facility=f["JN2"], begndate=D(2024, 1, 1))
    fund(p5, historical="300.00")
    fund(holder, historical="500.00")

    out = {"persons": {"p1": p1, "p2": p2, "p3": p3, "p4": p4, "p5": p5, "holder": holder, "relative": relative}}
    # p1, JN1 (level 1), 2025-03-10: 10 × 50.00 = 500.00; deductible 200.00; fund 70% × 300.00 = 210.00; cash 290.00.
    out["a"] = settle(f["JN1"], p1.psn_no, ("A50", "10", "50"), setl_date="2025-03-10", medins_setl_id="A")
    # p1, JN2 (level 2), 2025-03-12: 600.00; deductible 400 − 200 = 200.00; fund 60% × 400.00 = 240.00.
    out["b"] = settle(f["JN2"], p1.psn_no, ("A50", "12", "50"), setl_date="2025-03-12", medins_setl_id="B")
    # p4, JN2, M03900 (14), 2025-03-14: 100.00; no deductible; fund 70% = 70.00; cash 30.00.
    out["c"] = settle(f["JN2"], p4.psn_no, ("A50", "2", "50"), med_type="14", dise_codg="M03900",
                      setl_date="2025-03-14", medins_setl_id="C")
    # p3, Shanghai SH3 (level 3), 2025-03-15: 1,000.00; no current pocket; deductible 500.00; fund 70% = 350.00.
    out["d"] = settle(f["SH3"], p3.psn_no, ("A50", "20", "50"), setl_date="2025-03-15", medins_setl_id="D")
    # p5, pharmacy PJN, purchase (41), 2025-03-16: 100.00 from the own account; no fund.
    out["e"] = settle(f["JNP"], p5.psn_no, ("A50", "2", "50"), med_type="41", setl_date="2025-03-16",
                      medins_setl_id="E")
    # relative (no insurance), JN1, 2025-03-20: 150.00 all personal, paid by holder's account (mutual aid, child).
    out["f"] = settle(f["JN1"], relative.psn_no, ("A50", "3", "50"), setl_date="2025-03-20", medins_setl_id="F")
    # p2 retired, JN3 (level 3), 2025-04-02: 1,000.00; deductible 600.00; fund 55% × 400.00 = 220.00.
    out["g"] = settle(f["JN3"], p2.psn_no, ("A50", "20", "50"), setl_date="2025-04-02", medins_setl_id="G")
    # p5, JN1, 2025-03-25: 500.00 → deductible 200.00, fund 210.00, own account 200.00, cash 90.00; reversed.
    out["h"] = settle(f["JN1"], p5.psn_no, ("A50", "10", "50"), setl_date="2025-03-25", medins_setl_id="H")
    settlement_reverse(settlement=Settlement.objects.get(setl_id=out["h"]["setl_id"]), reason="duplicate")
    # A month's credits: p1 in service, base 10,000.00 → 2% = 200.00 into the account (March 2025).
    contribution(p1.enrollments.get(), "2025-03", "10000.00")
    call_command("run_credits", month="2025-03", admdvs="370100", stdout=io.StringIO())
    return out


def user_with(*perms: str, username: str = "staff") -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=user.pk)


def user_in(role: str, username: str) -> User:
    from accounts.roles import roles_sync

    roles_sync()
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def money():  # noqa: ANN201
    return lambda s: Decimal(s)
