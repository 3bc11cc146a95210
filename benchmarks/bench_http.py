"""HTTP benchmarks against gunicorn on 127.0.0.1 with 2 workers, on PostgreSQL and Redis.

1. Evaluations: anonymous POST /api/v1/evaluate from concurrent clients; throughput and
   p50/p99 latency (targets: >= 300 evaluations/s, p99 < 50 ms).
2. Mixed workload: 50 respondents, each with their own browser session, save answers page
   by page through the questionnaire for 60 s; afterwards every respondent's stored
   answers must equal the last save the server acknowledged (zero lost answers).

The load client runs on the same machine and competes with the server for the CPU, so the
figures are a floor. BENCH_HTTP_SECONDS shortens the mixed phase (default 60).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, text

from assess.factors import FACTOR_KEYS
from assess.questionnaire import PAGES
from assess.testing import fresh_postgres, terminate

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
WORKERS = 2
THREADS = 4
EVALUATE_SECONDS = 10.0
EVALUATE_CLIENTS = 4
MIXED_SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "60"))
RESPONDENTS = 50
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def fresh_database() -> AbstractContextManager[str]:
    return fresh_postgres(PG_SERVER, "assess_bench")


def seed(url: str) -> dict[int, str]:
    """Store one engagement with RESPONDENTS invited respondents; return id -> link token."""
    from assess import create_app
    from assess.extensions import db
    from assess.models import Consultant, Engagement, Invitation, Party, Respondent, hash_token

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    links: dict[int, str] = {}
    with app.app_context():
        engagement = Engagement(
            consultant=Consultant(email="bench@example.com", password_hash="x"),
            project_name="Benchmark",
            client_organisation="Load",
        )
        engagement.parties.extend(
            [Party(side="producer", name="P", role=""), Party(side="creator", name="C", role="")]
        )
        tokens = []
        for n in range(RESPONDENTS):
            respondent = Respondent(name=f"R{n}", side="producer", answers={})
            token = Invitation.new_token()
            respondent.invitations.append(Invitation(token_hash=hash_token(token)))
            engagement.respondents.append(respondent)
            tokens.append((respondent, token))
        db.session.add(engagement)
        db.session.commit()
        links = {respondent.id: token for respondent, token in tokens}
        db.engine.dispose()
    return links


def stored_answers(url: str) -> dict[int, dict[str, int]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, answers FROM respondents")).all()
    engine.dispose()
    return {row[0]: dict(row[1]) for row in rows}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_by_process(master: int) -> dict[str, float]:
    """Return the CPU time (user + system) used so far by the master and each worker."""
    tick = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    used = {}
    for pid in [str(master), *children]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


def server_cpu_seconds(master: int) -> float:
    """Return the CPU time (user + system) the server's processes have used so far."""
    return sum(cpu_by_process(master).values())


def worker_shares(before: dict[str, float], after: dict[str, float], master: int) -> str:
    """Describe how the CPU time between two readings was split between the workers."""
    spent = {pid: after[pid] - before.get(pid, 0.0) for pid in after if pid != str(master)}
    total = sum(spent.values()) or 1.0
    return " / ".join(f"{share / total:.0%}" for share in sorted(spent.values(), reverse=True))


