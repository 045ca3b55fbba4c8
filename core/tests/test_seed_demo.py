"""`seed_demo` on a small registry: settlements through the services, some reversed, a clean ledger, and a second
run that adds nothing; refused under production settings without --force, and no existing user's password changed."""

import datetime
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import models
from django.db.models import Sum
from django.test import override_settings

from accounts.ledger import ledger_verify
from accounts.models import (
    Contribution,
    CreditRun,
    Enrollment,
    EnrollmentStatus,
    EntryKind,
    FamilyLink,
    InsuType,
    LedgerEntry,
    Person,
)
from claims.models import (
    Accumulator,
    CrossRegion,
    CrossRegionFiling,
    FilingStatus,
    Item,
    Recognition,
    RecognitionStatus,
    Settlement,
    SettlementLine,
    SettlementStatus,
)
from clearing.models import (
    AuditRun,
    Deduction,
    FundLedgerEntry,
    PaymentFile,
    ReviewBatch,
    ReviewDecision,
    ReviewItem,
    Signing,
    Statement,
)
from clearing.paying import fund_ledger_check
from core.management.commands.seed_demo import DEMO_PASSWORD
from core.money import ZERO

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {"persons": Person.objects.count(), "contributions": Contribution.objects.count(),
            "credit_runs": CreditRun.objects.count(), "ledger": LedgerEntry.objects.count(),
            "settlements": Settlement.objects.count(), "accumulators": Accumulator.objects.count(),
            "signings": Signing.objects.count(), "review_batches": ReviewBatch.objects.count(),
            "statements": Statement.objects.count(), "deductions": Deduction.objects.count(),
            "payment_files": PaymentFile.objects.count(), "fund_ledger": FundLedgerEntry.objects.count(),
            "audits": AuditRun.objects.count()}


def _clearing_of_the_last_full_month() -> None:
    """Issue 14 item 7: signings, a closed review batch and the statements of October 2026 (the demo's last full
    month of settlements), one per facility with activity, Jinan's paid and Shanghai's one reviewed, the rest
    drafts; the books balance."""
    october = datetime.date(2026, 10, 1)
    signings = Signing.objects.select_related("facility")
    assert signings.count() >= 20  # one employee in four of 200 enrollees, at two level-1 hospitals
    assert {(s.facility.hosp_lv, s.facility.fixmedins_type, s.begndate) for s in signings} == {
        ("1", "1", datetime.date(2026, 1, 1))}
    assert set(signings.values_list("facility__region__admdvs", flat=True)) == {"310000", "370100"}

    batches = ReviewBatch.objects.all()
    assert {(b.month, b.selection, b.status) for b in batches} == {(october, "random", "closed")}
    items = ReviewItem.objects.filter(batch__in=batches)
    assert items.exists()
    assert ReviewDecision.objects.filter(item__in=items).count() == SettlementLine.objects.filter(
        settlement__in=items.values("settlement")).count()
    refused = Deduction.objects.filter(kind="review", review_batch__in=batches)
    assert refused.exists() and refused.filter(statement__month=october).count() == refused.count()

    # A statement for each facility with live settlements in October, or capitation (Jinan's level-1 hospital)
    # or per-disease payment (recognitions at Jinan's facilities) on October 1st, and for no other.
    live = Settlement.objects.filter(setl_date__range=(october, datetime.date(2026, 10, 31)),
                                     status=SettlementStatus.SETTLED)
    active = set(live.values_list("facility_id", flat=True))
    active |= set(Signing.objects.filter(facility__region__admdvs="370100").values_list("facility_id", flat=True))
    active |= set(Recognition.objects.filter(status=RecognitionStatus.APPROVED, begndate__lte=october,
                                             facility__region__admdvs="370100")
                  .exclude(enddate__lt=october).values_list("facility_id", flat=True))
    statements = Statement.objects.filter(month=october).select_related("facility__region")
    assert set(statements.values_list("facility_id", flat=True)) == active
    states = sorted((s.facility.region.admdvs, s.status) for s in statements)
    jinan = [state for admdvs, state in states if admdvs == "370100"]
    shanghai = [state for admdvs, state in states if admdvs == "310000"]
    assert jinan and set(jinan) == {"paid"}
    assert shanghai.count("reviewed") == 1 and set(shanghai) <= {"reviewed", "draft"}
    assert PaymentFile.objects.get().statements_count == len(jinan)
    # The invariant over every statement: the lines hold the live settlements' fund payments, payable = lines
    # less deductions; the fund ledger balances against the statements.
    for statement in statements:
        fund = live.filter(facility=statement.facility).aggregate(t=Sum("fund_pay_sumamt"))["t"] or 0
        assert statement.lines.aggregate(t=Sum("fund_pay_sumamt"))["t"] == fund
        assert statement.payable == statement.lines_amount - statement.deducted
    assert fund_ledger_check() == []
    audit = AuditRun.objects.get()
    assert (audit.first_day, audit.checked, audit.differences) == (october, live.count(), 0)


