"""The installed `infrakt-backup` command and its encrypted store, run as real subprocesses
with INFRAKT_HOME in a temp dir: secrets never reach the SQLite file (nor its journal), the
output, or the terminal echo; a missing or wrong master key is one line naming the key file.
These need no test bench: the only components are the CLI, SQLite and a pseudo-terminal."""

import base64
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).with_name("infrakt-backup")
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY-s3-secret-1"
S3_SECRET_2 = "Z9yXwVuTsRqPoNmLkJiHgFeDcBa-s3-secret-2"
DB_PASSWORD = "p@ss word, db-password-3"
S3_SET = ["settings", "s3", "set", "--provider", "minio", "--endpoint-url", "http://127.0.0.1:9000",
          "--bucket", "backups", "--access-key", "AKIAEXAMPLE", "--prefix", "prod"]


def encodings(secret: str) -> dict[str, bytes]:
    """The forms a leaked secret could take in a file or in output."""
    raw = secret.encode()
    return {
        "raw": raw,
        "utf-16": secret.encode("utf-16-le"),
        "base64": base64.b64encode(raw),
        "base64 unpadded": base64.b64encode(raw).rstrip(b"="),
        "urlsafe base64": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
    }


def assert_nowhere(secrets: list[str], blobs: dict[str, bytes]) -> None:
    for secret in secrets:
        for form, needle in encodings(secret).items():
            for where, blob in blobs.items():
                assert needle not in blob, f"{form} form of a secret found in {where}"


def home_files(home: Path) -> dict[str, bytes]:
    """Every file in INFRAKT_HOME, the database's -journal/-wal/-shm companions included."""
    files = {str(path): path.read_bytes() for path in home.rglob("*") if path.is_file()}
    assert str(home / "infrakt.db") in files
    return files


def make_runner(tmp_path: Path):
    """Return run(*args, stdin=None, extra_env=None) for the installed CLI with
    INFRAKT_HOME=tmp_path/home and a umask that would leak; run.home is that directory."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "INFRAKT_HOME": str(tmp_path / "home"),
           "LANG": "C.UTF-8"}

    def run(*args, stdin=None, extra_env=None):
        return subprocess.run([str(CLI), *args], input=stdin, env={**env, **(extra_env or {})}, capture_output=True,
                              text=True, timeout=60, preexec_fn=lambda: os.umask(0o022))

    run.home = tmp_path / "home"
    return run


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def configured_home(tmp_path_factory):
    """An INFRAKT_HOME holding S3 settings, a server and a database with a password."""
    base = tmp_path_factory.mktemp("configured")
    run = make_runner(base)
    ok(run(*S3_SET, extra_env={"INFRAKT_S3_SECRET_KEY": S3_SECRET}))
    key = base / "id_test"
    key.write_text("key file\n")
    ok(run("server", "add", "web1", "--host", "127.0.0.1", "--port", "2222", "--ssh-key", str(key)))
    ok(run("db", "add", "shop", "--server", "web1", "--engine", "postgres", "--password-stdin",
           stdin=DB_PASSWORD + "\n"))
    return run.home


@pytest.fixture
def cli(tmp_path):
    return make_runner(tmp_path)


@pytest.fixture
def configured(cli, configured_home):
    """cli, with a copy of configured_home as its INFRAKT_HOME."""
    shutil.copytree(configured_home, cli.home)
    return cli


def test_secrets_stay_out_of_the_database_files_and_the_output(configured):
    cli = configured
    outputs = {}
    for args in (["settings", "s3", "show"], ["settings", "s3", "show", "--json"], ["-vvv", "settings", "s3", "show"],
                 ["db", "list"], ["db", "list", "--json"], ["server", "list", "--json"]):
        result = ok(cli(*args))
        outputs[" ".join(args)] = (result.stdout + result.stderr).encode()
    assert "****et-1" in outputs["settings s3 show"].decode()
    assert json.loads(outputs["settings s3 show --json"])["secret_key"] == "****et-1"
    assert_nowhere([S3_SECRET, DB_PASSWORD], {**home_files(cli.home), **outputs})

    result = ok(cli("key", "rotate"))
    assert "2 secret(s) re-encrypted" in result.stdout
    result = ok(cli(*S3_SET, "--secret-key-stdin", stdin=S3_SECRET_2 + "\n"))
    assert_nowhere([S3_SECRET, S3_SECRET_2, DB_PASSWORD], {**home_files(cli.home), "set": result.stdout.encode()})
    assert json.loads(ok(cli("settings", "s3", "show", "--json")).stdout)["secret_key"] == "****et-2"

    assert os.stat(cli.home).st_mode & 0o777 == 0o700
    for name in ("infrakt.db", "master.key"):
        assert os.stat(cli.home / name).st_mode & 0o777 == 0o600, name


@pytest.mark.parametrize("damage", ["missing", "replaced", "corrupt"])
def test_a_missing_or_wrong_key_is_one_line_naming_the_key_file(configured, damage):
    cli = configured
    key_file = cli.home / "master.key"
    original = key_file.read_bytes()
    if damage == "missing":
        key_file.unlink()
    elif damage == "replaced":
        from cryptography.fernet import Fernet

        key_file.write_bytes(Fernet.generate_key() + b"\n")
    else:
        key_file.write_bytes(b"this is not a key\n")
    for args in (["settings", "s3", "show"], ["-vvv", "db", "list", "--json"]):
        result = cli(*args)
        assert result.returncode == 1, args
        assert result.stdout == ""
        assert result.stderr.startswith("infrakt-backup: error: ") and str(key_file) in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    if damage == "missing":
        assert not key_file.exists()  # no fresh key was made up over the stored secrets
    key_file.write_bytes(original)
    assert json.loads(ok(cli("settings", "s3", "show", "--json")).stdout)["secret_key"] == "****et-1"


def read_until(fd: int, marker: bytes, seen: bytearray, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"timed out waiting for {marker!r}; got {bytes(seen)!r}"
        seen += os.read(fd, 4096)


def test_the_secret_prompt_is_hidden_and_only_on_a_terminal(cli):
    env = {"PATH": os.environ["PATH"], "HOME": str(cli.home.parent), "INFRAKT_HOME": str(cli.home)}
    terminal, terminal_side = pty.openpty()
    # A new session has no controlling terminal, so getpass reads the pty on stdin, not /dev/tty.
    process = subprocess.Popen([str(CLI), *S3_SET], stdin=terminal_side, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, start_new_session=True)
    os.close(terminal_side)
    try:
        prompt = bytearray()
        read_until(process.stderr.fileno(), b"S3 secret key: ", prompt)
        os.write(terminal, S3_SECRET.encode() + b"\n")
        stdout, stderr = process.communicate(timeout=30)
        echoed = bytearray()
        while select.select([terminal], [], [], 0.2)[0]:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO once the child side is gone
                break
            if not chunk:
                break
            echoed += chunk
    finally:
        os.close(terminal)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert b"S3 backup storage saved" in stdout and b"Warning" not in stderr
    assert_nowhere([S3_SECRET], {"terminal echo": bytes(echoed), "stdout": stdout, "stderr": bytes(prompt) + stderr})
    assert json.loads(ok(cli("settings", "s3", "show", "--json")).stdout)["secret_key"] == "****et-1"
