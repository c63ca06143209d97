"""The wrapper's runner under conditions a careful user still meets (issue 9, items 2, 3, 6),
on the real bench through the CLI: a PostgreSQL role whose password is outside the Basic
Multilingual Plane, and ansible-playbook errors that quote the vars file; an ansible.cfg that
turns keep_remote_files on; a CLI killed with SIGKILL mid-run, and a machine without a usable
tmpfs for the run's secrets."""

import os
import pwd
import shutil
import signal
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from infrakt_backup import runner
from tests.integration.leaks import files_containing
from tests.integration.scratch import Postgres, scratch_database, unique
from tests.integration.wrapper_cli import CLI, SERVER_BACKUPS, registered, s3_round_trip

pytestmark = pytest.mark.integration


def emoji_password(kind: str) -> str:
    """Return a fresh password ending in an emoji; its ASCII start (before the emoji) is what
    a quoted vars-file line would show, JSON-escaped or not."""
    return f"{kind}-{uuid.uuid4().hex}-\U0001f600\u00e9"


def ascii_part(password: str) -> str:
    return password.split("-\U0001f600")[0]


def superuser_psql(env, sql: str) -> None:
    """Run sql as the bench PostgreSQL's superuser over its socket (sql on stdin)."""
    subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(env["PG_BIN_DIR"], "psql"), "-X", "-q",
                    "-v", "ON_ERROR_STOP=1", "-h", env["PG_SOCKET_DIR"], "-p", env["PG_PORT"], "-d", "postgres"],
                   input=sql, text=True, capture_output=True, check=True)


