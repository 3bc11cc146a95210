"""Real app processes for the serving tests: a fresh PostgreSQL database and gunicorn nodes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from assess.testing import fresh_postgres as throwaway_postgres
from assess.testing import terminate

PG_SERVER = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


def assess_command(
    *args: str, env: dict[str, str], given: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the `assess` command line in its own process, as a terminal would."""
    return subprocess.run(
        [sys.executable, "-m", "assess.cli", *args],
        input=given,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def fresh_postgres(server_url: str = PG_SERVER) -> Iterator[str]:
    """Create a migrated PostgreSQL database for one serving test; drop it afterwards."""
    with throwaway_postgres(server_url, "assess_serving") as url:
        yield url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def closed_port() -> Iterator[int]:
    """Hold a loopback port that refuses every connection: bound but not listening, so no
    server started meanwhile (by this test or a parallel one) can take it over."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port: int = holder.getsockname()[1]
        yield port


class Node:
    """One gunicorn app process (master + workers) on a loopback port."""

    def __init__(self, env: dict[str, str], workers: int = 1, threads: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: a full pipe would block the server's logging.
        self.log = tempfile.TemporaryFile()
        environment = {
            **os.environ,
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_ACCESS_LOG": "",
            "SESSION_COOKIE_SECURE": "0",
            **env,
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:assess.serving",
                "assess:create_app()",
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.stderr()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        printed = self.stderr()  # before stopping closes the log
        self.stop()
        raise RuntimeError(f"gunicorn did not become healthy: {printed}")

    def workers(self) -> list[int]:
        """Return the process ids of this node's workers."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        terminate(self.process)
        self.log.close()


@contextmanager
def node(env: dict[str, str], workers: int = 1) -> Iterator[Node]:
    started = Node(env, workers=workers)
    try:
        yield started
    finally:
        started.stop()


class DevServer:
    """`assess run`, the development server, on a loopback port, its output in a file."""

    def __init__(self, env: dict[str, str], *options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.printed = ""  # all it wrote, once stopped
        command = [str(Path(sys.executable).parent / "assess"), "run", "--no-reload"]
        self.process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(self.port), *options],
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                requests.get(f"{self.url}/healthz", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"assess run did not start: {self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        terminate(self.process)


@contextmanager
def dev_server(env: dict[str, str], *options: str) -> Iterator[DevServer]:
    """Run `assess run` with these settings; its output stays readable after it stops."""
    started = DevServer(env, *options)
    try:
        yield started
    finally:
        started.stop()
        started.printed = started.output()
        started.log.close()
