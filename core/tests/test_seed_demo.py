"""`seed_demo` on a small registry: settlements through the services, some reversed, a clean ledger, and a second
run that adds nothing."""

import io

import pytest
from django.core.management import call_command

from accounts.ledger import ledger_verify
from accounts.models import Contribution, CreditRun, EntryKind, LedgerEntry, Person
from claims.models import Accumulator, Settlement, SettlementStatus

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {"persons": Person.objects.count(), "contributions": Contribution.objects.count(),
            "credit_runs": CreditRun.objects.count(), "ledger": LedgerEntry.objects.count(),
            "settlements": Settlement.objects.count(), "accumulators": Accumulator.objects.count()}


def test_seed_demo_settles_reverses_and_runs_again_without_adding_anything() -> None:
    out = io.StringIO()
    call_command("seed_demo", enrollees=200, settlements=90, stdout=out)
    text = out.getvalue()
    assert "settlements:" in text and "credits 2026-01" in text and "rollover 2026-01-01 310000" in text

    settled = Settlement.objects.count()
    reversed_ = Settlement.objects.filter(status=SettlementStatus.REVERSED).count()
    assert settled >= 80  # a few requests may be refused (suspended enrollees)
    assert reversed_ == settled // 30
    assert set(Settlement.objects.values_list("med_type", flat=True)) == {"11", "13", "14", "41"}
    assert Settlement.objects.filter(ext_rx=True, facility__region__admdvs="370100", hifp_pay__gt=0).exists()
    assert Settlement.objects.filter(acct_mulaid_pay__gt=0).exists()
    assert Settlement.objects.filter(overlmt_selfpay__gt=0).exists()
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()
    assert not CreditRun.objects.exclude(status=CreditRun.Status.DONE).exists()
    assert Contribution.objects.filter(period__year=2025).exists()
    assert ledger_verify() == []

    before = _counts()
    again = io.StringIO()
    call_command("seed_demo", enrollees=200, settlements=90, stdout=again)
    assert _counts() == before
    assert "demo settlements already present" in again.getvalue()
    assert ledger_verify() == []
