"""Benchmark of settling through the partner HTTP API (POST /api/v1/settlements/) served by gunicorn on PostgreSQL.

Recreates its own database (the name in DATABASE_URL must contain "bench"), migrates and runs `seed_demo`, makes a
partner token per demo hospital, then starts `gunicorn -c config/gunicorn.py config.wsgi` (3 sync workers) with the
production settings and Redis as the shared cache (BENCH_CACHE_URL, default db 15), and drives it with N HTTP
clients (threads, one connection each, kept alive where the server keeps it: `Client`), each request a valid
general-outpatient settlement of a demo enrollee at a hospital of their region, with a medins_setl_id of its own:

1. full load: N clients back to back for --seconds: settlements/s, p50 and p99 latency;
2. paced: an open-loop schedule at --paced-share (default 50%) of the throughput measured in 1, or at --paced-rate
   settlements a second (issue 16 asks p99 at 200/s); latency is counted from each request's scheduled time, so a
   server falling behind shows in it (no coordinated omission);
3. pgbench TPC-B on a scratch database (`-i -s 10`, then `-c 8 -j 2 -T 20`), for the machine's context.

Then checks what was written (every answer 201, one settlement per request, `ledger_verify()` clean), stops
gunicorn and prints a table. About 3 minutes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_settle .venv/bin/python bench/settle.py

With `--server URL` it drives a server already running on that database instead (the local topology's nginx,
deploy/local_topology.py), leaves the database as it is and measures no CPU. Service dates fall in the partner
window (the last SETTLEMENT_BACKDATE_DAYS days). As a partner must (the tie rule), each facility looks each of its
patients up with the full ID number (POST /api/v1/persons/lookup/, once per facility and person) before it sends
their settlements; the look-ups go before each run and are counted apart, so the settlement figures stay those
of settlements alone.
"""

import argparse
import datetime
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/medins_bench_settle")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")  # DEBUG keeps every query in memory

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.ledger import ledger_verify  # noqa: E402
from accounts.models import Enrollment, InsuStatus, InsuType  # noqa: E402
from claims.models import Facility, Item, Settlement  # noqa: E402
from claims.partner import partner_today  # noqa: E402
from claims.tokens import partner_token_create  # noqa: E402
from core.demo import CONSULTATION, DRUGS, FACILITIES  # noqa: E402

VENV_BIN = Path(sys.executable).parent
# Partners settle service dates of the last SETTLEMENT_BACKDATE_DAYS days (claims.partner.setl_date_check).
SERVICE_TO = partner_today()
SERVICE_FROM = SERVICE_TO - datetime.timedelta(days=min(settings.SETTLEMENT_BACKDATE_DAYS, 25))
PGBENCH_DB = "medins_bench_pgbench_scratch"
GUNICORN_LOG = Path(tempfile.gettempdir()) / "bench-settle-gunicorn.log"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--server", help="drive this running server (http://host:port) instead of starting gunicorn; "
                                         "the database is used as it is")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, as config/gunicorn.py)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (default 1)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients (default 16)")
    parser.add_argument("--seconds", type=float, default=20, help="full-load run (default 20)")
    parser.add_argument("--paced-seconds", type=float, default=20, help="paced run (default 20)")
    parser.add_argument("--paced-share", type=float, default=0.5, help="paced rate / full-load rate (default 0.5)")
    parser.add_argument("--paced-rate", type=float, help="the paced run offers this many settlements a second instead "
                                                         "(issue 16: p99 at 200/s)")
    parser.add_argument("--pgbench-seconds", type=int, default=20)
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument("--reuse-db", action="store_true", help="keep the database of a previous run")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def say(text: str) -> None:
    print(text, flush=True)


def admin_connection() -> psycopg.Connection:
    s = connection.settings_dict
    params = {"dbname": "postgres", "user": s["USER"], "host": s["HOST"], "port": s["PORT"], "password": s["PASSWORD"]}
    return psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)


