"""The incrementally kept summary tables equal the direct aggregates after random settles and reversals, and the
account-flow rebuild equals the ledger summed independently in Python."""

import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import EntryKind, FamilyLink, LedgerEntry, PsnType
from accounts.tests.factories import FamilyLinkFactory, PersonFactory
from claims.errors import ClaimError
from claims.models import Settlement
from claims.services import settlement_create, settlement_reverse
from reports.models import AccountFlow, FacilityMonth, FundExpenditure
from reports.summaries import (
    FACILITY_MONEY,
    account_flows_rebuild,
    facility_month_direct,
    fund_expenditure_direct,
    settlement_summaries_rebuild,
)
from reports.tests.conftest import D, enrollee, fund, request

pytestmark = pytest.mark.django_db


def fund_rows() -> set[tuple]:
    return {(r.month, r.region_id, r.fund_type, r.hosp_lv, r.enrollee_class, r.med_type, r.settlements, r.amount)
            for r in FundExpenditure.objects.all() if r.settlements or r.amount}


def fund_direct() -> set[tuple]:
    return {(r["r_month"], r["r_region"], r["r_fund"], r["hosp_lv"], r["enrollee_class"], r["med_type"],
             r["r_settlements"], Decimal(r["r_amount"]).quantize(Decimal("0.01")))
            for qs in fund_expenditure_direct() for r in qs}


def facility_rows() -> set[tuple]:
    return {(r.month, r.facility_id, r.med_type, r.dise_codg, r.settlements,
             *(getattr(r, n) for n in FACILITY_MONEY)) for r in FacilityMonth.objects.all() if r.settlements}


def facility_direct() -> set[tuple]:
    return {(r["r_month"], r["facility_id"], r["med_type"], r["dise_codg"], r["r_settlements"],
             *(Decimal(r[f"r_{n}"]).quantize(Decimal("0.01")) for n in FACILITY_MONEY))
            for r in facility_month_direct()}


def test_summaries_equal_direct_aggregates_after_random_settles_and_reversals(world):
    rng = random.Random(7)
    jn, sh = world["regions"]["370100"], world["regions"]["310000"]
    people = []
    for i in range(6):
        region = jn if i % 2 else sh
        retired = i % 3 == 0
        p = enrollee(region, brdy=D(1950 if retired else 1980, 1, 1),
                     psn_type=PsnType.RETIRED if retired else PsnType.IN_SERVICE,
                     retire_date=D(2010, 1, 1) if retired else None, clct_base=None if retired else "8000.00").person
        fund(p, current="300.00" if region == sh else "0", historical=str(rng.choice([0, 200, 2000])))
        people.append(p)
    relative = PersonFactory(brdy=D(2012, 1, 1))
    FamilyLinkFactory(holder=people[1], relative=relative, relation="child", begndate=D(2024, 1, 1))
    people.append(relative)
    facilities = [f for key, f in world["facilities"].items() if key != "SHP"]

    settled = []
    for n in range(60):
        person = rng.choice(people)
        facility = rng.choice(facilities)
        med_type = "41" if facility.is_pharmacy else rng.choice(["11", "11", "13"])
        items = [(rng.choice(["A50", "B30", "C"]), str(rng.randint(1, 9)), str(rng.choice([20, 28, 45, 50, 55])))
                 for _ in range(rng.randint(1, 3))]
        day = D(2025, rng.choice([2, 3, 4]), rng.randint(1, 28))
        try:
            answer, _created = settlement_create(facility=facility, data=request(
                person.psn_no, *items, med_type=med_type, setl_date=day.isoformat(), medins_setl_id=f"R{n}"))
        except ClaimError:
            continue  # e.g. a Shanghai patient at a Jinan pharmacy with nothing to pay from: not our concern here
        settled.append(answer["setl_id"])
        if settled and rng.random() < 0.3:
            victim = settled.pop(rng.randrange(len(settled)))
            settlement_reverse(settlement=Settlement.objects.get(setl_id=victim), reason="random")

    assert Settlement.objects.filter(status="reversed").exists() and len(settled) > 20
    assert fund_rows() == fund_direct() and fund_rows()
    assert facility_rows() == facility_direct()
    incremental = (fund_rows(), facility_rows())
    settlement_summaries_rebuild(first=D(2025, 2, 1), last=D(2025, 4, 1))
    assert (fund_rows(), facility_rows()) == incremental


def _flows_in_python(month: D) -> dict[tuple, tuple[int, Decimal]]:
    """The ledger of `month`, summed entry by entry (a reversal counts under the kind it reverses)."""
    out: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    links = {(link.holder_id, link.relative_id): link.relation for link in FamilyLink.objects.all()}
    settlements = {s.setl_id: s.person_id for s in Settlement.objects.all()}
    for e in LedgerEntry.objects.select_related("account", "reverses", "credit_rule"):
        day = e.period or e.created_at.date()
        if day.replace(day=1) != month:
            continue
        kind = e.reverses.kind if e.reverses_id else e.kind
        rule = e.credit_rule or (e.reverses.credit_rule if e.reverses_id else None)
        relation = ""
        if kind == EntryKind.MULAID_SETTLEMENT:
            relation = links.get((e.account.person_id, settlements[e.ref_id]), "")
        enrollment = e.account.person.enrollments.first()
        key = (enrollment.region_id if enrollment else None, kind, rule.name if rule else "", relation)
        out[key][0] += -1 if e.kind == EntryKind.REVERSAL else 1
        out[key][1] += e.amount
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_account_flow_rebuild_equals_the_ledger(book):
    for month in (D(2025, 3, 1), D(2025, 4, 1)):
        account_flows_rebuild(month=month, through=timezone.now())
        rows = {(r.region_id, r.kind, r.credit_rule, r.relation): (r.entries, r.amount)
                for r in AccountFlow.objects.filter(month=month)}
        assert rows == _flows_in_python(month)
    # Rebuilding again replaces, never adds.
    account_flows_rebuild(month=D(2025, 3, 1), through=timezone.now())
    assert AccountFlow.objects.filter(month=D(2025, 3, 1)).count() == len(_flows_in_python(D(2025, 3, 1)))
