"""What the engines share (engines/common.py): connection validation, docker exec wrapping,
password files, one-line failure messages and running clients (real small processes)."""

import os
import stat
import sys
import time

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.engines import common
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import EngineError

from ..conftest import PASSWORD


def test_database_defaults_to_db_name(make_connection):
    assert make_connection().database == "shop"
    assert make_connection(database="shop_prod").database == "shop_prod"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"db_name": "../etc"}, "db_name"),
        ({"database": "-Fp"}, "database"),
        ({"user": "a b"}, "user"),
        ({"container": "c;rm -rf /"}, "container"),
        ({"engine": "oracle"}, "engine"),
        ({"host": "db", "socket": "/run/postgresql"}, "either host or socket"),
        ({"socket": "relative/sock"}, "absolute"),
        ({"port": 70000}, "from 1 to 65535"),
        ({"host": "-oProxyCommand=x"}, "not a valid host"),
        ({"restart_command": "systemctl start postgresql"}, "only applies to the redis engine"),
        ({"data_dir": "/var/lib/postgresql"}, "data_dir only applies to the redis engine"),
        ({"engine": "redis", "data_dir": "var/lib/redis"}, "data_dir 'var/lib/redis' must be an absolute path"),
        ({"timeout": 0}, "timeout must be a whole number of seconds, at least 1"),
        ({"lock_timeout": -5}, "lock_timeout must be a whole number of seconds, at least 1"),
    ],
)
def test_bad_connection_values_are_refused(make_connection, params, message):
    with pytest.raises(ValueError, match=message):
        make_connection(**params)


def test_restart_command_is_split_like_a_shell(make_connection):
    connection = make_connection(engine="redis", restart_command="redis-server '/etc/my redis.conf' --port 1")
    assert connection.restart_command == ["redis-server", "/etc/my redis.conf", "--port", "1"]


def test_native_command_is_left_as_is(make_connection):
    command = common.client_command(make_connection(), ["pg_dump", "--no-password"], {"PGPASSFILE": "/x"})
    assert command.argv == ["pg_dump", "--no-password"]
    assert command.env == {"PGPASSFILE": "/x"}


def test_container_command_forwards_env_by_name_only(make_connection):
    connection = make_connection(container="db1", docker_bin="/usr/bin/docker")
    command = common.client_command(connection, ["pg_dump"], {"PGPASSWORD": PASSWORD, "A": "1"})
    assert command.argv == ["/usr/bin/docker", "exec", "-i", "-e", "A", "-e", "PGPASSWORD", "db1", "pg_dump"]
    assert command.env == {"PGPASSWORD": PASSWORD, "A": "1"}
    assert not any(PASSWORD in part for part in command.argv)


def test_private_files_are_0600_on_tmpfs_and_removed(tmp_path):
    with common.private_files({"pgpass": "*:*:*:*:x\n"}) as paths:
        path = paths["pgpass"]
        assert path.startswith(("/run/", "/dev/shm/"))
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        with open(path) as handle:
            assert handle.read() == "*:*:*:*:x\n"
    assert not os.path.exists(os.path.dirname(path))


def test_private_files_are_removed_when_the_block_fails():
    with pytest.raises(RuntimeError), common.private_files({"my.cnf": "x"}) as paths:
        raise RuntimeError("dump failed")
    assert not os.path.exists(paths["my.cnf"])


def test_no_files_means_no_directory():
    with common.private_files({}) as paths:
        assert paths == {}


def test_failure_message_is_one_line_without_prefix_or_secret():
    complaint = (
        b'pg_dump: error: connection to server at "127.0.0.1", port 5432 failed:\n'
        b"FATAL:  password authentication failed for user \"shop\" (" + PASSWORD.encode() + b")\n\n"
    )
    message = common.failure_message("pg_dump", 1, complaint, PASSWORD)
    assert message == (
        'pg_dump failed: connection to server at "127.0.0.1", port 5432 failed: '
        'FATAL: password authentication failed for user "shop" (********)'
    )


def test_failure_message_without_output_gives_the_exit_code():
    assert common.failure_message("mysqldump", 2, b"") == "mysqldump failed with exit code 2"


def test_failure_message_is_cut():
    message = common.failure_message("psql", 3, b"x" * 5000)
    assert len(message) < common.MESSAGE_LIMIT + 40 and message.endswith(" …")


def python_command(code):
    """Return a Command running python code."""
    return common.Command([sys.executable, "-c", code], {"INFRAKT_TEST": "42"})


