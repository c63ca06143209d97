"""Redis restores that must not lose the previous data (issue 9 item 11), through the playbooks
against a redis-server of the test's own: a backup the server cannot load and a restart
command that fails leave the previous data in place and the server running with it; a data dir
moved with CONFIG SET (away from the registered data dir or the config file's dir) and a server
whose dir nothing pins (no data dir registered, no config file) are refused before anything is
written; a restore that works leaves no copy of the previous RDB behind."""

import os
import shlex
import subprocess
import time

import pytest

from tests.integration.plays import plant_backup, run_playbook
from tests.integration.scratch import REDIS_CONF, Redis

pytestmark = pytest.mark.integration
PUT_BACK = "; the previous RDB file was put back and Redis runs with it again"


def redis_variables(server, backup_dir, **extra):
    """The playbook variables for server (native, over TCP, its data dir registered), backups under backup_dir."""
    return {"infrakt_db_name": "cache", "infrakt_db_engine": "redis", "infrakt_db_host": "127.0.0.1",
            "infrakt_db_port": server.port, "infrakt_db_password": server.password,
            "infrakt_db_restart_command": shlex.join(server.start_command), "infrakt_backup_dir": str(backup_dir),
            "infrakt_db_data_dir": str(server.directory / "data"), **extra}


def back_up_and_change(testbed, server, backup_dir):
    """Back server up through backup.yml on the bench (testbed), then change its data and save it
    to its RDB file (what a restore replaces); return (the backup's filename, the changed contents)."""
    run = run_playbook(testbed, "backup.yml", redis_variables(server, backup_dir))
    assert run.returncode == 0, run.output[-3000:]
    server.change()
    server.cli("SAVE")
    return run.result("Dump ")["filename"], server.contents()


def failed_restore(testbed, server, backup_dir, filename, **extra):
    """Run restore.yml of backup filename into server (extra variables on top of redis_variables);
    assert that the restore task failed with a one-line message; return its result."""
    run = run_playbook(testbed, "restore.yml", redis_variables(server, backup_dir, infrakt_restore_filename=filename,
                                                               **extra))
    assert run.returncode != 0
    status, result = run.status_and_result("Restore the database")
    assert status == "fatal" and "\n" not in result["msg"], result
    return result


def assert_previous_data_back(server, message, cause, contents):
    """Assert that the message of a failed restore names cause and says that the previous RDB
    file is back, and that server runs with contents and no leftovers of the restore."""
    assert message.startswith("the restore failed (" + cause)
    assert message.endswith(PUT_BACK)
    assert server.contents() == contents
    assert leftovers(server) == []


def leftovers(server):
    """Return the names of the files a restore put next to the server's RDB file."""
    return sorted(path.name for path in (server.directory / "data").iterdir() if path.name.startswith(".infrakt"))


def restart_with(server, config_line):
    """Stop server (its data saved), add config_line to its config file and start it again."""
    env = {"REDISCLI_AUTH": server.password, "PATH": os.environ["PATH"]}
    subprocess.run(["redis-cli", "-p", str(server.port), "SHUTDOWN", "SAVE"], capture_output=True, check=False, env=env)
    for _ in range(100):
        if not (server.directory / "redis.pid").exists():
            break
        time.sleep(0.05)
    with open(server.config, "a") as config:
        config.write(config_line + "\n")
    subprocess.run(server.start_command, check=True)
    ping = ["redis-cli", "-p", str(server.port), "PING"]
    for _ in range(100):
        if subprocess.run(ping, capture_output=True, env=env, check=False).stdout.strip() == b"PONG":
            return
        time.sleep(0.05)
    raise AssertionError("redis-server did not come back")


def test_a_restore_that_works_leaves_no_copy_of_the_previous_rdb(testbed, redis_server, backup_dir):
    before = redis_server.contents()
    filename, _ = back_up_and_change(testbed, redis_server, backup_dir)
    run = run_playbook(testbed, "restore.yml", redis_variables(redis_server, backup_dir,
                                                               infrakt_restore_filename=filename))
    assert run.returncode == 0, run.output[-3000:]
    assert redis_server.contents() == before
    assert leftovers(redis_server) == []


