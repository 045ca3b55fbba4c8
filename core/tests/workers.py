"""Real Celery workers for tests marked `worker` (and `postgres`): worker processes of their own on a queue of their
own, on the broker of TEST_CELERY_BROKER_URL and the test database, a producer to send them tasks, and the means to
kill one with SIGKILL in the middle of its work while a connection of the test's own holds a row lock.

    with CeleryWorkers() as workers:
        first = workers.start("first")
        workers.send("accounts.tasks.credits_month_task", "2024-05", "310000", chunk_size=1)
        wait_for(lambda: ...)
        workers.kill(first)
    # every worker still running is terminated; `workers.outputs` holds what each printed
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def wait_for(check: Callable[[], object], seconds: float = 90, interval: float = 0.3) -> None:
    """Poll `check` until it is true; fail the test ("timed out") after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(interval)


class CeleryWorkers:
    """Workers started as separate processes (`celery -A config worker --pool=solo`) on a queue named for this test
    (both of the project's queues routed to it), with the test database's URL and the broker of
    TEST_CELERY_BROKER_URL. The visibility timeout is the default 30 minutes, said outright: a killed worker's
    message comes back only after it, so a test sees what the check for stalled runs does long before. Used as a
    context manager: on leaving, the producer and any `connect()`ion are closed and every worker still running is
    terminated, its output added to `outputs`. `env` adds to (or overrides) the workers' environment."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        db = connection.settings_dict
        self.db = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"],
                   "dbname": db["NAME"]}
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false",
                    "DATABASE_URL": "postgres://{user}@{host}:{port}/{dbname}".format(**self.db),
                    "CELERY_BROKER_URL": os.environ["TEST_CELERY_BROKER_URL"], "CELERY_VISIBILITY_TIMEOUT": "1800",
                    "CELERY_INTERACTIVE_QUEUE": self.queue, "CELERY_BULK_QUEUE": self.queue, **(env or {})}
        self.producer = Celery("test-producer", broker=os.environ["TEST_CELERY_BROKER_URL"])
        self.outputs: list[str] = []
        self._workers: list[subprocess.Popen] = []
        self._connections: list[Any] = []

    def start(self, name: str = "worker") -> subprocess.Popen:
        """Start a worker named `name@<queue>` (the name a credit run's chunk records)."""
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", self.queue, "-n",
             f"{name}@{self.queue}", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._workers.append(worker)
        return worker

    def send(self, task: str, *args: Any, **kwargs: Any) -> None:
        """Queue the task named `task` for the workers."""
        self.producer.send_task(task, args=list(args), kwargs=kwargs, queue=self.queue)

    def kill(self, worker: subprocess.Popen) -> None:
        """SIGKILL: the worker dies in the middle of whatever it does, its message unacknowledged (PostgreSQL rolls
        its open transaction back once its connection is gone)."""
        worker.send_signal(signal.SIGKILL)
        self.outputs.append(worker.communicate(timeout=30)[0])

    def connect(self) -> Any:  # noqa: ANN401  (a psycopg connection)
        """A psycopg connection of the test's own to the test database (e.g. to hold a row lock a worker's chunk
        must wait for), closed on leaving."""
        import psycopg

        conn = psycopg.connect(**self.db)
        self._connections.append(conn)
        return conn

    def __enter__(self) -> "CeleryWorkers":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for conn in self._connections:
            conn.close()
        self.producer.close()
        for worker in self._workers:
            if worker.poll() is None:
                worker.terminate()
                self.outputs.append(worker.communicate(timeout=30)[0])
