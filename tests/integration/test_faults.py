"""Faults a backup meets, through the CLI as a user runs it (issue 9, suite "Faults"): the S3
server down, a wrong access key, a wrong secret, a missing bucket, `kill -9` of the CLI
mid-upload, the server's disk full during a dump, the database down (and refusing the
password), two backups of one database at the same moment.

Each case ends the same way: nothing lost (a backup made before the faults keeps its bytes on
the server and its S3 object; a failed upload keeps its local copy), no temporary credentials
left (no runner directory in the CLI's XDG_RUNTIME_DIR, which is this module's own; no new
directory under the server's credential bases holding this module's keys: its runs use an
IAM user of its own, which tells them from a parallel session's), one line on stderr that
says what failed, and exit code 1. A table lock (timeouts) and an SSH connection killed
mid-upload are covered where those fixes are."""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import signing
from tests.integration.leaks import credential_dirs, lingering_credential_dirs, pids_running
from tests.integration.plays import sha256_of
from tests.integration.scratch import Postgres, free_port, postgres_table_locked, scratch_database, unique
from tests.integration.wrapper_cli import (
    CLI,
    SERVER_BACKUPS,
    Wrapper,
    registered,
    registered_scratch_postgres,
)

pytestmark = pytest.mark.integration
PROGRESS_MARK = "… "  # the CLI's progress lines on stderr, one per task
WRONG_ACCESS_KEY = "AKIAFAULTSUNKNOWNKEY"


@pytest.fixture(scope="module")
def runtime_dir(wrapper):
    """A tmpfs directory of this module's own as every run's XDG_RUNTIME_DIR: the runner puts
    its directories there, so whatever a run leaves is found there and nowhere else."""
    directory = Path(tempfile.mkdtemp(prefix="infrakt-faults-", dir="/dev/shm"))
    wrapper.env["XDG_RUNTIME_DIR"] = str(directory)
    yield directory
    del wrapper.env["XDG_RUNTIME_DIR"]
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def own_s3(testbed):
    """The IAM user of this module's own: the credential directories its runs leave on the
    server hold its access key, so they are told apart from a parallel session's."""
    user = SimpleNamespace(name=unique("infrakt-faults"), access_key=None, secret_key=None, s3_pid=None)
    yield user
    testbed.remove_s3_user(user.name)


def use_own_s3_user(cli: Wrapper, own) -> None:
    """Make the module's IAM user (again, when another session restarted the shared S3 server,
    which forgets it) and save it in cli's S3 settings."""
    s3_pid = cli.testbed.components["s3"].pid()
    if own.s3_pid != s3_pid:
        own.access_key, own.secret_key = cli.testbed.add_s3_user(own.name)
        own.s3_pid = s3_pid
        save_s3_settings(cli, access_key=own.access_key, secret_key=own.secret_key)


@pytest.fixture(autouse=True)
def own_s3_user(wrapper, own_s3):
    """Every test runs with the module's IAM user in the wrapper's S3 settings."""
    use_own_s3_user(wrapper, own_s3)


def save_s3_settings(cli: Wrapper, *, access_key: str, secret_key: str, endpoint_url=None, bucket=None) -> None:
    """Save S3 settings in cli: the bench S3 server's, but for what is given (the prefix stays)."""
    env = cli.testbed.env
    cli.run("settings", "s3", "set", "--endpoint-url", endpoint_url or env["S3_ENDPOINT_URL"],
            "--bucket", bucket or env["S3_BUCKET"], "--region", env["S3_REGION"], "--access-key", access_key,
            env={"INFRAKT_S3_SECRET_KEY": secret_key})


@pytest.fixture(scope="module")
def database(wrapper, runtime_dir):
    """A scratch PostgreSQL database (sample data) registered in the wrapper."""
    with registered_scratch_postgres(wrapper, "sample_faults") as scratch:
        yield scratch


@pytest.fixture(scope="module")
def kept(wrapper, database, testbed, own_s3):
    """A backup made before the faults, on the server and in S3; every fault must leave it as it is."""
    use_own_s3_user(wrapper, own_s3)
    created = wrapper.json("backup", "create", database.name)
    return SimpleNamespace(db_name=database.name, filename=created["filename"], sha256=created["sha256"],
                           path=Path(created["path"]), s3_key=created["s3_key"], s3_pid=testbed.components["s3"].pid())


def assert_failed_in_one_line(failed: subprocess.CompletedProcess, *causes: str) -> None:
    """Assert exit code 1 and, besides the progress lines (`… <task>`), one line on stderr,
    naming every one of causes; no traceback."""
    assert failed.returncode == 1, failed.stderr
    lines = [line for line in failed.stderr.strip().splitlines() if not line.startswith(PROGRESS_MARK)]
    assert len(lines) == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    for cause in causes:
        assert cause in lines[0], lines[0]


