"""Credit runs against the seeded versions. Every expected figure is worked out by hand from CONTRACT.md's
"Seeded policy versions" in the comment beside it."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import credits
from accounts.credits import credits_run_month, rollover_run
from accounts.ledger import ledger_verify
from accounts.models import Contribution, CreditRun, EntryKind, InsuStatus, LedgerEntry, PersonalAccount, PsnType
from accounts.tests.conftest import contribution, enrollee
from policies.errors import PolicyError

pytestmark = pytest.mark.django_db
D = datetime.date


def entries(e):
    return list(LedgerEntry.objects.filter(account__person=e.person).order_by("id")
                .values_list("kind", "pocket", "amount", "period"))


def balances(e) -> tuple[Decimal, Decimal]:
    account = PersonalAccount.objects.get(person=e.person)
    return account.balc_current, account.balc_historical


def test_shanghai_in_service_gets_two_percent_of_the_months_contribution_base(seeded):
    e = enrollee(seeded["310000"], brdy=D(1985, 6, 1))
    contribution(e, "2024-03", "8765.43")
    run = credits_run_month(month=D(2024, 3, 1), admdvs="310000")
    # 8,765.43 × 2% = 175.3086 → 175.31, into the current-year pocket.
    assert entries(e) == [(EntryKind.CREDIT_IN_SERVICE, "current", Decimal("175.31"), D(2024, 3, 1))]
    assert balances(e) == (Decimal("175.31"), Decimal("0.00"))
    assert (run.status, run.entries_created, run.amount_total) == ("done", 1, Decimal("175.31"))


def test_no_paid_contribution_no_credit_and_nothing_before_the_version(seeded):
    e = enrollee(seeded["310000"], brdy=D(1985, 6, 1))
    contribution(e, "2023-06", "9000.00")  # SH-2023-07 is in force from 2023-07-01 only
    credits_run_month(month=D(2023, 6, 1), admdvs="310000")
    credits_run_month(month=D(2023, 7, 1), admdvs="310000")  # in force, but no July contribution
    assert entries(e) == []


def test_half_up_rounding_of_a_base_share(seeded):
    e = enrollee(seeded["310000"], brdy=D(1985, 6, 1))
    contribution(e, "2024-04", "1234.25")
    credits_run_month(month=D(2024, 4, 1), admdvs="310000")
    # 1,234.25 × 2% = 24.685 → half up → 24.69 (a float would give 24.68).
    assert entries(e)[0][2] == Decimal("24.69")


def test_shanghai_retired_1680_at_74_and_1890_at_75_at_benefit_year_start(seeded):
    sh = seeded["310000"]
    turns_75 = enrollee(sh, brdy=D(1950, 1, 1), psn_type=PsnType.RETIRED, retire_date=D(2010, 1, 1), clct_base=None)
    still_74 = enrollee(sh, brdy=D(1950, 1, 2), psn_type=PsnType.RETIRED, retire_date=D(2010, 1, 1), clct_base=None)
    credits_run_month(month=D(2025, 1, 1), admdvs="310000")
    # On 2025-01-01 the first is 75 (1,890 a year), the second still 74 (1,680), credited once in January.
    assert entries(turns_75) == [(EntryKind.CREDIT_RETIRED, "current", Decimal("1890.00"), D(2025, 1, 1))]
    assert entries(still_74) == [(EntryKind.CREDIT_RETIRED, "current", Decimal("1680.00"), D(2025, 1, 1))]
    credits_run_month(month=D(2025, 2, 1), admdvs="310000")  # annual: nothing in February
    assert len(entries(turns_75)) == 1 and len(entries(still_74)) == 1


def test_shanghai_mid_year_retirement_in_service_then_prorated_first_annual_credit(seeded):
    e = enrollee(seeded["310000"], brdy=D(1964, 5, 20), psn_type=PsnType.RETIRED, retire_date=D(2024, 5, 20))
    contribution(e, "2024-05", "10000.00")
    contribution(e, "2024-06", "10000.00")  # paid after retiring: earns no in-service credit
    for month in (5, 6, 7):
        credits_run_month(month=D(2024, month, 1), admdvs="310000")
    credits_run_month(month=D(2025, 1, 1), admdvs="310000")
    assert entries(e) == [
        # May: still in service that month, 10,000 × 2% = 200.00.
        (EntryKind.CREDIT_IN_SERVICE, "current", Decimal("200.00"), D(2024, 5, 1)),
        # June, the month after retire_date: 1,680 × 7 months (June to December, both counted) ÷ 12 = 980.00.
        (EntryKind.CREDIT_RETIRED, "current", Decimal("980.00"), D(2024, 6, 1)),
        # Next benefit-year start: the full annual amount (aged 60).
        (EntryKind.CREDIT_RETIRED, "current", Decimal("1680.00"), D(2025, 1, 1)),
    ]


def test_shanghai_retired_before_the_version_wait_for_the_next_benefit_year(seeded):
    e = enrollee(seeded["310000"], brdy=D(1963, 6, 10), psn_type=PsnType.RETIRED, retire_date=D(2023, 6, 10))
    credits_run_month(month=D(2023, 7, 1), admdvs="310000")
    assert entries(e) == []  # retired before SH-2023-07 came into force: no prorated July credit
    credits_run_month(month=D(2024, 1, 1), admdvs="310000")
    assert entries(e) == [(EntryKind.CREDIT_RETIRED, "current", Decimal("1680.00"), D(2024, 1, 1))]


def test_jinan_in_service_two_and_a_half_percent_in_2022_two_percent_from_2024(seeded):
    e = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    contribution(e, "2022-03", "10000.00")
    contribution(e, "2024-03", "10000.00")
    credits_run_month(month=D(2022, 3, 1), admdvs="370100")
    credits_run_month(month=D(2024, 3, 1), admdvs="370100")
    assert entries(e) == [
        # JN-2022: own 2% = 200.00 and the employer's halved share 0.5% = 50.00 (one pocket: historical).
        (EntryKind.CREDIT_IN_SERVICE, "historical", Decimal("200.00"), D(2022, 3, 1)),
        (EntryKind.CREDIT_IN_SERVICE, "historical", Decimal("50.00"), D(2022, 3, 1)),
        # JN-2024: own 2% only.
        (EntryKind.CREDIT_IN_SERVICE, "historical", Decimal("200.00"), D(2024, 3, 1)),
    ]
    assert balances(e) == (Decimal("0.00"), Decimal("450.00"))


def test_jinan_retired_64_under_70_and_80_from_70(seeded):
    jn = seeded["370100"]
    turns_70 = enrollee(jn, brdy=D(1954, 3, 1), psn_type=PsnType.RETIRED, retire_date=D(2014, 3, 1), clct_base=None)
    still_69 = enrollee(jn, brdy=D(1954, 3, 2), psn_type=PsnType.RETIRED, retire_date=D(2014, 3, 1), clct_base=None)
    credits_run_month(month=D(2024, 3, 1), admdvs="370100")
    # Age on 2024-03-01: 70 → 2.5% × 3,200 = 80.00; 69 → 2% × 3,200 = 64.00.
    assert entries(turns_70) == [(EntryKind.CREDIT_RETIRED, "historical", Decimal("80.00"), D(2024, 3, 1))]
    assert entries(still_69) == [(EntryKind.CREDIT_RETIRED, "historical", Decimal("64.00"), D(2024, 3, 1))]


def test_nothing_for_anyone_not_insured_that_month(seeded):
    sh = seeded["310000"]
    ended = enrollee(sh, brdy=D(1980, 1, 1), enddate=D(2024, 2, 29))
    suspended = enrollee(sh, brdy=D(1980, 1, 1), status=InsuStatus.SUSPENDED)
    later = enrollee(sh, brdy=D(1980, 1, 1), begndate=D(2024, 4, 1))
    for e in (ended, suspended, later):
        contribution(e, "2024-03", "10000.00")
    run = credits_run_month(month=D(2024, 3, 1), admdvs="310000")
    assert run.entries_created == 0
    assert not LedgerEntry.objects.exists()


def test_a_second_run_credits_nothing(seeded):
    sh = seeded["310000"]
    people = [enrollee(sh, brdy=D(1980, 1, 1)) for _ in range(3)]
    for e in people:
        contribution(e, "2024-03", "10000.00")
    first = credits_run_month(month=D(2024, 3, 1))
    second = credits_run_month(month=D(2024, 3, 1))
    assert (first.entries_created, second.entries_created) == (3, 0)
    assert second.status == "done" and second.amount_total == 0
    assert [balances(e) for e in people] == [(Decimal("200.00"), Decimal("0.00"))] * 3
    assert ledger_verify() == []


def test_a_run_failing_in_its_third_chunk_is_completed_by_a_rerun(seeded, monkeypatch):
    sh = seeded["310000"]
    people = [enrollee(sh, brdy=D(1980, 1, 1)) for _ in range(5)]
    for e in people:
        contribution(e, "2024-03", "10000.00")

    def die_in_chunk_3(run, number):
        if number == 3:
            raise RuntimeError("worker killed")

    monkeypatch.setattr(credits, "chunk_hook", die_in_chunk_3)
    failed = credits_run_month(month=D(2024, 3, 1), admdvs="310000", chunk_size=1)
    assert failed.status == CreditRun.Status.FAILED and "chunk 3" in failed.error
    assert (failed.chunks_done, failed.entries_created) == (2, 2)  # chunks 1 and 2 committed, 3 rolled back
    monkeypatch.setattr(credits, "chunk_hook", None)
    rerun = credits_run_month(month=D(2024, 3, 1), admdvs="310000", chunk_size=1)
    assert (rerun.status, rerun.entries_created) == ("done", 3)
    assert [len(entries(e)) for e in people] == [1, 1, 1, 1, 1]
    assert ledger_verify() == []


def test_rollover_moves_the_current_pocket_once(seeded):
    e = enrollee(seeded["310000"], brdy=D(1980, 1, 1))
    contribution(e, "2024-11", "10000.00")
    contribution(e, "2024-12", "12000.00")
    credits_run_month(month=D(2024, 11, 1), admdvs="310000")
    credits_run_month(month=D(2024, 12, 1), admdvs="310000")
    assert balances(e) == (Decimal("440.00"), Decimal("0.00"))  # 200.00 + 240.00
    run = rollover_run(admdvs="310000", day=D(2025, 1, 1))
    assert (run.status, run.entries_created, run.amount_total) == ("done", 2, Decimal("440.00"))
    assert balances(e) == (Decimal("0.00"), Decimal("440.00"))
    assert entries(e)[-2:] == [(EntryKind.ROLLOVER, "current", Decimal("-440.00"), D(2025, 1, 1)),
                               (EntryKind.ROLLOVER, "historical", Decimal("440.00"), D(2025, 1, 1))]
    again = rollover_run(admdvs="310000", day=D(2025, 1, 1))
    assert again.entries_created == 0 and balances(e) == (Decimal("0.00"), Decimal("440.00"))
    assert ledger_verify() == []


def test_rollover_refuses_a_day_that_is_not_a_benefit_year_start_and_skips_one_pocket_regions(seeded):
    with pytest.raises(PolicyError, match="not a benefit-year start"):
        rollover_run(admdvs="310000", day=D(2025, 3, 1))
    e = enrollee(seeded["370100"], brdy=D(1980, 1, 1))
    contribution(e, "2024-12", "10000.00")
    credits_run_month(month=D(2024, 12, 1), admdvs="370100")
    run = rollover_run(admdvs="370100", day=D(2025, 1, 1))  # JN keeps one pocket
    assert run.entries_created == 0 and balances(e) == (Decimal("0.00"), Decimal("200.00"))


def test_commands(seeded):
    e = enrollee(seeded["310000"], brdy=D(1980, 1, 1))
    contribution(e, "2024-12", "10000.00")
    out = io.StringIO()
    call_command("run_credits", "--month", "2024-12", "--admdvs", "310000", stdout=out)
    assert "created 1, amount 200.00" in out.getvalue()
    out = io.StringIO()
    call_command("run_credits", "--month", "2024-12", stdout=out)
    assert "created 0, amount 0.00" in out.getvalue()
    out = io.StringIO()
    call_command("run_rollover", "--admdvs", "310000", "--date", "2025-01-01", stdout=out)
    assert "1 accounts moved, amount 200.00" in out.getvalue()
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("run_credits", "--month", "2024/12")
    with pytest.raises(CommandError, match="not a benefit-year start"):
        call_command("run_rollover", "--admdvs", "310000", "--date", "2025-02-01")


def test_a_zero_paid_contribution_earns_no_credit(seeded):
    """CONTRACT.md: in-service credits need a paid contribution (psn_clct_amt above zero) for the period."""
    unpaid = enrollee(seeded["310000"], brdy=D(1985, 6, 1))
    paid = enrollee(seeded["310000"], brdy=D(1986, 6, 1))
    Contribution.objects.create(person=unpaid.person, period=D(2024, 3, 1), clct_base=Decimal("10000.00"),
                                psn_clct_amt=Decimal("0.00"), emp_clct_amt=Decimal("900.00"))
    contribution(paid, "2024-03", "10000.00")  # psn_clct_amt 200.00
    credits_run_month(month=D(2024, 3, 1), admdvs="310000")
    assert entries(unpaid) == []
    # 10,000.00 × 2% = 200.00.
    assert entries(paid) == [(EntryKind.CREDIT_IN_SERVICE, "current", Decimal("200.00"), D(2024, 3, 1))]


def test_credits_follow_the_status_of_the_credited_month(seeded):
    """Suspended from 2024-03-15 (stas_date), active again from 2024-05-01: March is credited (active on its first
    day), April is not, May is; all judged on the dated status, not today's."""
    e = enrollee(seeded["310000"], brdy=D(1985, 6, 1))
    for month in ("2024-03", "2024-04", "2024-05"):
        contribution(e, month, "10000.00")
    e.psn_insu_stas, e.stas_date = InsuStatus.SUSPENDED, D(2024, 3, 15)
    e.save()
    e.psn_insu_stas, e.stas_date = InsuStatus.ACTIVE, D(2024, 5, 1)
    e.save()
    for month in (3, 4, 5):
        credits_run_month(month=D(2024, month, 1), admdvs="310000")
    assert [(period, amount) for _kind, _pocket, amount, period in entries(e)] == [
        (D(2024, 3, 1), Decimal("200.00")), (D(2024, 5, 1), Decimal("200.00"))]
    # A new enrollee joining mid-month is judged on their first day: credited for that month.
    newcomer = enrollee(seeded["310000"], brdy=D(1990, 1, 1), begndate=D(2024, 6, 10))
    contribution(newcomer, "2024-06", "5000.00")
    credits_run_month(month=D(2024, 6, 1), admdvs="310000")
    assert [amount for _kind, _pocket, amount, _period in entries(newcomer)] == [Decimal("100.00")]