def test_a_backup_the_server_cannot_load_leaves_the_previous_data(testbed, redis_server, backup_dir):
    _, changed = back_up_and_change(testbed, redis_server, backup_dir)
    # passes the checksum and the RDB magic check; redis-server exits when it reads the rest
    filename = "cache_redis_20260101T000000Z.rdb"
    plant_backup(backup_dir / "cache", filename, b"REDIS0010" + b"\xf5not an rdb body" * 64)
    message = failed_restore(testbed, redis_server, backup_dir, filename)["msg"]
    assert_previous_data_back(redis_server, message, "Redis did not answer within 30 seconds of restart_command",
                              changed)


def test_a_failing_restart_command_leaves_the_previous_data(testbed, redis_server, backup_dir, tmp_path):
    filename, changed = back_up_and_change(testbed, redis_server, backup_dir)
    # fails the first time (the restored RDB is never loaded), starts the server the second time
    marker = tmp_path / "restart-tried"
    restart = ["sh", "-c", f'if [ -e "$0" ]; then exec {shlex.join(redis_server.start_command)}; fi; touch "$0"; '
               'echo cannot start >&2; exit 3', str(marker)]
    message = failed_restore(testbed, redis_server, backup_dir, filename,
                             infrakt_db_restart_command=shlex.join(restart))["msg"]
    assert_previous_data_back(redis_server, message, "restart_command failed: cannot start; Redis is stopped",
                              changed)


def moved_away(server, tmp_path):
    """Restart server allowing CONFIG SET dir, point it at a fresh directory; return that directory."""
    restart_with(server, "enable-protected-configs yes")  # lets a client CONFIG SET dir
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server.cli("CONFIG", "SET", "dir", str(elsewhere))
    return elsewhere


def test_a_data_dir_moved_away_from_the_registered_one_is_refused(testbed, redis_server, backup_dir, tmp_path):
    filename, changed = back_up_and_change(testbed, redis_server, backup_dir)
    elsewhere = moved_away(redis_server, tmp_path)
    result = failed_restore(testbed, redis_server, backup_dir, filename)
    assert result["database_touched"] is False
    assert result["msg"] == (f"Redis reports dir {elsewhere} but its registered data dir is "
                             f"{redis_server.directory / 'data'} (changed with CONFIG SET?); restoring writes only "
                             "into the registered dir; the server was not touched")
    assert list(elsewhere.iterdir()) == []
    assert redis_server.contents() == changed


def test_a_data_dir_moved_with_config_set_is_refused(testbed, redis_server, backup_dir, tmp_path):
    filename, changed = back_up_and_change(testbed, redis_server, backup_dir)
    elsewhere = moved_away(redis_server, tmp_path)
    result = failed_restore(testbed, redis_server, backup_dir, filename, infrakt_db_data_dir="")  # none registered
    assert result["database_touched"] is False
    assert result["msg"] == (f"Redis reports dir {elsewhere} but its config file {redis_server.config} sets "
                             f"{redis_server.directory / 'data'} (changed with CONFIG SET?); restoring writes only "
                             "into the configured dir; the server was not touched")
    assert list(elsewhere.iterdir()) == []
    assert redis_server.contents() == changed


@pytest.fixture
def redis_without_config_file(tmp_path):
    """A redis-server of our own started with its options on the command line, no config file."""
    server = Redis(tmp_path)
    lines = REDIS_CONF.format(port=server.port, password=server.password, directory=tmp_path).splitlines()
    server.start_command = ["redis-server"]
    for line in lines:
        option, value = line.split(" ", 1)
        server.start_command += ["--" + option, "" if value == '""' else value]
    server.start()
    yield server
    server.stop()


def test_a_server_whose_dir_nothing_pins_is_refused(testbed, redis_without_config_file, backup_dir):
    server = redis_without_config_file
    filename, changed = back_up_and_change(testbed, server, backup_dir)
    rdb = server.directory / "data" / "dump.rdb"
    rdb_before = (rdb.stat().st_ino, rdb.read_bytes())
    result = failed_restore(testbed, server, backup_dir, filename, infrakt_db_data_dir="")
    assert result["database_touched"] is False
    assert result["msg"] == (f"Redis reports dir {server.directory / 'data'} but no config file of it sets an "
                             "absolute dir; register its data dir (infrakt-backup db add --data-dir DIR, module "
                             "option data_dir) to restore it; the server was not touched")
    assert (rdb.stat().st_ino, rdb.read_bytes()) == rdb_before
    assert leftovers(server) == []
    assert server.contents() == changed
