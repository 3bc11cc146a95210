"""Settings from the environment: a value that cannot work stops the start with one line
naming it; a blank one means the default; the database and gunicorn settings too."""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from servingtools import ROOT, closed_port, dev_server, free_port, node
from sqlalchemy import text
from webtools import ANSWERS

from assess import create_app
from assess.config import ConfigurationError
from assess.extensions import db
from assess.rulebook import DEFAULT_RULES_DIR
from assess.rulebook import load as load_rules


def production_app(database_url: str, **extra: Any) -> Any:
    return create_app(
        {
            "SECRET_KEY": "review",
            "DATABASE_URL": database_url,
            "SERVER_NAME": "localhost",
            "RATELIMIT_STORAGE_URI": "memory://",
            "WTF_CSRF_ENABLED": False,
            **extra,
        }
    )


# --- rate limits that cannot be read stop the start ----------------------------------


@pytest.mark.parametrize(
    "variable",
    [
        "ASSESS_LOGIN_RATE_LIMIT",
        "ASSESS_LINK_RATE_LIMIT",
        "ASSESS_DEVICE_LOGIN_RATE_LIMIT",
        "ASSESS_API_EVALUATE_LIMIT",
        "ASSESS_API_TOKEN_LIMIT",
        "ASSESS_API_BAD_TOKEN_LIMIT",
    ],
)
@pytest.mark.parametrize("value", ["10 per minit", "ten per minute", "10"])
def test_a_rate_limit_that_cannot_be_read_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, database_url: str, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        create_app({"SECRET_KEY": "review", "DATABASE_URL": database_url})


