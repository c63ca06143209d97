"""The REST API of `infrakt-backup web` against the real bench (moto with IAM auth, sshd,
PostgreSQL, root's crontab): each endpoint's success and error paths, the token on every call,
the Host check, the CSRF rule for the session cookie, long operations as jobs (one per database
at a time), and no secret (the ping URL included) in any answer."""

import glob
import os
import re
import subprocess
from contextlib import contextmanager

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.cron_expression import validate_cron
from tests.integration.scratch import free_port, postgres_table_locked, unique, wait_for
from tests.integration.web_server import TOKEN, web_server
from tests.integration.wrapper_cli import CONFIG_DIR, SCRIPT_DIR, SERVER_BACKUPS, crontab_entries, remove_local_copy

# root's crontab, /etc/infrakt and the status files are this machine's: one xdist worker runs these
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("server_global")]

WRONG_SECRET = "wrong-secret-wrong-secret-wrong-secret-1111"  # noqa: S105
PING_URL = f"http://127.0.0.1:9/ping/{unique('ping-token')}"  # never pinged: the schedules are @yearly
BAD_CRON = "61 * * * *"
S3_KEYS = ("provider", "endpoint_url", "bucket", "region", "prefix", "access_key")
# Where a run directory goes (runner.TMPFS_CANDIDATES).
RUN_DIR_BASES = [base for base in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm") if base]
ROUTES = [
    ("GET", "/api/settings/s3"), ("PUT", "/api/settings/s3"), ("DELETE", "/api/settings/s3"),
    ("POST", "/api/settings/s3/test"), ("GET", "/api/servers"), ("GET", "/api/databases"),
    ("GET", "/api/databases/sample/backups"), ("POST", "/api/databases/sample/backup"),
    ("POST", "/api/databases/sample/restore"), ("POST", "/api/databases/sample/prune"), ("GET", "/api/schedules"),
    ("GET", "/api/databases/sample/schedule"), ("PUT", "/api/databases/sample/schedule"),
    ("DELETE", "/api/databases/sample/schedule"), ("POST", "/api/status"), ("GET", "/api/jobs/0123456789abcdef"),
]


@pytest.fixture(scope="module")
def server(wrapper, tmp_path_factory):
    with web_server(wrapper, tmp_path_factory.mktemp("web") / "web.log") as running:
        yield running


def s3_keys(server) -> dict:
    """Return the S3 settings as stored, as the keys a PUT takes (no secret)."""
    shown = server.request("GET", "/api/settings/s3").json()
    return {key: shown[key] for key in S3_KEYS}


def session_cookie(server) -> str:
    """Log in as a browser does (/?token=…) and return the `name=value` of the session cookie."""
    login = server.request("GET", f"/?token={TOKEN}", token=None, follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/"
    set_cookie = login.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie and TOKEN not in set_cookie
    return set_cookie.split(";")[0]


def test_every_call_needs_the_token(server):
    for method, path in ROUTES:
        for headers in ({}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN},
                        {"Cookie": f"infrakt_session_{server.port}={TOKEN}"}):
            answer = server.request(method, path, token=None, headers=headers)
            assert (answer.status_code, answer.json()) == (401, {"error": "unauthorized"}), (method, path, headers)
    page = server.request("GET", "/settings", token=None)
    assert page.status_code == 401 and "<form" not in page.text
    elsewhere = server.request("GET", f"//attacker.example/settings?token={TOKEN}", token=None,
                               follow_redirects=False)
    assert elsewhere.headers["location"] == "/attacker.example/settings"
    wrong_login = server.request("GET", f"/?token={TOKEN}x", token=None, follow_redirects=False)
    assert wrong_login.status_code == 401 and "set-cookie" not in wrong_login.headers


def test_the_host_header_must_name_this_server(server):
    for host in ("attacker.example", f"attacker.example:{server.port}", "127.0.0.2"):
        answer = server.request("GET", "/api/servers", headers={"Host": host})
        assert (answer.status_code, answer.json()) == (400, {"error": "unexpected Host header"}), host
        assert server.request("GET", f"/?token={TOKEN}", token=None, headers={"Host": host}).status_code == 400
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}"):
        assert server.request("GET", "/api/servers", headers={"Host": host}).status_code == 200


