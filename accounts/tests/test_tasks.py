import datetime
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditRun, CreditRunChunk, EntryKind, LedgerEntry, PersonalAccount
from accounts.selectors import stalled_work
from accounts.tasks import credit_runs_resume_stale_task, credits_month_task, rollover_due_task
from accounts.tests.conftest import contribution, enrollee
from core.models import ImportJob
from core.tests.workers import CeleryWorkers, wait_for

D = datetime.date


@pytest.mark.django_db
def test_month_task_fans_out_chunks_and_marks_the_run_done(seeded, django_capture_on_commit_callbacks):
    people = [enrollee(seeded["310000"], brdy=D(1980, 1, 1)) for _ in range(3)]
    for e in people:
        contribution(e, "2024-03", "10000.00")
    with django_capture_on_commit_callbacks(execute=True) as queued:
        run_id = credits_month_task("2024-03", "310000", chunk_size=1)
    # One chunk task per enrollee, queued once the plan is committed; once the last chunk is done, the run's end is
    # told to its listeners and the reports' listener queues the month's summary rebuild.
    assert len(queued) == 5
    run = CreditRun.objects.get(pk=run_id)
    # Three chunks of one enrollee, each 10,000 × 2% = 200.00.
    assert (run.status, run.chunks_total, run.chunks_done, run.entries_created, run.amount_total) == (
        "done", 3, 3, 3, Decimal("600.00"))


@pytest.mark.django_db
def test_a_run_whose_worker_died_is_resumed_to_completion(seeded, django_capture_on_commit_callbacks):
    """Chunk 2 of 3 was taken by a worker killed mid-chunk (rolled back, its message unacknowledged for the
    broker's visibility timeout): the check for stalled runs queues it again, and the run completes exactly."""
    people = [enrollee(seeded["310000"], brdy=D(1980, 1, 1)) for _ in range(3)]
    for e, base in zip(people, ("10000.00", "12345.67", "8000.00"), strict=True):
        contribution(e, "2024-03", base)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run_id = credits_month_task("2024-03", "310000", chunk_size=1)
    queued[0]()
    queued[2]()  # chunk 2 never committed
    run = CreditRun.objects.get(pk=run_id)
    assert (run.status, run.chunks_done, run.chunks_total) == ("running", 2, 3)
    assert credit_runs_resume_stale_task() == []  # not stale yet: chunks committed within the last 5 minutes
    assert [r.pk for r in stalled_work().credit_runs] == []

    CreditRunChunk.objects.filter(run=run).update(finished_at=timezone.now() - datetime.timedelta(minutes=6))
    CreditRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - datetime.timedelta(minutes=7))
    assert [r.pk for r in stalled_work().credit_runs] == [run.pk]
    with django_capture_on_commit_callbacks(execute=True) as requeued:
        assert credit_runs_resume_stale_task() == [run.pk]
    # Only the missing chunk is queued again (the other callbacks tell the run's end to its listeners).
    assert len([c for c in requeued if "resume" in c.__qualname__]) == 1
    run.refresh_from_db()
    # 10,000 × 2% = 200.00; 12,345.67 × 2% = 246.9134 → 246.91; 8,000 × 2% = 160.00: 606.91.
    assert (run.status, run.chunks_done, run.entries_created, run.amount_total, run.resumes) == (
        "done", 3, 3, Decimal("606.91"), 1)
    assert sorted(LedgerEntry.objects.values_list("amount", flat=True)) == [
        Decimal("160.00"), Decimal("200.00"), Decimal("246.91")]
    # The dead worker's message, redelivered after the visibility timeout, counts nothing twice.
    queued[1]()
    run.refresh_from_db()
    assert (run.chunks_done, run.amount_total, LedgerEntry.objects.count()) == (3, Decimal("606.91"), 3)
    assert stalled_work().credit_runs == []


@pytest.mark.django_db
def test_a_run_whose_last_chunk_committed_but_was_not_marked_done_is_completed(seeded,
                                                                                django_capture_on_commit_callbacks):
    e = enrollee(seeded["310000"], brdy=D(1980, 1, 1))
    contribution(e, "2024-03", "10000.00")
    with django_capture_on_commit_callbacks(execute=True):
        run_id = credits_month_task("2024-03", "310000")
    CreditRun.objects.filter(pk=run_id).update(status="running", finished_at=None,
                                               started_at=timezone.now() - datetime.timedelta(minutes=10))
    CreditRunChunk.objects.filter(run_id=run_id).update(finished_at=timezone.now() - datetime.timedelta(minutes=10))
    assert credit_runs_resume_stale_task() == []  # nothing to queue
    assert CreditRun.objects.get(pk=run_id).status == "done"


