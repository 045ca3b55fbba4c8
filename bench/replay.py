"""A day of national-interface traffic through the gateway under gunicorn, with faults (issue 13): the figures of
`bench/RESULTS.md`, "Gateway replay".

Recreates its own database (the name in DATABASE_URL must contain "bench"), migrates and seeds the policies, builds
the replay's world (`gateway.replay.world_build`: 10 facilities by default, their patients with funded accounts,
recognitions, families), starts `gunicorn -c config/gunicorn.py config.wsgi` with the production settings and Redis as
the shared cache (BENCH_CACHE_URL, default db 4), and replays the day generated from --seed: two tills per facility,
each a thread with its own connection; a 2207 abandoned then reversed by 2601, resent msgids, lost 2207 answers
retried, two tills settling one family at once, and --kills backends terminated mid-transaction. Then every check of
`gateway.replay.check_day` (exit 1 on any problem), the end state's digest (the same seed gives the same digest),
messages per second, p50/p99 per infno, CPU per message (gunicorn, PostgreSQL, clients) and pgbench TPC-B for the
machine's context.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_replay .venv/bin/python bench/replay.py
"""

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/medins_bench_replay")
SERVER_ENV = {"DJANGO_SETTINGS_MODULE": "config.settings.production",
              "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
              "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "false",
              "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "rediscache://127.0.0.1:6379/4"),
              # Connections kept for the whole day: the CPU of a backend closed before the end is not counted.
              "CONN_MAX_AGE": "86400"}
# This process builds the world with the server's settings: the tokens it derives are the ones the server checks.
os.environ.update(SERVER_ENV)
os.environ.pop("DJANGO_DEBUG", None)

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench import settle  # noqa: E402  (sets Django up; its database and pgbench helpers)
from gateway import replay  # noqa: E402

GUNICORN_LOG = Path(tempfile.gettempdir()) / "bench-replay-gunicorn.log"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sites", type=int, default=10, help="facilities (default 10)")
    parser.add_argument("--visits", type=int, default=155, help="visits per till, two tills a facility (default 155)")
    parser.add_argument("--families", type=int, default=10, help="families settled by two tills at once")
    parser.add_argument("--kills", type=int, default=3, help="backends terminated mid-transaction (default 3)")
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, as config/gunicorn.py)")
    parser.add_argument("--pgbench-seconds", type=int, default=20)
    parser.add_argument("--no-pgbench", action="store_true")
    return parser.parse_args()


def say(text: str) -> None:
    print(text, flush=True)


def database_prepare() -> None:
    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    with settle.admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    call_command("seed_policies", verbosity=0)


def main() -> None:
    args = parse_args()
    say(f"bench/replay.py {datetime.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    started = time.perf_counter()
    database_prepare()
    world = replay.world_build(tag="R", run=0, seed=args.seed, sites=args.sites,
                               patients_per_till=args.visits * 4 // 5, families=args.families, day=replay.today())
    plans = replay.plan_day(world, seed=args.seed, visits_per_till=args.visits)
    say(f"world: {len(world.sites)} facilities, {len(world.patients)} patients, {len(world.families)} families; "
        f"{sum(len(p.visits) for p in plans)} visits planned on {len(plans)} tills, day {world.day} "
        f"({time.perf_counter() - started:.0f} s)")
    connection.close()
    servers: list = []
    with replay.gunicorn_serving(port=args.port, env=SERVER_ENV, log=GUNICORN_LOG, workers=args.workers,
                                 ready=servers.append) as url:
        say(f"gunicorn -w {args.workers} (config.settings.production, Redis cache) on {url}")
        cpu_before = settle.cpu_sample(servers[0])
        day = replay.run_day(world, plans, base_url=url, kills=args.kills, say=say)
        cpu = settle.cpu_per_settlement(cpu_before, settle.cpu_sample(servers[0]), day.messages)
    say("gunicorn stopped")
    problems = replay.check_day(world, day)
    digest = replay.digest(world, day)
    for line in replay.report(day):
        say(line)
    say(f"CPU per message (the backends killed on purpose take theirs with them): gunicorn {cpu['app']:.1f} ms, "
        f"PostgreSQL {cpu['db']:.1f} ms, clients {cpu['clients']:.1f} ms")
    pg = None if args.no_pgbench else settle.pgbench(args.pgbench_seconds)
    if pg is not None:
        say(f"pgbench TPC-B -s 10 -c 8 -j 2 -T {args.pgbench_seconds}: {pg['tps']:.0f} tps, "
            f"latency average {pg['latency']:.1f} ms")
    say(f"checks: {'all passed' if not problems else problems[:10]}")
    say(f"digest (seed {args.seed}, day {world.day}): {digest}")
    say("load average now " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + f"; total {time.perf_counter() - started:.0f} s")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