def test_the_session_cookie_alone_changes_nothing(server):
    cookie = {"Cookie": session_cookie(server)}
    before = s3_keys(server)
    assert server.request("GET", "/api/settings/s3", token=None, headers=cookie).json()["bucket"] == before["bucket"]
    for method, path, body in (("PUT", "/api/settings/s3", {**before, "region": "eu-west-3"}),
                               ("DELETE", "/api/settings/s3", None), ("POST", "/api/settings/s3/test", {}),
                               ("POST", "/api/databases/sample/backup", {}), ("POST", "/api/status", {}),
                               ("PUT", "/api/databases/sample/schedule", {"cron": "@yearly"})):
        refused = server.request(method, path, token=None, headers=cookie, json=body)
        assert refused.status_code == 403 and "CSRF" in refused.json()["error"], (method, path)
        wrong_token = server.request(method, path, token=None, headers={**cookie, "X-CSRF-Token": "0" * 64},
                                     json=body)
        assert wrong_token.status_code == 403
    assert s3_keys(server) == before

    page = server.request("GET", "/settings", token=None, headers=cookie)
    assert page.status_code == 200 and TOKEN not in page.text
    csrf = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', page.text).group(1)
    saved = server.request("PUT", "/api/settings/s3", token=None, headers={**cookie, "X-CSRF-Token": csrf},
                           json={**before, "region": "eu-west-3"})
    assert saved.status_code == 200 and saved.json()["region"] == "eu-west-3"
    server.request("PUT", "/api/settings/s3", json=before)


def test_answers_carry_the_security_headers(server):
    answer = server.request("GET", "/api/servers")
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"


def test_s3_settings_are_shown_saved_and_deleted(server, testbed):
    env = testbed.env
    shown = server.request("GET", "/api/settings/s3").json()
    assert shown["configured"] is True and shown["secret_key"] == "****" + env["S3_SECRET_KEY"][-4:]
    before = s3_keys(server)
    try:
        kept = server.request("PUT", "/api/settings/s3", json={**before, "region": "eu-west-1"})
        assert kept.status_code == 200
        assert kept.json()["secret_key_kept"] is True and kept.json()["region"] == "eu-west-1"

        for body, status, phrase in (
            ({**before, "bucket": "No_Such_Bucket"}, 400, "is not a valid S3 bucket name"),
            ({**before, "provider": "nowhere"}, 400, "nowhere"),
            ({**before, "prefix": "a/../b"}, 400, "prefix"),
            ({**before, "configured": True}, 400, "unknown field(s): configured"),
            ({**before, "bucket": 5}, 400, "bucket must be a string"),
            ({**before, "secret_key": shown["secret_key"]}, 400, "secret_key is the masked value GET shows"),
            ([before], 400, "must be a JSON object"),
        ):
            refused = server.request("PUT", "/api/settings/s3", json=body)
            assert refused.status_code == status and phrase in refused.json()["error"], (body, refused.text)
        not_json = server.request("PUT", "/api/settings/s3", content=b"bucket=x")
        assert (not_json.status_code, not_json.json()) == (400, {"error": "the request body is not JSON"})
        assert s3_keys(server) == {**before, "region": "eu-west-1"}

        nothing_scheduled = {"servers_updated": [], "servers_failed": []}
        assert kept.json()["schedules"] == nothing_scheduled
        deleted = server.request("DELETE", "/api/settings/s3")
        assert (deleted.status_code, deleted.json()) == (200, {"deleted": True, "schedules": nothing_scheduled})
        assert server.request("GET", "/api/settings/s3").json() == {"configured": False}
        assert server.request("DELETE", "/api/settings/s3").json() == {"deleted": False, "schedules": nothing_scheduled}
        not_configured = server.request("POST", "/api/settings/s3/test")
        assert not_configured.status_code == 400 and "not configured" in not_configured.json()["error"]
        no_secret = server.request("PUT", "/api/settings/s3", json=before)
        assert (no_secret.status_code, no_secret.json()) == (400, {"error": "an S3 secret key is required"})
    finally:
        restored = server.request("PUT", "/api/settings/s3", json={**before, "secret_key": env["S3_SECRET_KEY"]})
    assert restored.status_code == 200 and restored.json()["secret_key_kept"] is False
    assert s3_keys(server) == before