def assert_signed_sidecar(text: str, sha256: str, filename: str) -> None:
    """Assert text is the sidecar of a backup the CLI made: the sha256sum line, then the
    signature line (signing.py)."""
    assert re.fullmatch(rf"{sha256}  {re.escape(filename)}\n{re.escape(signing.SIGNATURE_PREFIX)}[0-9a-f]{{64}}\n",
                        text), text


def assert_nothing_left_or_lost(cli: Wrapper, kept, credentials_before: set[Path], own) -> None:
    """Assert the run left no runner directory and no server credentials (of own's key or the
    wrong one), and the kept backup is whole on the server and (unless another session
    restarted the S3 server, which empties it) in S3."""
    testbed = cli.testbed
    assert list(Path(cli.env["XDG_RUNTIME_DIR"]).iterdir()) == [], "a runner directory (vars file) was left"
    assert lingering_credential_dirs(credentials_before, (own.access_key, WRONG_ACCESS_KEY)) == set(), \
        "temporary S3 credentials were left"
    assert sha256_of(kept.path) == kept.sha256
    assert_signed_sidecar((kept.path.parent / (kept.filename + ".sha256")).read_text(), kept.sha256, kept.filename)
    if testbed.components["s3"].pid() == kept.s3_pid:
        s3, bucket = testbed.s3_client(), testbed.env["S3_BUCKET"]
        body = s3.get_object(Bucket=bucket, Key=kept.s3_key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == kept.sha256
        sidecar = s3.get_object(Bucket=bucket, Key=kept.s3_key + ".sha256")["Body"].read().decode()
        assert_signed_sidecar(sidecar, kept.sha256, kept.filename)


def local_backups(db_name: str) -> list[Path]:
    """The backups (not sidecars) in db_name's directory on the server, by name."""
    return sorted(path for path in (SERVER_BACKUPS / db_name).iterdir() if not path.name.endswith(".sha256"))


@contextmanager
def s3_settings(cli: Wrapper, own, **changes):
    """Hold S3 settings that differ from own's (save_s3_settings' access_key, secret_key,
    endpoint_url, bucket) for the with block; put own's back after."""
    save_s3_settings(cli, **{"access_key": own.access_key, "secret_key": own.secret_key, **changes})
    try:
        yield
    finally:
        save_s3_settings(cli, access_key=own.access_key, secret_key=own.secret_key)


def upload_failed_keeping(failed, db_name: str, new_before: list[Path]) -> Path:
    """Assert the failed backup's upload kept its new local copy (sha256 as its sidecar says,
    path named on stderr); return the copy, which the caller removes."""
    (new,) = set(local_backups(db_name)) - set(new_before)
    assert f"The local backup is intact on bench at {new}." in failed.stderr
    assert_signed_sidecar(new.with_name(new.name + ".sha256").read_text(), sha256_of(new), new.name)
    return new


def remove_backup(path: Path) -> None:
    """Delete a backup the test made and its sidecar from the server."""
    path.unlink()
    path.with_name(path.name + ".sha256").unlink()


@pytest.mark.parametrize(("settings", "cause"), [
    ({"access_key": WRONG_ACCESS_KEY}, "does not know the access key (InvalidAccessKeyId)"),
    ({"secret_key": "wrong-secret-" + "x" * 27}, "the secret key does not match the access key"),
    ({"bucket": "infrakt-faults-no-such-bucket"}, "bucket infrakt-faults-no-such-bucket does not exist"),
    ({"endpoint_url": "http://127.0.0.1:{port}"}, "cannot reach the S3 endpoint http://127.0.0.1:"),
], ids=["wrong-access-key", "wrong-secret", "missing-bucket", "s3-server-down"])
def test_s3_failing_the_upload_keeps_the_local_copy(wrapper, kept, own_s3, settings, cause):
    """S3 server down: an endpoint where nobody listens, as a stopped server looks to a client
    (stopping the shared bench's S3 server would not hold: any other session's bench start
    brings it back at once, and it empties every other session's bucket)."""
    if "endpoint_url" in settings:
        settings = {"endpoint_url": settings["endpoint_url"].format(port=free_port())}
    before, credentials_before = local_backups(kept.db_name), credential_dirs()
    with s3_settings(wrapper, own_s3, **settings):
        failed = wrapper.run("backup", "create", kept.db_name, check=False)
    assert_failed_in_one_line(failed, "Upload of", cause)
    output = failed.stdout + failed.stderr
    assert own_s3.secret_key not in output and settings.get("secret_key", own_s3.secret_key) not in output
    new = upload_failed_keeping(failed, kept.db_name, before)
    listed = wrapper.json("backup", "list", kept.db_name)
    assert {item["filename"]: item["location"] for item in listed}[new.name] == "local"
    remove_backup(new)
    assert_nothing_left_or_lost(wrapper, kept, credentials_before, own_s3)


@pytest.mark.parametrize(("where", "cause"), [
    ("port", "Connection refused"),
    ("password", "password authentication failed"),
], ids=["database-down", "wrong-password"])
def test_a_failing_dump_exits_non_zero_and_leaves_no_file(wrapper, kept, own_s3, testbed, where, cause):
    env = testbed.env
    port = str(free_port()) if where == "port" else env["PG_PORT"]
    password = f"not-the-password-{unique('pw')}"
    name, credentials_before = unique("sample_dumpfails"), credential_dirs()
    with registered(wrapper, name, password, "--engine", "postgres", "--database", env["PG_DATABASE"],
                    "--host", env["PG_HOST"], "--port", port, "--user", env["PG_USER"]):
        failed = wrapper.run("backup", "create", name, check=False)
        directory = SERVER_BACKUPS / name
        assert not directory.exists() or list(directory.iterdir()) == []
    assert_failed_in_one_line(failed, f"Backup of {name} failed", cause)
    assert password not in failed.stderr
    assert_nothing_left_or_lost(wrapper, kept, credentials_before, own_s3)


@pytest.fixture
def full_disk_server(wrapper, tmp_path):
    """A second server entry for the bench sshd, `bench-full`, whose backup dir is a 1 MiB tmpfs;
    yields the mount point. Unmounted and removed after."""
    mount_point = Path(tempfile.mkdtemp(prefix="infrakt-full-", dir="/mnt"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount_point)], check=True)
    env = wrapper.testbed.env
    try:
        wrapper.run("server", "add", "bench-full", "--host", env["SSH_HOST"], "--port", env["SSH_PORT"],
                    "--ssh-key", env["SSH_KEY"], "--backup-dir", str(mount_point))
        yield mount_point
    finally:
        wrapper.run("server", "remove", "bench-full", check=False)
        subprocess.run(["umount", str(mount_point)], check=True)
        mount_point.rmdir()