def test_a_mistyped_login_limit_never_leaves_sign_in_unlimited(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("ASSESS_LOGIN_RATE_LIMIT", "10 per minit")
    try:
        app = production_app(database_url)
    except ConfigurationError:
        return  # refused at start: fine
    client = app.test_client()
    codes = [
        client.post("/login", data={"email": "a@b.example", "password": "wrong"}).status_code
        for _ in range(60)
    ]
    assert 429 in codes, "60 failed sign-ins in a row were never limited"


# --- a database that never answers: /healthz says so within seconds -------------------


def test_healthz_answers_503_within_seconds_when_the_database_hangs(tmp_path: Path) -> None:
    # A port that accepts TCP connections (the kernel completes the handshake) but never
    # answers: a hung PostgreSQL, a stuck pooler, a half-open network path.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    try:
        app = production_app(f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing")
        client = app.test_client()
        outcome: dict[str, Any] = {}
        started = time.monotonic()
        probe = threading.Thread(
            target=lambda: outcome.update(response=client.get("/healthz")), daemon=True
        )
        probe.start()
        probe.join(8)
        assert not probe.is_alive(), "/healthz still had not answered after 8 s"
        response = outcome["response"]
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
        assert time.monotonic() - started < 8
    finally:
        silent.close()  # resets the pending connection: a hung probe thread ends too


def test_a_database_that_is_down_never_shows_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with closed_port() as port:
        url = f"postgresql+psycopg://assess:Pa55-w0rd-xyz@127.0.0.1:{port}/assess"
        response = production_app(url).test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
        assert "Pa55" not in response.get_data(as_text=True) + caplog.text
        done = subprocess.run(
            [str(Path(sys.executable).parent / "assess"), "db", "upgrade"],
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.startswith("Error: the database cannot be reached (")
        assert len(done.stderr.splitlines()) == 1 and "Pa55" not in done.stderr


# --- ASSESS_RULES_DIR: the deployment's own rules -------------------------------------


def test_assess_rules_dir_is_the_rules_the_app_decides_with(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    scoring = rules / "10-scoring.yaml"
    scoring.write_text(scoring.read_text() + "\n# this deployment's copy\n")
    expected = load_rules(rules).version
    assert expected != load_rules(DEFAULT_RULES_DIR).version
    monkeypatch.setenv("ASSESS_RULES_DIR", str(rules))
    client = production_app(database_url).test_client()
    response = client.post("/api/v1/evaluate", json=ANSWERS)
    assert response.status_code == 200
    assert response.get_json()["rules_version"] == expected


def test_an_assess_rules_dir_that_does_not_exist_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("ASSESS_RULES_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="ASSESS_RULES_DIR"):
        create_app({"SECRET_KEY": "review", "DATABASE_URL": database_url})


def test_rules_in_assess_rules_dir_that_do_not_load_stop_the_start_in_one_line(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    (rules / "90-bad.yaml").write_text("stage: scorin\nrules: []\n")
    (rules / "91-bad.yaml").write_text("")
    monkeypatch.setenv("ASSESS_RULES_DIR", str(rules))
    with pytest.raises(ConfigurationError) as refused:
        create_app({"SECRET_KEY": "review", "DATABASE_URL": database_url})
    assert refused.value.message == (
        f"the rules in ASSESS_RULES_DIR do not load: {rules / '90-bad.yaml'}: stage: must be "
        "one of: scoring, protocols; 'assess rules check' lists all."
    )


def test_the_project_rules_are_checked_at_start_too(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    """Without ASSESS_RULES_DIR the app decides with rules/, which a deployment from the
    sources may have edited: a mistake stops the start, not the first evaluation."""
    import assess.engine
    import assess.rulebook

    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    (rules / "90-bad.yaml").write_text("")
    monkeypatch.setattr(assess.rulebook, "DEFAULT_RULES_DIR", rules)
    monkeypatch.setattr(assess.engine, "_DEFAULTS", {})
    monkeypatch.delenv("ASSESS_RULES_DIR", raising=False)
    with pytest.raises(ConfigurationError) as refused:
        create_app({"SECRET_KEY": "review", "DATABASE_URL": database_url})
    assert refused.value.message == (
        f"the rules do not load: {rules / '90-bad.yaml'}: file is empty; "
        "'assess rules check' lists all."
    )


# --- bad values stop the start in one line naming the setting --------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ASSESS_PROXY_HOPS", "abc"),
        ("ASSESS_PROXY_HOPS", "-1"),
        ("SIGNOFF_LINK_DAYS", "abc"),
        ("SIGNOFF_LINK_DAYS", "-5"),
        ("SIGNOFF_LINK_DAYS", "0"),
        ("SIGNOFF_LINK_DAYS", "99999999"),
        ("ASSESS_DEVICE_COOKIE_DAYS", "0"),
        ("ASSESS_DEVICE_COOKIE_DAYS", "a year"),
        ("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:abc/test"),
        ("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/test"),
        ("DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1/test"),
        ("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test?foo=bar"),
        ("DATABASE_URL", "sqlite+aiosqlite:///x.sqlite3"),
        ("DATABASE_URL", "sqlite:///x.sqlite3?timeout=abc"),
        ("REDIS_URL", "localhost:6379"),
        ("REDIS_URL", "redis://127.0.0.1:abc/0"),
        ("REDIS_URL", "redis://127.0.0.1:6379/0?socket_timeout=abc"),
        ("REDIS_URL", "redis://127.0.0.1:6379/ratelimits"),
        ("SECRET_KEY", "   "),
        ("SECRET_KEY", "x"),
        ("SECRET_KEY", "change-me-in-production"),
        ("DATABASE_URL", "postgresql+psycopg://"),
        ("DATABASE_URL", "postgresql+psycopg://postgres:pw@127.0.0.1:5432"),
        ("DATABASE_URL", "postgresql+psycopg://postgres:pw@127.0.0.1:5432/"),
        ("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:99999/test"),
        ("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:0/test"),
        ("REDIS_URL", "redis://127.0.0.1:99999/0"),
        # In memory: empty for every connection, gone at exit; upgrading it says "up to date".
        ("DATABASE_URL", "sqlite://"),
        ("DATABASE_URL", "sqlite:///"),
        ("DATABASE_URL", "sqlite:///:memory:"),
        ("PUBLIC_BASE_URL", "assess.example.com"),
        ("PUBLIC_BASE_URL", "ftp://assess.example.com"),
        ("PUBLIC_BASE_URL", "https://"),
        ("PUBLIC_BASE_URL", "https://assess.example.com:abc"),
        ("PUBLIC_BASE_URL", "https://assess.example.com/?next=x"),
        ("PUBLIC_BASE_URL", "https://assess.example.com/a b"),
        # Each would leave every seal without a trusted timestamp, said only in a log line.
        ("SEAL_TSA_URL", "https://"),
        ("SEAL_TSA_URL", "http:///tsa"),
        ("SEAL_TSA_URL", "http://tsa.example.com:abc/"),
        ("SEAL_TSA_URL", "http://tsa example.com/"),
    ],
)
def test_a_bad_setting_is_refused_at_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, database_url: str, variable: str, value: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        create_app()


def test_a_long_secret_key_is_taken_and_a_short_one_never_echoed(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    assert create_app().config["SECRET_KEY"] == "k" * 32
    monkeypatch.setenv("SECRET_KEY", "hunter2hunter2")
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    assert "hunter2" not in str(refused.value)


def test_a_postgresql_database_named_as_an_option_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/?dbname=test"
    monkeypatch.setenv("DATABASE_URL", url)
    assert create_app({"SECRET_KEY": "review"}).config["DATABASE_URL"] == url


@pytest.mark.parametrize("scheme", ["unix", "redis+unix"])
def test_redis_on_a_unix_socket_counts_the_rate_limits(
    monkeypatch: pytest.MonkeyPatch, database_url: str, scheme: str
) -> None:
    monkeypatch.setenv("REDIS_URL", f"{scheme}:///run/redis/redis.sock?db=1")
    app = create_app({"SECRET_KEY": "review", "DATABASE_URL": database_url})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis+unix:///run/redis/redis.sock?db=1"


def test_a_blank_database_url_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "  ")
    app = create_app({"SECRET_KEY": "review"})
    assert app.config["DATABASE_URL"] == (
        f"sqlite:///{os.path.join(app.instance_path, 'assess.sqlite3')}"
    )


@pytest.mark.parametrize(
    "variables",
    [
        ("SEAL_KEY_FILE", "SEAL_CERT_FILE"),
        ("SEAL_KEY_FILE", "SEAL_CERT_FILE", "SEAL_KEY_PASSPHRASE"),
        ("SEAL_TSA_URL",),
        ("SEAL_TSA_ROOT_FILE",),
    ],
)
def test_blank_seal_settings_mean_their_defaults(
    monkeypatch: pytest.MonkeyPatch, database_url: str, variables: tuple[str, ...]
) -> None:
    """README: a blank value (spaces too, as for every other setting) means the default."""
    for variable in variables:
        monkeypatch.setenv(variable, "  ")
    app = create_app({"SECRET_KEY": "k" * 32, "DATABASE_URL": database_url})
    assert all(app.config[variable] is None for variable in variables)


@pytest.mark.parametrize("variable", ["SESSION_COOKIE_SECURE", "ASSESS_RATE_LIMITS"])
def test_an_empty_security_switch_keeps_its_documented_default(
    monkeypatch: pytest.MonkeyPatch, database_url: str, variable: str
) -> None:
    """README: both default to on; an empty value (VAR= in an env file) keeps them on."""
    monkeypatch.setenv(variable, "")
    try:
        app = create_app({"SECRET_KEY": "review", "DATABASE_URL": database_url})
    except ConfigurationError:
        return
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["RATELIMIT_ENABLED"] is True


def test_the_command_line_reports_a_bad_setting_in_one_line(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "ASSESS_PROXY_HOPS": "two"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "assess"), "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "ASSESS_PROXY_HOPS" in done.stderr


def one_line_refusal(done: subprocess.CompletedProcess[str], variable: str) -> None:
    """A start refused as the README promises: not zero, no traceback, one line naming it."""
    assert done.returncode != 0, f"started with a bad {variable}"
    assert "Traceback" not in done.stderr, done.stderr
    refusals = [line for line in done.stderr.splitlines() if variable in line]
    assert len(refusals) == 1, done.stderr
    assert "Error:" in refusals[0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ASSESS_PROXY_HOPS", "two"), ("DATABASE_URL", "nonsense"), ("SECRET_KEY", "x")],
)
def test_flask_commands_report_a_bad_setting_in_one_line(
    variable: str, value: str, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "assess", "routes"],
        env={**os.environ, "DATABASE_URL": database, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    one_line_refusal(done, variable)


# --- gunicorn settings (assess/serving.py) -----------------------------------------------


def load_serving(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import assess.serving"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEB_CONCURRENCY", "abc"),
        ("WEB_CONCURRENCY", "0"),
        ("GUNICORN_THREADS", "0"),
        ("GUNICORN_THREADS", "x"),
        ("GUNICORN_MAX_REQUESTS", "lots"),
        ("GUNICORN_TIMEOUT", "30s"),
        ("GUNICORN_WORKER_CLASS", "eventlet"),
        ("BIND", "127.0.0.1:99999"),
        ("BIND", "127.0.0.1:http"),
        ("BIND", "[::1]:-1"),
    ],
)
def test_a_bad_gunicorn_setting_fails_at_start_in_one_line(variable: str, value: str) -> None:
    loaded = load_serving(**{variable: value})
    assert loaded.returncode != 0, f"{variable}={value!r} was accepted"
    assert "Traceback" not in loaded.stderr
    assert variable in loaded.stderr


def test_blank_gunicorn_settings_mean_their_defaults() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import assess.serving as s; print(s.bind, s.worker_class, s.forwarded_allow_ips)",
        ],
        env={**os.environ, "BIND": "", "GUNICORN_WORKER_CLASS": " ", "FORWARDED_ALLOW_IPS": ""},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["127.0.0.1:8000", "gthread", "127.0.0.1"]


@pytest.mark.parametrize(("value", "shown"), [(" ", "None"), ("\t", "None"), (" - ", "'-'")])
def test_a_blank_access_log_is_off_and_never_a_file_named_by_spaces(value: str, shown: str) -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import assess.serving as s; print(repr(s.accesslog))"],
        env={**os.environ, "GUNICORN_ACCESS_LOG": value},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == shown


def test_web_concurrency_zero_does_not_start_a_server_that_never_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "0",
        "GUNICORN_ACCESS_LOG": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'assess.sqlite3'}",
        "SECRET_KEY": "k" * 32,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:assess.serving", "assess:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.terminate()
        server.wait(timeout=10)
        pytest.fail("gunicorn kept running with WEB_CONCURRENCY=0 and no worker to answer")
    assert server.returncode != 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ASSESS_PROXY_HOPS", "two"),
        ("DATABASE_URL", "nonsense"),
        ("SECRET_KEY", "x"),
        ("REDIS_URL", "localhost:6379"),
    ],
)
def test_a_bad_app_setting_stops_gunicorn_in_one_line(
    variable: str, value: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{free_port()}",
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'assess.sqlite3'}",
        "SECRET_KEY": "k" * 32,
        variable: value,
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:assess.serving"]
    try:
        done = subprocess.run(
            [*command, "assess:create_app()"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"gunicorn kept running with {variable}={value!r}")
    one_line_refusal(done, variable)


# --- a 405 page says which methods are allowed -----------------------------------------


def test_the_405_page_says_which_methods_are_allowed(client: FlaskClient) -> None:
    response = client.delete("/login")
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert response.headers.get("Allow"), "405 without Allow (RFC 9110 section 15.5.6)"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert client.delete("/api/v1/evaluate").headers.get("Allow")


def test_a_blank_rate_limit_means_the_default(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("ASSESS_LOGIN_RATE_LIMIT", "  ")
    monkeypatch.setenv("RATELIMIT_KEY_PREFIX", "")
    app = create_app({"SECRET_KEY": "review", "DATABASE_URL": database_url})
    assert app.config["LOGIN_RATE_LIMIT"] == "10 per minute;50 per hour"
    assert app.config["RATELIMIT_KEY_PREFIX"] == "assess"


def test_the_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    fresh, older = tmp_path / "fresh.sqlite3", tmp_path / "older.sqlite3"
    older.touch(mode=0o644)
    older.chmod(0o644)
    for path in (fresh, older):
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}"})
        with app.app_context():
            db.session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            db.session.commit()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_access_log_keeps_no_personal_link(tmp_path: Path) -> None:
    # Only a fingerprint of a personal link is stored: a log line must not keep it whole,
    # for whoever reads the logs could then answer, or approve a charter, in someone's name.
    import requests

    from assess.commands import upgrade_database

    database = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    upgrade_database(database)
    log = tmp_path / "access.log"
    secret = "Qx7TqS0b3rVq1mJ9kA2cL5dF8gH4jK6nP0sU3wY7zB1"
    settings = {"GUNICORN_ACCESS_LOG": str(log), "DATABASE_URL": database, "SECRET_KEY": "k" * 32}
    with node(settings) as server:
        for path in (f"/i/{secret}", f"/i/{secret}/step/2?return_to=review", f"/sign/{secret}"):
            requests.get(server.url + path, timeout=10, headers={"Referer": server.url + path})
    logged = log.read_text(encoding="utf-8")
    assert "/i/" in logged and "/sign/" in logged and "/step/2?return_to=review" in logged
    assert secret not in logged


def test_the_gunicorn_error_log_keeps_no_personal_link(tmp_path: Path) -> None:
    # gunicorn names the request it could not handle in its own log: a request line it
    # refuses, or a request whose answer failed ("Error handling request /i/...").
    from assess.commands import upgrade_database

    database = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    upgrade_database(database)
    secret = "Qx7TqS0b3rVq1mJ9kA2cL5dF8gH4jK6nP0sU3wY7zB1"
    with node({"DATABASE_URL": database, "SECRET_KEY": "k" * 32}) as server:
        for path in (f"/i/{secret}/step/2", f"/sign/{secret}"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sent:
                sent.sendall(f"GET {path}\r\n\r\n".encode())  # no HTTP version: refused
                assert sent.recv(100).startswith(b"HTTP/1.1 400")
        deadline = time.monotonic() + 10
        while server.stderr().count("Invalid request") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        logged = server.stderr()
    assert "GET /i/<hidden>/step/2" in logged and "GET /sign/<hidden>" in logged, logged
    assert secret not in logged


def test_the_development_server_log_keeps_no_personal_link(tmp_path: Path) -> None:
    import requests

    from assess.commands import upgrade_database

    database = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    upgrade_database(database)
    secret = "Qx7TqS0b3rVq1mJ9kA2cL5dF8gH4jK6nP0sU3wY7zB1"
    settings = {"DATABASE_URL": database, "SECRET_KEY": "k" * 32}
    with dev_server(settings) as server:
        for path in (f"/i/{secret}/step/2?return_to=review", f"/sign/{secret}/charter.pdf"):
            requests.get(server.url + path, timeout=10)
    printed = re.sub(r"\x1b\[[0-9;]*m", "", server.printed)  # without its colours
    assert "GET /i/<hidden>/step/2?return_to=review HTTP/1.1" in printed
    assert "GET /sign/<hidden>/charter.pdf HTTP/1.1" in printed
    assert secret not in printed


def test_every_route_taking_a_personal_link_keeps_it_out_of_the_logs(app: Flask) -> None:
    from assess.access_log import HIDDEN, without_link_tokens

    secret = "Qx7TqS0b3rVq1mJ9kA2cL5dF8gH4jK6nP0sU3wY7zB1"
    urls = app.url_map.bind("localhost")
    routes = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert {rule.rule.split("/")[1] for rule in routes} == {"i", "sign"}
    for rule in routes:
        values = {name: secret if name == "token" else 2 for name in rule.arguments}
        path = urls.build(rule.endpoint, values)
        assert without_link_tokens(f"GET {path} HTTP/1.1") == (
            f"GET {path.replace(secret, HIDDEN)} HTTP/1.1"
        ), rule.rule


def test_assess_run_signs_in_over_plain_http_as_make_run_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A browser sends a cookie marked Secure back over https only: on http://127.0.0.1 the
    # session would never come back, and signing in would fail without a word.
    import requests
    from webtools import PASSWORD, make_consultant

    from assess.commands import upgrade_database

    database = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    upgrade_database(database)
    make_consultant(create_app({"DATABASE_URL": database, "SECRET_KEY": "k" * 32}))
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    settings = {"DATABASE_URL": database, "SECRET_KEY": "k" * 32}
    with dev_server(settings) as server, requests.Session() as browser:
        page = browser.get(f"{server.url}/login", timeout=10)
        assert "secure" not in page.headers["Set-Cookie"].lower()
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert token, "the sign-in page carries no CSRF token"
        form = {"csrf_token": token.group(1), "email": "cara@example.com", "password": PASSWORD}
        signed_in = browser.post(f"{server.url}/login", data=form, timeout=10)
        assert signed_in.url == f"{server.url}/engagements", signed_in.text[-500:]
    # Said in so many words, the setting stands.
    with dev_server({**settings, "SESSION_COOKIE_SECURE": "1"}) as server:
        cookie = requests.get(f"{server.url}/login", timeout=10).headers["Set-Cookie"]
        assert "secure" in cookie.lower()


# --- the instance folder: where the kept secret key and the SQLite database live ----------


def instance_at(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make the app's instance folder this one (in production it is beside assess/)."""
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(folder))


@pytest.mark.parametrize("problem", ["a file", "under a file", "unwritable", "key is a folder"])
def test_an_instance_folder_that_cannot_be_used_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, problem: str
) -> None:
    folder = tmp_path / "instance"
    if problem == "a file":
        folder.write_text("")
    elif problem == "under a file":
        (tmp_path / "checkout").write_text("")
        folder = tmp_path / "checkout" / "instance"
    elif problem == "unwritable":
        folder.mkdir()

        def refused(*args: Any, **kwargs: Any) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("assess.config.os.open", refused)
    else:
        (folder / "secret_key").mkdir(parents=True)
    instance_at(monkeypatch, folder)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'assess.sqlite3'}")
    with pytest.raises(ConfigurationError) as refused_start:
        create_app()
    message = refused_start.value.message
    assert str(folder) in message and "SECRET_KEY" in message, message
    assert "\n" not in message


