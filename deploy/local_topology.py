"""The province's topology on one machine, as separate processes: nginx in front of two gunicorn app nodes, two
worker nodes (each a Celery worker for the `interactive` queue and one for `bulk`, and a beat: two beats, one
sends), Redis, and a PostgreSQL primary with a streaming replica (a cluster pair of its own, made with initdb in a
temporary directory and `pg_basebackup -R`, on ports of its own). Nothing of the machine's own PostgreSQL or Redis
is touched.

    python deploy/local_topology.py up [--dir DIR]      # start it (with a migrated database and the demo data)
    python deploy/local_topology.py down [--dir DIR]    # stop everything `up` started and remove DIR
    python deploy/local_topology.py demo [--seconds 8]  # up, the checks below, down; exit 1 when a check fails
    python deploy/local_topology.py pg-up --dir DIR     # only the PostgreSQL pair (CI runs the suite on it)
    python deploy/local_topology.py pg-down --dir DIR

`demo` shows, printing what it measured:
1. bench/settle.py through nginx: every answer 201, each settlement written once, the ledger clean;
2. a revoked partner token and a newly published policy version reach both app nodes within a second;
3. the replica streams: what the app wrote is on the replica;
4. an app node killed (SIGKILL) under load: nginx sends its requests to the other node, no request fails, every
   answered settlement is written once;
5. a credit run fanned out over both bulk workers (the worker of each chunk is recorded); one worker frozen in
   the middle of a chunk and killed: the other takes the chunk over after the broker's visibility timeout; the
   run completes, a re-run credits nothing (each credit exactly once), `verify_ledger` is clean;
6. two beats: only the leader sends a task due every second; the leader killed, the standby takes over, and no
   run is sent twice.

Ports: `--base-port 8110` gives nginx 8110, app nodes 8111 and 8112, Redis 8119; `--pg-port 55432` the primary
and 55433 the replica; `--ports auto` takes free ports instead. As root the PostgreSQL pair runs as the `postgres`
user (PostgreSQL refuses root) and nginx comes from Debian (`apt-get install nginx`).
"""

import argparse
import datetime
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PYTHON = Path(sys.executable)
DB_NAME = "medins_bench_topology"  # "bench": bench/settle.py drives it
CREDIT_MONTH = "2026-02"  # after the demo data's credit runs (July 2025 to January 2026)
VISIBILITY_TIMEOUT = 10  # seconds before a dead worker's message goes to another worker (production: 1,800)


def say(text: str) -> None:
    print(text, flush=True)


class CheckFailed(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)
    say(f"  ok: {message}")


# --- layout and state --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Layout:
    dir: str
    nginx_port: int
    app_ports: list[int]
    redis_port: int
    pg_port: int
    replica_port: int
    worker_nodes: int = 2
    app_workers: int = 2
    fast: bool = False
    pids: dict[str, int] = field(default_factory=dict)

    @classmethod
    def make(cls, args: argparse.Namespace) -> "Layout":
        if args.ports == "auto":
            ports = [free_port() for _ in range(3 + args.app_nodes + 1)]
            nginx, redis, pg, *apps = ports
            return cls(args.dir, nginx, apps[:args.app_nodes], redis, pg, apps[args.app_nodes],
                       args.worker_nodes, args.app_workers, args.fast)
        base = args.base_port
        return cls(args.dir, base, [base + 1 + n for n in range(args.app_nodes)], base + 9, args.pg_port,
                   args.pg_port + 1, args.worker_nodes, args.app_workers, args.fast)

    @property
    def path(self) -> Path:
        return Path(self.dir)

    def save(self) -> None:
        (self.path / "state.json").write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, directory: str) -> "Layout":
        return cls(**json.loads((Path(directory) / "state.json").read_text()))

    def db_url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{DB_NAME}"

    def env(self, settings: str = "config.settings.production") -> dict[str, str]:
        """The environment every node of the topology shares (deploy/medins.env.example in production)."""
        secret = self.path / "secret"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(50))
        env = {**os.environ,
               "DJANGO_SETTINGS_MODULE": settings, "DJANGO_SECRET_KEY": secret.read_text(),
               "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_SECURE_SSL_REDIRECT": "false",
               "DATABASE_URL": self.db_url(self.pg_port), "DATABASE_REPLICA_URL": self.db_url(self.replica_port),
               "CACHE_URL": f"rediscache://127.0.0.1:{self.redis_port}/1",
               "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
               "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), "CONN_MAX_AGE": "600",
               "DJANGO_MEDIA_ROOT": str(self.path / "media"), "DJANGO_LOG_LEVEL": "WARNING",
               "PYTHONUNBUFFERED": "1"}
        for name in ("CELERY_INTERACTIVE_QUEUE", "CELERY_BULK_QUEUE", "DJANGO_DEBUG", "CI"):
            env.pop(name, None)
        return env


