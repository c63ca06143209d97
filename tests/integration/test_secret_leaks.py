"""Where a secret could leak, checked while it happens and afterwards (issue 9, suite "Secret
leaks").

The first test drives a real upload over SSH through the wrapper's runner, with the secret
exported in the caller's environment too: the runner's private_data_dir (scanned from an event
handler on every event), the -vvv output, every process's command line and environment
(sampled during a 64 MiB upload), and what is left on the server afterwards; the same object
then makes the rest of the round trip: list, download, sha256 compare, delete.

The second runs a user's full cycle through the CLI with secrets made to break things (an
emoji, `{{ }}`, quotes, `$()`; an S3 key of its own) and looks everywhere: the SQLite file,
every runner directory while it exists and after, the -vvv output, the server's trees and
crontabs, and process command lines and environments during a large upload. Only root-only
0600 files meant for it may hold a secret, and only while a run lasts."""

import json
import os
import shutil
import stat
import tempfile
import time
import uuid
from fnmatch import fnmatch
from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup import runner
from infrakt_backup.store import Store
from tests.integration.leaks import (
    CREDENTIAL_BASES,
    Holder,
    ProcessWatch,
    TreeWatch,
    credential_dirs,
    files_changed_since,
    files_containing,
    files_holding,
    lingering_credential_dirs,
)
from tests.integration.plays import bench_s3_variables, sha256_of
from tests.integration.scratch import Postgres, scratch_database, unique
from tests.integration.test_runner_hardening import superuser_psql
from tests.integration.wrapper_cli import SERVER_BACKUPS, Wrapper

pytestmark = pytest.mark.integration


@pytest.fixture
def backup_file(tmp_path):
    """A 64 MiB random file on the server (this machine), named like a backup of db `leakcheck`."""
    directory = Path("/opt/infrakt/backups/leakcheck")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / names.backup_filename("leakcheck", "postgres")
    with open(path, "wb") as handle:
        for _ in range(64):
            handle.write(os.urandom(1 << 20))
    yield path
    path.unlink(missing_ok=True)


