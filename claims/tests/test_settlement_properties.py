"""Stateful property test of settling and reversing through the services, against one family in one region:
a holder and a spouse who pay for each other, a retired parent and a child (uninsured in Shanghai, a resident
enrollee of JN-R-2024 in Jinan), all linked to the holder; a stranger of another region linked to the child.
Statuses change on random dates (dated, stas_date) and Shanghai's 2025 rollover happens at a random point, so
late 2024 bills settle and reverse on both sides of it.

Hypothesis settles random bills, reverses random live settlements and retries earlier requests; after every step
the books must hold (POLICY.md step 7 and its invariant): every settlement adds up, no pocket is below zero, every
accumulator equals the sum over the live settlements of its person, year and bucket, every account equals its
ledger, each settlement's debits are its account payments, and the money the family's accounts lost is what their
live settlements say the accounts paid. Some bills are at a facility of the other region, and filings for it come
and go: such a visit is refused (Shanghai) or paid at lower rates (Jinan) without one. A preview answers what
settling then does; a retry answers the first answer and writes nothing; settling then reversing restores every
balance and counter. Each example runs in a savepoint rolled back at its end.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from accounts.credits import rollover_run
from accounts.ledger import ledger_verify
from accounts.models import Enrollment, EntryKind, InsuStatus, InsuType, LedgerEntry, PersonalAccount
from accounts.tests.factories import EnrollmentFactory, FamilyLinkFactory, PersonFactory
from claims.errors import ClaimError
from claims.models import Accumulator, CrossRegion, CrossRegionFiling, Item, Settlement, SettlementStatus
from claims.services import settlement_create, settlement_preview, settlement_reverse
from claims.tests.conftest import D, PsnType, enrollee, fund
from claims.tests.factories import ItemFactory
from core.money import fen
from policies.models import Region

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
PREFIX = {"310000": "SH", "370100": "JN"}
OTHER = {"310000": "370100", "370100": "310000"}
# A filing for the other region by its own code or its province's (Shandong, 370000; Shanghai is its own).
FILED_FOR = {"310000": ("370100", "370000"), "370100": ("310000",)}
# Z999 is not in the catalog: class C with a warning; S70 is a separately paid drug (settled apart in JN-2024);
# GYM (fitness) is class A but outside basic medical insurance: no account may pay it (acct_pay_forbidden).
ITEM_CODES = ("A50", "B30", "C", "Z999", "S70", "GYM")
PATIENTS = ("holder", "spouse", "parent", "child")
PAYER_CHOICES = (None, "holder", "spouse", "stranger", "faraway")
ENROLLEES = ("holder", "spouse", "parent", "child")  # the child: in Jinan a resident enrollee, in Shanghai none
FIRST_DAY, LAST_DAY = D(2024, 1, 1), D(2025, 12, 31)

line = st.tuples(
    st.sampled_from(ITEM_CODES),
    st.integers(1, 2000).map(lambda n: Decimal(n) / 100),  # 0.01 to 20 packs
    st.integers(1, 12_000).map(lambda n: Decimal(n) / 100),  # up to 120.00 a unit, price limits are 50 and 28
)
bill = st.fixed_dictionaries({
    "patient": st.sampled_from(PATIENTS),
    "lines": st.lists(line, min_size=1, max_size=4),
    "med_type": st.sampled_from(["11", "13"]),
    "level": st.sampled_from(["1", "2", "3"]),
    "acct_used_flag": st.sampled_from(["1", "0"]),
    "payer": st.sampled_from(PAYER_CHOICES),
    "day": st.integers(0, (LAST_DAY - FIRST_DAY).days).map(lambda n: FIRST_DAY + datetime.timedelta(days=n)),
    "elsewhere": st.sampled_from([False, False, True]),
})
day = st.integers(0, (LAST_DAY - FIRST_DAY).days).map(lambda n: FIRST_DAY + datetime.timedelta(days=n))


def make_family(region) -> dict:  # noqa: ANN001
    """The family, funded: Shanghai with both pockets, Jinan with its one (historical) pocket."""
    shanghai = region.admdvs == "310000"
    if not Item.objects.filter(item_code="GYM").exists():  # one catalog item, however many families
        ItemFactory(item_code="GYM", item_name="健身卡", chrg_item_lv="01", acct_pay_forbidden=True)
    holder = enrollee(region, brdy=D(1980, 1, 1)).person
    spouse = enrollee(region, brdy=D(1982, 6, 1)).person
    parent = enrollee(region, brdy=D(1952, 3, 1), psn_type=PsnType.RETIRED, retire_date=D(2012, 3, 1),
                      clct_base=None).person
    child = PersonFactory(brdy=D(2015, 6, 1))
    if not shanghai:
        EnrollmentFactory(person=child, region=region, insutype=InsuType.RESIDENT, psn_type="", employer=None,
                          clct_base=None, begndate=D(2024, 1, 1))
    stranger = enrollee(region, brdy=D(1990, 1, 1)).person
    other_region = Region.objects.exclude(pk=region.pk).get(admdvs__in=["310000", "370100"])
    faraway = enrollee(other_region, brdy=D(1975, 1, 1)).person  # mutual aid never crosses regions
    for relative, relation in ((spouse, "spouse"), (parent, "parent"), (child, "child")):
        FamilyLinkFactory(holder=holder, relative=relative, relation=relation, begndate=D(2022, 7, 1))
    FamilyLinkFactory(holder=spouse, relative=holder, relation="spouse", begndate=D(2022, 7, 1))
    FamilyLinkFactory(holder=spouse, relative=child, relation="child", begndate=D(2022, 7, 1), order=1)
    FamilyLinkFactory(holder=faraway, relative=child, relation="child", begndate=D(2022, 7, 1), order=2)
    for person, current, historical in ((holder, "300.00", "2000.00"), (spouse, "200.00", "600.00"),
                                        (parent, "1680.00", "300.00"), (stranger, "50.00", "50.00"),
                                        (faraway, "0", "5000.00")):
        fund(person, current=current if shanghai else "0", historical=historical)
    return {"holder": holder, "spouse": spouse, "parent": parent, "child": child, "stranger": stranger,
            "faraway": faraway}


def snapshot() -> tuple[dict, dict]:
    """Every pocket balance and every accumulator (a missing row counts as zeros)."""
    accounts = {a.person_id: (a.balc_current, a.balc_historical) for a in PersonalAccount.objects.all()}
    counters = {(a.person_id, a.year_start, a.bucket): (a.dedc_used, a.hifp_paid)
                for a in Accumulator.objects.all() if (a.dedc_used, a.hifp_paid) != (ZERO, ZERO)}
    return accounts, counters


def books_check() -> None:
    """The invariants of POLICY.md over everything in the database."""
    settlements = list(Settlement.objects.all())
    for s in settlements:
        assert s.medfee_sumamt == s.fund_pay_sumamt + s.acct_pay + s.acct_mulaid_pay + s.psn_cash_pay, s.setl_id
        assert s.fund_pay_sumamt == s.hifp_pay + s.oth_pay, s.setl_id
        assert min(s.acct_pay, s.acct_mulaid_pay, s.psn_cash_pay, s.hifp_pay, s.act_pay_dedc) >= 0, s.setl_id
    for a in PersonalAccount.objects.all():
        assert a.balc_current >= 0 and a.balc_historical >= 0, a.person_id
    assert ledger_verify() == []

    expected: dict[tuple, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for s in settlements:
        if s.bucket and s.status == SettlementStatus.SETTLED:
            expected[(s.person_id, s.year_start, s.bucket)][0] += s.act_pay_dedc
            expected[(s.person_id, s.year_start, s.bucket)][1] += s.hifp_pay - s.sep_hifp_pay
        if s.sep_bucket and s.status == SettlementStatus.SETTLED:
            expected[(s.person_id, s.year_start, s.sep_bucket)][1] += s.sep_hifp_pay
    rows = {(a.person_id, a.year_start, a.bucket): [a.dedc_used, a.hifp_paid] for a in Accumulator.objects.all()}
    for key, row in rows.items():
        assert row == expected.get(key, [ZERO, ZERO]), (key, row)
    assert set(expected) <= set(rows)

    entries: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for e in LedgerEntry.objects.filter(ref_type="settlement"):
        entries[e.ref_id][e.kind] += e.amount
    for s in settlements:
        paid = entries[s.setl_id][EntryKind.SETTLEMENT]
        mulaid = entries[s.setl_id][EntryKind.MULAID_SETTLEMENT]
        assert (-paid, -mulaid) == (s.acct_pay, s.acct_mulaid_pay), s.setl_id
        reversal = entries[s.setl_id][EntryKind.REVERSAL]
        assert reversal == (s.acct_pay + s.acct_mulaid_pay if s.status == SettlementStatus.REVERSED else ZERO)


class SettlementMachine(RuleBasedStateMachine):
    world: dict
    admdvs: str

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.family = make_family(self.world["regions"][self.admdvs])
        self.funded = sum((a.balc for a in PersonalAccount.objects.all()), ZERO)
        self.answered: dict[str, tuple] = {}  # medins_setl_id -> (facility, request, first answer)
        self.serial = 0
        self.rolled = False
        books_check()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _request(self, b: dict) -> tuple:
        self.serial += 1
        region = OTHER[self.admdvs] if b["elsewhere"] else self.admdvs
        facility = self.world["facilities"][f"{PREFIX[region]}{b['level']}"]
        data = {"medins_setl_id": f"S{self.serial}", "psn_no": self.family[b["patient"]].psn_no,
                "med_type": b["med_type"], "setl_date": b["day"], "acct_used_flag": b["acct_used_flag"],
                "items": [{"item_code": code, "qty": qty, "price": price} for code, qty, price in b["lines"]]}
        if b["payer"] is not None:
            data["mulaid_psn_no"] = self.family[b["payer"]].psn_no
        return facility, data

    def _settle(self, b: dict) -> dict | None:
        facility, data = self._request(b)
        before = snapshot(), Settlement.objects.count(), LedgerEntry.objects.count()
        try:
            preview = settlement_preview(facility=facility, data=data)
        except ClaimError:
            preview = None
        try:
            answer, created = settlement_create(facility=facility, data=data)
        except ClaimError as e:
            # Only a relative who is not linked or may not pay on the day (the patient themselves, a holder of
            # another region or not active then), a patient not active on the day, or an unfiled visit in another
            # region under a version that refuses it (SH-2023-07; JN-R-2024 for the Jinan child), is refused;
            # nothing written.
            assert e.err_code in (ClaimError.MULAID_NOT_LINKED, ClaimError.NOT_INSURED_ON_DATE,
                                  ClaimError.CROSS_REGION_NOT_FILED), e.err_code
            if e.err_code == ClaimError.CROSS_REGION_NOT_FILED:
                assert b["elsewhere"] and (self.admdvs == "310000") == (b["patient"] != "child")
            assert (snapshot(), Settlement.objects.count(), LedgerEntry.objects.count()) == before
            return None
        assert created
        # With nothing else running, the preview (no locks, nothing written) is the settlement to the fen.
        assert preview == {**answer, "setl_id": "", "status": "preview"}
        total = sum((Decimal(answer[k]) for k in ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay",
                                                  "psn_cash_pay")), ZERO)
        assert Decimal(answer["medfee_sumamt"]) == total
        cross_region = Settlement.objects.get(setl_id=answer["setl_id"]).cross_region
        insured_here = b["patient"] != "child" or self.admdvs == "370100"  # Jinan's child: a resident enrollee
        assert (cross_region != "") == (b["elsewhere"] and insured_here)
        assert bool(answer["warnings"]) == (any(code == "Z999" for code, _, _ in b["lines"])
                                            or cross_region == CrossRegion.UNFILED)
        # No account paid the lines no account may pay: cash covered at least their amount.
        forbidden = sum((fen(qty * price) for code, qty, price in b["lines"] if code == "GYM"), ZERO)
        assert Decimal(answer["psn_cash_pay"]) >= forbidden
        # Every relative's account that paid was within mutual aid's bounds on the service date: the holder's
        # employee enrollment active that day (its dated status), in the patient's insured region (for the
        # uninsured child, the facility's).
        patient = Enrollment.objects.filter(person=self.family[b["patient"]]).order_by("insutype").first()
        region_id = patient.region_id if patient is not None else facility.region_id
        for entry in LedgerEntry.objects.filter(ref_type="settlement", ref_id=answer["setl_id"],
                                                kind=EntryKind.MULAID_SETTLEMENT).select_related("account"):
            holder = Enrollment.objects.get(person_id=entry.account.person_id, insutype=InsuType.EMPLOYEE)
            assert holder.covers(b["day"]) and holder.region_id == region_id, (entry.account.person_id, b["day"])
        self.answered[data["medins_setl_id"]] = (facility, data, answer)
        return answer

    @rule(b=bill)
    def settle(self, b: dict) -> None:
        answer = self._settle(b)
        # The faraway relative's account pays only for the uninsured child (the Shanghai family's), and only at a
        # facility of its own region: an uninsured patient's region is the facility's.
        assert answer is None or b["payer"] != "faraway" or (
            self.admdvs == "310000" and b["patient"] == "child" and b["elsewhere"]), \
            "an account of another region was named and accepted"

    @rule(who=st.sampled_from(ENROLLEES), status=st.sampled_from([InsuStatus.ACTIVE, InsuStatus.SUSPENDED]),
          day=bill.map(lambda b: b["day"]))
    def status_change(self, who: str, status: str, day: datetime.date) -> None:
        """A dated status: it judges every later service date (settlements, mutual aid), not the ones before."""
        enrollment = Enrollment.objects.filter(person=self.family[who]).first()
        if enrollment is None:  # Shanghai's child: no insurance here, no status
            return
        enrollment.psn_insu_stas, enrollment.stas_date = status, day
        enrollment.save()
        assert Enrollment.objects.get(pk=enrollment.pk).status_on(day) == status

    @precondition(lambda self: self.admdvs == "310000" and not self.rolled)
    @rule()
    def rollover(self) -> None:
        """Shanghai's 2025 rollover: from now on a 2024 bill draws (and a reversed one returns to) the historical
        pocket, which holds 2024's money."""
        rollover_run(admdvs="310000", day=D(2025, 1, 1))
        self.rolled = True

    @rule(patient=st.sampled_from(PATIENTS), begin=day, days=st.none() | st.integers(0, 400), pick=st.integers(0, 1))
    def file(self, patient: str, begin: datetime.date, days: int | None, pick: int) -> None:
        codes = FILED_FOR[self.admdvs]
        CrossRegionFiling.objects.get_or_create(
            person=self.family[patient], mdtrtarea_admvs=codes[pick % len(codes)], filing_type="temporary",
            begndate=begin, defaults={"enddate": None if days is None else begin + datetime.timedelta(days=days)})

    @precondition(lambda self: Settlement.objects.filter(status=SettlementStatus.SETTLED).exists())
    @rule(pick=st.integers(0, 10_000))
    def reverse(self, pick: int) -> None:
        live = list(Settlement.objects.filter(status=SettlementStatus.SETTLED).order_by("id"))
        settlement = settlement_reverse(settlement=live[pick % len(live)], reason="property test")
        assert settlement.status == SettlementStatus.REVERSED
        again = settlement_reverse(settlement=settlement, reason="again")
        assert again.reversed_at == settlement.reversed_at

    @precondition(lambda self: bool(self.answered))
    @rule(pick=st.integers(0, 10_000))
    def retry(self, pick: int) -> None:
        ids = sorted(self.answered)
        facility, data, first = self.answered[ids[pick % len(ids)]]
        before = snapshot(), Settlement.objects.count(), LedgerEntry.objects.count()
        answer, created = settlement_create(facility=facility, data=dict(data))
        # The first answer with the settlement's status now (a retry of a reversed one learns it was reversed).
        status = Settlement.objects.get(facility=facility, medins_setl_id=data["medins_setl_id"]).status
        assert (answer, created) == ({**first, "status": status}, False)
        assert (snapshot(), Settlement.objects.count(), LedgerEntry.objects.count()) == before

    @rule(b=bill)
    def settle_then_reverse_restores(self, b: dict) -> None:
        before = snapshot()
        answer = self._settle(b)
        if answer is None:
            return
        settlement_reverse(settlement=Settlement.objects.get(setl_id=answer["setl_id"]), reason="restore")
        assert snapshot() == before

    @invariant()
    def books_hold(self) -> None:
        books_check()
        live = Settlement.objects.filter(status=SettlementStatus.SETTLED)
        spent = sum((s.acct_pay + s.acct_mulaid_pay for s in live), ZERO)
        assert sum((a.balc for a in PersonalAccount.objects.all()), ZERO) == self.funded - spent
        # Linked to the child, but insured in another region: it pays for nobody else, and for the uninsured child
        # only at a facility of its own region.
        faraway = self.family["faraway"]
        paid_for = LedgerEntry.objects.filter(account__person=faraway, ref_type="settlement").values_list(
            "ref_id", flat=True)
        for settlement in Settlement.objects.filter(setl_id__in=list(paid_for)).select_related("facility"):
            assert settlement.person_id == self.family["child"].pk and self.admdvs == "310000"
            assert settlement.facility.region_id == Enrollment.objects.get(person=faraway).region_id


@pytest.mark.parametrize("admdvs", ["310000", "370100"])
def test_settle_reverse_retry_keep_the_books(world, admdvs):
    machine = type(f"SettlementMachine{admdvs}", (SettlementMachine,), {"world": world, "admdvs": admdvs})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=30, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