@pytest.mark.postgres  # SQLite has the three statements only
def test_the_one_statement_credits_what_the_three_statements_credit(seeded, monkeypatch):
    """PostgreSQL's one statement per rule (balances moved first, entries made from their new values) against the
    portable INSERT, UPDATE and SUM, on the same enrollees: the same entries, balances, totals and re-run."""
    from django.db import transaction

    sh, jn = seeded["310000"], seeded["370100"]
    people = [enrollee(sh, brdy=D(1980, 1, 1)), enrollee(sh, brdy=D(1950, 6, 1), psn_type=PsnType.RETIRED,
                                                          retire_date=D(2010, 7, 1)),
              enrollee(jn, brdy=D(1975, 5, 5)), enrollee(jn, brdy=D(1950, 1, 1), psn_type=PsnType.RETIRED,
                                                          retire_date=D(2010, 2, 1))]
    for e in (people[0], people[2]):
        contribution(e, "2025-01", "12345.67")
        contribution(e, "2025-02", "8000.01")
    outcomes = []
    for one_statement in (True, False):
        monkeypatch.setattr(credits, "_one_statement", lambda one_statement=one_statement: one_statement)
        with transaction.atomic():
            runs = [credits_run_month(month=m, chunk_size=1) for m in (D(2025, 1, 1), D(2025, 2, 1), D(2025, 2, 1))]
            outcomes.append(([(r.status, r.entries_created, r.amount_total) for r in runs],
                             [(entries(e), list(PersonalAccount.objects.filter(person=e.person).values_list(
                                 "balc_current", "balc_historical"))) for e in people],
                             list(LedgerEntry.objects.order_by("account__person_id", "id").values_list(
                                 "kind", "amount", "balance_after", "credit_rule_id", "policy_version_id"))))
            assert ledger_verify() == []
            transaction.set_rollback(True)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0][2][1] == 0  # the re-run credits nothing
    assert all(e for e, _balances in outcomes[0][1]), outcomes[0][1]  # each enrollee was credited