def test_with_scheduled_backups_settings_changes_are_jobs_naming_unreachable_servers(server, wrapper, testbed):
    """A schedule on a server nobody answers on: PUT and DELETE run as jobs (they update the
    scheduled servers) and their result names that server; the settings are stored all the same."""
    from infrakt_backup.store import Store

    name, db_name = unique("gone"), unique("sched_gone")
    before = s3_keys(server)
    wrapper.run("server", "add", name, "--host", "127.0.0.1", "--port", str(free_port()))
    wrapper.run("db", "add", db_name, "--server", name, "--engine", "postgres", env={"INFRAKT_DB_PASSWORD": ""})
    try:
        assert wrapper.run("schedule", "set", db_name, "--cron", "@daily", check=False).returncode == 1  # stored
        saved = server.job(server.request("PUT", "/api/settings/s3", json={**before, "region": "eu-west-2"}))
        assert saved["state"] == "succeeded" and saved["kind"] == "s3_settings_save", saved
        assert saved["result"]["region"] == "eu-west-2" and saved["result"]["schedules"]["servers_updated"] == []
        assert [failed["server"] for failed in saved["result"]["schedules"]["servers_failed"]] == [name]
        assert s3_keys(server)["region"] == "eu-west-2"
        deleted = server.job(server.request("DELETE", "/api/settings/s3"))
        assert deleted["state"] == "succeeded" and deleted["result"]["deleted"] is True
        assert [failed["server"] for failed in deleted["result"]["schedules"]["servers_failed"]] == [name]
    finally:
        Store(wrapper.home).remove_schedule(db_name)  # its server is gone for good: forget it here
        restored = server.request("PUT", "/api/settings/s3",
                                  json={**before, "secret_key": testbed.env["S3_SECRET_KEY"]})
        wrapper.run("db", "remove", db_name)
        wrapper.run("server", "remove", name)
    assert restored.status_code == 200 and s3_keys(server) == before


def test_the_connection_test_is_a_job(server):
    job = server.job(server.request("POST", "/api/settings/s3/test"))
    assert job["state"] == "succeeded" and job["error"] is None and job["kind"] == "s3_test"
    assert job["result"]["server"] == "bench" and job["result"]["steps"] == ["list", "put", "get", "delete"]
    assert any("Probe the bucket" in line for line in job["progress"])
    chosen = server.job(server.request("POST", "/api/settings/s3/test", json={"server": "bench"}))
    assert chosen["state"] == "succeeded"

    unknown = server.request("POST", "/api/settings/s3/test", json={"server": "nope"})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "unknown server 'nope'"})
    assert server.request("POST", "/api/settings/s3/test", json={"server": 5}).status_code == 400
    assert server.request("GET", "/api/jobs/0123456789abcdef").status_code == 404


def test_a_wrong_secret_fails_the_connection_test_in_one_line(server, testbed):
    before = s3_keys(server)
    server.request("PUT", "/api/settings/s3", json={**before, "secret_key": WRONG_SECRET})
    try:
        job = server.job(server.request("POST", "/api/settings/s3/test"))
    finally:
        server.request("PUT", "/api/settings/s3", json={**before, "secret_key": testbed.env["S3_SECRET_KEY"]})
    assert job["state"] == "failed" and job["result"] is None
    assert "SignatureDoesNotMatch" in job["error"] and "\n" not in job["error"]


def test_servers_and_databases_are_listed(server, database):
    assert [entry["name"] for entry in server.request("GET", "/api/servers").json()] == ["bench"]
    listed = {entry["name"]: entry for entry in server.request("GET", "/api/databases").json()}
    assert listed[database.name]["engine"] == "postgres"
    assert listed[database.name]["password_set"] is True and "password" not in listed[database.name]


def backups(server, db_name) -> list[tuple[str, str]]:
    answer = server.request("GET", f"/api/databases/{db_name}/backups")
    assert answer.status_code == 200 and answer.json()["s3_error"] is None, answer.text
    return [(item["filename"], item["location"]) for item in answer.json()["backups"]]


