import datetime
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from accounts.models import CreditRun, EntryKind, LedgerEntry
from accounts.tasks import credits_month_task, rollover_due_task
from accounts.tests.conftest import contribution, enrollee

D = datetime.date
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_month_task_fans_out_chunks_and_marks_the_run_done(seeded, django_capture_on_commit_callbacks):
    people = [enrollee(seeded["310000"], brdy=D(1980, 1, 1)) for _ in range(3)]
    for e in people:
        contribution(e, "2024-03", "10000.00")
    with django_capture_on_commit_callbacks(execute=True) as queued:
        run_id = credits_month_task("2024-03", "310000", chunk_size=1)
    assert len(queued) == 3  # one chunk task per enrollee, queued once the plan is committed
    run = CreditRun.objects.get(pk=run_id)
    # Three chunks of one enrollee, each 10,000 × 2% = 200.00.
    assert (run.status, run.chunks_total, run.chunks_done, run.entries_created, run.amount_total) == (
        "done", 3, 3, 3, Decimal("600.00"))


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
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
           "CELERY_BROKER_URL": os.environ["TEST_CELERY_BROKER_URL"],
           "CELERY_INTERACTIVE_QUEUE": queue, "CELERY_BULK_QUEUE": queue}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue, "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    producer = Celery("test-producer", broker=os.environ["TEST_CELERY_BROKER_URL"])
    try:
        producer.send_task("accounts.tasks.credits_month_task", args=["2024-05", "310000"],
                           kwargs={"chunk_size": 2}, queue=queue)
        deadline = time.monotonic() + 90
        run = None
        while time.monotonic() < deadline:
            run = CreditRun.objects.filter(period=D(2024, 5, 1)).first()
            if run is not None and run.status != CreditRun.Status.RUNNING:
                break
            time.sleep(0.5)
    finally:
        producer.close()
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert run is not None, output
    # Two chunks of two enrollees each, fanned out to the worker; 12,345.67 × 2% = 246.9134 → 246.91 each.
    assert (run.status, run.chunks_total, run.chunks_done, run.entries_created, run.amount_total) == (
        "done", 2, 2, 4, Decimal("987.64")), output
