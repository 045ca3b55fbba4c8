"""Helpers for tests against a real streaming replica (tests marked `replica`): wait for it to catch up, make it
lag, and run one such test at a time (pytest-xdist's workers share the one replica, and a paused replay would hold
up the other worker's reads)."""

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from core.replica import REPLICA

REPLICA_TEST = [pytest.mark.postgres, pytest.mark.replica,
                pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])]

LOCK_FILE = "/tmp/medins-test-replica.lock"
PAUSE_ATTEMPTS = 200


@contextmanager
def one_replica_test_at_a_time() -> Iterator[None]:
    """Held by every test marked `replica` (the suite's conftest)."""
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def replica_caught_up(seconds: float = 30) -> None:
    """Wait until the replica has replayed everything the primary wrote so far."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")  # written or not (asynchronous commit)
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + seconds
    with connections[REPLICA].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.02)


@contextmanager
def replica_paused() -> Iterator[None]:
    """The replica stops replaying the primary's WAL (it still receives it): it lags until the block ends."""
    with connections[REPLICA].cursor() as cursor:
        for _attempt in range(PAUSE_ATTEMPTS):
            cursor.execute("SELECT pg_wal_replay_pause()")
            while True:
                cursor.execute("SELECT pg_get_wal_replay_pause_state()")
                if cursor.fetchone()[0] == "paused":
                    break
                time.sleep(0.01)
            # Paused between a replayed AccessExclusiveLock and the end of the transaction that took it (e.g. the
            # primary's autovacuum truncating pg_attribute), the replica would keep that lock, and the test's own
            # reads of the replica would wait for it for ever: replay on a little and pause again.
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                           "WHERE a.backend_type = 'startup' AND l.mode = 'AccessExclusiveLock')")
            if not cursor.fetchone()[0]:
                break
            cursor.execute("SELECT pg_wal_replay_resume()")
            time.sleep(0.05)
        else:
            pytest.fail("the replica's replay holds a lock at every pause")
    try:
        yield
    finally:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
        replica_caught_up()