def test_backup_list_and_restore_from_s3(server, database):
    created = server.job(server.request("POST", f"/api/databases/{database.name}/backup"))
    assert created["state"] == "succeeded" and created["kind"] == "backup", created
    filename = created["result"]["filename"]
    assert created["result"]["location"] == "local+s3"
    assert backups(server, database.name) == [(filename, "both")]

    remove_local_copy(database.name, filename)
    assert backups(server, database.name) == [(filename, "s3")]

    before = database.fingerprint()
    database.damage()
    restored = server.job(server.request("POST", f"/api/databases/{database.name}/restore",
                                         json={"filename": filename}))
    assert restored["state"] == "succeeded", restored
    assert restored["result"]["downloaded"] is True and restored["result"]["sha256"]
    assert database.fingerprint() == before
    assert backups(server, database.name) == [(filename, "both")]

    local_only = server.job(server.request("POST", f"/api/databases/{database.name}/backup",
                                           json={"upload_to_s3": False}))
    assert local_only["result"]["location"] == "local"
    assert (local_only["result"]["filename"], "local") in backups(server, database.name)


def test_one_job_per_database_at_a_time(server, database):
    path = f"/api/databases/{database.name}"
    with postgres_table_locked(database, "orders"):  # the dump waits for the lock: the job keeps running
        first = server.request("POST", f"{path}/backup")
        assert first.status_code == 202
        never_made = f"{database.name}_postgres_20260101T000000Z.dump"
        for method, action, body in (("POST", "backup", {}), ("POST", "restore", {"filename": never_made}),
                                     ("POST", "prune", {"dry_run": True}), ("PUT", "schedule", {"cron": "@yearly"}),
                                     ("DELETE", "schedule", None)):
            busy = server.request(method, f"{path}/{action}", json=body)
            assert busy.status_code == 409, busy.text
            assert busy.json() == {"error": f"database {database.name} already has a backup running "
                                            f"(job {first.json()['job']})"}
        assert server.request("GET", f"/api/jobs/{first.json()['job']}").json()["state"] == "running"
    assert server.job(first)["state"] == "succeeded"


def test_bad_input_and_unknown_names(server, database):
    never_made = f"{database.name}_postgres_20260101T000000Z.dump"
    schedule = f"/api/databases/{database.name}/schedule"
    no_schedule = f"database {database.name!r} has no scheduled backups"
    with pytest.raises(ValueError) as bad_cron:
        validate_cron(BAD_CRON)
    for method, path, body, status, error in (
        ("GET", "/api/databases/nope/backups", None, 404, "unknown database 'nope'"),
        ("POST", "/api/databases/nope/backup", {}, 404, "unknown database 'nope'"),
        ("POST", "/api/databases/nope/restore", {"filename": "nope_postgres_20260101T000000Z.dump"}, 404,
         "unknown database 'nope'"),
        ("POST", f"/api/databases/{database.name}/restore", {}, 400, "a backup filename is required"),
        ("POST", f"/api/databases/{database.name}/restore", {"filename": "../../etc/passwd"}, 400,
         "backup filename '../../etc/passwd' must be a plain name from the backup list, not a path"),
        ("POST", f"/api/databases/{database.name}/backup", {"upload_to_s3": "yes"}, 400,
         "upload_to_s3 must be true or false"),
        ("POST", f"/api/databases/{database.name}/backup", {"upload": True}, 400,
         "unknown field(s): upload; expected: upload_to_s3"),
        ("PUT", schedule, {"cron": BAD_CRON}, 400, str(bad_cron.value)),
        ("PUT", schedule, {}, 400, "the cron expression must be text, not None"),
        ("PUT", schedule, {"cron": "@yearly", "keep_local": "7"}, 400, "keep_local must be a whole number"),
        ("PUT", schedule, {"cron": "@yearly", "keep_daily": -1}, 400,
         "keep-daily must be a whole number, at least 0 (not -1)"),
        ("PUT", schedule, {"cron": "@yearly", "notify_url": "ftp://example.org/x"}, 400,
         "the ping URL must start with http:// or https:// and name a host"),
        ("PUT", schedule, {"cron": "@yearly", "notify_url": "https://hc-ping.com/****"}, 400,
         "notify_url is the masked value GET shows: send the ping URL itself, leave it out to keep it, or null to "
         "remove it"),
        ("PUT", schedule, {"cron": "@yearly", "notify": True}, 400, "unknown field(s): notify; expected: cron, "
         "keep_local, keep_last, keep_daily, keep_weekly, keep_monthly, notify_url"),
        ("PUT", "/api/databases/nope/schedule", {"cron": "@yearly"}, 404, "unknown database 'nope'"),
        ("GET", "/api/databases/nope/schedule", None, 404, "unknown database 'nope'"),
        ("GET", schedule, None, 404, no_schedule),
        ("DELETE", schedule, None, 404, no_schedule),
        ("DELETE", "/api/databases/nope/schedule", None, 404, "unknown database 'nope'"),
        ("POST", "/api/databases/nope/prune", {}, 404, "unknown database 'nope'"),
        ("POST", f"/api/databases/{database.name}/prune", {"dry_run": "yes"}, 400, "dry_run must be true or false"),
        ("POST", "/api/status", {"max_age": 0}, 400, "the max age must be a positive number of hours, not 0"),
        ("POST", "/api/status", {"max_age": "26"}, 400, "max_age must be a number"),
        ("GET", "/api/nothing", None, 404, "not found"),
        ("PATCH", "/api/settings/s3", None, 405, "method not allowed"),
    ):
        answer = server.request(method, path, json=body)
        assert (answer.status_code, answer.json()) == (status, {"error": error}), (method, path)
    assert crontab_entries(database.name) == []

    missing = server.job(server.request("POST", f"/api/databases/{database.name}/restore",
                                        json={"filename": never_made}))
    assert missing["state"] == "failed" and never_made in missing["error"], missing
    page = server.request("GET", "/databases/nope", token=None, headers={"Cookie": session_cookie(server)})
    assert page.status_code == 404 and "unknown database" in page.text


