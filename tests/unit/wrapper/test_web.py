"""The web package's own parts without the bench: the --listen address, the Host check names,
the login token, the Guard's derived values, and the job registry (jobs run in child
processes, with the actions below standing in for the real ones)."""

import time

import pytest

from infrakt_backup.errors import BadInput, InfraktError, NotFound
from infrakt_backup.web import allowed_hosts, is_loopback, parse_listen, url_host
from infrakt_backup.web.auth import TOKEN_ENV, Guard, _host_name, login_token
from infrakt_backup.web.jobs import Busy, JobRegistry, call_isolated

# The file in the store's home that ends the action `waits`.
RELEASE_NAME = "release"


def ended(job) -> bool:
    """Return whether job ended within 30 seconds."""
    for _ in range(600):
        if job.state != "running":
            return True
        time.sleep(0.05)
    return False


def reports_then_returns(store, *, progress, value):
    """An action: one progress line, then {"home": …, "value": value}."""
    progress("… Step one")
    return {"home": str(store.home), "value": value}


def refuses(store, *, progress, kind):
    """An action that raises `kind` before any progress, as input checks do."""
    raise {"bad": BadInput("bad name"), "unknown": NotFound("unknown database 'x'"),
           "failed": InfraktError("dump failed")}[kind]


def fails_after_progress(store, *, progress):
    progress("… Dump")
    raise InfraktError("Backup of x failed: the dump did not run")


def crashes(store, *, progress):
    progress("… Dump")
    return {}["missing"]


def waits(store, *, progress):
    """Report progress, then wait until the file RELEASE_NAME appears in the store's home."""
    progress("… Waiting")
    while not (store.home / RELEASE_NAME).exists():
        time.sleep(0.05)
    return "released"


@pytest.mark.parametrize(("listen", "parsed"), [("127.0.0.1:8787", ("127.0.0.1", 8787)),
                                                 ("[::1]:9000", ("::1", 9000)), ("localhost:1", ("localhost", 1))])
def test_listen_addresses_are_parsed(listen, parsed):
    assert parse_listen(listen) == parsed


@pytest.mark.parametrize("listen", ["8787", "127.0.0.1", ":8787", "127.0.0.1:0", "127.0.0.1:65536", "host:http"])
def test_bad_listen_addresses_are_bad_input(listen):
    with pytest.raises(BadInput, match="is not HOST:PORT"):
        parse_listen(listen)


def test_loopback_and_host_names():
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.8.0.1", "::1", "localhost"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "::", "192.168.1.2", "example.org"))  # noqa: S104
    assert allowed_hosts("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}
    assert "192.168.1.2" in allowed_hosts("192.168.1.2")
    assert "0.0.0.0" not in allowed_hosts("0.0.0.0")  # noqa: S104
    assert url_host("::1") == "[::1]" and url_host("127.0.0.1") == "127.0.0.1"
    assert [_host_name(header) for header in ("127.0.0.1:8787", "[::1]:8787", "LocalHost", "::1")] == [
        "127.0.0.1", "::1", "localhost", "::1"]


def test_login_token_random_or_fixed(monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    first, second = login_token(), login_token()
    assert first != second and len(first) >= 32
    monkeypatch.setenv(TOKEN_ENV, "a-fixed-token-0123456789")
    assert login_token() == "a-fixed-token-0123456789"
    for bad in ("short", "has spaces in it 0123456789", "x" * 257, "newline\n0123456789abc"):
        monkeypatch.setenv(TOKEN_ENV, bad)
        with pytest.raises(BadInput, match=TOKEN_ENV):
            login_token()


def test_the_cookie_and_csrf_values_are_derived_not_the_token():
    guard = Guard("a-fixed-token-0123456789", 8787, frozenset({"localhost"}))
    other = Guard("another-token-0123456789", 8787, frozenset({"localhost"}))
    assert guard.csrf_token != guard.token and guard.token not in guard.csrf_token
    assert guard.csrf_token != other.csrf_token and guard.cookie_name == "infrakt_session_8787"
    assert guard.is_token("a-fixed-token-0123456789") and not guard.is_token("a-fixed-token-012345678")
    assert not guard.is_token(None)


def test_call_isolated_returns_and_reports(store):
    lines = []
    assert call_isolated(store.home, reports_then_returns, {"value": 7}, lines.append) == {
        "home": str(store.home), "value": 7}
    assert lines == ["… Step one"]


@pytest.mark.parametrize(("kind", "error_class"), [("bad", BadInput), ("unknown", NotFound), ("failed", InfraktError)])
def test_call_isolated_raises_what_the_action_raised(store, kind, error_class):
    with pytest.raises(InfraktError) as raised:
        call_isolated(store.home, refuses, {"kind": kind}, lambda line: None)
    assert type(raised.value) is error_class


def test_a_job_refused_before_progress_is_answered_as_its_error(store):
    jobs = JobRegistry(store.home)
    job = jobs.start("backup", "x", refuses, {"kind": "unknown"})
    assert job.state == "failed" and isinstance(job.error, NotFound) and job.progress == []


def test_a_job_under_way_is_answered_while_it_runs_and_ends_with_its_result(store):
    jobs = JobRegistry(store.home)
    job = jobs.start("backup", "x", waits, {})
    assert job.state == "running" and job.progress == ["… Waiting"]
    with pytest.raises(Busy, match=f"database x already has a backup running \\(job {job.id}\\)"):
        jobs.start("restore", "x", waits, {})
    other = jobs.start("backup", "y", reports_then_returns, {"value": 1})  # another database may run meanwhile
    (store.home / RELEASE_NAME).touch()
    assert ended(job) and ended(other)
    assert jobs.get(job.id).as_dict()["result"] == "released" and jobs.get(job.id).as_dict()["error"] is None
    assert jobs.get(job.id).as_dict()["ended_at"] is not None


def test_failures_after_progress_and_bugs_end_the_job(store):
    jobs = JobRegistry(store.home)
    failed = jobs.start("backup", "x", fails_after_progress, {})
    crashed = jobs.start("backup", "y", crashes, {})
    assert ended(failed) and ended(crashed)
    assert failed.as_dict()["error"] == "Backup of x failed: the dump did not run" and failed.state == "failed"
    assert crashed.state == "failed" and crashed.as_dict()["error"].startswith("unexpected KeyError")