# --- set-up ------------------------------------------------------------------------------------------------------

def database_prepare(reuse: bool) -> None:
    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    if reuse:
        return
    started = time.perf_counter()
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    say(f"database {name} created and migrated in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    out = io.StringIO()
    # --force: under production settings too (bench/settle_profile.py, bench/growth.py); the name says "bench".
    call_command("seed_demo", "--force", stdout=out)
    summary = [line for line in out.getvalue().splitlines() if line.startswith(("demo data", "settlements"))]
    say(f"seed_demo in {time.perf_counter() - started:.1f} s: {'; '.join(summary)}")


Work = list[tuple[str, bytes]]  # (token, JSON body)


def requests_make(count: int, run: str, rng: random.Random) -> tuple[Work, Work]:
    """`count` settlement requests: a consultation and one to three drugs at or under their price limits, for an
    active enrollee at a hospital of their region; and the look-ups to send first, one per facility and patient."""
    hospitals = [f for f in Facility.objects.filter(fixmedins_code__in=[row[0] for row in FACILITIES])
                 .select_related("region") if not f.is_pharmacy]
    tokens = {f.pk: partner_token_create(facility=f, label=f"bench {run}")[1] for f in hospitals}
    items = {i.item_code: i for i in Item.objects.filter(item_code__in=[CONSULTATION, *DRUGS])}
    patients: dict[str, list[str]] = {}
    certnos: dict[str, str] = {}
    for e in (Enrollment.objects.filter(insutype=InsuType.EMPLOYEE, psn_insu_stas=InsuStatus.ACTIVE,
                                        begndate__lte=SERVICE_FROM, enddate__isnull=True)
              .select_related("person", "region")):
        patients.setdefault(e.region.admdvs, []).append(e.person.psn_no)
        certnos[e.person.psn_no] = e.person.certno
    by_region = {admdvs: [f for f in hospitals if f.region.admdvs == admdvs] for admdvs in patients}
    days = (SERVICE_TO - SERVICE_FROM).days

    def price(code: str) -> str:
        limit = items[code].pric_uplmt_amt or Decimal("60.00")
        return str((limit * Decimal(rng.randrange(80, 101)) / 100).quantize(Decimal("0.01")))

    out, ties = [], {}
    for n in range(count):
        admdvs = rng.choice(sorted(patients))
        facility = rng.choice(by_region[admdvs])
        lines = [{"item_code": CONSULTATION, "qty": "1", "price": price(CONSULTATION)}]
        lines += [{"item_code": code, "qty": str(rng.randint(1, 4)), "price": price(code)}
                  for code in rng.sample(DRUGS, rng.randint(1, 3))]
        psn_no = rng.choice(patients[admdvs])
        ties.setdefault((facility.pk, psn_no), None)  # in the order of their first bill
        body = {"medins_setl_id": f"BENCH-{run}-{n:07d}", "psn_no": psn_no, "med_type": "11",
                "setl_date": (SERVICE_FROM + datetime.timedelta(days=rng.randint(0, days))).isoformat(),
                "acct_used_flag": "1", "items": lines}
        out.append((tokens[facility.pk], json.dumps(body).encode()))
    lookups = [(tokens[f], json.dumps({"mdtrt_cert_type": "02", "mdtrt_cert_no": certnos[psn_no]}).encode())
               for f, psn_no in ties]
    return out, lookups


def lookups_send(port: int, clients: int, lookups: Work, host: str = "127.0.0.1") -> None:
    """Each facility looks its patients up with the full ID number (national 1101), as a HIS does before billing:
    the tie that lets it settle for them. Every look-up must answer 200; timed apart from the settlements."""
    result = drive(port, clients, lookups, 600, host=host, path=LOOKUP)
    failed = result["sent"] - result["statuses"].get(200, 0)
    say(f"  {result['sent']} look-ups (POST {LOOKUP}) in {result['elapsed']:.1f} s, {failed} failed "
        f"{result['failures'][:3]}")
    if failed:
        sys.exit(1)


# --- the server --------------------------------------------------------------------------------------------------

def gunicorn_start(port: int, workers: int, worker_class: str = "sync", threads: int = 1) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "false",
           # Production shares one cache between workers (throttle counters, cache generations): Redis.
           "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "rediscache://127.0.0.1:6379/15"),
           # Connections live through the whole run, so their backends' CPU time can be read (cpu_sample).
           "CONN_MAX_AGE": "600"}
    env.pop("DJANGO_DEBUG", None)
    log = open(GUNICORN_LOG, "w")  # noqa: SIM115  (the child keeps it)
    server = subprocess.Popen([str(VENV_BIN / "gunicorn"), "config.wsgi", "-c", "config/gunicorn.py", "-w",
                               str(workers), "-k", worker_class, "--threads", str(threads), "-b", f"127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}: see {GUNICORN_LOG}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.2)
    gunicorn_stop(server)
    sys.exit("gunicorn did not listen within 30 s")


def gunicorn_stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def cpu_sample(server: subprocess.Popen) -> dict[str, float]:
    """CPU seconds used so far by the gunicorn workers, by the PostgreSQL backends serving this database and by
    this process (the clients): differences of two samples say where the CPU went, whatever else runs here."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick

    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        backends = [row[0] for row in cursor.fetchall()]
    return {"app": sum(used(int(pid)) for pid in children), "db": sum(used(pid) for pid in backends),
            "clients": time.process_time()}


def cpu_per_settlement(before: dict[str, float], after: dict[str, float], settled: int) -> dict[str, float]:
    return {k: (after[k] - before[k]) * 1000 / max(settled, 1) for k in before}


# --- the clients -------------------------------------------------------------------------------------------------

SETTLEMENTS = "/api/v1/settlements/"
LOOKUP = "/api/v1/persons/lookup/"


class Client:
    """One connection, kept alive where the server keeps it (gunicorn's sync workers close it after each answer: the
    client then opens the next one). The requests are those `http.client` sends; they are written with one
    `sendall` and read with a minimal parser, so that the load generator takes less of the CPU it shares with the
    server (measured on a busy machine: 0.32 to 0.42 ms a settlement, against 0.50 to 0.59 with `http.client`)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.address = (host, port)
        self.head = f"Host: {host}:{port}\r\nAccept-Encoding: identity\r\n"
        self.sock: socket.socket | None = None
        self.buffer = b""

    def post(self, token: str, body: bytes, path: str = SETTLEMENTS) -> tuple[int, bytes]:
        request = (f"POST {path} HTTP/1.1\r\n{self.head}Authorization: Token {token}\r\n"
                   f"Content-Type: application/json\r\nAccept: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        for attempt in (1, 2):
            reused = self.sock is not None
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(self.address, timeout=30)
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.sock.sendall(request)
                status, answer, keep = self._response()
            except (ConnectionError, EOFError):
                self.close()
                if attempt == 2 or not reused:  # a kept connection the server closed meanwhile: once more
                    raise
                continue
            if not keep:
                self.close()
            return status, answer
        raise AssertionError("unreachable")

    def _response(self) -> tuple[int, bytes, bool]:
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {name.strip().lower(): value.strip()
                   for name, _, value in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._read()
        answer, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, answer, headers.get("connection", "").lower() != "close"

    def _read(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""


def drive(port: int, clients: int, work: Work, seconds: float, rate: float | None = None, host: str = "127.0.0.1",
          path: str = SETTLEMENTS) -> dict:
    """Send `work` with `clients` threads until it runs out or `seconds` pass; with `rate`, request i is due at
    start + i / rate and its latency counts from then. Returns counts, latencies (s) and the elapsed time."""
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: list[str] = []
    ok_ids: set[str] = set()
    failed_ids: set[int] = set()  # indexes into work of the requests that got no answer
    cursor = iter(range(len(work)))
    start = time.perf_counter() + 0.05
    deadline = start + seconds

    def run() -> None:
        client = Client(port, host)
        try:
            send(client)
        finally:
            client.close()

    def send(client: Client) -> None:
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            due = start + i / rate if rate else None
            if due is not None:
                if due >= deadline:
                    return
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            elif time.perf_counter() >= deadline:
                return
            sent = time.perf_counter()
            try:
                status, body = client.post(*work[i], path=path)
            except Exception as e:  # noqa: BLE001  (counted and shown, the run goes on)
                with lock:
                    failures.append(f"{type(e).__name__}: {e}")
                    failed_ids.add(i)
                continue
            took = time.perf_counter() - (due if due is not None else sent)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status in (200, 201):
                    latencies.append(took)
                    if path == SETTLEMENTS:
                        ok_ids.add(json.loads(work[i][1])["medins_setl_id"])
                elif len(failures) < 5:
                    failures.append(f"{status}: {body[:300]!r}")

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"statuses": statuses, "latencies": sorted(latencies), "elapsed": elapsed, "failures": failures,
            "sent": sum(statuses.values()) + len(failures), "ok_ids": ok_ids,
            "failed_ids": failed_ids}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(name: str, result: dict, offered: float | None = None) -> dict:
    ok = len(result["latencies"])
    row = {"run": name, "offered": offered, "ok": ok, "errors": result["sent"] - ok, "ok_ids": result["ok_ids"],
           "rate": ok / result["elapsed"], "p50": percentile(result["latencies"], 50) * 1000,
           "p99": percentile(result["latencies"], 99) * 1000, "max": (result["latencies"] or [0])[-1] * 1000}
    say(f"  {name}: {ok} settled in {result['elapsed']:.1f} s = {row['rate']:.1f}/s, p50 {row['p50']:.1f} ms, "
        f"p99 {row['p99']:.1f} ms, max {row['max']:.1f} ms, statuses {result['statuses']}"
        + (f", failures {result['failures'][:3]}" if result["failures"] else ""))
    return row


# --- pgbench -----------------------------------------------------------------------------------------------------

def pgbench(seconds: int) -> dict:
    s = connection.settings_dict
    base = ["-h", s["HOST"] or "127.0.0.1", "-p", str(s["PORT"] or 5432), "-U", s["USER"] or "postgres"]
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{PGBENCH_DB}"')
    try:
        subprocess.run(["pgbench", *base, "-i", "-s", "10", "-q", PGBENCH_DB], check=True, capture_output=True)
        out = subprocess.run(["pgbench", *base, "-c", "8", "-j", "2", "-T", str(seconds), PGBENCH_DB], check=True,
                             capture_output=True, text=True).stdout
    finally:
        with admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)')
    tps = re.search(r"tps = ([\d.]+)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {"tps": float(tps.group(1)) if tps else float("nan"),
            "latency": float(latency.group(1)) if latency else float("nan")}


# --- main --------------------------------------------------------------------------------------------------------

def main() -> None:
    args = parse_args()
    began = time.perf_counter()
    rng = random.Random(args.seed)
    say(f"bench/settle.py {datetime.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    host, port = "127.0.0.1", args.port
    if args.server:
        url = urllib.parse.urlsplit(args.server)
        host, port = url.hostname or "127.0.0.1", url.port or 80
    else:
        database_prepare(args.reuse_db)
    run = f"{int(time.time())}"
    # Enough requests for the full-load run at up to 500/s (about three times the rate measured so far; each
    # patient of them is looked up first, so a larger budget costs look-ups); the paced run and warm-up take their
    # own.
    full_work, full_lookups = requests_make(int(args.seconds * 500), f"{run}F", rng)
    warm_work, warm_lookups = requests_make(400, f"{run}W", rng)
    connection.close()

    server = None if args.server else gunicorn_start(port, args.workers, args.worker_class, args.threads)
    rows, cpu = [], None
    try:
        say(f"{args.server} (running server)" if args.server else
            f"gunicorn -w {args.workers} -k {args.worker_class} --threads {args.threads} (config.settings.production) "
            f"on 127.0.0.1:{port}; {args.clients} clients")
        lookups_send(port, args.clients, warm_lookups, host=host)
        warm = drive(port, args.clients, warm_work, 30, host=host)
        summary("warm-up", warm)
        lookups_send(port, args.clients, full_lookups, host=host)
        before = cpu_sample(server) if server else None
        full = summary("full load", drive(port, args.clients, full_work, args.seconds, host=host))
        answered = warm["ok_ids"] | full.pop("ok_ids")
        if server:
            cpu = cpu_per_settlement(before, cpu_sample(server), full["ok"])
            say(f"  CPU per settlement at full load: gunicorn {cpu['app']:.1f} ms, PostgreSQL backends "
                f"{cpu['db']:.1f} ms, clients {cpu['clients']:.1f} ms; on {os.cpu_count()} otherwise idle cores the "
                f"server side alone caps at about {os.cpu_count() * 1000 / (cpu['app'] + cpu['db']):.0f} "
                "settlements/s")
        rows.append(full)
        rate = args.paced_rate or full["rate"] * args.paced_share
        paced_work, paced_lookups = requests_make(int(rate * args.paced_seconds) + 10, f"{run}P", rng)
        connection.close()
        lookups_send(port, args.clients, paced_lookups, host=host)
        name = f"paced {rate:.0f}/s" if args.paced_rate else f"paced {args.paced_share:.0%}"
        paced = summary(name, drive(port, args.clients, paced_work, args.paced_seconds, rate=rate, host=host),
                        offered=rate)
        answered |= paced.pop("ok_ids")
        rows.append(paced)
    finally:
        if server:
            gunicorn_stop(server)
            say("gunicorn stopped")

    # Every answered request settled exactly once, nothing else was written, and the ledger explains every balance.
    written = set(Settlement.objects.filter(medins_setl_id__startswith=f"BENCH-{run}")
                  .values_list("medins_setl_id", flat=True))
    problems = ledger_verify()
    errors = sum(r["errors"] for r in rows)
    say(f"check: {len(answered)} settlements answered, {len(written)} written for them (warm-up included), "
        f"{len(answered - written)} answered but not written, {len(written - answered)} written but not answered, "
        f"{errors} errors; ledger_verify: {'clean' if not problems else problems[:3]}")
    if problems or answered != written or (args.server and errors):
        sys.exit(1)

    pg = None
    if not args.no_pgbench:
        pg = pgbench(args.pgbench_seconds)

    say("")
    say("| run | clients | offered /s | settled | errors | settlements/s | p50 ms | p99 ms | max ms |")
    say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        offered = f"{r['offered']:.0f}" if r["offered"] else "max"
        say(f"| {r['run']} | {args.clients} | {offered} | {r['ok']} | {r['errors']} | {r['rate']:.1f} | "
            f"{r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.1f} |")
    if pg is not None:
        say(f"| pgbench TPC-B -s 10 -c 8 -j 2 -T {args.pgbench_seconds} | 8 | max | | | {pg['tps']:.0f} tps | "
            f"avg {pg['latency']:.1f} | | |")
    # Issue 16: at least 400 settlements/s, and p99 under 50 ms when 200/s are offered (judged only then).
    paced_met = rows[1]["p99"] < 50 if args.paced_rate == 200 else None
    targets = rows[0]["rate"] >= 400 and paced_met is not False
    if cpu is not None:
        say(f"CPU per settlement (full load): gunicorn {cpu['app']:.1f} ms, PostgreSQL {cpu['db']:.1f} ms, "
            f"clients {cpu['clients']:.1f} ms")
    say(f"targets (>= 400 settlements/s{'; p99 < 50 ms at 200/s' if paced_met is not None else ''}): "
        f"{'met' if targets else 'MISSED'}; "
        f"answered {sum(r['ok'] for r in rows)}; total {time.perf_counter() - began:.0f} s; load average now "
        + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