@pytest.mark.parametrize("kept", ["", "\n", "abc123"])
def test_a_kept_secret_key_that_is_empty_or_short_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kept: str
) -> None:
    # An empty key would let the app start and then fail every page that has a form.
    (tmp_path / "secret_key").write_text(kept)
    instance_at(monkeypatch, tmp_path)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'assess.sqlite3'}")
    with pytest.raises(ConfigurationError, match="secret_key") as refused:
        create_app()
    assert "SECRET_KEY" in refused.value.message and (kept.strip() or "~") not in (
        refused.value.message.replace(str(tmp_path), "")
    )


def test_the_kept_secret_key_is_made_once_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    instance_at(monkeypatch, tmp_path / "instance")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'assess.sqlite3'}")
    first = create_app().config["SECRET_KEY"]
    assert len(first) >= 32 and create_app().config["SECRET_KEY"] == first
    assert os.listdir(tmp_path / "instance") == ["secret_key"]
    assert stat.S_IMODE((tmp_path / "instance" / "secret_key").stat().st_mode) == 0o600


# --- Redis unreachable: rate limits count per process, and the log says so ----------------


def test_redis_unreachable_is_said_at_start_and_when_rate_limits_fall_back(
    tmp_path: Path,
) -> None:
    import requests

    from assess.commands import upgrade_database

    database = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    upgrade_database(database)
    with closed_port() as port:
        settings = {
            "DATABASE_URL": database,
            "SECRET_KEY": "k" * 32,
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        }
        with node(settings) as server:
            answered = requests.post(f"{server.url}/api/v1/evaluate", json=ANSWERS, timeout=10)
            assert answered.status_code == 200  # the app keeps serving, as documented
            time.sleep(0.5)
            printed = server.stderr()
    assert "Traceback" not in printed
    warned = [line for line in printed.splitlines() if "REDIS_URL" in line]
    assert len(warned) == 1 and "Redis does not answer" in warned[0], printed
    assert "in each process's memory" in warned[0]
    assert "Rate limit storage unreachable" in printed, printed


