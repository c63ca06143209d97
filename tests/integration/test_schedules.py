"""Scheduled backups end to end on the bench: the real cron daemon runs a `* * * * *` schedule
installed by `infrakt-backup schedule set` (local file, S3 object, status file), then the job is
run the way cron runs it (`env -i` with cron's PATH, no TTY) for the failure cases: a run that
finds the previous one still running, S3 down (with the /fail ping at a loopback receiver),
the database down, retention, and the S3 settings changing under the schedules.

The bench server is this machine, so the files the role writes are read here directly."""

import fcntl
import json
import os
import subprocess
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import run_state, signing
from infrakt_backup.store import Store
from tests.integration.plays import plant_backup, sha256_of
from tests.integration.scratch import free_port, postgres_table_locked, unique
from tests.integration.wrapper_cli import (
    CONFIG_DIR,
    SCRIPT_DIR,
    SERVER_BACKUPS,
    Wrapper,
    crontab_entries,
    registered,
    registered_scratch_postgres,
)

# root's crontab, /etc/infrakt and the status files are this machine's: one xdist worker runs these
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("server_global")]

STATE_DIR = Path("/var/lib/infrakt-backup")
LOG_DIR = Path("/var/log/infrakt-backup")
S3_DIR = Path("/etc/infrakt/s3")
CRON_PATH = "/usr/bin:/bin"  # what cron gives a job
CRON_WAIT = 150  # seconds: a `* * * * *` entry runs within a minute of being installed (plus the run)


def status_file(db_name: str) -> dict:
    return json.loads((STATE_DIR / f"{db_name}.json").read_text())