def test_a_schedule_is_set_listed_checked_pruned_and_removed(server, wrapper, database):
    """@yearly: the machine's cron daemon never runs it during the tests."""
    path = f"/api/databases/{database.name}/schedule"
    config = CONFIG_DIR / f"{database.name}.json"
    try:
        saved = server.job(server.request("PUT", path, json={"cron": " @yearly ", "keep_local": 3, "keep_daily": 7,
                                                               "notify_url": PING_URL}))
        assert saved["state"] == "succeeded" and saved["kind"] == "schedule_set", saved
        shown = saved["result"]
        assert (shown["cron"], shown["keep_local"], shown["keep_daily"], shown["keep_last"]) == ("@yearly", 3, 7, None)
        assert shown["installed"] is True and shown["notify_url"] == "http://127.0.0.1:9/****"
        assert crontab_entries(database.name) == [f"@yearly {SCRIPT_DIR}/{database.name}.sh"]
        assert (config.stat().st_uid, config.stat().st_mode & 0o777) == (0, 0o600)
        assert PING_URL in config.read_text()
        assert server.request("GET", path).json() == shown
        assert [item for item in server.request("GET", "/api/schedules").json()
                if item["database"] == database.name] == [shown]

        # left out: the retention and the ping URL stay; null removes the ping URL
        kept = server.job(server.request("PUT", path, json={"cron": "@yearly"}))["result"]
        assert (kept["keep_local"], kept["keep_daily"], kept["notify_url"]) == (3, 7, shown["notify_url"])
        unpinged = server.job(server.request("PUT", path, json={"cron": "@yearly", "notify_url": None}))["result"]
        assert unpinged["notify_url"] is None and PING_URL not in config.read_text()

        checked = server.job(server.request("POST", "/api/status", json={"max_age": 1}))
        assert checked["state"] == "succeeded" and checked["kind"] == "status", checked
        row = next(row for row in checked["result"]["databases"] if row["database"] == database.name)
        assert (row["schedule"], row["installed"], row["ok"]) == ("@yearly", True, False)
        assert row["error"] == "scheduled, but no backup has succeeded yet" and checked["result"]["ok"] is False

        filename = server.job(server.request("POST", f"/api/databases/{database.name}/backup"))["result"]["filename"]
        row = next(row for row in server.job(server.request("POST", "/api/status"))["result"]["databases"]
                   if row["database"] == database.name)
        assert row["ok"] is True and row["filename"] == filename and row["age_seconds"] < 600
        pruned = server.job(server.request("POST", f"/api/databases/{database.name}/prune", json={"dry_run": True}))
        assert pruned["state"] == "succeeded" and pruned["kind"] == "prune", pruned
        assert pruned["result"]["dry_run"] is True
        assert pruned["result"]["local"] == {"deleted": [], "kept": [filename]}
        assert pruned["result"]["s3"]["kept"] == [filename]

        removed = server.job(server.request("DELETE", path))
        assert removed["state"] == "succeeded" and removed["kind"] == "schedule_remove", removed
        assert removed["result"] == {"database": database.name, "server": "bench", "removed": True}
        assert crontab_entries(database.name) == [] and not config.exists()
        assert server.request("GET", path).status_code == 404
    finally:
        wrapper.run("schedule", "remove", database.name, check=False)  # gone already unless the test failed