@contextmanager
def gunicorn(url: str, prefix: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SESSION_COOKIE_SECURE": "0",
        "ASSESS_API_EVALUATE_LIMIT": "1000000 per minute",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_THREADS": str(THREADS),
        "GUNICORN_ACCESS_LOG": "",
    }
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:assess.serving", "assess:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError("gunicorn exited: " + log.read().decode()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        yield base, process.pid
    finally:
        terminate(process)
        log.close()


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def warm_up(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        body = {k: 3 for k in FACTOR_KEYS}
        for _ in range(WORKERS * THREADS * 4):
            async with session.post(f"{base}/api/v1/evaluate", json=body) as response:
                await response.read()


async def evaluations(base: str, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    rng = random.Random(7)
    stop = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < stop:
            body = {k: rng.randint(1, 5) for k in FACTOR_KEYS}
            started = time.perf_counter()
            try:
                async with session.post(f"{base}/api/v1/evaluate", json=body) as response:
                    await response.read()
                    if response.status != 200:
                        tally.error(f"HTTP {response.status}")
                        continue
            except aiohttp.ClientError as error:
                tally.error(type(error).__name__)
                continue
            tally.latencies_ms.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=EVALUATE_CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(EVALUATE_CLIENTS)))
        elapsed = time.perf_counter() - began
    return tally, elapsed


async def respondents(
    base: str, links: dict[int, str], seconds: float
) -> tuple[Tally, dict[int, dict[str, int]], int]:
    """Each respondent saves pages in turn; return the tally and the acknowledged answers."""
    tally = Tally()
    acknowledged: dict[int, dict[str, int]] = {rid: {} for rid in links}
    saves = 0
    stop = time.perf_counter() + seconds

    async def respondent(rid: int, token: str) -> None:
        nonlocal saves
        rng = random.Random(rid)
        # unsafe: keep cookies for an IP address host (127.0.0.1), as a browser does.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(f"{base}/i/{token}") as page:
                match = CSRF.search(await page.text())
            if match is None:
                tally.error("no CSRF token")
                return
            csrf = match.group(1)
            step = 0
            while time.perf_counter() < stop:
                number = step % len(PAGES) + 1
                answers = {key: rng.randint(1, 5) for key in PAGES[number - 1].keys}
                form = {
                    "csrf_token": csrf,
                    "action": "save",
                    **{k: str(v) for k, v in answers.items()},
                }
                started = time.perf_counter()
                try:
                    # Like a browser: post the page, then follow the redirect to the page
                    # that shows "your answers are saved".
                    async with session.post(
                        f"{base}/i/{token}/step/{number}", data=form
                    ) as response:
                        await response.read()
                        statuses = [r.status for r in response.history] + [response.status]
                except aiohttp.ClientError as error:
                    tally.error(type(error).__name__)
                    continue
                if statuses != [303, 200]:
                    tally.error("HTTP " + "/".join(map(str, statuses)))
                    continue
                tally.latencies_ms.append((time.perf_counter() - started) * 1000)
                acknowledged[rid].update(answers)
                saves += 1
                step += 1
                # A person takes a moment between pages; here a short random pause.
                await asyncio.sleep(rng.uniform(0.0, 0.1))

    await asyncio.gather(*(respondent(rid, token) for rid, token in links.items()))
    return tally, acknowledged, saves


def run() -> str:
    load_before = " / ".join(f"{x:.1f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    prefix = f"assess-bench-{uuid.uuid4().hex[:8]}"
    with fresh_database() as url:
        links = seed(url)
        with gunicorn(url, prefix) as (base, master):
            asyncio.run(warm_up(base))
            by_process, client_before = cpu_by_process(master), time.process_time()
            cpu_before = sum(by_process.values())
            evaluated, eval_seconds = asyncio.run(evaluations(base, EVALUATE_SECONDS))
            shares = worker_shares(by_process, cpu_by_process(master), master)
            cpu_evaluations = server_cpu_seconds(master) - cpu_before
            client_evaluations = time.process_time() - client_before
            mixed, acknowledged, saves = asyncio.run(respondents(base, links, MIXED_SECONDS))
            cpu_saves = server_cpu_seconds(master) - cpu_before - cpu_evaluations
        stored = stored_answers(url)
    _forget_counters(prefix)
    lost = sum(1 for rid, answers in acknowledged.items() if stored.get(rid) != answers)
    rate = len(evaluated.latencies_ms) / eval_seconds
    e50, e99 = percentile(evaluated.latencies_ms, 50), percentile(evaluated.latencies_ms, 99)
    m50, m99 = percentile(mixed.latencies_ms, 50), percentile(mixed.latencies_ms, 99)
    errors = sum(evaluated.errors.values()) + sum(mixed.errors.values())
    verdict = "met" if rate >= 300 and e99 < 50 and errors == 0 and lost == 0 else "NOT met"
    mean_saves = saves / MIXED_SECONDS
    cpu_per_evaluation = cpu_evaluations / max(1, len(evaluated.latencies_ms)) * 1000
    capacity = 1000 / cpu_per_evaluation if cpu_per_evaluation else float("nan")
    client_per_evaluation = client_evaluations / max(1, len(evaluated.latencies_ms)) * 1000
    cores = os.cpu_count() or 1
    # What the same work would reach if this machine's cores ran only server and client.
    projected = cores * 1000 / (cpu_per_evaluation + client_per_evaluation)
    cpu_per_save = cpu_saves / max(1, saves) * 1000
    all_errors = {**evaluated.errors, **mixed.errors}
    rows = [
        (
            f"Evaluations (POST /api/v1/evaluate, {EVALUATE_CLIENTS} concurrent clients, "
            f"{EVALUATE_SECONDS:.0f} s)",
            f"{rate:.0f}/s",
            ">= 300/s",
        ),
        ("Evaluation latency p50 / p99", f"{e50:.1f} / {e99:.1f} ms", "p99 < 50 ms"),
        (
            "Server CPU per evaluation (all gunicorn processes)",
            f"{cpu_per_evaluation:.2f} ms = {capacity:.0f}/s per free core",
            "-",
        ),
        ("Split of that CPU time between the workers", shares, "-"),
        ("Load client CPU per evaluation", f"{client_per_evaluation:.2f} ms", "-"),
        (
            f"Projected evaluations/s with all {cores} cores free for server and client",
            f"{projected:.0f}/s",
            ">= 300/s",
        ),
        (
            f"Mixed: {RESPONDENTS} respondents saving pages for {MIXED_SECONDS:.0f} s",
            f"{saves} saves ({mean_saves:.0f}/s)",
            "-",
        ),
        ("Save latency (post + redirected page) p50 / p99", f"{m50:.1f} / {m99:.1f} ms", "-"),
        ("Server CPU per save (post + redirected page)", f"{cpu_per_save:.2f} ms", "-"),
        ("Errors (both phases)", f"{errors} {all_errors or ''}".strip(), "0"),
        (
            "Respondents whose stored answers differ from their last acknowledged save",
            f"{lost} of {len(acknowledged)}",
            "0",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return f"""## HTTP serving (gunicorn, {WORKERS} workers x {THREADS} threads, PostgreSQL, Redis)

Load from an aiohttp client on the same machine (it shares the CPU with the server); on its
own, `.venv/bin/python -m benchmarks benchmarks.bench_http` writes this page with this section
alone. Load average when it started:
{load_before}.

| measurement | result | target |
|---|---|---|
{table}

Targets {verdict}. Every evaluation answer carries the what-if tipping points, as the CLI's
does (mean evaluation latency {statistics.mean(evaluated.latencies_ms or [0]):.1f} ms).

The speed of these shared machines' cores moves these figures from run to run (server CPU
per evaluation has ranged from 1.5 to 5.2 ms). The clients keep their connections, as a
reverse proxy in front of the node would; the workers close each connection after its
answer (`keepalive = 0` in `assess/serving.py`), so every request goes to whichever worker is
free to accept it. With kept-alive connections a threaded worker accepted all four
connections at times while the other idled (a split near 100% / 0%: 287 evaluations/s on an
Intel Xeon machine where closing them gave 410/s, 50% / 50%). Single-threaded (sync)
workers also split the work evenly, but managed a quarter fewer saves per second in the
mixed workload, where threads overlap database waits; the threaded workers stay.
"""


def _forget_counters(prefix: str) -> None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        client.close()
    except Exception:  # the counters expire on their own; cleaning up is a courtesy
        pass


if __name__ == "__main__":
    print(run())