def test_disk_full_during_a_dump_keeps_the_earlier_backup_and_leaves_no_partial(
        wrapper, kept, own_s3, testbed, full_disk_server):
    env = testbed.env
    credentials_before = credential_dirs()
    with scratch_database(Postgres(env, unique("sample_full"))) as scratch:
        wrapper.run("db", "add", scratch.name, "--server", "bench-full", "--engine", "postgres", "--database",
                    scratch.name, "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", env["PG_USER"],
                    env={"INFRAKT_DB_PASSWORD": env["PG_PASSWORD"]})
        try:
            earlier = wrapper.json("backup", "create", scratch.name, "--no-upload")
            # fill the backup dir but for 8 KiB, less than the sample database's dump
            free = os.statvfs(full_disk_server)
            with (full_disk_server / "filler").open("wb") as filler:
                os.posix_fallocate(filler.fileno(), 0, free.f_bavail * free.f_frsize - 8192)
            failed = wrapper.run("backup", "create", scratch.name, check=False)
            directory = full_disk_server / scratch.name
            left = sorted(path.name for path in directory.iterdir())
        finally:
            wrapper.run("db", "remove", scratch.name, check=False)
    assert_failed_in_one_line(failed, f"Backup of {scratch.name} failed", "No space left on device")
    assert left == [earlier["filename"], earlier["filename"] + ".sha256"], "a partial file was left"
    assert sha256_of(directory / earlier["filename"]) == earlier["sha256"]
    assert_nothing_left_or_lost(wrapper, kept, credentials_before, own_s3)


def test_a_locked_table_makes_the_backup_give_up_after_the_lock_timeout(wrapper, kept, own_s3, database):
    credentials_before = credential_dirs()
    new_before = local_backups(database.name)
    with postgres_table_locked(database, "orders"):
        started = time.monotonic()
        failed = wrapper.run("backup", "create", database.name, "--lock-timeout", "2", check=False)
        took = time.monotonic() - started
    assert_failed_in_one_line(failed, f"Backup of {database.name} failed", "LOCK TABLE public.orders")
    assert took < 120, f"the backup waited {took:.0f} s for the lock"  # a bound, not a timing: it hung before
    assert local_backups(database.name) == new_before, "the failed dump left a file"
    assert_nothing_left_or_lost(wrapper, kept, credentials_before, own_s3)


def test_two_backups_at_the_same_moment_never_share_a_file(wrapper, kept, own_s3, testbed):
    """Both start together: both succeed with files of their own, or (same second, same name)
    one says another backup of that name is being written (or exists) and leaves the other's
    file alone; every file left is a whole pg_dump archive matching its sidecar. Up to three
    pairs, until one pair met in the same second."""
    credentials_before = credential_dirs()
    for _ in range(3):
        if backup_pair_collided(wrapper, kept.db_name, testbed.env):
            break
    assert_nothing_left_or_lost(wrapper, kept, credentials_before, own_s3)


