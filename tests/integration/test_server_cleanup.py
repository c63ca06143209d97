"""What the server is left with when its controller goes away or the credentials step fails,
through plain ansible-playbook over SSH against the test bench (moto, sshd on loopback; the
"server" is this machine).

A controller killed hard mid-upload (issue 9, item 7): its temporary S3 credentials, its aws
process and its watchdog are gone within seconds, and S3 holds neither an object nor the parts
of an unfinished upload, whether the SSH master connection died too or lives on. A credentials
base directory that cannot be used (item 10) fails the play with a one-line reason naming it,
the S3 secret nowhere in the output."""

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import tmpfs
from tests.integration.leaks import credential_dirs
from tests.integration.plays import (
    REPO_ROOT,
    VENV_BIN,
    bench_s3_client,
    bench_s3_variables,
    private_vars_file,
    run_playbook,
)
from tests.integration.test_s3_playbooks import make_backup

pytestmark = pytest.mark.integration

# How long the server may take to clean up after its controller was killed.
CLEANUP_BOUND = 10
# The upload goes through a proxy that slows it to about 4 s, so that it is surely still running
# when the controller dies and for a while after (moto on loopback takes 64 MiB in half a second).
UPLOAD_SIZE = 64 << 20
UPLOAD_RATE = 16 << 20  # bytes per second


def _forward(source: socket.socket, destination: socket.socket, rate: int | None) -> None:
    """Copy what source sends to destination (at most rate bytes per second) until either closes."""
    try:
        while chunk := source.recv(1 << 16):
            destination.sendall(chunk)
            if rate:
                time.sleep(len(chunk) / rate)
    except OSError:
        pass
    finally:
        for end in (source, destination):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@contextmanager
def slow_proxy(target_port: int, rate: int):
    """Yield the port of a TCP proxy on 127.0.0.1 to target_port that passes requests at most
    rate bytes per second per connection (answers at full speed)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # closed: the test is done
            server = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=_forward, args=(client, server, rate), daemon=True).start()
            threading.Thread(target=_forward, args=(server, client, None), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def processes_naming(text: str) -> dict[int, str]:
    """Return {pid: command line} of the live processes (zombies left out) whose command line
    contains text."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found[int(proc.name)] = cmdline
    return found


def credentials_dir_of(pid: int) -> Path:
    """Return the credentials directory the aws process pid was pointed at (its environment)."""
    environ = dict(item.split("=", 1) for item in (Path("/proc") / str(pid) / "environ").read_text().split("\0")
                   if "=" in item)
    return Path(environ["AWS_SHARED_CREDENTIALS_FILE"]).parent


