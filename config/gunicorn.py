"""Gunicorn settings for production: `gunicorn -c config/gunicorn.py config.wsgi` (flags given on the command line
win). The worker count is the one measured best on 2 cores (bench/RESULTS.md, Settlement); `GUNICORN_WORKERS`
changes it."""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
worker_class = "sync"
# Without a proxy's buffering, a slow client would hold a sync worker: production runs behind one (nginx).
timeout = 30


def post_worker_init(worker: object) -> None:
    """Once the worker has loaded Django, the project and its libraries: move those objects out of the garbage
    collector's reach. They live as long as the worker, and each collection would otherwise scan them all again."""
    gc.freeze()