def test_run_client_streams_stdout_to_the_sink():
    chunks = []
    code = "import sys; [sys.stdout.buffer.write(b'x' * 65536) for _ in range(64)]"
    common.run_client(python_command(code), "writer", stdout_sink=chunks.append)
    assert sum(len(chunk) for chunk in chunks) == 64 * 65536


def test_run_client_feeds_stdin_and_passes_env():
    code = "import os, sys; data = sys.stdin.buffer.read(); print(len(data), os.environ['INFRAKT_TEST'])"
    output = common.run_client(python_command(code), "reader", stdin_chunks=iter([b"a" * 3000000, b"b"]))
    assert output.split() == [b"3000001", b"42"]


def test_run_client_fails_on_a_non_zero_exit_with_stderr():
    code = "import sys; sys.stdout.write('half a dump'); sys.stderr.write('reader: error: it broke'); sys.exit(3)"
    with pytest.raises(EngineError, match=r"^reader failed: it broke$"):
        common.run_client(python_command(code), "reader", stdout_sink=lambda chunk: None)


def test_run_client_reports_a_client_that_quits_before_reading_its_input():
    code = "import sys; sys.stderr.write('access denied'); sys.exit(1)"
    chunks = (b"x" * 1024 * 1024 for _ in range(64))
    with pytest.raises(EngineError, match="reader failed: access denied"):
        common.run_client(python_command(code), "reader", stdin_chunks=chunks)


def test_run_client_kills_the_client_when_the_input_fails():
    def chunks():
        yield b"SELECT 1;"
        raise EngineError("the backup ends in the middle of its gzip stream")

    code = "import sys, time; sys.stdin.read(); time.sleep(30)"
    with pytest.raises(EngineError, match="gzip"):
        common.run_client(python_command(code), "reader", stdin_chunks=chunks())


def test_timeouts_default_to_six_hours_and_a_minute(make_connection):
    connection = make_connection()
    assert (connection.timeout, connection.lock_timeout) == (6 * 3600, 60)
    connection = make_connection(timeout=30, lock_timeout=5)
    assert (connection.timeout, connection.lock_timeout) == (30, 5)


def test_run_client_kills_the_client_and_its_children_when_the_timeout_passes(tmp_path):
    child_pid = tmp_path / "child.pid"
    # the client starts a child that keeps the pipes open: only killing the group ends both
    code = ("import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', 'import time; "
            f"time.sleep(60)']); open({str(child_pid)!r}, 'w').write(str(child.pid)); "
            "sys.stdout.write('half a dump'); sys.stdout.flush(); time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"^pg_dump did not finish within 1 seconds \(timeout\) and was stopped; "
                                          r"is a table locked by another session\?$"):
        common.run_client(python_command(code), "pg_dump", stdout_sink=lambda chunk: None, timeout=1)
    assert time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):
        for _ in range(50):  # the killed child may take a moment to be reaped by init
            os.kill(int(child_pid.read_text()), 0)
            time.sleep(0.1)


def test_run_client_with_a_timeout_is_left_alone_when_it_finishes_in_time():
    output = common.run_client(python_command("print('done')"), "reader", stdin_chunks=iter([b"x"]), timeout=30)
    assert output == b"done\n"


def test_run_client_that_cannot_start():
    with pytest.raises(EngineError, match="cannot run /nonexistent/pg_dump: No such file or directory"):
        common.run_client(common.Command(["/nonexistent/pg_dump"], {}), "pg_dump")


def test_find_client_prefers_the_first_available(make_connection, tmp_path, monkeypatch):
    for name in ("mysqldump", "mariadb-dump"):
        program = tmp_path / name
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    connection = make_connection(engine="mariadb")
    assert common.find_client(connection, ["mariadb-dump", "mysqldump"]) == str(tmp_path / "mariadb-dump")
    assert common.find_client(connection, ["nothere", "mysqldump"]) == str(tmp_path / "mysqldump")
    with pytest.raises(EngineError, match="none of a, b was found on PATH"):
        common.find_client(connection, ["a", "b"])


def test_password_files_go_to_a_disk_only_when_allowed(monkeypatch):
    # a server with no tmpfs at all: /proc/mounts lists none
    monkeypatch.setattr(common.tmpfs, "read_mounts", lambda: "/dev/sda1 / ext4 rw 0 0\n")
    with (pytest.raises(ValueError, match="are not on a tmpfs; refusing to write secrets to a disk"),
          common.private_files({"pgpass": "*:*:*:*:x\n"})):
        pass