# --- processes ---------------------------------------------------------------------------------------------------

def spawn(layout: Layout, name: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start one node's process in a session of its own (so it and its children stop together), its output in
    logs/NAME.log."""
    logs = layout.path / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env or layout.env(), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    layout.pids[name] = proc.pid
    layout.save()
    return proc


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop(layout: Layout, name: str, sig: int = signal.SIGTERM, wait: float = 20) -> None:
    """Stop a node (its whole process group); SIGKILL after `wait` seconds."""
    pid = layout.pids.pop(name, None)
    layout.save()
    if pid is None:
        return
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait
    while alive(pid) and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    if alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def log_text(layout: Layout, name: str, since: int = 0) -> str:
    try:
        with open(layout.path / "logs" / f"{name}.log", "rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")
    except OSError:
        return ""


def log_size(layout: Layout, name: str) -> int:
    try:
        return (layout.path / "logs" / f"{name}.log").stat().st_size
    except OSError:
        return 0


def wait_for(what: str, test: Callable[[], object], seconds: float = 60, layout: Layout | None = None,
             log: str | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test():
            return
        time.sleep(0.2)
    tail = "\n".join(log_text(layout, log).splitlines()[-30:]) if layout and log else ""
    raise CheckFailed(f"{what} did not happen within {seconds:.0f} s\n{tail}")


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


# --- PostgreSQL: a primary and its streaming replica -------------------------------------------------------------

def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def pg(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(as_postgres(cmd), check=True, capture_output=True, text=True, **kwargs)


def psql(port: int, sql: str, db: str = "postgres") -> str:
    return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-Atqc", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def pg_pair_up(layout: Layout) -> None:
    """initdb a primary, start it, `pg_basebackup -R` a replica from it and start that: a streaming replica of the
    whole cluster, so every database made on the primary (pytest's test databases too) is on the replica."""
    base = layout.path / "pg"
    base.mkdir(parents=True)
    os.chmod(layout.path, 0o755)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    primary, replica = base / "primary", base / "replica"
    pg([str(PG_BIN / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
        "--locale=C.UTF-8", "--no-sync"])
    settings = [f"port = {layout.pg_port}", "listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{base}'",
                "max_connections = 200", "wal_level = replica", "max_wal_senders = 5", "hot_standby = on",
                "hot_standby_feedback = on"]
    if layout.fast:  # throwaway data (CI): no waiting on the disk
        settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
    with open(primary / "postgresql.conf", "a") as conf:
        conf.write("\n# deploy/local_topology.py\n" + "\n".join(settings) + "\n")
    pg([str(PG_BIN / "pg_ctl"), "-D", str(primary), "-l", str(base / "primary.log"), "-w", "-t", "60", "start"])
    pg([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(layout.pg_port), "-U", "postgres", "-D",
        str(replica), "-R", "-X", "stream", "-c", "fast", "--no-sync"])
    with open(replica / "postgresql.conf", "a") as conf:
        conf.write(f"port = {layout.replica_port}\n")
    pg([str(PG_BIN / "pg_ctl"), "-D", str(replica), "-l", str(base / "replica.log"), "-w", "-t", "60", "start"])
    wait_for("the replica streaming", lambda: psql(layout.pg_port, "SELECT state FROM pg_stat_replication")
             == "streaming", 30)


def pg_pair_down(layout: Layout) -> None:
    base = layout.path / "pg"
    for node in ("replica", "primary"):
        if (base / node / "postmaster.pid").exists():
            subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(base / node), "-m", "fast", "-w", "-t",
                                        "60", "stop"]), capture_output=True)