def start_check(**env: str) -> subprocess.CompletedProcess[str]:
    """Run the check gunicorn runs before it listens (assess.serving.on_starting)."""
    environment = {name: value for name, value in os.environ.items() if name != "SECRET_KEY"}
    return subprocess.run(
        [sys.executable, "-c", "from assess.serving import check_app; check_app()"],
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_a_shared_database_without_secret_key_is_said_at_start(tmp_path: Path) -> None:
    # Nodes sharing a PostgreSQL database each make their own key without it: a consultant
    # signed in on one is signed out by the next, and forms posted to another are refused.
    shared = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    done = start_check(DATABASE_URL=shared)
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "SECRET_KEY" in line]
    assert len(warned) == 1 and warned[0].startswith("Warning: SECRET_KEY is not set"), done.stderr
    assert start_check(DATABASE_URL=shared, SECRET_KEY="k" * 32).stderr == ""
    # One SQLite file serves one machine: the kept key is the same for all its processes.
    assert start_check(DATABASE_URL=f"sqlite:///{tmp_path / 'assess.sqlite3'}").stderr == ""


# --- make serve: gunicorn reads WEB_CONCURRENCY itself, before assess.serving ---------------


@pytest.mark.parametrize("value", ["abc", "2x"])
def test_make_serve_refuses_a_web_concurrency_gunicorn_cannot_read_in_one_line(
    value: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'assess.sqlite3'}",
        "SECRET_KEY": "k" * 32,
        "BIND": f"127.0.0.1:{free_port()}",
        "WEB_CONCURRENCY": value,
    }
    done = subprocess.run(
        ["make", "-s", "serve"], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    refusals = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert refusals == [f"Error: WEB_CONCURRENCY must be a whole number from 1 to 256: {value!r}"]


def test_make_serve_takes_a_blank_web_concurrency_as_the_default(tmp_path: Path) -> None:
    import requests

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'assess.sqlite3'}",
        "SECRET_KEY": "k" * 32,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": " ",
        "GUNICORN_ACCESS_LOG": "",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            ["make", "-s", "serve"],
            env=env,
            stdout=output,
            stderr=output,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        answered = 0
        while time.monotonic() < deadline and server.poll() is None and answered != 200:
            try:
                answered = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
            except requests.RequestException:
                time.sleep(0.2)
        assert answered == 200, log.read_text()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)  # make and the gunicorn it started
        server.wait(timeout=30)
    assert "Traceback" not in log.read_text()


def test_a_request_waiting_on_sqlite_gets_its_answer_before_gunicorn_kills_the_worker(
    tmp_path: Path,
) -> None:
    """A writer kept waiting by another's transaction gives up (503, briefly unavailable)
    while the worker may still answer, not after gunicorn has killed it mid-request."""
    app = production_app(f"sqlite:///{tmp_path / 'assess.sqlite3'}")
    with app.app_context():
        waits_ms = db.session.execute(text("PRAGMA busy_timeout")).scalar_one()
    loaded = subprocess.run(
        [sys.executable, "-c", "import assess.serving as s; print(s.timeout)"],
        env={k: v for k, v in os.environ.items() if k != "GUNICORN_TIMEOUT"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert loaded.returncode == 0, loaded.stderr
    worker_timeout_s = int(loaded.stdout)
    assert 5_000 <= waits_ms <= (worker_timeout_s - 5) * 1000