@pytest.mark.django_db
def test_a_runs_chunk_count_cannot_pass_its_total(seeded):
    run = CreditRun.objects.create(kind="credits", period=D(2024, 3, 1), chunks_total=2, chunks_done=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditRun.objects.filter(pk=run.pk).update(chunks_done=F("chunks_done") + 1)


@pytest.mark.django_db
def test_stalled_imports_are_listed(db):
    old = timezone.now() - datetime.timedelta(minutes=30)
    queued = ImportJob.objects.create(kind="roster", file="x.csv", status="queued")
    running = ImportJob.objects.create(kind="roster", file="y.csv", status="running", started_at=old, heartbeat_at=old)
    ImportJob.objects.create(kind="roster", file="z.csv", status="running", started_at=old,
                             heartbeat_at=timezone.now())
    ImportJob.objects.create(kind="balances", file="p.csv", status="pending")
    ImportJob.objects.filter(pk=queued.pk).update(created_at=old)
    assert [j.pk for j in stalled_work().import_jobs] == [queued.pk, running.pk]


@pytest.mark.django_db
def test_the_credit_run_list_warns_of_a_stalled_run(admin_client, seeded):
    run = CreditRun.objects.create(kind="credits", period=D(2024, 3, 1), chunks_total=120, chunks_done=119,
                                   plan=[[1, 1, 1]] * 120)
    CreditRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - datetime.timedelta(hours=1))
    page = admin_client.get(reverse("admin:accounts_creditrun_changelist")).content.decode()
    assert f"Credit run {run.pk}" in page and "119 of 120 chunks done" in page


@pytest.mark.django_db
def test_rollover_task_runs_only_where_the_benefit_year_starts(seeded, django_capture_on_commit_callbacks):
    e = enrollee(seeded["310000"], brdy=D(1980, 1, 1))
    contribution(e, "2024-12", "10000.00")
    with django_capture_on_commit_callbacks(execute=True):
        credits_month_task("2024-12", "310000")
    assert rollover_due_task("2025-02-01") == []
    runs = rollover_due_task("2025-01-01")  # SH-2023-07 keeps two pockets; Jinan keeps one
    assert len(runs) == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.ROLLOVER).count() == 2


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_the_broker_runs_a_credit_run(seeded):
    people = [enrollee(seeded["310000"], brdy=D(1980, 1, 1)) for _ in range(4)]
    for e in people:
        contribution(e, "2024-05", "12345.67")

    def run() -> CreditRun | None:
        return CreditRun.objects.filter(period=D(2024, 5, 1)).first()

    with CeleryWorkers() as workers:
        workers.start()
        workers.send("accounts.tasks.credits_month_task", "2024-05", "310000", chunk_size=2)
        wait_for(lambda: run() is not None and run().status != CreditRun.Status.RUNNING, seconds=90, interval=0.5)
    done = run()
    # Two chunks of two enrollees each, fanned out to the worker; 12,345.67 × 2% = 246.9134 → 246.91 each.
    assert (done.status, done.chunks_total, done.chunks_done, done.entries_created, done.amount_total) == (
        "done", 2, 2, 4, Decimal("987.64")), workers.outputs


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_leaves_no_run_half_done(seeded):
    """Issue 11, item 7: a real worker killed with SIGKILL in the middle of chunk 3 of 6 (its transaction open,
    waiting for a row lock), another worker started, and the run completes exactly, with nobody starting it again:
    the check for stalled runs (what beat sends every 2 minutes) queues the dead worker's chunk again long before
    the broker's visibility timeout (30 minutes) would hand it back."""
    from accounts.ledger import accounts_open, ledger_verify

    bases = ("10000.00", "12345.67", "8000.00", "9999.99", "23456.78", "5000.05")
    people = [enrollee(seeded["310000"], brdy=D(1980, 1, 1)) for _ in bases]
    for e, base in zip(people, bases, strict=True):
        contribution(e, "2024-05", base)
    accounts_open(person_ids=[e.person_id for e in people])
    third = people[2].person_id  # chunk_size 1: chunk n credits the n-th enrollment
    db_name = connection.settings_dict["NAME"]

    def run() -> CreditRun | None:
        return CreditRun.objects.filter(period=D(2024, 5, 1)).first()

    with CeleryWorkers() as workers:
        locker = workers.connect()
        first = workers.start("first")
        locker.execute(f"SELECT id FROM {PersonalAccount._meta.db_table} WHERE person_id = %s FOR UPDATE", [third])
        workers.send("accounts.tasks.credits_month_task", "2024-05", "310000", chunk_size=1)
        wait_for(lambda: run() is not None and run().chunks_done == 2)
        # Chunk 3 has claimed its number and waits for the account's lock, its transaction open: kill the worker.
        # (Asked on a connection of its own: within the locker's open transaction pg_stat_activity is a snapshot.)
        def waiting() -> int:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                               [db_name])
                return cursor.fetchone()[0]

        wait_for(lambda: waiting() >= 1)
        workers.kill(first)
        locker.rollback()  # the dead worker's transaction is rolled back by PostgreSQL: nothing of chunk 3 stays

        workers.start("second")
        wait_for(lambda: run().chunks_done == 5)  # chunks 4 to 6; chunk 3's message is still held by the broker
        assert run().status == "running"
        time.sleep(1.5)
        workers.send("accounts.tasks.credit_runs_resume_stale_task", older_than_seconds=1)
        wait_for(lambda: run().status != "running")
    done = run()
    # 2% of each base, half-up to the fen: 200.00 + 246.91 (246.9134) + 160.00 + 200.00 (199.9998) + 469.14
    # (469.1356) + 100.00 (100.001) = 1,376.05.
    assert (done.status, done.chunks_total, done.chunks_done, done.entries_created, done.amount_total,
            done.resumes) == ("done", 6, 6, 6, Decimal("1376.05"), 1), workers.outputs
    workers_of = dict(CreditRunChunk.objects.filter(run=done).values_list("number", "worker"))
    assert [workers_of[n].split("@")[0] for n in range(1, 7)] == ["first", "first", "second", "second", "second",
                                                                 "second"]
    assert sorted(LedgerEntry.objects.filter(run=done).values_list("amount", flat=True)) == [
        Decimal(v) for v in ("100.00", "160.00", "200.00", "200.00", "246.91", "469.14")]
    assert ledger_verify() == []