# --- the other nodes ---------------------------------------------------------------------------------------------

def redis_up(layout: Layout) -> None:
    spawn(layout, "redis", ["redis-server", "--port", str(layout.redis_port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", str(layout.path)])
    wait_for("Redis listening", lambda: listening(layout.redis_port), 20, layout, "redis")


def app_up(layout: Layout, n: int) -> None:
    port = layout.app_ports[n - 1]
    spawn(layout, f"app{n}", [str(PYTHON.parent / "gunicorn"), "config.wsgi", "-c", "config/gunicorn.py",
                              "-b", f"127.0.0.1:{port}", "-w", str(layout.app_workers)])
    wait_for(f"app node {n} answering", lambda: http_status(port, "/api/v1/settlements/") in (401, 403), 60,
             layout, f"app{n}")


def worker_up(layout: Layout, n: int, queue: str) -> None:
    name = f"{queue}@w{n}"
    since = log_size(layout, f"w{n}-{queue}")
    spawn(layout, f"w{n}-{queue}", [str(PYTHON.parent / "celery"), "-A", "config", "worker", "-Q", queue, "-n", name,
                                    "-c", "1", "-l", "info", "--without-gossip", "--without-mingle"])
    wait_for(f"worker {name} ready", lambda: f"{name} ready." in log_text(layout, f"w{n}-{queue}", since), 90, layout,
             f"w{n}-{queue}")


def beat_up(layout: Layout, n: int) -> None:
    spawn(layout, f"beat{n}", [str(PYTHON.parent / "celery"), "-A", "config", "beat", "-l", "info",
                               "--pidfile", str(layout.path / f"beat{n}.pid")])
    wait_for(f"beat {n} started", lambda: "beat: Starting" in log_text(layout, f"beat{n}"), 60, layout, f"beat{n}")


def nginx_up(layout: Layout) -> None:
    base = layout.path / "nginx"
    (base / "tmp").mkdir(parents=True, exist_ok=True)
    os.chmod(base / "tmp", 0o777)  # nginx's workers run as nobody when started by root
    servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in layout.app_ports)
    tmp = base / "tmp"
    (base / "nginx.conf").write_text(f"""# written by deploy/local_topology.py
worker_processes 1;
pid {base}/nginx.pid;
error_log {layout.path}/logs/nginx-error.log info;
events {{ worker_connections 1024; }}
http {{
  access_log {layout.path}/logs/nginx-access.log;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  upstream medins_app {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{layout.nginx_port};
    include {ROOT}/deploy/nginx/medins-locations.conf;
  }}
}}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    subprocess.run([nginx, "-t", "-q", "-c", str(base / "nginx.conf"), "-p", str(base)], check=True)
    spawn(layout, "nginx", [nginx, "-c", str(base / "nginx.conf"), "-p", str(base), "-g", "daemon off;"])
    wait_for("nginx answering", lambda: http_status(layout.nginx_port, "/api/v1/settlements/") in (401, 403), 30,
             layout, "nginx")


def http_status(port: int, path: str, token: str | None = None, body: bytes | None = None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers={
        "Accept": "application/json", "Content-Type": "application/json",
        **({"Authorization": f"Token {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def http_json(port: int, path: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), headers={
        "Accept": "application/json", "Content-Type": "application/json", "Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def django_setup(layout: Layout) -> None:
    """This process talks to the topology's database, cache and broker as a management command would."""
    os.environ.update(layout.env("config.settings.local"))
    os.environ["DJANGO_DEBUG"] = "false"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def together(starts: list) -> None:
    """Start nodes side by side (each waits for its own readiness); the first failure is raised."""
    errors: list[Exception] = []

    def run(start: Callable[[], object]) -> None:
        try:
            start()
        except Exception as e:  # noqa: BLE001  (raised below)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(start,)) for start in starts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def up(layout: Layout) -> None:
    started = time.monotonic()
    layout.path.mkdir(parents=True, exist_ok=True)
    layout.save()
    pg_pair_up(layout)
    psql(layout.pg_port, f"CREATE DATABASE {DB_NAME}")
    say(f"PostgreSQL primary on {layout.pg_port}, streaming replica on {layout.replica_port} "
        f"({time.monotonic() - started:.0f} s)")
    redis_up(layout)
    django_setup(layout)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seeded = time.monotonic()
    call_command("seed_demo", stdout=open(layout.path / "logs" / "seed_demo.log", "w"))  # noqa: SIM115
    say(f"database migrated and seeded ({time.monotonic() - seeded:.0f} s for seed_demo)")
    from django.db import connections

    connections.close_all()
    together([lambda n=n: app_up(layout, n) for n in range(1, len(layout.app_ports) + 1)]
             + [lambda n=n, q=q: worker_up(layout, n, q) for n in range(1, layout.worker_nodes + 1)
                for q in ("interactive", "bulk")])
    for n in range(1, layout.worker_nodes + 1):
        beat_up(layout, n)
    nginx_up(layout)
    say(f"up in {time.monotonic() - started:.0f} s: nginx http://127.0.0.1:{layout.nginx_port} -> app nodes "
        f"{', '.join(str(p) for p in layout.app_ports)}; workers "
        + ", ".join(f"{q}@w{n}" for n in range(1, layout.worker_nodes + 1) for q in ("interactive", "bulk"))
        + f"; beats on {layout.worker_nodes} nodes; Redis {layout.redis_port}; logs in {layout.path / 'logs'}")


def down(layout: Layout, keep: bool = False) -> None:
    for name in sorted(layout.pids, key=lambda n: (n == "redis", n)):  # Redis last: workers restore into it
        stop(layout, name, signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
    pg_pair_down(layout)
    if not keep:
        shutil.rmtree(layout.path, ignore_errors=True)


# --- the checks --------------------------------------------------------------------------------------------------

def settle_bench(layout: Layout, seconds: float) -> None:
    say(f"1. bench/settle.py through nginx ({seconds:.0f} s at full load, {seconds / 2:.0f} s paced)")
    env = layout.env("config.settings.local")
    env["DJANGO_DEBUG"] = "false"
    result = subprocess.run([str(PYTHON), "bench/settle.py", "--server", f"http://127.0.0.1:{layout.nginx_port}",
                             "--no-pgbench", "--seconds", str(seconds), "--paced-seconds", str(seconds / 2),
                             "--clients", "8"], cwd=ROOT, env=env, capture_output=True, text=True)
    for line in result.stdout.splitlines():
        if line.startswith(("  full", "  paced", "  warm", "check:", "|")):
            say(f"   {line.strip()}")
    check(result.returncode == 0, "bench/settle.py: every answer 2xx, each settlement written once, ledger clean"
          + ("" if result.returncode == 0 else f"\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"))


def _jinan_case() -> tuple:
    """A Jinan hospital, an active Jinan employee tied to it (looked up now) and a preview request for today."""
    from accounts.models import Enrollment, InsuStatus, InsuType
    from claims.models import Facility
    from claims.partner import partner_today, person_lookup_record
    from core.demo import CONSULTATION

    facility = next(f for f in Facility.objects.filter(region__admdvs="370100").order_by("fixmedins_code")
                    if not f.is_pharmacy)
    enrollment = (Enrollment.objects.filter(region__admdvs="370100", insutype=InsuType.EMPLOYEE,
                                            psn_insu_stas=InsuStatus.ACTIVE, enddate__isnull=True)
                  .select_related("person").order_by("id").first())
    person_lookup_record(facility=facility, person=enrollment.person)
    body = {"medins_setl_id": "TOPOLOGY-PREVIEW", "psn_no": enrollment.person.psn_no, "med_type": "11",
            "setl_date": partner_today().isoformat(), "acct_used_flag": "1",
            "items": [{"item_code": CONSULTATION, "qty": "1", "price": "20.00"}]}
    return facility, body


def _reaches_every_node(layout: Layout, changed: Callable[[], object], seen_old: Callable[[int], bool],
                        what: str) -> None:
    """Apply a change, then ask every app node directly, round after round for 2.5 s, whether it still shows the
    old state: the change reached a node after the last time it showed the old one."""
    last_old = {port: 0.0 for port in layout.app_ports}
    asked = {port: 0 for port in layout.app_ports}
    t0 = time.monotonic()
    changed()
    while time.monotonic() - t0 < 2.5:
        for port in layout.app_ports:
            asked[port] += 1
            sent = time.monotonic() - t0
            if seen_old(port):
                last_old[port] = sent
        time.sleep(0.02)
    for port in layout.app_ports:
        say(f"   node :{port}: the last request that saw the old state was sent {last_old[port] * 1000:.0f} ms "
            f"after the change ({asked[port]} requests)")
    # core.cache rereads the shared generation at most every GENERATION_CHECK_SECONDS (1 s).
    check(max(last_old.values()) <= 1.1, f"{what} reached every app node within a second")


def cache_propagation(layout: Layout) -> None:
    say("2. process caches cleared on every node (core.cache: the generation in Redis)")
    from claims.tokens import partner_token_create, partner_token_revoke
    from policies.models import PolicyStatus, PolicyVersion
    from policies.services import policy_version_clone, policy_version_publish

    facility, body = _jinan_case()
    token, raw = partner_token_create(facility=facility, label="topology")
    for port in layout.app_ports:  # every worker of every node has the token in its cache
        for _ in range(4 * layout.app_workers):
            check_status = http_status(port, "/api/v1/settlements/?page_size=1", raw)
            if check_status != 200:
                raise CheckFailed(f"node :{port} refused a live token: {check_status}")
    _reaches_every_node(layout, lambda: partner_token_revoke(token=token),
                        lambda port: http_status(port, "/api/v1/settlements/?page_size=1", raw) == 200,
                        "a revoked partner token")

    _token, raw = partner_token_create(facility=facility, label="topology policy")
    old = PolicyVersion.objects.get(region__admdvs="370100", insutype="310", status=PolicyStatus.PUBLISHED,
                                    effective_to__isnull=True)
    for port in layout.app_ports:
        status, answer = http_json(port, "/api/v1/settlements/preview/", raw, body)
        if status != 200 or answer.get("policy_version") != old.code:
            raise CheckFailed(f"preview on :{port} before the change: {status} {answer}")
    today = _partner_today()
    draft = policy_version_clone(version=old, code=f"JN-{today:%Y%m%d}", actor=None, effective_from=today)
    say(f"   publishing {draft.code} from {today} (ends {old.code} the day before)")
    _reaches_every_node(layout, lambda: policy_version_publish(version=draft, actor=None),
                        lambda port: http_json(port, "/api/v1/settlements/preview/", raw, body)[1]
                        .get("policy_version") == old.code, "a newly published policy version")


def _partner_today() -> "object":
    from claims.partner import partner_today

    return partner_today()


def replica_streams(layout: Layout) -> None:
    say("3. the streaming replica")
    from claims.models import Settlement

    state = psql(layout.pg_port, "SELECT state || ' ' || coalesce(replay_lag::text, '0') FROM pg_stat_replication")
    primary = Settlement.objects.count()
    wait_for("the replica catching up", lambda: int(psql(layout.replica_port, "SELECT count(*) FROM "
                                                         f"{Settlement._meta.db_table}", DB_NAME)) == primary, 10)
    check(state.startswith("streaming"), f"replica {state.split()[0]} (replay lag {state.split()[1]}); "
          f"{primary} settlements on the primary and on the replica")


def _bench_module() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_settle", ROOT / "bench" / "settle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upstream_errors(layout: Layout) -> int:
    return sum(1 for line in log_text(layout, "nginx-error").splitlines() if "[error]" in line and "upstream" in line)


def app_node_killed(layout: Layout, seconds: float) -> None:
    say("4. an app node killed under load")
    import random

    from claims.models import Settlement

    bench = _bench_module()
    run = f"K{int(time.time())}"
    work, lookups = bench.requests_make(int(seconds * 400), run, random.Random(11))
    from django.db import connections

    connections.close_all()
    bench.lookups_send(layout.nginx_port, 8, lookups)  # each facility looks its patients up first, as a HIS does
    errors_before = upstream_errors(layout)
    result: dict = {}
    load = threading.Thread(target=lambda: result.update(bench.drive(layout.nginx_port, 8, work, seconds)))
    load.start()
    time.sleep(seconds / 3)
    stop(layout, "app1", signal.SIGKILL)
    say(f"   killed app node 1 (:{layout.app_ports[0]}) with SIGKILL {seconds / 3:.0f} s into the load")
    load.join()
    retried = upstream_errors(layout) - errors_before
    say(f"   {result['sent']} requests in {result['elapsed']:.1f} s, statuses {result['statuses']}; nginx logged "
        f"{retried} upstream errors")
    check(set(result["statuses"]) <= {200, 201}, "every answer nginx gave was a settlement (it sent the requests "
          "of the dead node to the other one)")
    # A response already being sent when its node died cannot be sent again by nginx: the client sees it cut off
    # and sends the same request again, as a HIS does; the settlement's idempotency answers the first answer.
    client = bench.Client(layout.nginx_port)
    again = {}
    for i in sorted(result["failed_ids"]):
        status, answer = client.post(*work[i])
        again[json.loads(work[i][1])["medins_setl_id"]] = (status, json.loads(answer).get("setl_id"))
    say(f"   {len(again)} requests got no whole answer ({result['failures'][:2]}); sent again: "
        f"{[status for status, _ in again.values()]}")
    check(all(status in (200, 201) for status, _ in again.values()), "each request without an answer, sent "
          "again, was answered")
    answered = result["ok_ids"] | set(again)
    written = dict(Settlement.objects.filter(medins_setl_id__startswith=f"BENCH-{run}")
                   .values_list("medins_setl_id", "setl_id"))
    check(answered == set(written) and all(written[m] == setl_id for m, (_s, setl_id) in again.items()),
          f"every request settled exactly once ({len(written)} settlements)")
    app_up(layout, 1)
    say("   app node 1 started again")


def credit_run_spread(layout: Layout) -> None:
    say(f"5. a credit run ({CREDIT_MONTH}) over both bulk workers, one of them killed in the middle of a chunk")
    from django.db.models import Count

    from accounts.credits import credits_run_month
    from accounts.ledger import ledger_verify
    from accounts.models import CreditRun, CreditRunChunk, Enrollment
    from accounts.tasks import credits_month_task

    enrollments = Enrollment.objects.count()
    chunk_size = max(10, enrollments // 100)  # about 100 chunks over the regions
    before = set(CreditRun.objects.values_list("pk", flat=True))
    credits_month_task.delay(CREDIT_MONTH, None, chunk_size)
    wait_for("the run planned", lambda: CreditRun.objects.exclude(pk__in=before).exists(), 30)
    run = CreditRun.objects.exclude(pk__in=before).get()
    started = re.compile(rf"credit run {run.pk} chunk (\d+) started on bulk@w1")
    group = layout.pids["w1-bulk"]

    def in_flight() -> int | None:
        """Once worker 1 has committed a tenth of the chunks, freeze it and return the chunk it is in the middle
        of (started, not committed); or thaw it again."""
        numbers = [int(n) for n in started.findall(log_text(layout, "w1-bulk"))]
        if not numbers or CreditRunChunk.objects.filter(run=run, worker="bulk@w1").count() < run.chunks_total / 10:
            return None
        os.killpg(group, signal.SIGSTOP)
        numbers = [int(n) for n in started.findall(log_text(layout, "w1-bulk"))]
        if not CreditRunChunk.objects.filter(run=run, number=numbers[-1]).exists():
            return numbers[-1]
        os.killpg(group, signal.SIGCONT)
        return None

    frozen: list[int] = []

    def caught() -> bool:
        number = in_flight()
        if number is not None:
            frozen.append(number)
        return number is not None

    wait_for("worker 1 in the middle of a chunk", caught, 60, layout, "w1-bulk")
    done_then = CreditRun.objects.get(pk=run.pk).chunks_done
    stop(layout, "w1-bulk", signal.SIGKILL)
    killed_at = time.time()
    say(f"   froze bulk@w1 in chunk {frozen[0]} ({done_then} of {run.chunks_total} chunks done) and killed it")
    wait_for("the run done", lambda: CreditRun.objects.get(pk=run.pk).status != CreditRun.Status.RUNNING,
             VISIBILITY_TIMEOUT + 90, layout, "w2-bulk")
    run.refresh_from_db()
    chunks = list(CreditRunChunk.objects.filter(run=run).order_by("number"))
    by_worker = dict(CreditRunChunk.objects.filter(run=run).values_list("worker").annotate(n=Count("id")))
    taken_over = next(c for c in chunks if c.number == frozen[0])
    say(f"   run {run.pk}: {run.status}, {run.chunks_done}/{run.chunks_total} chunks, {run.entries_created} entries, "
        f"{run.amount_total} yuan; chunks by worker {by_worker}")
    say(f"   chunk {frozen[0]} was run again by {taken_over.worker}, "
        f"{taken_over.started_at.timestamp() - killed_at:.1f} s after the kill (visibility timeout "
        f"{VISIBILITY_TIMEOUT} s)")
    check(run.status == CreditRun.Status.DONE and run.chunks_done == run.chunks_total == len(chunks),
          "the run completed, each chunk counted once")
    check(set(by_worker) == {"bulk@w1", "bulk@w2"}, "the chunks were spread over both workers")
    check(taken_over.worker == "bulk@w2", f"the killed worker's chunk {frozen[0]} was taken over by bulk@w2")
    rerun = credits_run_month(month=run.period)
    check(rerun.entries_created == 0, "a re-run of the month credits nothing: every credit landed, and once")
    problems = ledger_verify()
    check(not problems, "verify_ledger: every account agrees with its ledger")
    worker_up(layout, 1, "bulk")
    say("   bulk@w1 started again")


def beats(layout: Layout, window: float) -> None:
    say("6. two beats, one leader")
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    name = "topology: beat check (every second)"
    sending = re.compile(rf"Sending due task {re.escape(name)}")

    def sends() -> dict[str, int]:
        return {b: len(sending.findall(log_text(layout, b))) for b in ("beat1", "beat2")}

    leader = "beat1" if "leading" in log_text(layout, "beat1") else "beat2"
    standby = "beat2" if leader == "beat1" else "beat1"
    task = PeriodicTask.objects.create(name=name, task="core.tasks.import_jobs_fail_stale_task", interval=every)
    wait_for("the leader sending the new task", lambda: sends()[leader] > 0, 20, layout, leader)
    start = sends()
    time.sleep(window)
    during = {b: sends()[b] - start[b] for b in start}
    say(f"   {window:.0f} s with both beats running: sends {during} (leader {leader})")
    check(during[standby] == 0 and 0 < during[leader] <= window + 1, "only the leader sent")
    stop(layout, leader, signal.SIGKILL)
    killed = time.monotonic()
    wait_for("the standby taking over", lambda: sends()[standby] > 0, 30, layout, standby)
    say(f"   killed {leader}; {standby} sent its first run {time.monotonic() - killed:.1f} s later")
    time.sleep(window / 2)
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)  # not save(): it would write back a stale count
    PeriodicTasks.update_changed()
    time.sleep(1.5)
    total = sum(sends().values())
    task.refresh_from_db()
    stamps = sorted(datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
                    for b in ("beat1", "beat2")
                    for m in re.finditer(rf"\[(\S+ \S+): INFO/MainProcess\] Scheduler: {sending.pattern}",
                                         log_text(layout, b)))
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
    say(f"   {total} runs sent, {task.total_run_count} claimed in the database; shortest gap between two sends "
        f"{min(gaps):.2f} s")
    check(task.total_run_count == total and min(gaps) > 0.5, "no run was sent twice")
    task.delete()


def demo(args: argparse.Namespace) -> int:
    layout = Layout.make(args)
    began = time.monotonic()
    failed = None
    try:
        up(layout)
        for step in (lambda: settle_bench(layout, args.seconds), lambda: cache_propagation(layout),
                     lambda: replica_streams(layout), lambda: app_node_killed(layout, args.seconds),
                     lambda: credit_run_spread(layout), lambda: beats(layout, args.seconds)):
            step_began = time.monotonic()
            step()
            say(f"   ({time.monotonic() - step_began:.0f} s)")
    except CheckFailed as e:
        failed = str(e)
    except Exception as e:  # noqa: BLE001  (the topology is stopped whatever went wrong)
        import traceback

        failed = "".join(traceback.format_exception(e))
    finally:
        if failed and args.keep:
            say(f"logs kept in {layout.path / 'logs'}")
        elif failed:
            for name in ("nginx-error", "app1", "app2", "w1-bulk", "w2-bulk", "beat1", "beat2"):
                tail = log_text(layout, name).splitlines()[-15:]
                if tail:
                    say(f"--- {name} (last lines)\n" + "\n".join(tail))
        down(layout, keep=args.keep)
    if failed:
        say(f"FAILED: {failed}")
        return 1
    say(f"topology demo: every check passed in {time.monotonic() - began:.0f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "demo", "pg-up", "pg-down"])
    parser.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "medins-topology"))
    parser.add_argument("--ports", choices=["fixed", "auto"], default="fixed")
    parser.add_argument("--base-port", type=int, default=8110)
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--app-nodes", type=int, default=2)
    parser.add_argument("--app-workers", type=int, default=2, help="gunicorn workers per app node")
    parser.add_argument("--worker-nodes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8, help="length of the load runs and of the beat window")
    parser.add_argument("--fast", action="store_true", help="PostgreSQL without fsync (throwaway data: CI)")
    parser.add_argument("--keep", action="store_true", help="demo: keep the directory and its logs")
    args = parser.parse_args()
    if args.command in ("up", "demo", "pg-up") and Path(args.dir, "state.json").exists():
        sys.exit(f"{args.dir} holds a running topology: `down --dir {args.dir}` first")
    if args.command == "demo":
        return demo(args)
    if args.command == "up":
        layout = Layout.make(args)
        try:
            up(layout)
        except BaseException:
            down(layout)
            raise
        say(f"stop it with: {PYTHON} deploy/local_topology.py down --dir {layout.dir}")
        return 0
    if args.command == "pg-up":
        layout = Layout.make(args)
        layout.path.mkdir(parents=True, exist_ok=True)
        layout.save()
        try:
            pg_pair_up(layout)
        except BaseException:
            pg_pair_down(layout)
            raise
        print(f"export PG_PRIMARY_PORT={layout.pg_port} PG_REPLICA_PORT={layout.replica_port}")
        return 0
    if not Path(args.dir, "state.json").exists():
        return 0
    down(Layout.load(args.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