def test_seed_demo_settles_reverses_and_runs_again_without_adding_anything() -> None:
    out = io.StringIO()
    call_command("seed_demo", enrollees=200, settlements=90, stdout=out)
    text = out.getvalue()
    assert "settlements:" in text and "credits 2026-01" in text and "rollover 2026-01-01 310000" in text

    settled = Settlement.objects.count()
    reversed_ = Settlement.objects.filter(status=SettlementStatus.REVERSED).count()
    # Some requests are refused, each for a reason of the rules: an enrollee suspended on the day, an unfiled visit
    # in another region under a version that refuses it, a recognition expired or not yet valid, a relative's visit
    # naming as payer a holder suspended that day.
    refused = re.search(r"(\d+) refused \(([^)]*)\)", text)
    assert refused is not None and settled + int(refused.group(1)) == 90
    codes = {part.split()[0] for part in refused.group(2).split(", ")}
    assert codes <= {"NOT_INSURED_ON_DATE", "CROSS_REGION_NOT_FILED", "DISEASE_NOT_RECOGNISED",
                     "MULAID_NOT_LINKED"}, codes
    assert "CROSS_REGION_NOT_FILED" in codes
    assert reversed_ == settled // 30
    assert set(Settlement.objects.values_list("med_type", flat=True)) == {"11", "13", "14", "41"}
    assert Settlement.objects.filter(ext_rx=True, facility__region__admdvs="370100", hifp_pay__gt=0).exists()
    assert Settlement.objects.filter(acct_mulaid_pay__gt=0).exists()
    assert Settlement.objects.filter(overlmt_selfpay__gt=0).exists()
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()
    assert not CreditRun.objects.exclude(status=CreditRun.Status.DONE).exists()
    assert Contribution.objects.filter(period__year=2025).exists()
    assert ledger_verify() == []
    # Treatment in another region: filings of both regions, visits filed and unfiled (Jinan's paid at lower rates).
    assert set(CrossRegionFiling.objects.values_list("mdtrtarea_admvs", flat=True)) == {"310000", "370000"}
    assert set(Settlement.objects.values_list("cross_region", flat=True)) == {"", CrossRegion.FILED,
                                                                             CrossRegion.UNFILED}
    # Recognitions in every state of the workflow, decided by another user than the one who applied.
    assert set(Recognition.objects.values_list("status", flat=True)) == set(RecognitionStatus.values)
    assert Recognition.objects.filter(status=RecognitionStatus.APPROVED, enddate__lt="2026-01-01").exists()
    assert Recognition.objects.filter(renewal_of__isnull=False, status=RecognitionStatus.APPLIED).exists()
    decided = Recognition.objects.filter(status__in=[RecognitionStatus.APPROVED, RecognitionStatus.REFUSED],
                                         decided_by__isnull=False, applied_by__isnull=False)
    assert decided.exists() and not decided.filter(decided_by=models.F("applied_by")).exists()
    _residents_and_links_within_the_rules()
    _clearing_of_the_last_full_month()
    _filings_online_visits_forbidden_items_and_unpaid_contributions()

    before = _counts()
    again = io.StringIO()
    call_command("seed_demo", enrollees=200, settlements=90, stdout=again)
    assert _counts() == before
    assert "demo settlements already present" in again.getvalue()
    assert ledger_verify() == []


@override_settings(DEMO_DATA_ALLOWED=False)
def test_seed_demo_under_production_settings_refuses_without_force() -> None:
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", enrollees=20, settlements=5, stdout=io.StringIO())
    assert not Person.objects.exists()
    assert not get_user_model().objects.exists()


@override_settings(DEMO_DATA_ALLOWED=False)
def test_seed_demo_never_changes_an_existing_users_password_even_with_force() -> None:
    User = get_user_model()
    admin = User.objects.create_user("admin", password="the-operators-own-1")  # neither staff nor superuser
    clerk = User.objects.create_user("clerk", password="the-clerks-own-22", is_staff=True)
    out = io.StringIO()
    call_command("seed_demo", enrollees=200, settlements=10, force=True, stdout=out)

    admin.refresh_from_db()
    clerk.refresh_from_db()
    assert admin.check_password("the-operators-own-1") and not admin.is_superuser and not admin.is_staff
    assert clerk.check_password("the-clerks-own-22") and not clerk.groups.exists()
    assert "admin      superuser (existing: password unchanged)" in out.getvalue()
    # the logins that did not exist are made with the demo password
    assert User.objects.get(username="auditor").check_password(DEMO_PASSWORD)
    assert Person.objects.count() > 200  # the 200 enrollees and their children


