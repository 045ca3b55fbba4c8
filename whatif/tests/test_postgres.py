"""On PostgreSQL: families replayed apart in two forked processes sum to exactly what one process sums (the
processes read committed data through connections of their own, hence a transactional test)."""

import datetime
from decimal import Decimal

import pytest

from claims.models import Settlement
from claims.services import settlement_create, settlement_reverse
from claims.tests.conftest import D, enrollee, fund, request
from claims.tests.test_settlement_properties import make_family
from policies.models import PolicyVersion
from whatif import replay
from whatif.tests.test_replay import draft_of_jn2024

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_processes_sum_as_one(world, monkeypatch):
    from whatif.services import whatif_replay

    region = world["regions"]["370100"]
    families = [make_family(region) for _ in range(3)]
    loner = enrollee(region, brdy=D(1970, 1, 1)).person
    fund(loner, historical="500")
    n = 0
    for day in range(0, 360, 9):
        for family in families:
            for who in ("holder", "spouse", "parent", "child"):
                n += 1
                level = "123"[n % 3]
                data = request(family[who].psn_no, ("A50", str(1 + n % 7), "45.50"), ("B30", "2", "30.00"),
                               setl_date=(D(2025, 1, 1) + datetime.timedelta(days=day)).isoformat(),
                               medins_setl_id=f"T{n}")
                settlement_create(facility=world["facilities"][f"JN{level}"], data=data)
        settlement_create(facility=world["facilities"]["JN1"],
                          data=request(loner.psn_no, ("A50", "3", "50"), medins_setl_id=f"L{day}",
                                       setl_date=(D(2025, 1, 1) + datetime.timedelta(days=day)).isoformat()))
    for setl_id in Settlement.objects.order_by("id").values_list("setl_id", flat=True)[::17]:
        settlement_reverse(settlement=Settlement.objects.get(setl_id=setl_id), reason="test")
    draft = draft_of_jn2024("JN-DRAFT-PG", deductible=Decimal("50.00"), annual_cap=Decimal("300.00"))
    monkeypatch.setattr(replay, "CHUNK", 40)  # several chunks, and more ids than one chunk (else one process)
    monkeypatch.setattr("whatif.services.CHUNK", 40)
    monkeypatch.setattr("whatif.services.TOP", 3)  # fewer than each process's enrollees: the top is picked apart
    for version in (PolicyVersion.objects.get(code="JN-2024"), draft):
        one = whatif_replay(version=version, region=region, month_from=D(2025, 1, 1), month_to=D(2025, 12, 1))
        two = whatif_replay(version=version, region=region, month_from=D(2025, 1, 1), month_to=D(2025, 12, 1),
                            processes=2)
        assert one.total.settlements == Settlement.objects.filter(status="settled", person__in=[
            p for f in families for k, p in f.items() if k != "child" and k != "stranger"] + [loner]).count()
        assert one.cells == two.cells and one.facilities == two.facilities
        assert one.most_affected(one.persons) == two.most_affected(two.persons)
        assert len(two.persons) <= 2 * 3 < len(one.persons)  # each process sends back its 3 most affected only
    assert one.total.changed > 0  # the draft pays differently
    parts = replay.families_apart(replay.settlements_in_order(~replay.Q(pk=None)), 2)
    person_of = dict(Settlement.objects.values_list("pk", "person_id"))
    for family in families:
        members = {p.pk for k, p in family.items() if k != "stranger"}
        assert len({i for i, part in enumerate(parts) for pk in part if person_of[pk] in members}) == 1