def test_no_secret_anywhere_during_a_large_upload_then_the_round_trip(testbed, backup_file, monkeypatch, tmp_path):
    env = testbed.env
    # as after `export INFRAKT_S3_SECRET_KEY=…` for `settings s3 set`, the README's way
    monkeypatch.setenv("INFRAKT_S3_SECRET_KEY", env["S3_SECRET_KEY"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", env["S3_SECRET_KEY"])
    secret = env["S3_SECRET_KEY"].encode()
    server = SimpleNamespace(name="bench", host=env["SSH_HOST"], port=int(env["SSH_PORT"]), user=env["SSH_USER"],
                             python_interpreter="/usr/bin/python3", ssh_key_path=env["SSH_KEY"])
    inventory = runner.server_inventory([server], Path(env["SSH_KNOWN_HOSTS"]))
    variables = bench_s3_variables(env, "leakcheck-run", infrakt_aws_bin=env["AWS_BIN"],
                                   infrakt_db_name="leakcheck", infrakt_upload_src=str(backup_file))
    output_lines: list[str] = []
    dir_hits: list[str] = []
    scanned = []

    run_dirs = set()

    def scan_private_data_dir(event, private_data_dir):
        scanned.append(event.get("event"))
        dir_hits.extend(files_containing(private_data_dir, secret))
        run_dir = private_data_dir.parent  # the runner's tmpfs dir: private_data_dir and the vars file
        run_dirs.add(run_dir)
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((run_dir / "vars.yml").stat().st_mode) == 0o600

    left_before = credential_dirs()
    with ProcessWatch([env["S3_SECRET_KEY"]]) as watch:
        run = runner.run_playbook("s3_upload.yml", inventory, variables, verbosity=3,
                                  progress=output_lines.append, on_event=scan_private_data_dir)

    assert run.ok, run.failure
    assert run.result_of("infrakt.backup.s3_object")["size"] == 64 << 20
    assert len(scanned) > 10 and watch.samples > 10
    assert dir_hits == []
    assert watch.hits == []
    joined = "\n".join(output_lines)
    assert "infrakt.backup.s3_object" in joined or "Upload" in joined  # -vvv output was really captured
    assert secret.decode() not in joined
    # those of this bench's key only: a parallel session's runs hold theirs meanwhile
    assert lingering_credential_dirs(left_before, (env["S3_ACCESS_KEY"],)) == set(), \
        "this run left its credentials directory behind"
    assert len(run_dirs) == 1 and not run_dirs.pop().exists(), "the runner's directory outlived the run"
    ansible_tmp = Path("/root/.ansible/tmp")
    if ansible_tmp.exists():
        assert files_containing(ansible_tmp, secret) == []

    # the rest of the round trip through the wrapper's runner: list, download, compare, delete
    filename = backup_file.name
    listed = runner.run_playbook("s3_list.yml", inventory, variables)
    assert listed.ok, listed.failure
    objects = {o["filename"]: o for o in listed.result_of("infrakt.backup.s3_object")["objects"]}
    assert (objects[filename]["size"], objects[filename]["sidecar"]) == (64 << 20, True)
    downloaded = runner.run_playbook("s3_download.yml", inventory, {
        **variables, "infrakt_download_filename": filename, "infrakt_backup_dir": str(tmp_path / "downloads")})
    assert downloaded.ok, downloaded.failure
    assert sha256_of(tmp_path / "downloads" / "leakcheck" / filename) == sha256_of(backup_file)
    deleted = runner.run_playbook("s3_delete.yml", inventory, {**variables, "infrakt_delete_filename": filename})
    assert deleted.ok, deleted.failure
    relisted = runner.run_playbook("s3_list.yml", inventory, variables)
    assert filename not in {o["filename"] for o in relisted.result_of("infrakt.backup.s3_object")["objects"]}


# The trees of the server (this machine) scanned after the cycle, for files changed during it.
SERVER_TREES = [Path(p) for p in ("/tmp", "/run", "/dev/shm", "/opt", "/etc", "/var/log", "/var/spool/cron",
                                  "/etc/cron.d", str(Path.home() / ".ansible"))]
# Not scanned: the session tooling's own job directories (they hold this test's output, not the
# project's files); /proc is not a tree of files (processes are sampled by ProcessWatch). The
# bench's env file and key directories need no exclusion: the secrets here are fresh, the bench
# never saw them.
SKIPPED_DIRS = ("bash_jobs.*", "bash_tool_*")


def secret_holders_allowed(runtime_dir: Path) -> list[str]:
    """The files meant to hold a secret while a run lasts, as globs: the runner's vars file
    (controller), the temporary S3 credentials and the PostgreSQL password file (server, tmpfs)."""
    server = [f"{base}/run-*/{name}" for base in CREDENTIAL_BASES for name in ("credentials", "pgpass")]
    return [f"{runtime_dir}/infrakt-run-*/vars.yml", *server]


def unexpected_holders(holders, allowed: list[str]) -> list:
    """Return the holders that are not root-only 0600 files matching one of allowed's globs."""
    return [holder for holder in holders
            if not (holder.mode == 0o600 and holder.uid == 0 and any(fnmatch(holder.path, glob) for glob in allowed))]


@pytest.fixture
def leak_role(testbed):
    """A scratch PostgreSQL role whose password has an emoji, `{{ }}`, both quotes and `$()`
    (which would touch a canary file if a shell ever ran it), owning a scratch database with
    the sample data and 32 MiB of noise. Yields (database, role, password, tokens): tokens are
    the ASCII parts that no encoding of the password (JSON, YAML, shell quoting) changes."""
    env = testbed.env
    token, canary = uuid.uuid4().hex, Path(f"/tmp/infrakt-canary-{uuid.uuid4().hex}")
    password = f"pw-{token}-\U0001f600-{{{{ lookup('pipe', 'id') }}}}-'\"-$(touch {canary})-`touch {canary}`"
    role = unique("leak_role")
    sql_password = "'" + password.replace("'", "''") + "'"
    superuser_psql(env, f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD {sql_password};")
    try:
        with scratch_database(Postgres({**env, "PG_USER": role, "PG_PASSWORD": password}, unique("sample_leak"))) as db:
            db.add_noise(32)
            yield SimpleNamespace(database=db, role=role, password=password, tokens=[f"pw-{token}", canary.name],
                                  canary=canary)
    finally:
        superuser_psql(env, f"DROP ROLE IF EXISTS {role};")
        canary.unlink(missing_ok=True)


def test_no_secret_anywhere_after_a_full_cycle_through_the_cli(testbed, leak_role, tmp_path):
    """settings s3 set / test, server provision, db add, backup create (a 32 MiB dump), list,
    restore, key rotate — every playbook run at -vvv — with a database password made of
    emoji, `{{ }}`, quotes and `$()`, the S3 secret of an IAM user of this test's own, and the
    installation's signing key.
    While the cycle runs: every file of the runner's directories and the server's credential
    bases read every 20 ms, and every process's command line and environment sampled during
    the backup. After: no runner directory, the SQLite file and the server's trees without the
    secrets, no canary (nothing ran the password's `$()`)."""
    env = testbed.env
    cycle_started = tmp_path / "cycle-started"
    cycle_started.touch()
    time.sleep(0.01)  # files changed from here on have a later ctime
    runtime_dir = Path(tempfile.mkdtemp(prefix="infrakt-leaks-", dir="/dev/shm"))
    database = leak_role.database
    cli = Wrapper(tmp_path / "infrakt", testbed)
    cli.env["XDG_RUNTIME_DIR"] = str(runtime_dir)
    s3_pid = testbed.components["s3"].pid()
    try:
        with testbed.s3_user(unique("infrakt-leaks")) as (access_key, secret_key):
            # the installation's signing key (made on first use) signs the backup and checks the restore
            secrets = [*leak_role.tokens, secret_key, Store(cli.home).signing_key()]
            with TreeWatch([runtime_dir, *CREDENTIAL_BASES], secrets) as trees:
                cli.run("server", "add", "bench", "--host", env["SSH_HOST"], "--port", env["SSH_PORT"],
                        "--ssh-key", env["SSH_KEY"])
                cli.run("-vvv", "server", "provision", "bench")
                cli.run("settings", "s3", "set", "--endpoint-url", env["S3_ENDPOINT_URL"], "--bucket", env["S3_BUCKET"],
                        "--region", env["S3_REGION"], "--access-key", access_key, "--prefix", unique("leaks"),
                        env={"INFRAKT_S3_SECRET_KEY": secret_key})
                cli.run("-vvv", "settings", "s3", "test")
                cli.run("db", "add", database.name, "--server", "bench", "--engine", "postgres", "--database",
                        database.name, "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", leak_role.role,
                        env={"INFRAKT_DB_PASSWORD": leak_role.password})
                stored = files_holding([str(path) for path in cli.home.iterdir()], secrets)
                with ProcessWatch(secrets) as processes:
                    began = time.monotonic()
                    created = json.loads(cli.run("-vvv", "backup", "create", database.name, "--json").stdout)
                    backup_seconds = time.monotonic() - began
                assert created["location"] == "local+s3" and created["size"] > 32 << 20
                listed = json.loads(cli.run("-vvv", "backup", "list", database.name, "--json").stdout)
                assert [item["location"] for item in listed] == ["both"]
                before = database.fingerprint()
                database.damage()
                cli.run("-vvv", "backup", "restore", database.name, created["filename"], "--yes")
                assert database.fingerprint() == before
                cli.run("key", "rotate")
                cli.run("-vvv", "settings", "s3", "test")  # the rotated key still opens the secrets
            rotated = files_holding([str(path) for path in cli.home.iterdir()], secrets)
            changed = files_changed_since(cycle_started, SERVER_TREES, SKIPPED_DIRS)  # the backup among them
            holding = [Holder.of(path) for path in files_holding(changed, secrets)]
            testbed.s3_client().delete_objects(Bucket=env["S3_BUCKET"], Delete={"Objects": [
                {"Key": created["s3_key"]}, {"Key": created["s3_key"] + ".sha256"}]})
    except (AssertionError, json.JSONDecodeError):
        if testbed.components["s3"].pid() != s3_pid:
            pytest.skip("another session restarted the shared S3 server (and forgot this test's IAM user) mid-cycle")
        raise
    finally:
        run_dirs_left = list(runtime_dir.iterdir())
        shutil.rmtree(runtime_dir, ignore_errors=True)
        shutil.rmtree(SERVER_BACKUPS / database.name, ignore_errors=True)

    assert stored == [] and rotated == [], "the SQLite file (or its journal) holds a secret in clear"
    assert trees.samples > 10 and any(path.name.startswith("infrakt-run-") for path in trees.dirs)
    assert unexpected_holders(trees.holders, secret_holders_allowed(runtime_dir)) == []
    assert any(holder.path.endswith("/vars.yml") for holder in trees.holders), "the watch never saw a vars file"
    assert run_dirs_left == [], "a runner directory outlived its run"
    assert processes.samples >= backup_seconds / 0.05, "processes were sampled less often than every 50 ms"
    assert processes.hits == [], "a command line or environment showed a secret"
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in "".join(cli.transcript)  # -vvv output was captured
    assert not any(secret in output for output in cli.transcript for secret in secrets)
    assert str(SERVER_BACKUPS / database.name / created["filename"]) in changed  # the scan saw the cycle's files
    assert unexpected_holders(holding, []) == [], "a file on the server holds a secret"
    assert not leak_role.canary.exists(), "a shell ran the password's $() or backticks"