@pytest.mark.postgres
def test_seed_demo_with_the_production_settings_module_refuses(tmp_path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SECRET_KEY": "s" * 60, "DJANGO_ALLOWED_HOSTS": "medins.example.org",
           "DJANGO_SETTINGS_MODULE": "config.settings.production", "CACHE_URL": "rediscache://127.0.0.1:6379/1"}
    result = subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert "production" in result.stderr and "--force" in result.stderr


def _residents_and_links_within_the_rules() -> None:
    """Residents (390) with no account, settled under JN-R-2024; every family link's holder an employee enrollee
    of the relative's insured region (mutual aid stays within one region); dated statuses, some changing in 2026."""
    residents = Enrollment.objects.filter(insutype=InsuType.RESIDENT)
    assert residents.exists() and not residents.exclude(region__admdvs="370100").exists()
    assert not residents.filter(person__account__isnull=False).exists()
    assert Settlement.objects.filter(insutype="390", policy_version__code="JN-R-2024").exists()
    regions = dict(Enrollment.objects.order_by("-insutype").values_list("person_id", "region__admdvs"))
    employees = dict(Enrollment.objects.filter(insutype=InsuType.EMPLOYEE).values_list("person_id", "region__admdvs"))
    links = list(FamilyLink.objects.values_list("holder_id", "relative_id"))
    assert links
    for holder, relative in links:
        assert holder != relative
        assert holder in employees, holder
        assert regions.get(relative, employees[holder]) == employees[holder], (holder, relative)
    assert EnrollmentStatus.objects.filter(stas_date__year=2026, psn_insu_stas="2").exists()
    # Holders suspended part way through 2026: their accounts paid for relatives before, never after.
    suspended_holders = set(EnrollmentStatus.objects.filter(
        stas_date__year=2026, psn_insu_stas="2", enrollment__person_id__in=employees).values_list(
        "enrollment__person_id", flat=True)) & {holder for holder, _ in links}
    assert suspended_holders
    # Every payment from a relative's account within mutual aid's bounds: the holder insured and active on the
    # service date, in the patient's insured region (a patient with no insurance here: the facility's).
    paid = LedgerEntry.objects.filter(kind=EntryKind.MULAID_SETTLEMENT).values_list("account__person_id", "ref_id")
    assert paid
    settlements = {s.setl_id: s for s in Settlement.objects.filter(setl_id__in=[ref for _, ref in paid])
                   .select_related("facility__region")}
    holders = {e.person_id: e for e in Enrollment.objects.filter(person_id__in={h for h, _ in paid},
                                                                 insutype=InsuType.EMPLOYEE)
               .select_related("region").prefetch_related("status_changes")}
    for holder, ref in paid:
        settlement, enrollment = settlements[ref], holders[holder]
        assert enrollment.covers(settlement.setl_date), (holder, ref)
        patient_region = regions.get(settlement.person_id, settlement.facility.region.admdvs)
        assert enrollment.region.admdvs == patient_region, (holder, ref)


def _filings_online_visits_forbidden_items_and_unpaid_contributions() -> None:
    """Filings in both states (cancelled ones with their time), residents filed for Shanghai and settled there
    under JN-R-2024 while unfiled ones are refused; online follow-ups at the facility designated for them; items no
    account may pay, paid in cash; contributions declared and not paid, with no credit for their month."""
    assert set(CrossRegionFiling.objects.values_list("status", flat=True)) == set(FilingStatus.values)
    assert not CrossRegionFiling.objects.filter(status=FilingStatus.CANCELLED, cancelled_at__isnull=True).exists()
    assert CrossRegionFiling.objects.filter(person__enrollments__insutype=InsuType.RESIDENT).exists()
    away = Settlement.objects.filter(insutype="390", facility__region__admdvs="310000")
    assert away.exists() and set(away.values_list("cross_region", "policy_version__code")) == {
        (CrossRegion.FILED, "JN-R-2024")}
    online = Settlement.objects.filter(online=True)
    assert online.exists() and not online.exclude(med_type="14").exists()
    assert not online.exclude(facility__online_service=True).exists()
    forbidden = set(Item.objects.filter(acct_pay_forbidden=True).values_list("item_code", flat=True))
    assert forbidden
    with_forbidden = Settlement.objects.filter(lines__item_code__in=forbidden).distinct()
    assert with_forbidden.exists()
    for settlement in with_forbidden.prefetch_related("lines"):
        cash_only = sum((line.amount for line in settlement.lines.all() if line.item_code in forbidden), ZERO)
        assert settlement.psn_cash_pay >= cash_only, settlement.setl_id
    unpaid = list(Contribution.objects.filter(psn_clct_amt=0).values_list("person_id", "period"))
    assert unpaid
    credited = set(LedgerEntry.objects.filter(kind=EntryKind.CREDIT_IN_SERVICE).values_list(
        "account__person_id", "period"))
    assert not credited & set(unpaid)