def test_a_server_that_cannot_be_reached_is_502(server, wrapper):
    name = unique("gone")
    wrapper.run("server", "add", name, "--host", "127.0.0.1", "--port", str(free_port()))
    try:
        with registered_on(wrapper, name, unique("gonedb")) as db_name:
            answer = server.request("GET", f"/api/databases/{db_name}/backups")
            assert answer.status_code == 502 and f"server {name}" in answer.json()["error"], answer.text
    finally:
        wrapper.run("server", "remove", name)


@contextmanager
def registered_on(wrapper, server_name, db_name):
    """Register a postgres database db_name (no password) on server server_name for the with
    block; yield its name."""
    wrapper.run("db", "add", db_name, "--server", server_name, "--engine", "postgres", env={"INFRAKT_DB_PASSWORD": ""})
    try:
        yield db_name
    finally:
        wrapper.run("db", "remove", db_name)


def test_the_web_command_refuses_bad_options(wrapper):
    for args, env, phrase in (
        (["--listen", "0.0.0.0:8787"], {}, "pass --allow-remote"),
        (["--listen", "8787"], {}, "is not HOST:PORT"),
        (["--listen", "127.0.0.1:99999"], {}, "is not HOST:PORT"),
        ([], {"INFRAKT_WEB_TOKEN": "short"}, "INFRAKT_WEB_TOKEN must be 16-256"),
    ):
        refused = wrapper.run("web", *args, env=env, check=False)
        assert refused.returncode == 2 and phrase in refused.stderr, (args, refused.stderr)


def test_stopping_the_web_server_ends_its_jobs_and_their_secrets(wrapper, database, tmp_path):
    """SIGTERM to the web server alone, while a backup waits for a table lock: the job's child
    process ends its run through `finally` (the run directory with the secrets vars file goes),
    nothing of it is left running, and the server removes the partial dump."""
    # the server stops while the dump still waits for the lock
    with postgres_table_locked(database, "orders"), web_server(wrapper, tmp_path / "web.log") as stopped:
        assert stopped.request("POST", f"/api/databases/{database.name}/backup").status_code == 202
        children = subprocess.run(["pgrep", "-P", str(stopped.process.pid)], capture_output=True,
                                  text=True).stdout.split()
        run_dirs = [path for child in children for base in RUN_DIR_BASES
                    for path in glob.glob(f"{base}/infrakt-run-{child}-*")]
        assert run_dirs, "the job's run directory was not found"
    assert stopped.process.returncode == 0
    assert [path for path in run_dirs if os.path.exists(path)] == []
    wait_for(lambda: not [child for child in children if running(child)], "the end of the job's processes")
    wait_for(lambda: not list((SERVER_BACKUPS / database.name).glob("*.partial")), "the partial dump's removal")


def running(pid: str) -> bool:
    """Return whether process pid exists and is not a zombie (nobody may reap an orphan here)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_no_answer_and_no_output_carries_a_secret(server, testbed):
    """Runs last: every answer of this module's calls, and all the web server printed (the
    login URL, with the token, is printed on purpose)."""
    env = testbed.env
    secrets = {"S3 secret": env["S3_SECRET_KEY"], "wrong S3 secret": WRONG_SECRET, "PG password": env["PG_PASSWORD"],
               "ping URL": PING_URL}
    assert len(server.answers) > 50
    for what, secret in {**secrets, "login token": TOKEN}.items():
        assert not [answer for answer in server.answers if secret in answer], f"the {what} was in an answer"
    output = server.output()
    assert f"/?token={TOKEN}" in output
    for what, secret in secrets.items():
        assert secret not in output, f"the {what} was in the web server's output"
