"""Two beats, one sender (core.beat): the leader lock, the standby taking over, and the claim that keeps even two
beats that both believe they lead from sending a run twice. Real PostgreSQL advisory locks and committed rows."""

import datetime
import time
from collections.abc import Callable

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.celery_app import app
from core.beat import STANDBY_SECONDS, LeaderDatabaseScheduler, LeaderLock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PROBE = "tests.beat_probe"  # not a registered task: the scheduler sends it by name


class Beat:
    """A beat's scheduler as `celery beat` runs it, whose sends are recorded instead of published."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.scheduler = LeaderDatabaseScheduler(app=app)
        self.scheduler.__dict__["producer"] = None  # no broker: nothing is published
        self.scheduler.send_task = lambda name, *args, **kwargs: self.sent.append(name)

    def tick(self) -> float:
        """Ticks until nothing more is due now (celery beat loops the same way); returns the wait it asks for."""
        while (wait := self.scheduler.tick()) == 0:
            pass
        return wait

    def probes(self) -> int:
        return self.sent.count(PROBE)


def eventually(check: Callable[[], object], seconds: float = 10) -> bool:
    """PostgreSQL releases a closed connection's locks when its backend has exited, a moment after the close."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class AlwaysLeader(LeaderLock):
    def held(self) -> bool:
        return True


@pytest.fixture
def probe() -> PeriodicTask:
    """A task due every second, last sent ten seconds ago: due now."""
    PeriodicTask.objects.all().delete()
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(name="probe", task=PROBE, interval=every,
                                       last_run_at=timezone.now() - datetime.timedelta(seconds=10))


def test_only_the_lock_holder_sends_and_a_standby_takes_over_without_sending_a_run_again(probe):
    first, second = Beat(), Beat()
    try:
        assert first.tick() <= 1.0
        assert second.tick() == STANDBY_SECONDS  # the lock is taken: it waits
        assert (first.probes(), second.probes()) == (1, 0)

        first.scheduler.lock.release()  # the leader's process dies: its connection, and so its lock, goes
        # The standby leads now, and reads the run the first beat claimed: not due again yet.
        assert eventually(lambda: second.tick() and second.scheduler.leading)
        assert (first.probes(), second.probes()) == (1, 0)
        assert not first.scheduler.lock.held()  # the first one back finds the lock taken

        time.sleep(1.1)
        second.tick()
        first.tick()
        assert (first.probes(), second.probes()) == (1, 1)
        probe.refresh_from_db()
        assert probe.total_run_count == 2
    finally:
        first.scheduler.close()
        second.scheduler.close()


def test_two_beats_that_both_believe_they_lead_send_a_run_once(probe):
    first, second = Beat(), Beat()
    first.scheduler.lock = AlwaysLeader()
    second.scheduler.lock = AlwaysLeader()
    first.tick()
    second.tick()  # judged the run due from the same last run, but lost the claim in the database
    assert (first.probes(), second.probes()) == (1, 0)
    second.tick()  # reread the schedule: nothing due
    assert second.probes() == 0
    probe.refresh_from_db()
    assert probe.total_run_count == 1
    time.sleep(1.1)
    second.tick()
    first.tick()
    assert first.probes() + second.probes() == 2  # the next run, sent by one of them
    probe.refresh_from_db()
    assert probe.total_run_count == 2


def test_the_lock_is_released_with_its_connection():
    holder, other = LeaderLock(), LeaderLock()
    try:
        assert holder.held() and holder.held()  # kept across checks
        assert not other.held()
        holder.release()
        assert eventually(other.held)
    finally:
        holder.release()
        other.release()
