"""One beat sends, however many run: django-celery-beat's scheduler behind a leader lock, with each run claimed in
the database before it is sent.

A province runs a beat on two nodes so that the schedule survives a node. Two plain beats would both send the
night's credit run. Here

- only the beat holding a PostgreSQL advisory lock sends (`pg_try_advisory_lock` on a connection of its own: the
  lock lives exactly as long as that connection, so a beat that dies or loses the database releases it, and a
  standby takes over within STANDBY_SECONDS, reading the schedule afresh);
- a due run is claimed before it is sent: `last_run_at` moves forward only if nobody moved it since this beat read
  it (compare and set in one UPDATE), and a beat that loses the claim sends nothing and rereads the schedule. So
  even two beats that both believe they lead (a lock lost between its check and a send) send a run once.

On SQLite (a developer's machine) there is no lock; the claim alone keeps a second beat from sending a run twice.
"""

import logging
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, Q
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

logger = logging.getLogger(__name__)

LOCK_KEY = 0x6D6564696E73  # "medins": the key of the beat's advisory lock in the project's database
STANDBY_SECONDS = 5.0


class LeaderLock:
    """A session-level advisory lock held on a connection of its own (not Django's, which is closed and reopened
    between ticks)."""

    def __init__(self, alias: str = DEFAULT_DB_ALIAS, key: int = LOCK_KEY) -> None:
        self.alias = alias
        self.key = key
        self._conn: psycopg.Connection | None = None
        self._held = False

    def _connect(self) -> psycopg.Connection:
        s = connections[self.alias].settings_dict
        options = {k: v for k, v in s["OPTIONS"].items() if k not in ("pool", "server_side_binding")}
        params = {"dbname": s["NAME"], "user": s["USER"], "password": s["PASSWORD"], "host": s["HOST"],
                  "port": s["PORT"], **options}
        return psycopg.connect(**{k: v for k, v in params.items() if v not in ("", None)}, autocommit=True,
                               connect_timeout=10, application_name="medins beat")

    def held(self) -> bool:
        """Whether this process leads: keeps the lock it has (checking its connection is alive) or tries to take it.
        Always true where the database has no advisory locks."""
        if connections[self.alias].vendor != "postgresql":
            return True
        try:
            if self._conn is None or self._conn.closed:
                self._conn, self._held = self._connect(), False
            if self._held:
                self._conn.execute("SELECT 1")
            else:
                self._held = bool(self._conn.execute("SELECT pg_try_advisory_lock(%s)", [self.key]).fetchone()[0])
        except psycopg.Error as e:
            logger.warning("beat: lost the database connection of the leader lock (%s)", e)
            self.release()
        return self._held

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
        self._conn, self._held = None, False


class LeaderDatabaseScheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler that sends only while it holds the leader lock and claims each run
    in the database before sending it (`CELERY_BEAT_SCHEDULER = "core.beat:LeaderDatabaseScheduler"`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lock = LeaderLock()
        self.leading = False
        self._lost_claims: set[str] = set()
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.lock.held():
            if self.leading:
                logger.warning("beat: no longer the leader; standing by")
            self.leading = False
            return STANDBY_SECONDS
        if not self.leading:
            logger.warning("beat: leading; reading the schedule afresh")
            self.leading = True
            self._reload()
        return super().tick(*args, **kwargs)

    def _reload(self) -> None:
        """Forget what this beat knew of the last runs: the previous leader has moved them on since."""
        self._dirty.clear()
        self._schedule = self.all_as_schedule()
        self._heap = None

    def reserve(self, entry: ModelEntry) -> ModelEntry:
        """Move the entry to its next run, in memory and, only if nobody else already did, in the database."""
        read = entry.model.last_run_at  # what this beat judged the entry due from (next() moves it)
        new_entry = self._schedule[entry.name] = super().reserve(entry)  # the heap may be rebuilt from it
        self._dirty.discard(new_entry.name)  # saved here, not by the periodic sync
        claimed = (PeriodicTask.objects.filter(Q(last_run_at__isnull=True) | Q(last_run_at__lte=read),
                                               pk=entry.model.pk)
                   .update(last_run_at=new_entry.model.last_run_at, total_run_count=F("total_run_count") + 1))
        if not claimed:
            self._lost_claims.add(entry.name)
        return new_entry

    def apply_entry(self, entry: ModelEntry, producer: Any = None) -> None:
        if entry.name in self._lost_claims:
            self._lost_claims.discard(entry.name)
            logger.warning("beat: %s was already sent by another beat; not sending it again", entry.name)
            self._reload()
            return
        super().apply_entry(entry, producer=producer)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.lock.release()
