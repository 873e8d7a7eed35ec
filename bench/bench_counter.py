"""Benchmark: counter latency of `crm serve` under 8 concurrent clients (loopback only).

Builds the points benchmark's store (bench/bench_points.py: N members, 10 ledger rows
each; default 1,000,000 / 10,000,000 on PostgreSQL, 100,000 / 1,000,000 on SQLite), adds
a branch and an API key with the CLI, starts `crm serve` on 127.0.0.1 (a free port) as its
own process, then runs a bounded load: C client threads (default 8), each with one
keep-alive HTTP connection, each sending R requests (default 250) one after another:

* give — POST /api/v1/points/give {phone of an existing member, spend "350.00", a new key};
* card — GET /api/v1/members/PHONE (the card `crm points balance` prints).

Per request: the latency seen by the client (send to full answer). Reported: p50, p90,
p99, max, requests per second over the run, errors (any answer but 200, or a failure),
and the server process's CPU per request. Goals on PostgreSQL at 1,000,000 members:
give p50 <= 15 ms, p99 <= 60 ms, no error.

The server runs with --workers W (default: 1 and 2, each in turn on the same data); its
CPU is that of the whole process tree (the supervisor and its workers).

Building the 1,000,000-member databases takes minutes: --keep-pg / --keep-sqlite leave them
in place (PostgreSQL database crm_bench_counter, SQLite file in the temporary directory),
--reuse uses them again when they hold the requested number of members.

Usage:
    .venv/bin/python bench/bench_counter.py                     # PostgreSQL 1,000,000; SQLite 100,000
    .venv/bin/python bench/bench_counter.py --quick             # 20,000 members each
    .venv/bin/python bench/bench_counter.py --pg-members 200000 --no-sqlite --requests 100
    .venv/bin/python bench/bench_counter.py --reuse --keep-pg --keep-sqlite --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import bench_points as bp  # noqa: E402

PG_DB = "crm_bench_counter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str) -> str:
    """A branch and an API key for the bench store; returns the key."""
    env = dict(os.environ, CRM_ACTOR="bench")
    env.pop("CRM_DATABASE_URL", None)
    c.run_once(c.crm_argv("--db", url, "--store", "bench", "branch", "add", "Counter"), env=env,
               check=False)  # already there when the database is reused
    _, _, out = c.run_once(c.crm_argv("--db", url, "--store", "bench", "--format", "json", "apikey", "create",
                                      "--branch", "Counter", "--label", "bench"), env=env)
    return json.loads(out)["key"]


def existing_members(url: str) -> int | None:
    """Members of the bench store in an existing database (None: no such database or store)."""
    from sqlalchemy import create_engine

    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            n = conn.exec_driver_sql("SELECT COUNT(*) FROM member WHERE store_id = 1").scalar()
        engine.dispose()
        return int(n)
    except Exception:  # noqa: BLE001 - missing database or schema: build it
        return None


class Server:
    def __init__(self, url: str, workers: int = 1):
        self.port = free_port()
        env = dict(os.environ, CRM_ACTOR="bench")
        env.pop("CRM_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            c.crm_argv("--db", url, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                       "--workers", str(workers)),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 120) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"crm serve exited: {self.proc.stderr.read().decode(errors='replace')[-500:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("crm serve did not answer /healthz")

    def cpu(self) -> float:
        """CPU seconds (user + system) of the server and every process under it (its workers)."""
        stats = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    stats[int(d.name)] = (d / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
        tree, grew = {self.proc.pid}, True
        while grew:
            more = {pid for pid, f in stats.items() if int(f[1]) in tree} - tree
            grew = bool(more)
            tree |= more
        ticks = sum(int(stats[pid][11]) + int(stats[pid][12]) for pid in tree if pid in stats)
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Backends:
    """The PostgreSQL server processes serving the bench database (the server's pooled
    connections), for their CPU: the database's share of a request."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine

        self.engine = create_engine(url, pool_size=1)

    def pids(self) -> set[int]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return set(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalars())

    def cpu(self, pids: set[int]) -> float:
        return sum(proc_cpu(pid) for pid in pids)

    def close(self) -> None:
        self.engine.dispose()


