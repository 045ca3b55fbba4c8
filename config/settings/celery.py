"""Celery: a Redis broker when `CELERY_BROKER_URL` is set, otherwise tasks run in-process (eager).

Two queues, each served by workers of its own (deploy/systemd): `interactive` for short tasks somebody waits on
(an import a clerk started, the housekeeping of imports, whatever runs beside settlements), `bulk` for long runs
over whole tables (credit runs and their chunks, rollover, report rebuilds, supervision, clearing), so a month's
credit run never queues a clerk's import behind it. A task not named here goes to `interactive`.
"""

import environ

env = environ.Env()

# Named by the environment so that two installations (or two test runs) can share one Redis.
INTERACTIVE_QUEUE = env("CELERY_INTERACTIVE_QUEUE", default="interactive")
BULK_QUEUE = env("CELERY_BULK_QUEUE", default="bulk")

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_DEFAULT_QUEUE = INTERACTIVE_QUEUE
CELERY_TASK_ROUTES = {
    "accounts.tasks.*": {"queue": BULK_QUEUE},
    "reports.tasks.*": {"queue": BULK_QUEUE},
    "clearing.tasks.*": {"queue": BULK_QUEUE},
    "whatif.tasks.*": {"queue": BULK_QUEUE},
    "core.tasks.*": {"queue": INTERACTIVE_QUEUE},
    "claims.tasks.*": {"queue": INTERACTIVE_QUEUE},
}
# A message taken by a worker that then dies (kill -9, a lost node) is handed to another worker this many seconds
# after it was taken; it must exceed the longest task, or a slow task runs twice (every task here is safe to run
# twice, but it costs). The sweep looks for such messages every few seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=1800),
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
}

# One beat at a time sends: the others wait for the PostgreSQL advisory lock (core.beat), and a task's run is
# claimed in the database before it is sent, so two beats never send the same run.
CELERY_BEAT_SCHEDULER = "core.beat:LeaderDatabaseScheduler"