def backup_pair_collided(cli: Wrapper, db_name: str, env: dict) -> bool:
    """Start two `backup create --no-upload` of db_name at once, check what they left (see
    test_two_backups_at_the_same_moment_never_share_a_file), remove their files; return True
    when one of them was refused (both chose the same name)."""
    before = local_backups(db_name)
    runs = [subprocess.Popen([CLI, "backup", "create", db_name, "--no-upload", "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=cli.environment()) for _ in range(2)]
    outputs = [(run.communicate(timeout=300), run.returncode) for run in runs]
    made = set(local_backups(db_name)) - set(before)
    try:
        refused = [stderr for (_, stderr), returncode in outputs if returncode != 0]
        assert len(refused) < 2, outputs
        for stderr in refused:
            assert_failed_in_one_line(subprocess.CompletedProcess([], 1, "", stderr))
            assert "being written right now" in stderr or "already exists" in stderr, stderr
        assert len(made) == 2 - len(refused)
        for path in made:
            assert_signed_sidecar(path.with_name(path.name + ".sha256").read_text(), sha256_of(path), path.name)
            # the database's backups are zstd-compressed (`.dump.zst`): pg_restore reads the archive on stdin
            archive = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout
            listed = subprocess.run([env["PG_BIN_DIR"] + "/pg_restore", "--list"], input=archive, capture_output=True)
            assert listed.returncode == 0 and b"TABLE DATA public customers" in listed.stdout, listed.stderr
        assert not list((SERVER_BACKUPS / db_name).glob("*.partial"))
    finally:
        for path in made:
            remove_backup(path)
    return bool(refused)


@pytest.fixture(scope="module")
def killed_upload(wrapper, runtime_dir, testbed, own_s3):
    """`kill -9` of `backup create` while its dump (32 MiB of noise) is being uploaded from the
    server; then the next CLI command. Yields what was seen: the run directory the kill left,
    the backups on the server, the next command's result, the credential directories left."""
    use_own_s3_user(wrapper, own_s3)
    credentials_before = credential_dirs()
    with registered_scratch_postgres(wrapper, "sample_killed") as scratch:
        scratch.add_noise(32)
        backup = subprocess.Popen([CLI, "backup", "create", scratch.name], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=wrapper.environment())
        deadline = time.monotonic() + 120
        while not (uploading := pids_running("s3", "cp", f"/{scratch.name}/")) and time.monotonic() < deadline:
            if backup.poll() is not None:
                break
            time.sleep(0.01)
        backup.send_signal(signal.SIGKILL)
        backup.wait(timeout=60)
        left_dirs = list(runtime_dir.iterdir())
        deadline = time.monotonic() + 60  # what runs on in the server after the kill (aws s3 cp) ends
        while pids_running("s3", "cp", f"/{scratch.name}/") and time.monotonic() < deadline:
            time.sleep(0.1)
        if testbed.components["s3"].pid() != own_s3.s3_pid:
            pytest.skip("another session restarted the shared S3 server (and forgot this module's key) mid-upload")
        after_kill = SimpleNamespace(uploading=uploading, left_dirs=left_dirs, backups=local_backups(scratch.name))
        after_kill.next_run = wrapper.run("backup", "list", scratch.name, "--json", check=False)
        after_kill.runtime_dir_after = list(runtime_dir.iterdir())
        # the server removes them once the killed run's SSH connection has ended: its master
        # lingers up to ControlPersist (15 s) after its last task
        deadline = time.monotonic() + 60
        while (lingering := lingering_credential_dirs(credentials_before, (own_s3.access_key,))) and \
                time.monotonic() < deadline:
            time.sleep(0.5)
        after_kill.lingering = lingering
        yield after_kill
    for leaked in after_kill.lingering:  # what the killed run left on the server (this module's S3 key)
        shutil.rmtree(leaked, ignore_errors=True)


def test_kill_9_mid_upload_keeps_the_local_copy_and_the_next_command_sweeps_the_run(killed_upload, kept):
    assert killed_upload.uploading, "the upload never started: the kill came too late or too early"
    assert len(killed_upload.left_dirs) == 1, "kill -9 runs no finally: its run directory should be there"
    (backup,) = killed_upload.backups
    assert_signed_sidecar(backup.with_name(backup.name + ".sha256").read_text(), sha256_of(backup), backup.name)
    assert killed_upload.next_run.returncode == 0, killed_upload.next_run.stderr
    assert killed_upload.runtime_dir_after == [], "the next command left the killed run's directory"
    assert sha256_of(kept.path) == kept.sha256


def test_kill_9_mid_upload_leaves_no_credentials_on_the_server(killed_upload):
    assert killed_upload.lingering == set()