def run_as_cron(db_name: str, *args: str) -> subprocess.CompletedProcess:
    """Run the database's scheduled job (with args: `--verify`, its drill) the way cron does:
    empty environment but cron's PATH, no TTY, stdin from /dev/null."""
    return subprocess.run(["env", "-i", f"PATH={CRON_PATH}", "HOME=/root", "SHELL=/bin/sh",
                           str(SCRIPT_DIR / f"{db_name}.sh"), *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)


def s3_keys(testbed, prefix: str) -> list[str]:
    s3 = testbed.s3_client()
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=testbed.env["S3_BUCKET"], Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def s3_prefix(cli: Wrapper) -> str:
    return cli.json("settings", "s3", "show")["prefix"]


@contextmanager
def scheduled(cli: Wrapper, db_name: str, *options: str, env=None):
    """Hold a schedule of db_name (schedule set options) for the with block; remove it after."""
    cli.run("schedule", "set", db_name, *options, env=env)
    try:
        yield
    finally:
        cli.run("schedule", "remove", db_name, check=False)
        for path in (STATE_DIR / f"{db_name}.json", LOG_DIR / f"{db_name}.log"):
            path.unlink(missing_ok=True)


class PingReceiver:
    """A loopback HTTP server standing in for healthchecks.io: records (path, body) per request."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                received.append((self.path, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping/{unique('token')}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        return [path for path, _ in self.received]


@pytest.fixture
def pinged():
    receiver = PingReceiver()
    yield receiver
    receiver.server.shutdown()


def test_cron_runs_the_schedule_and_every_file_is_private(wrapper, testbed, pinged):
    with (registered_scratch_postgres(wrapper, "sched_cron") as db,
          scheduled(wrapper, db.name, "--cron", "* * * * *", "--notify", env={"INFRAKT_NOTIFY_URL": pinged.url})):
        assert crontab_entries(db.name) == [f"* * * * * {SCRIPT_DIR}/{db.name}.sh"]
        deadline = time.monotonic() + CRON_WAIT
        while time.monotonic() < deadline:
            path = STATE_DIR / f"{db.name}.json"
            if path.exists() and status_file(db.name).get("result") in ("success", "failed"):
                break
            time.sleep(2)
        status = status_file(db.name)
        assert status["result"] == "success", status
        assert status["trigger"] == "schedule" and status["location"] == "both"
        local = SERVER_BACKUPS / db.name / status["filename"]
        assert sha256_of(local) == status["sha256"] and local.stat().st_size == status["size"]
        key = f"{s3_prefix(wrapper)}/{db.name}/{status['filename']}"
        s3 = testbed.s3_client()
        body = s3.get_object(Bucket=testbed.env["S3_BUCKET"], Key=key)["Body"].read()
        assert len(body) == status["size"]
        sidecar = s3.get_object(Bucket=testbed.env["S3_BUCKET"], Key=key + ".sha256")["Body"].read().decode()
        # signed with the installation's key, which the schedule's config carries
        signing_key = Store(wrapper.home).signing_key()
        signature = signing.signature(signing_key, db.name, status["filename"], status["size"], status["sha256"])
        assert sidecar == f"{status['sha256']}  {status['filename']}\n{signing.SIGNATURE_PREFIX}{signature}\n"
        assert pinged.paths()[:2] == [urlpath(pinged.url) + "/start", urlpath(pinged.url)]
        # re-applying replaces the entry (one, now yearly: cron leaves the rest of the tests alone)
        wrapper.run("schedule", "set", db.name, "--cron", "@yearly")
        assert crontab_entries(db.name) == [f"@yearly {SCRIPT_DIR}/{db.name}.sh"]
        status = status_file(db.name)  # a second minute may have run meanwhile
        listed = wrapper.json("schedule", "list")
        mine = next(item for item in listed if item["database"] == db.name)
        assert mine["installed"] is True and mine["notify_url"].endswith("/****")
        checked = wrapper.json("status")
        row = next(item for item in checked if item["database"] == db.name)
        assert row["ok"] and row["last_success"] == status["last_success"] and row["schedule"] == "@yearly"
        # owners and modes, and no secret anywhere but in the files meant for it
        secrets = [testbed.env["PG_PASSWORD"], testbed.env["S3_SECRET_KEY"], pinged.url, signing_key]
        for path, mode in ((CONFIG_DIR / f"{db.name}.json", 0o600), (SCRIPT_DIR / f"{db.name}.sh", 0o700),
                           (S3_DIR / "credentials", 0o600), (S3_DIR / "config", 0o600), (S3_DIR, 0o700),
                           (STATE_DIR / f"{db.name}.json", 0o600), (LOG_DIR / f"{db.name}.log", 0o600)):
            info = path.stat()
            assert (info.st_uid, info.st_mode & 0o777) == (0, mode), path
        config = (CONFIG_DIR / f"{db.name}.json").read_text()
        assert testbed.env["PG_PASSWORD"] in config and pinged.url in config and signing_key in config
        assert testbed.env["S3_SECRET_KEY"] in (S3_DIR / "credentials").read_text()
        public = (subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout
                  + (SCRIPT_DIR / f"{db.name}.sh").read_text() + (LOG_DIR / f"{db.name}.log").read_text()
                  + "".join(wrapper.transcript))
        for secret in secrets:
            assert secret not in public
    assert crontab_entries(db.name) == []
    assert not (SCRIPT_DIR / f"{db.name}.sh").exists() and not (CONFIG_DIR / f"{db.name}.json").exists()


def urlpath(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_scheduled_restore_drills_run_with_the_backups_lock_and_status(wrapper, testbed):
    with (registered_scratch_postgres(wrapper, "sched_drill") as db,
          scheduled(wrapper, db.name, "--cron", "@yearly", "--verify-cron", "@monthly")):
        assert crontab_entries(db.name) == [f"@yearly {SCRIPT_DIR}/{db.name}.sh",
                                            f"@monthly {SCRIPT_DIR}/{db.name}.sh --verify"]
        created = wrapper.json("backup", "create", db.name)
        with run_state.database_lock(str(STATE_DIR), db.name):  # a backup is running: the drill skips
            skipped = run_as_cron(db.name, "--verify")
        assert skipped.returncode == 0 and "skipped drill" in (LOG_DIR / f"{db.name}.log").read_text()
        ran = run_as_cron(db.name, "--verify")
        assert ran.returncode == 0, ran.stderr
        status = status_file(db.name)
        rows = int(db.psql("SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders)"))
        assert (status["verify_result"], status["verify_filename"], status["verify_counts"]) == (
            "passed", created["filename"], {"tables": 2, "rows": rows})
        assert f"end drill {db.name} ok file={created['filename']} signature=verified" in (
            LOG_DIR / f"{db.name}.log").read_text()
        wrapper.run("schedule", "set", db.name, "--cron", "@yearly", "--no-verify-cron")
        assert crontab_entries(db.name) == [f"@yearly {SCRIPT_DIR}/{db.name}.sh"]


def test_a_run_that_finds_the_previous_one_running_skips_and_exits_0(wrapper, testbed):
    """The first run's dump waits on a locked table; the second finds the lock and skips."""
    with (registered_scratch_postgres(wrapper, "sched_twice") as db,
          scheduled(wrapper, db.name, "--cron", "@yearly")):
        with postgres_table_locked(db, "customers"):
            first = subprocess.Popen(["env", "-i", f"PATH={CRON_PATH}", str(SCRIPT_DIR / f"{db.name}.sh")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 30
            while not (STATE_DIR / f"{db.name}.json").exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            second = run_as_cron(db.name)
            assert second.returncode == 0, second.stderr
            assert "skipped: previous run still running" in (LOG_DIR / f"{db.name}.log").read_text()
            assert status_file(db.name)["last_skipped"] is not None
        assert first.wait(timeout=120) == 0, first.stderr.read()
        assert status_file(db.name)["result"] == "success"
        log = (LOG_DIR / f"{db.name}.log").read_text().splitlines()
        assert sum(line.split(" ", 1)[1].startswith("start ") for line in log) == 1


def test_s3_down_fails_loudly_keeps_the_local_copy_and_pings_fail(wrapper, testbed, pinged):
    env = testbed.env
    with (registered_scratch_postgres(wrapper, "sched_s3down") as db,
          scheduled(wrapper, db.name, "--cron", "@yearly", "--notify", env={"INFRAKT_NOTIFY_URL": pinged.url})):
        prefix = s3_prefix(wrapper)
        wrapper.run("settings", "s3", "set", "--endpoint-url", f"http://127.0.0.1:{free_port()}", "--bucket",
                    env["S3_BUCKET"], "--region", env["S3_REGION"], "--access-key", env["S3_ACCESS_KEY"])
        try:
            failed = run_as_cron(db.name)
        finally:
            wrapper.run("settings", "s3", "set", "--endpoint-url", env["S3_ENDPOINT_URL"], "--bucket",
                        env["S3_BUCKET"], "--region", env["S3_REGION"], "--access-key", env["S3_ACCESS_KEY"])
        assert failed.returncode != 0
        status = status_file(db.name)
        assert status["result"] == "failed" and "upload failed" in status["error"]
        assert status["location"] == "local"
        kept = SERVER_BACKUPS / db.name / status["filename"]
        assert sha256_of(kept) == status["sha256"]
        assert s3_keys(testbed, f"{prefix}/{db.name}/") == []
        assert urlpath(pinged.url) + "/fail" in pinged.paths()
        fail_body = next(body for path, body in pinged.received if path.endswith("/fail"))
        assert "FAILED" in fail_body and env["S3_SECRET_KEY"] not in fail_body
        checked = wrapper.run("status", "--json", check=False)
        assert checked.returncode == 1
        row = next(item for item in json.loads(checked.stdout) if item["database"] == db.name)
        assert not row["ok"] and "upload failed" in row["error"]


def test_database_down_fails_with_no_partial_file(wrapper, testbed):
    env = testbed.env
    name = unique("sched_dbdown")
    with (registered(wrapper, name, env["PG_PASSWORD"], "--engine", "postgres", "--database", "nothere",
                     "--host", env["PG_HOST"], "--port", str(free_port()), "--user", env["PG_USER"]),
          scheduled(wrapper, name, "--cron", "@yearly")):
        failed = run_as_cron(name)
        assert failed.returncode != 0 and "failed" in failed.stderr
        status = status_file(name)
        assert status["result"] == "failed" and "Connection refused" in status["error"]
        assert status["last_success"] is None
        directory = SERVER_BACKUPS / name
        assert not directory.exists() or list(directory.iterdir()) == []
        assert f"end {name} FAILED" in (LOG_DIR / f"{name}.log").read_text()


def test_retention_after_a_scheduled_run(wrapper, testbed):
    """Five older backups locally and in S3, a foreign object, keep-last 3 and keep-local 2: the
    run adds the newest, S3 keeps the three newest with their sidecars and the foreign object,
    the server keeps two."""
    with (registered_scratch_postgres(wrapper, "sched_keep") as db,
          scheduled(wrapper, db.name, "--cron", "@yearly", "--keep-last", "3", "--keep-local", "2")):
        prefix, s3, bucket = s3_prefix(wrapper), testbed.s3_client(), testbed.env["S3_BUCKET"]
        planted = [f"{db.name}_postgres_2026010{day}T030000Z.dump" for day in range(1, 6)]
        for filename in planted:
            path = plant_backup(SERVER_BACKUPS / db.name, filename, b"PGDMP" + filename.encode())
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{db.name}/{filename}", Body=path.read_bytes())
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{db.name}/{filename}.sha256",
                          Body=(path.parent / (filename + ".sha256")).read_bytes())
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{db.name}/notes.txt", Body=b"not a backup")
        ran = run_as_cron(db.name)
        assert ran.returncode == 0, ran.stderr + (LOG_DIR / f"{db.name}.log").read_text()
        newest = status_file(db.name)["filename"]
        kept = [planted[3], planted[4], newest]
        assert s3_keys(testbed, f"{prefix}/{db.name}/") == sorted(
            [f"{prefix}/{db.name}/notes.txt"] + [f"{prefix}/{db.name}/{name}{suffix}"
                                                 for name in kept for suffix in ("", ".sha256")])
        local = sorted(path.name for path in (SERVER_BACKUPS / db.name).iterdir())
        assert local == sorted(f"{name}{suffix}" for name in (planted[4], newest) for suffix in ("", ".sha256"))
        assert "pruned=7" in (LOG_DIR / f"{db.name}.log").read_text()  # 3 in S3, 4 on the server


def test_s3_settings_changes_reach_the_scheduled_servers(wrapper, testbed):
    env = testbed.env
    own = ("--endpoint-url", env["S3_ENDPOINT_URL"], "--bucket", env["S3_BUCKET"], "--region", env["S3_REGION"])
    prefix = s3_prefix(wrapper)
    with (registered_scratch_postgres(wrapper, "sched_keys") as db,
          scheduled(wrapper, db.name, "--cron", "@yearly")):
        assert (S3_DIR / "credentials").exists()
        try:
            deleted = wrapper.run("settings", "s3", "delete")
            assert "now use scheduled backups without S3" in deleted.stdout
            assert not (S3_DIR / "credentials").exists()
            assert json.loads((CONFIG_DIR / f"{db.name}.json").read_text())["s3"] is None
            ran = run_as_cron(db.name)
            assert ran.returncode == 0 and status_file(db.name)["location"] == "local"
            with testbed.s3_user(unique("sched")) as (access_key, secret_key):
                wrapper.run("settings", "s3", "set", *own, "--access-key", access_key, "--prefix", prefix,
                            env={"INFRAKT_S3_SECRET_KEY": secret_key})
                assert f"aws_secret_access_key = {secret_key}" in (S3_DIR / "credentials").read_text()
                ran = run_as_cron(db.name)
                assert ran.returncode == 0, (LOG_DIR / f"{db.name}.log").read_text()
                assert status_file(db.name)["location"] == "both"
            # the user is gone: the next run fails, so it was those credentials the run used
            ran = run_as_cron(db.name)
            assert ran.returncode != 0 and status_file(db.name)["result"] == "failed"
        finally:
            wrapper.run("settings", "s3", "set", *own, "--access-key", env["S3_ACCESS_KEY"], "--prefix", prefix,
                        env={"INFRAKT_S3_SECRET_KEY": env["S3_SECRET_KEY"]})


def test_a_manual_backup_waits_for_the_scheduled_one_and_writes_the_same_status(wrapper, testbed):
    with (registered_scratch_postgres(wrapper, "sched_manual") as db,
          scheduled(wrapper, db.name, "--cron", "@yearly")):
        lock = STATE_DIR / f"{db.name}.lock"
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        released = threading.Timer(4, os.close, [descriptor])
        released.start()
        began = time.monotonic()
        created = wrapper.json("backup", "create", db.name)
        assert time.monotonic() - began >= 3  # it waited for the lock
        status = status_file(db.name)
        assert (status["trigger"], status["result"], status["filename"]) == ("manual", "success", created["filename"])
        assert status["location"] == "both"


def test_bad_cron_expressions_are_refused_in_one_line(wrapper, database):
    for expression in ("* * *", "61 * * * *", "@reboot", "* * * * * rm -rf /"):
        refused = wrapper.run("schedule", "set", database.name, "--cron", expression, check=False)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert wrapper.json("schedule", "list") == [] or all(
        item["database"] != database.name for item in wrapper.json("schedule", "list"))


def test_servers_that_cannot_be_reached_are_named_and_the_rest_updated(wrapper, testbed):
    """A second server nobody answers on: its schedule is stored but not installed, and `settings
    s3 set` updates the bench, names the other and exits 1; `status` says it could not read it."""
    from infrakt_backup.store import Store

    env = testbed.env
    name = unique("gone")
    added = wrapper.run("server", "add", name, "--host", "127.0.0.1", "--port", str(free_port()),
                        "--ssh-key", env["SSH_KEY"], check=False)
    assert added.returncode == 0, added.stderr
    db_name = unique("sched_gone")
    wrapper.run("db", "add", db_name, "--server", name, "--engine", "postgres", "--user", "nobody",
                env={"INFRAKT_DB_PASSWORD": "not-used"})
    try:
        with (registered_scratch_postgres(wrapper, "sched_here") as db,
              scheduled(wrapper, db.name, "--cron", "@yearly")):
            refused = wrapper.run("schedule", "set", db_name, "--cron", "@daily", check=False)
            assert refused.returncode == 1 and "stored but could not be installed" in refused.stderr
            listed = {item["database"]: item["installed"] for item in wrapper.json("schedule", "list")}
            assert listed[db_name] is False and listed[db.name] is True
            updated = wrapper.run("settings", "s3", "set", "--endpoint-url", env["S3_ENDPOINT_URL"], "--bucket",
                                  env["S3_BUCKET"], "--region", env["S3_REGION"], "--access-key",
                                  env["S3_ACCESS_KEY"], check=False)
            assert updated.returncode == 1
            assert "Scheduled backups on bench now use the new S3 settings." in updated.stdout
            assert f"these servers could not be updated: {name}:" in updated.stderr
            checked = wrapper.run("status", "--json", check=False)
            assert checked.returncode == 1
            rows = {row["database"]: row for row in json.loads(checked.stdout)}
            assert not rows[db_name]["ok"] and f"server {name}" in rows[db_name]["error"]
    finally:
        Store(wrapper.home).remove_schedule(db_name)  # its server is gone for good: forget it here
        wrapper.run("db", "remove", db_name)
        wrapper.run("server", "remove", name)