@pytest.mark.django_db
def test_a_rollover_whose_worker_died_is_resumed_to_completion(seeded, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    """A rollover runs chunk after chunk in one task; killed in chunk 2 of 2 (rolled back), it is resumed by the
    check for stalled runs: the chunk not committed is run again, the run completes, nothing moves twice."""
    from accounts import credits
    from accounts.credits import credits_run_month, rollover_run

    people = [enrollee(seeded["310000"], brdy=D(1980, 1, 1)) for _ in range(2)]
    for e, base in zip(people, ("10000.00", "12345.67"), strict=True):
        contribution(e, "2024-12", base)
    credits_run_month(month=D(2024, 12, 1), admdvs="310000")  # 200.00 and 246.91 in the current pockets

    def killed(run, number):
        if number == 2:
            raise SystemExit("worker killed")  # what a dead worker leaves: the run never finished

    monkeypatch.setattr(credits, "chunk_hook", killed)
    with pytest.raises(SystemExit):
        rollover_run(admdvs="310000", day=D(2025, 1, 1), chunk_size=1)
    monkeypatch.setattr(credits, "chunk_hook", None)
    run = CreditRun.objects.get(kind="rollover")
    assert (run.status, run.chunks_done, run.chunks_total) == ("running", 1, 2)
    CreditRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - datetime.timedelta(minutes=10))
    CreditRunChunk.objects.filter(run=run).update(finished_at=timezone.now() - datetime.timedelta(minutes=10))

    with django_capture_on_commit_callbacks(execute=True):
        assert credit_runs_resume_stale_task() == [run.pk]
    run.refresh_from_db()
    # Two entries per account moved: −200.00/+200.00 and −246.91/+246.91.
    assert (run.status, run.chunks_done, run.entries_created, run.amount_total) == ("done", 2, 4, Decimal("446.91"))
    assert sorted(PersonalAccount.objects.values_list("balc_current", "balc_historical")) == [
        (Decimal("0.00"), Decimal("200.00")), (Decimal("0.00"), Decimal("246.91"))]


@pytest.mark.django_db
def test_a_stalled_run_planned_before_plans_were_kept_is_closed_with_why(seeded, django_capture_on_commit_callbacks):
    """A run started before migration 0010 has chunks but no plan: its missing chunks cannot be told apart, so the
    check for stalled runs closes it as failed, saying why in the reader's language, instead of flagging it as
    stalled for ever; started again, the month credits what the run left out, once."""
    from django.utils import translation

    from accounts.credits import UNPLANNED_RUN, credits_run_month

    people = [enrollee(seeded["310000"], brdy=D(1980, 1, 1)) for _ in range(2)]
    for e in people:
        contribution(e, "2024-03", "10000.00")
    # Chunk 1 of 2 committed (one entry of 10,000 × 2% = 200.00), then the worker died; the run has no plan.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run_id = credits_month_task("2024-03", "310000", chunk_size=1)
    queued[0]()
    CreditRun.objects.filter(pk=run_id).update(plan=[], started_at=timezone.now() - datetime.timedelta(minutes=7))
    CreditRunChunk.objects.filter(run_id=run_id).update(finished_at=timezone.now() - datetime.timedelta(minutes=6))
    assert [r.pk for r in stalled_work().credit_runs] == [run_id]

    with django_capture_on_commit_callbacks(execute=True):
        assert credit_runs_resume_stale_task() == []  # nothing queued again
    run = CreditRun.objects.get(pk=run_id)
    assert (run.status, run.error, run.chunks_done, run.entries_created, run.amount_total) == (
        "failed", UNPLANNED_RUN, 1, 1, Decimal("200.00"))
    assert stalled_work().credit_runs == []
    with translation.override("zh-hans"):
        assert run.error_label.startswith("此批次")
    with translation.override("en"):
        assert run.error_label == UNPLANNED_RUN

    # Started again, the month credits the second enrollee only: 200.00, and 400.00 on the two accounts in all.
    again = credits_run_month(month=D(2024, 3, 1), admdvs="310000")
    assert (again.status, again.entries_created, again.amount_total) == ("done", 1, Decimal("200.00"))
    assert sorted(LedgerEntry.objects.values_list("amount", flat=True)) == [Decimal("200.00"), Decimal("200.00")]