@contextmanager
def role_database(testbed, wrapper, password: str):
    """Yield a scratch PostgreSQL database (sample data) owned by a scratch role with password,
    registered in the wrapper under the database's name with that password; drop both after."""
    env = testbed.env
    role = unique("scratch_role")
    superuser_psql(env, f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{password}';")
    role_env = {**env, "PG_USER": role, "PG_PASSWORD": password}
    try:
        with (scratch_database(Postgres(role_env, unique("sample_role"))) as scratch,
              registered(wrapper, scratch.name, password, "--engine", "postgres", "--database", scratch.name,
                         "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", role)):
            yield SimpleNamespace(database=scratch, password=password)
    finally:
        superuser_psql(env, f"DROP ROLE IF EXISTS {role};")


@pytest.fixture
def emoji_database(testbed, wrapper):
    """role_database with an emoji password."""
    with role_database(testbed, wrapper, emoji_password("pw")) as database:
        yield database


def test_emoji_password_backs_up_and_restores_through_the_cli(wrapper, emoji_database):
    """Item 2: before the fix every run failed (the vars file's surrogate escapes are not YAML)."""
    database = emoji_database.database
    s3_round_trip(wrapper, database.name, database.fingerprint, database.damage)
    assert not wrapper.said(ascii_part(emoji_database.password))


def test_a_failing_emoji_password_run_at_vvv_never_shows_it(wrapper, testbed):
    """Item 2: a wrong emoji password fails like any wrong password, and -vvv output (before
    the fix: ansible-playbook's YAML error quoting the password line) never holds it."""
    env = testbed.env
    name, password = unique("sample_emoji_wrong"), emoji_password("wrong")
    with registered(wrapper, name, password, "--engine", "postgres", "--database", env["PG_DATABASE"],
                    "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", env["PG_USER"]):
        failed = wrapper.run("-vvv", "backup", "create", name, check=False)
    assert ascii_part(password) not in failed.stdout + failed.stderr
    assert failed.returncode == 1
    assert "password authentication failed" in failed.stderr.splitlines()[-1]


def test_ansible_errors_quoting_the_vars_file_are_shown_without_its_lines(testbed):
    """Item 2: an error whose origin is the vars file (a wrong type for infrakt_hosts, the line
    after the password) shows where, but none of the file's lines, at -vvv and in the failure."""
    env = testbed.env
    password = f"pw-{uuid.uuid4().hex}"
    server = SimpleNamespace(name="bench", host=env["SSH_HOST"], port=int(env["SSH_PORT"]), user=env["SSH_USER"],
                             python_interpreter="/usr/bin/python3", ssh_key_path=env["SSH_KEY"])
    inventory = runner.server_inventory([server], Path(env["SSH_KNOWN_HOSTS"]))
    variables = {"infrakt_db_name": unique("sample_origin"), "infrakt_db_engine": "postgres",
                 "infrakt_db_password": password, "infrakt_hosts": 7}
    output: list[str] = []
    run = runner.run_playbook("backup.yml", inventory, variables, verbosity=3, progress=output.append)
    shown = "\n".join(output) + (run.failure or "")
    assert not run.ok
    assert "Origin: " in shown and "vars.yml:" in shown  # the error still says where
    assert password not in shown
    assert "infrakt_db_password" not in shown


@pytest.fixture
def database(testbed, wrapper):
    """role_database with a password of its own, so that a file holding it on the server is ours to find."""
    with role_database(testbed, wrapper, f"keep-{uuid.uuid4().hex}") as database:
        yield database


def test_keep_remote_files_in_ansible_cfg_leaves_no_secret_on_the_server(wrapper, database, testbed, tmp_path):
    """Item 3: the user's ~/.ansible.cfg (ansible-runner runs ansible-playbook in its
    private_data_dir and passes no ANSIBLE_CONFIG, so ~/.ansible.cfg and /etc/ansible/ansible.cfg
    are the ones read) sets keep_remote_files = True; before the fix pipelining went off and
    the module arguments, password included, stayed under the server user's ~/.ansible/tmp."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / ".ansible.cfg").write_text("[defaults]\nkeep_remote_files = True\n")
    remote_tmp = Path(pwd.getpwnam(testbed.env["SSH_USER"]).pw_dir) / ".ansible" / "tmp"
    secret = database.password.encode()
    created = subprocess.run([CLI, "-vvv", "backup", "create", database.database.name, "--no-upload"],
                             capture_output=True, text=True, timeout=600,
                             env={**os.environ, "INFRAKT_HOME": str(wrapper.home), "HOME": str(home)})
    assert f"config file = {home / '.ansible.cfg'}" in created.stderr  # the test's ansible.cfg was read
    holding = files_containing(remote_tmp, secret) if remote_tmp.exists() else []
    for path in holding:  # what the unfixed run leaves (ansible-tmp-*/AnsiballZ_*.py): a secret in clear
        shutil.rmtree(Path(path).parent, ignore_errors=True)
    assert created.returncode == 0, created.stderr
    assert holding == [], "module arguments were written under the server's ~/.ansible/tmp"


def run_dirs(base: Path) -> set[Path]:
    """The runner's run directories directly under base."""
    return set(base.glob("infrakt-run-*"))


def processes_mentioning(text: str) -> list[int]:
    """Return the pids whose command line contains text."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text.encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_a_sigkilled_run_leaves_a_directory_the_next_run_removes(wrapper, database, testbed):
    """Item 6: `kill -9` of the CLI mid-backup runs no `finally`; the next CLI run removes
    that run's directory (vars file and all), and leaves a live run's directory alone."""
    runtime_dir = Path("/dev/shm") / f"infrakt-sigkill-{os.getpid()}"  # the runner's tmpfs base for this test
    runtime_dir.mkdir(mode=0o700)
    live = runtime_dir / f"infrakt-run-{os.getpid()}-live"  # as a parallel CLI's: its process (we) is alive
    live.mkdir(mode=0o700)
    env = {**os.environ, "INFRAKT_HOME": str(wrapper.home), "XDG_RUNTIME_DIR": str(runtime_dir)}
    try:
        backup = subprocess.Popen([CLI, "backup", "create", database.database.name, "--no-upload"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 60
        while not any(runtime_dir.glob("infrakt-run-*/vars.yml")) and time.monotonic() < deadline:
            time.sleep(0.02)
        (killed_dir,) = run_dirs(runtime_dir) - {live}
        assert (killed_dir / "vars.yml").exists(), "the run never wrote its vars file"
        backup.send_signal(signal.SIGKILL)
        backup.wait(timeout=60)
        deadline = time.monotonic() + 60  # its ansible-playbook ends with the pty it lost
        while processes_mentioning(str(killed_dir)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert killed_dir.exists(), "nothing was left to sweep: the test did not kill the run in time"

        listed = subprocess.run([CLI, "backup", "list", database.database.name], capture_output=True, text=True,
                                timeout=600, env=env)
        assert listed.returncode == 0, listed.stderr
        assert not killed_dir.exists(), "the next run left the killed run's directory (and its secrets)"
        assert run_dirs(runtime_dir) == {live}
    finally:
        shutil.rmtree(runtime_dir, ignore_errors=True)
        for leftover in (SERVER_BACKUPS / database.database.name).glob("*.partial"):
            leftover.unlink()


def test_no_usable_tmpfs_is_refused_in_one_line_unless_allowed(wrapper, database, tmp_path):
    """Item 6: with $XDG_RUNTIME_DIR on disk and a disk directory mounted over /dev/shm (in a
    mount namespace of the CLI's own), the run refuses in one line and writes nothing; with
    INFRAKT_ALLOW_SECRETS_ON_DISK=1 it runs in the system temp dir and removes its directory."""
    runtime_dir, shm_stand_in, disk_tmp = tmp_path / "runtime", tmp_path / "shm", tmp_path / "tmp"
    for directory in (runtime_dir, shm_stand_in, disk_tmp):
        directory.mkdir(mode=0o700)
    env = {**os.environ, "INFRAKT_HOME": str(wrapper.home), "XDG_RUNTIME_DIR": str(runtime_dir),
           "TMPDIR": str(disk_tmp)}
    in_namespace = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /dev/shm && exec "$@"', str(shm_stand_in),
                    CLI, "backup", "create", database.database.name, "--no-upload"]

    refused = subprocess.run(in_namespace, capture_output=True, text=True, timeout=600, env=env)
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "no tmpfs" in refused.stderr and "INFRAKT_ALLOW_SECRETS_ON_DISK=1" in refused.stderr
    assert [list(directory.iterdir()) for directory in (runtime_dir, shm_stand_in, disk_tmp)] == [[], [], []]

    allowed = subprocess.run(in_namespace, capture_output=True, text=True, timeout=600,
                             env={**env, "INFRAKT_ALLOW_SECRETS_ON_DISK": "1"})
    assert allowed.returncode == 0, allowed.stderr
    assert [list(directory.iterdir()) for directory in (runtime_dir, shm_stand_in, disk_tmp)] == [[], [], []]
