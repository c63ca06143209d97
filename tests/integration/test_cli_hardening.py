"""Hardening of the wrapper CLI against the bench (issue 9): an interrupted restore says what
is known about the database (item 4); `backup list` with the S3 server down still shows the
server's local backups (item 9); SSH host keys are pinned by `server add` and checked strictly
afterwards (item 12)."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.scratch import MariaDb, scratch_database, unique
from tests.integration.wrapper_cli import CLI, SERVER_BACKUPS, Wrapper, registered

pytestmark = pytest.mark.integration

# Rows of padding that make a MariaDB restore last several seconds on the bench: longer than
# ansible-runner takes to notice an interrupt (it polls for it every 0.5 s, runner.py).
BULK_ROWS = 800_000
RESTORE_TASK = "… Restore the database from"
FIRST_TASK = "… Look for the local backups"


@contextmanager
def _mariadb_with_a_backup(testbed, wrapper, rows: int):
    """A scratch MariaDB database with the sample tables and `rows` rows of padding, registered
    in the wrapper, with one local backup: (MariaDb, its backup's filename)."""
    env = testbed.env
    with (scratch_database(MariaDb(env, unique("sample_bulk"))) as scratch,
          registered(wrapper, scratch.name, env["MYSQL_PASSWORD"], "--engine", "mariadb", "--database", scratch.name,
                     "--host", env["MYSQL_HOST"], "--port", env["MYSQL_PORT"], "--user", env["MYSQL_USER"])):
        scratch.sql("CREATE TABLE padding (id INT PRIMARY KEY, filler VARCHAR(200));"
                    f" INSERT INTO padding SELECT seq, REPEAT(MD5(seq), 6) FROM seq_1_to_{rows};")
        created = wrapper.json("backup", "create", scratch.name, "--no-upload")
        try:
            yield scratch, created["filename"]
        finally:
            _wait_until_no_session_uses(scratch)


@pytest.fixture
def bulky_mariadb(testbed, wrapper):
    """_mariadb_with_a_backup whose restore lasts several seconds (BULK_ROWS)."""
    with _mariadb_with_a_backup(testbed, wrapper, BULK_ROWS) as database_and_backup:
        yield database_and_backup


@pytest.fixture
def small_mariadb(testbed, wrapper):
    """_mariadb_with_a_backup with a few rows of padding."""
    with _mariadb_with_a_backup(testbed, wrapper, 10) as database_and_backup:
        yield database_and_backup


def _wait_until_no_session_uses(database: MariaDb, timeout: float = 60) -> None:
    """Wait until no client session works in `database` (a restore the interrupted play left
    running on the server), so that dropping it does not race with that restore."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sessions = database.sql(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
            f" WHERE DB = '{database.name}' AND ID <> CONNECTION_ID();",
            database=False,
        )
        if sessions == "0":
            return
        time.sleep(0.5)


def _descendants(pid: int) -> list[int]:
    """Return the ids of every process under process pid (children first)."""
    children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [grandchild for child in children for grandchild in [child, *_descendants(child)]]


def _interrupt_restore(wrapper: Wrapper, db_name: str, filename: str, when: str, interrupt: str):
    """Run `backup restore --yes` and interrupt it once its stderr shows the progress line
    starting with `when`: "SIGTERM" sends SIGTERM to the CLI alone (a `kill PID`), "Ctrl-C"
    SIGINT to its process group, as a terminal does (ansible-playbook runs in a session of its
    own, on ansible-runner's pty, so both reach the CLI only, and ansible-runner stops the play
    at its next poll, up to 0.5 s later); "SIGTERM all" SIGTERM to the CLI and every process under
    it, as systemd stops a unit, which ends the play at once. Return (exit code, stderr)."""
    process = subprocess.Popen(
        [CLI, "backup", "restore", db_name, filename, "--yes"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "INFRAKT_HOME": str(wrapper.home)}, start_new_session=True,
    )
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith(when):
            if interrupt == "Ctrl-C":
                os.killpg(process.pid, signal.SIGINT)
            elif interrupt == "SIGTERM all":
                for pid in [process.pid, *_descendants(process.pid)]:
                    os.kill(pid, signal.SIGTERM)
            else:
                process.send_signal(signal.SIGTERM)
            break
    lines += process.stderr.readlines()
    process.wait(timeout=120)
    return process.returncode, "".join(lines)


@pytest.mark.parametrize("interrupt", ["SIGTERM", "Ctrl-C"])
def test_restore_interrupted_while_loading_says_the_database_may_be_partly_restored(wrapper, bulky_mariadb,
                                                                                     interrupt):
    database, filename = bulky_mariadb
    returncode, stderr = _interrupt_restore(wrapper, database.name, filename, RESTORE_TASK, interrupt)
    assert returncode == 1, stderr
    message = stderr.splitlines()[-1]
    assert message.startswith("infrakt-backup: error: ") and "interrupted" in message, stderr
    assert "may be partly restored" in message and "restore it again" in message, stderr
    assert "before the database was touched" not in stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


def test_restore_interrupted_before_loading_says_the_database_is_untouched(wrapper, small_mariadb):
    database, filename = small_mariadb
    returncode, stderr = _interrupt_restore(wrapper, database.name, filename, FIRST_TASK, "SIGTERM all")
    assert returncode == 1, stderr
    message = stderr.splitlines()[-1]
    assert "interrupted before the database was touched" in message, stderr
    assert RESTORE_TASK not in stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


def test_backup_list_with_s3_down_shows_the_local_backups_and_one_warning(wrapper, testbed):
    db_name = unique("listed")
    filename = f"{db_name}_postgres_20261124T210509Z.dump"
    with registered(wrapper, db_name, "unused", "--engine", "postgres", "--database", db_name):
        backups = SERVER_BACKUPS / db_name
        backups.mkdir(parents=True)
        (backups / filename).write_bytes(b"not a real dump")
        (backups / f"{filename}.sha256").write_text(f"{'a' * 64}  {filename}\n")
        try:
            testbed.stop_s3()
            human = wrapper.run("backup", "list", db_name, check=False)
            as_json = wrapper.run("backup", "list", db_name, "--json", check=False)
        finally:
            testbed.start_s3()
    assert human.returncode == 1, human.stderr
    assert filename in human.stdout and "local" in human.stdout
    warnings = [line for line in human.stderr.splitlines() if not line.startswith("… ")]
    assert len(warnings) == 1 and "S3" in warnings[0] and "local backups" in warnings[0], human.stderr
    assert as_json.returncode == 1
    listed = json.loads(as_json.stdout)
    assert [(item["filename"], item["location"], item["sha256"]) for item in listed] == [(filename, "local", "a" * 64)]
    assert len(as_json.stderr.splitlines()) == 1


# ---------------------------------------------------------------- host keys (item 12)


def _bench_fingerprint(testbed) -> str:
    """The SHA256 fingerprint of the bench sshd's host key, as ssh-keygen prints it."""
    public_key = Path(testbed.env["TESTBED_DIR"]) / "sshd" / "ssh_host_ed25519_key.pub"
    return subprocess.run(["ssh-keygen", "-lf", str(public_key)], capture_output=True, text=True,
                          check=True).stdout.split()[1]


def _add_bench(cli: Wrapper, *options: str, check=True):
    env = cli.testbed.env
    return cli.run("server", "add", "bench", "--host", env["SSH_HOST"], "--port", env["SSH_PORT"],
                   "--ssh-key", env["SSH_KEY"], *options, check=check)


def test_server_add_pins_the_host_key_and_prints_its_fingerprint(testbed, tmp_path):
    cli = Wrapper(tmp_path / "home", testbed)
    added = _add_bench(cli)
    assert _bench_fingerprint(testbed) in added.stdout
    known_hosts = cli.home / "known_hosts"
    assert known_hosts.stat().st_mode & 0o777 == 0o600
    host_key = (Path(testbed.env["TESTBED_DIR"]) / "sshd" / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    assert known_hosts.read_text().splitlines() == [f"[{testbed.env['SSH_HOST']}]:{testbed.env['SSH_PORT']} "
                                                    + " ".join(host_key)]


def test_server_add_refuses_a_fingerprint_that_does_not_match(testbed, tmp_path):
    cli = Wrapper(tmp_path / "home", testbed)
    refused = _add_bench(cli, "--host-key-fingerprint", "SHA256:" + "A" * 43, check=False)
    assert refused.returncode == 2, refused.stderr
    assert len(refused.stderr.splitlines()) == 1 and "fingerprint" in refused.stderr
    assert cli.json("server", "list") == []
    assert not (cli.home / "known_hosts").exists() or not (cli.home / "known_hosts").read_text()
    assert _bench_fingerprint(testbed) in _add_bench(cli, "--host-key-fingerprint", _bench_fingerprint(testbed)).stdout


def _open_shared_master(testbed, home: Path) -> Path:
    """Open an SSH master to the bench server where Ansible's default ControlPath would find it
    (`~/.ansible/cp/<sha1 of host-port-user>[:10]`), without checking its host key — as another
    tool or an earlier run may have left one. Return its socket."""
    env = testbed.env
    name = hashlib.sha1(f"{env['SSH_HOST']}-{env['SSH_PORT']}-{env['SSH_USER']}".encode()).hexdigest()[:10]
    socket_path = home / ".ansible" / "cp" / name
    socket_path.parent.mkdir(parents=True)
    subprocess.run(["ssh", "-f", "-N", "-o", "ControlMaster=yes", "-o", "ControlPersist=60",
                    "-o", f"ControlPath={socket_path}", "-o", "UserKnownHostsFile=/dev/null",
                    "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes", "-i", env["SSH_KEY"],
                    "-p", env["SSH_PORT"], f"{env['SSH_USER']}@{env['SSH_HOST']}"], check=True, capture_output=True)
    return socket_path


@pytest.fixture
def short_home():
    """A HOME directory with a short path: an SSH control socket under it must stay within the
    108 bytes of a socket path with the 17 characters ssh appends (pytest-xdist's tmp_path,
    …/popen-gw1/<test name>0/, is too long for that)."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir="/tmp"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_a_changed_host_key_is_one_clear_error_even_with_a_master_open(testbed, tmp_path, short_home):
    cli = Wrapper(tmp_path / "home", testbed)
    _add_bench(cli)
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known_hosts = cli.home / "known_hosts"
    host = known_hosts.read_text().split()[0]
    known_hosts.write_text(f"{host} {' '.join(other.with_suffix('.pub').read_text().split()[:2])}\n")
    # Each run has its own control sockets: a master left in the shared directory must not
    # carry the run past the pinned key (it did while runs used ~/.ansible/cp).
    shared_master = _open_shared_master(testbed, short_home)
    try:
        failed = cli.run("server", "provision", "bench", env={"HOME": str(short_home)}, check=False)
        assert failed.returncode == 1
        errors = [line for line in failed.stderr.splitlines() if not line.startswith("… ")]
        assert len(errors) == 1, failed.stderr
        assert "host key of server bench" in failed.stderr and "server pin bench" in failed.stderr
        assert "@@@" not in failed.stderr and "IDENTIFICATION" not in failed.stderr
        cli.run("server", "pin", "bench", "--host-key-fingerprint", _bench_fingerprint(testbed))
        cli.run("server", "provision", "bench", env={"HOME": str(short_home)})
    finally:
        subprocess.run(["ssh", "-O", "exit", "-o", f"ControlPath={shared_master}", "bench"], capture_output=True,
                       check=False)
