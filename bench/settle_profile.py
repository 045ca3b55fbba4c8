"""Where a settlement's CPU goes, without HTTP: the WSGI application called in this process, one request at a time.

Uses the database `bench/settle.py` prepared (run that first, or pass --prepare), the production settings and the
same requests. Prints the application's and its PostgreSQL backend's CPU per settlement and the statements per
settlement; with --profile, the top of a cProfile (CPU time) sorted by cumulative time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_settle .venv/bin/python bench/settle_profile.py
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/medins_bench_settle")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("CONN_MAX_AGE", "600")
os.environ.setdefault("CACHE_URL", os.environ.get("BENCH_CACHE_URL", "rediscache://127.0.0.1:6379/15"))
os.environ.pop("DJANGO_DEBUG", None)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402

from bench import settle  # noqa: E402  (sets Django up)


def measure(work: list[tuple[str, bytes]], lookups: list[tuple[str, bytes]] = (), profile: bool = False) -> dict:
    """Send the `lookups` (each facility looks its patients up: the tie that lets it settle for them; not measured),
    then settle `work` one request at a time through the WSGI application in this process, the first 100 as a
    warm-up (caches, connections). Returns the application's and the PostgreSQL backend's CPU per settlement (ms),
    the wall time per settlement (ms: mean, p50, p99), the statements per settlement and, with `profile`, the
    cProfile of the measured settlements."""
    app = get_wsgi_application()

    def call(token: str, body: bytes, path: str = settle.SETTLEMENTS, expect: str = "201") -> None:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
                   "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(body)), "HTTP_ACCEPT": "application/json",
                   "HTTP_AUTHORIZATION": f"Token {token}", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr}
        status = []
        b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
        if not status[0].startswith(expect):
            sys.exit(f"unexpected answer {status[0]} to {path}")

    for token, body in lookups:  # the ties a partner makes before billing (not measured)
        call(token, body, settle.LOOKUP, "200")
    for token, body in work[:100]:  # warm-up: caches, connections
        call(token, body)
    statements = [0]

    def count(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        statements[0] += 1
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    tick = os.sysconf("SC_CLK_TCK")

    def backend_cpu() -> float:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    measured = work[100:]
    latencies = []
    profiler = cProfile.Profile(time.process_time) if profile else None
    app_before, db_before, wall_before = time.process_time(), backend_cpu(), time.perf_counter()
    with connection.execute_wrapper(count):
        if profiler:
            profiler.enable()
        for token, body in measured:
            sent = time.perf_counter()
            call(token, body)
            latencies.append(time.perf_counter() - sent)
        if profiler:
            profiler.disable()
    n = len(measured)
    latencies.sort()
    return {"n": n, "app": (time.process_time() - app_before) * 1000 / n, "db": (backend_cpu() - db_before) * 1000 / n,
            "wall": (time.perf_counter() - wall_before) * 1000 / n, "p50": settle.percentile(latencies, 50) * 1000,
            "p99": settle.percentile(latencies, 99) * 1000, "statements": statements[0] / n, "profiler": profiler}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="settlements measured (default 1000)")
    parser.add_argument("--prepare", action="store_true", help="recreate the database first (as bench/settle.py)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured settlements")
    args = parser.parse_args()
    settle.database_prepare(reuse=not args.prepare)
    work, lookups = settle.requests_make(args.n + 100, f"X{int(time.time())}", random.Random(11))
    r = measure(work, lookups, profile=args.profile)
    print(f"{r['n']} settlements in process (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}): "
          f"application CPU {r['app']:.2f} ms, PostgreSQL backend CPU {r['db']:.2f} ms, wall {r['wall']:.2f} ms "
          f"(p50 {r['p50']:.2f}, p99 {r['p99']:.2f}), statements {r['statements']:.1f} per settlement"
          + (" (under the profiler: slower)" if args.profile else ""))
    if r["profiler"]:
        pstats.Stats(r["profiler"]).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