def wait_for(condition, timeout: float, what: str):
    """Return condition()'s first truthy value, polled every 50 ms; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


@contextmanager
def playbook_process(testbed, playbook: str, variables: dict, control_path_dir: str):
    """Start playbooks/<playbook> (variables in a private vars file, as plays.run_playbook
    does) with SSH connections of its own under control_path_dir, in a session of its own (no
    signal meant for the test reaches it); yield the Popen."""
    with private_vars_file(variables) as vars_file:
        env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "collections"), "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_SSH_CONTROL_PATH_DIR": control_path_dir}
        with subprocess.Popen(
            [str(VENV_BIN / "ansible-playbook"), "-i", str(testbed.inventory_path),
             str(REPO_ROOT / "playbooks" / playbook), "-e", f"@{vars_file}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=REPO_ROOT, start_new_session=True,
        ) as process:
            yield process


def descendants(pid: int) -> list[int]:
    """Return the pids of the live descendants of process pid (Ansible's workers put themselves
    in sessions of their own, so a process group does not hold them)."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        status = proc.name.isdigit() and tmpfs.process_status(int(proc.name))
        if status:
            children.setdefault(status[1], []).append(int(proc.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def kill_controller(process: subprocess.Popen, control_path_dir: str, master: bool) -> None:
    """SIGKILL the controller side of a run: ansible-playbook with every process below it (its
    workers and their ssh clients) and, when master, the SSH master connection of
    control_path_dir (else it lives on, as ControlPersist keeps it after a Ctrl-C)."""
    doomed = [process.pid, *descendants(process.pid), *(processes_naming(control_path_dir) if master else [])]
    for pid in doomed:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


# The master connection killed too: the whole connection is gone (the credentials' watchdog
# sees its sshd process end). The master alive: only the task's session ends, and s3_object
# itself removes the credentials; the watchdog would wait for the connection (ControlPersist).
@pytest.mark.parametrize("master", [True, False], ids=["connection-gone", "session-gone"])
def test_killed_controller_leaves_no_credentials_no_aws_and_no_half_backup(testbed, tmp_path, master):
    db_name = f"dropped{secrets.token_hex(4)}"
    prefix = f"itest-{secrets.token_hex(4)}/cleanup"
    src, _ = make_backup(tmp_path / db_name, db_name, UPLOAD_SIZE)
    key = f"{prefix}/{db_name}/{src.name}"
    bucket = testbed.env["S3_BUCKET"]
    client = bench_s3_client(testbed.env)
    control_path_dir = tempfile.mkdtemp(prefix="infrakt-cp-", dir="/tmp")
    try:
        with slow_proxy(int(testbed.env["S3_PORT"]), UPLOAD_RATE) as port:
            variables = bench_s3_variables(testbed.env, prefix, infrakt_db_name=db_name, infrakt_upload_src=str(src),
                                           infrakt_s3_endpoint_url=f"http://127.0.0.1:{port}",
                                           infrakt_s3_max_concurrent_requests=1)
            with playbook_process(testbed, "s3_upload.yml", variables, control_path_dir) as process:
                # mid-upload: the aws process runs and S3 holds the unfinished multipart upload
                (aws_pid,) = wait_for(lambda: processes_naming(str(src)), 120, "the aws upload starting")
                credentials = credentials_dir_of(aws_pid)
                wait_for(lambda: client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads"), 60,
                         "the multipart upload starting")
                assert processes_naming(str(src)), "the upload ended before the controller could be killed"
                kill_controller(process, control_path_dir, master)

            wait_for(lambda: not credentials.exists(), CLEANUP_BOUND,
                     f"the credentials directory {credentials} of the killed run being removed")
            assert credentials not in credential_dirs()
            wait_for(lambda: not processes_naming(str(src)), CLEANUP_BOUND, "the run's aws process ending")
            wait_for(lambda: not processes_naming(str(credentials)), CLEANUP_BOUND, "the run's watchdog ending")
        listed = {item["Key"] for item in client.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])}
        assert listed == set(), f"the interrupted upload left objects in S3: {listed}"
        assert not client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads")
    finally:
        for pid in processes_naming(control_path_dir):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(control_path_dir, ignore_errors=True)
        for upload in client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
        for name in (key, key + ".sha256"):
            client.delete_object(Bucket=bucket, Key=name)


def owned_by_nobody(base: Path) -> str:
    """Make base a directory of user nobody; return the reason the module gives."""
    base.mkdir(mode=0o700)
    nobody = pwd.getpwnam("nobody")
    os.chown(base, nobody.pw_uid, nobody.pw_gid)
    return f"{base} belongs to another user (uid {nobody.pw_uid}); refusing to write secrets there"


def file_in_the_way(base: Path) -> str:
    """Put a file where base, a directory, is expected; return the reason the module gives."""
    base.write_text("not a directory\n")
    return f"{base} is not a directory (a symlink or a file is in the way)"


@pytest.mark.parametrize("make_unusable", [owned_by_nobody, file_in_the_way])
def test_unusable_credentials_base_dir_fails_with_its_reason_and_no_secret(testbed, make_unusable):
    base = Path(f"/dev/shm/infrakt-unusable-{secrets.token_hex(4)}")
    reason = make_unusable(base)
    try:
        run = run_playbook(testbed, "s3_test.yml", bench_s3_variables(
            testbed.env, f"itest-{secrets.token_hex(4)}", infrakt_s3_credentials_base_dir=str(base)))
    finally:
        if base.is_dir():
            base.rmdir()
        else:
            base.unlink()
    assert run.returncode != 0
    failed = [(task, result) for task, status, result in run.tasks if status == "fatal"]
    assert len(failed) == 1, run.stdout[-3000:]
    assert failed[0][1]["msg"] == f"cannot write the temporary S3 credentials: {reason}"
    assert "Probe the bucket" not in run.stdout
    assert testbed.env["S3_SECRET_KEY"] not in run.output