def load(server: Server, key: str, kind: str, members: int, clients: int, requests: int, seed: int,
         backends: Backends | None = None) -> dict:
    import http.client

    lat: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    headers = {"Authorization": f"Bearer {key}"}
    give_headers = {**headers, "Content-Type": "application/json"}

    def client(i: int) -> None:
        # the standard library's client on one keep-alive connection: the load generator shares
        # the 2 cores with the server and PostgreSQL, so it should take as little CPU as it can
        # (about half of httpx's per request)
        rng = random.Random(seed * 1000 + i)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", "/healthz")  # the connection is open before the clock starts
            conn.getresponse().read()
            start.wait()
            for j in range(requests):
                phone = f"08{rng.randint(1, members):08d}"
                t = time.perf_counter()
                try:
                    if kind == "give":
                        body = json.dumps({"phone": phone, "spend": "350.00", "key": f"b{seed}-{i}-{j}"})
                        conn.request("POST", "/api/v1/points/give", body=body, headers=give_headers)
                    else:
                        conn.request("GET", f"/api/v1/members/{phone}", headers=headers)
                    r = conn.getresponse()
                    text = r.read()
                    if r.status != 200:
                        errors.append(f"{r.status} {text[:120]!r}")
                except (OSError, http.client.HTTPException) as exc:
                    errors.append(repr(exc)[:120])
                    conn.close()
                lat[i].append(time.perf_counter() - t)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    before = backends.pids() if backends else set()
    db0 = {pid: proc_cpu(pid) for pid in before}
    cpu0, mine0 = server.cpu(), time.process_time()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    cpu, mine = server.cpu() - cpu0, time.process_time() - mine0
    after = backends.pids() if backends else set()
    # a backend that ended during the run took its CPU with it (the before/after counts show
    # whether any did); one that started during it counts whole
    db = (sum(proc_cpu(pid) - db0[pid] for pid in before & after) + backends.cpu(after - before)
          if backends else None)
    xs = sorted(x for part in lat for x in part)
    q = statistics.quantiles(xs, n=100, method="inclusive")
    return {"kind": kind, "requests": len(xs), "clients": clients, "seconds": took, "per_second": len(xs) / took,
            "p50_ms": q[49] * 1000, "p90_ms": q[89] * 1000, "p99_ms": q[98] * 1000, "max_ms": xs[-1] * 1000,
            "errors": len(errors), "first_errors": errors[:3], "server_cpu_ms_per_request": cpu / len(xs) * 1000,
            "db_cpu_ms_per_request": None if db is None else db / len(xs) * 1000,
            "db_backends_before_after": [len(before), len(after), len(before & after)] if backends else None,
            "client_cpu_ms_per_request": mine / len(xs) * 1000, "load": c.load_average()}


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} ms"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-members", type=int, default=None, help="PostgreSQL members (default 1,000,000)")
    ap.add_argument("--sqlite-members", type=int, default=None, help="SQLite members (default 100,000)")
    ap.add_argument("--quick", action="store_true", help="20,000 members each, 100 requests per client")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=None, help="requests per client and kind (default 250)")
    c.add_pg_options(ap)
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--keep-pg", action="store_true", help=f"leave database {PG_DB} in place")
    ap.add_argument("--keep-sqlite", action="store_true", help="leave the SQLite file in place")
    ap.add_argument("--reuse", action="store_true", help="use the kept databases when they have the members asked")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="crm serve --workers, each in turn")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args(argv)
    pg_n = a.pg_members or (20_000 if a.quick else 1_000_000)
    sq_n = a.sqlite_members or (20_000 if a.quick else 100_000)
    reqs = a.requests or (100 if a.quick else 250)
    targets = ([] if a.no_pg else [("PostgreSQL", pg_n)]) + ([] if a.no_sqlite else [("SQLite", sq_n)])
    rows, data, builds = [], {}, []
    for db, n in targets:
        print(f"== {db}: {n:,} members (load {c.load_average()})", flush=True)
        path = None
        if db == "SQLite":
            path = Path(tempfile.gettempdir()) / f"crm_bench_counter_{n}.sqlite3"
            url = f"sqlite:///{path}"
        else:
            from sqlalchemy.engine import make_url

            url = make_url(a.pg_url).set(database=PG_DB).render_as_string(hide_password=False)
        if a.reuse and (db != "SQLite" or path.exists()) and existing_members(url) == n:
            builds.append(f"{db}: {n:,} members / {n * bp.ROWS_PER_MEMBER:,} ledger rows (built before, reused)")
        else:
            took = bp.build_sqlite(path, n) if db == "SQLite" else bp.build_pg(a.pg_url, n, PG_DB)[1]
            builds.append(f"{db}: {n:,} members / {n * bp.ROWS_PER_MEMBER:,} ledger rows, built in {took:.0f} s")
        print("  " + builds[-1], flush=True)
        data[db] = {"members": n}
        try:
            key = prepare(url)
            for workers in a.workers:
                server = Server(url, workers)
                backends = Backends(url) if db == "PostgreSQL" else None
                try:
                    server.wait()
                    load(server, key, "card", n, a.clients, 10, seed=0)  # warm-up: imports, pools, caches
                    for seed, kind in enumerate(("give", "card", "give"), 1):
                        r = load(server, key, kind, n, a.clients, reqs, seed=seed + 10 * workers + int(time.time()),
                                 backends=backends)
                        label = (kind if seed < 3 else "give (again)") + f", {workers} worker{'s' if workers > 1 else ''}"
                        data[db][label] = r
                        goal = ""
                        if db == "PostgreSQL" and kind == "give":
                            met = r["p50_ms"] <= 15 and r["p99_ms"] <= 60 and r["errors"] == 0
                            goal = ("met" if met else "MISSED") + " (p50 <= 15 ms, p99 <= 60 ms, no error)"
                        rows.append([db, f"{n:,}", label, f"{r['requests']:,}", f"{r['p50_ms']:.1f} ms",
                                     f"{r['p90_ms']:.1f} ms", f"{r['p99_ms']:.1f} ms", f"{r['max_ms']:.0f} ms",
                                     f"{r['per_second']:.0f}", str(r["errors"]),
                                     f"{r['server_cpu_ms_per_request']:.2f} ms", _ms(r["db_cpu_ms_per_request"]),
                                     f"{r['client_cpu_ms_per_request']:.2f} ms", r["load"], goal])
                        print(f"  {label}: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['per_second']:.0f}/s, "
                              f"errors {r['errors']} {r['first_errors']}, server CPU "
                              f"{r['server_cpu_ms_per_request']:.2f} ms/req, database CPU {_ms(r['db_cpu_ms_per_request'])} "
                              f"(backends {r['db_backends_before_after']}), client CPU "
                              f"{r['client_cpu_ms_per_request']:.2f} ms/req, load {r['load']}", flush=True)
                finally:
                    server.stop()
                    if backends is not None:
                        backends.close()
        finally:
            if db == "PostgreSQL" and not a.keep_pg:
                c.pg_drop_database(a.pg_url, PG_DB)
            if path is not None and not a.keep_sqlite:
                for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                    p.unlink(missing_ok=True)
    md = "\n\n".join([
        "## Counter latency (`crm serve`, 8 concurrent clients)",
        f"`bench/bench_counter.py`: the points benchmark's store ({'; '.join(builds)}), `crm serve` "
        f"on 127.0.0.1 with {' and then '.join(f'--workers {w}' for w in a.workers)}, {a.clients} client threads in the benchmark process, each on one keep-alive connection "
        f"sending {reqs} requests back to back (give: an existing member, spend 350.00, a new idempotency key; "
        "card: `GET /api/v1/members/PHONE`). Latency as the client sees it; requests/s over the whole run; "
        "CPU per request from /proc: the server (the process and its workers), PostgreSQL (the backends serving "
        "the server's connections) and the clients (the benchmark process). The clients, the server and PostgreSQL share the 2 cores.",
        c.table(["database", "members", "requests", "n", "p50", "p90", "p99", "max", "per second", "errors",
                 "server CPU / request", "database CPU / request", "client CPU / request", "load avg", "goal"], rows),
    ])
    print()
    print(md)
    if not a.no_write:
        c.write_section("counter", md)
        c.write_json("counter", {"clients": a.clients, "requests_per_client": reqs, "builds": builds, **data})
    return 0


if __name__ == "__main__":
    sys.exit(main())
