"""Redis command building and reply parsing (engines/redis.py). Backup and restore against a
real server are in tests/integration/test_db_backup_restore.py."""

import os
import time

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.engines import redis
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import EngineError

from ..conftest import PASSWORD


def test_cli_command_takes_the_password_from_rediscli_auth(make_connection):
    connection = make_connection(engine="redis", host="127.0.0.1", port=6380, user="backup", password=PASSWORD)
    command = redis.cli_command(connection, "CONFIG", "GET", "dir")
    assert command.argv == ["redis-cli", "-e", "-h", "127.0.0.1", "-p", "6380", "--user", "backup",
                            "CONFIG", "GET", "dir"]
    assert command.env == {"REDISCLI_AUTH": PASSWORD}


def test_socket_wins_over_port(make_connection):
    connection = make_connection(engine="redis", socket="/run/redis/redis.sock", port=6379)
    assert redis.cli_command(connection, "PING").argv == ["redis-cli", "-e", "-s", "/run/redis/redis.sock", "PING"]


def test_container_forwards_rediscli_auth_and_copies_with_cat(make_connection):
    connection = make_connection(engine="redis", container="cache", password=PASSWORD)
    command = redis.cli_command(connection, "BGSAVE")
    assert command.argv == ["docker", "exec", "-i", "-e", "REDISCLI_AUTH", "cache", "redis-cli", "-e", "BGSAVE"]
    assert command.env == {"REDISCLI_AUTH": PASSWORD}
    assert redis.copy_command(connection, "/data/dump.rdb").argv == [
        "docker", "exec", "-i", "cache", "cat", "/data/dump.rdb",
    ]


def test_a_process_of_this_machine_in_its_dir_runs_here():
    redis.check_runs_here(str(os.getpid()), os.getcwd())


@pytest.mark.parametrize("process_id", ["999999999", None, "x"])
def test_a_process_elsewhere_does_not_run_here(process_id):
    with pytest.raises(EngineError, match="does not run on this machine"):
        redis.check_runs_here(process_id, "/var/lib/redis")


def test_a_process_in_another_directory_is_another_redis(tmp_path):
    with pytest.raises(EngineError, match="it is not this machine's Redis"):
        redis.check_runs_here(str(os.getpid()), str(tmp_path))


def test_parse_info():
    text = "# Persistence\r\nloading:0\r\nrdb_bgsave_in_progress:1\r\nrdb_last_save_time:1795557319\r\n\r\n"
    assert redis.parse_info(text) == {
        "loading": "0", "rdb_bgsave_in_progress": "1", "rdb_last_save_time": "1795557319",
    }


def test_parse_config():
    assert redis.parse_config("dir\n/var/lib/redis\ndbfilename\ndump.rdb\n") == {
        "dir": "/var/lib/redis", "dbfilename": "dump.rdb",
    }
    assert redis.parse_config("") == {}


def test_restore_in_a_container_is_refused(make_connection, tmp_path):
    connection = make_connection(engine="redis", container="cache", restart_command="docker start cache")
    with pytest.raises(ValueError, match="not supported"):
        redis.restore(connection, iter([redis.RDB_MAGIC]))


def test_restore_needs_a_restart_command(make_connection, tmp_path):
    with pytest.raises(ValueError, match="restart_command is required"):
        redis.restore(make_connection(engine="redis"), iter([redis.RDB_MAGIC]))


def test_a_file_that_is_not_an_rdb_fails_the_check():
    redis.check_backup(redis.RDB_MAGIC + b"0011", "cache_redis_20261124T210509Z.rdb")
    with pytest.raises(ValueError, match="is not a Redis RDB file; the database was not touched"):
        redis.check_backup(b"not redis", "cache_redis_20261124T210509Z.rdb")


def test_restart_command_output_goes_to_the_message(tmp_path):
    with pytest.raises(EngineError, match="restart_command failed: cannot start"):
        redis.run_restart_command(["sh", "-c", "echo cannot start >&2; exit 1"], 10)


def test_restore_that_cannot_reach_the_server_says_it_was_not_touched(make_connection, tmp_path):
    connection = make_connection(engine="redis", host="127.0.0.1", port=1, restart_command="false")
    with pytest.raises(EngineError, match="the server was not touched") as raised:
        redis.restore(connection, iter([redis.RDB_MAGIC + b"0011"]))
    assert raised.value.database_touched is False


def server_info_of_this_process(config_file=""):
    """Return INFO server fields naming this test process (owned by the test's user) and config_file."""
    return {"process_id": str(os.getpid()), "config_file": config_file}


def test_the_dir_of_the_config_file_is_the_data_dir(tmp_path):
    config = tmp_path / "redis.conf"
    config.write_text(f'port 6379\n# dir /nowhere\ndir /var/lib/old\ndir "{tmp_path}"\n')
    assert redis.configured_dir(str(config)) == str(tmp_path)
    config.write_text("dir ./\n")
    assert redis.configured_dir(str(config)) is None


def test_a_data_dir_other_than_the_configured_one_is_refused(tmp_path):
    config = tmp_path / "redis.conf"
    config.write_text(f"dir {tmp_path}\n")
    redis.check_data_dir(server_info_of_this_process(str(config)), str(tmp_path / "dump.rdb"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    expected = f"^Redis reports dir {elsewhere} but its config file {config} sets {tmp_path} "
    with pytest.raises(EngineError, match=expected):
        redis.check_data_dir(server_info_of_this_process(str(config)), str(elsewhere / "dump.rdb"))


def test_the_registered_data_dir_wins_over_the_config_file(tmp_path):
    config = tmp_path / "redis.conf"
    config.write_text("dir /var/lib/redis\n")
    redis.check_data_dir(server_info_of_this_process(str(config)), str(tmp_path / "dump.rdb"), str(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    expected = f"^Redis reports dir {elsewhere} but its registered data dir is {tmp_path} "
    with pytest.raises(EngineError, match=expected):
        redis.check_data_dir(server_info_of_this_process(), str(elsewhere / "dump.rdb"), str(tmp_path))


@pytest.mark.parametrize("config_text", [None, "port 6379\n", "dir ./\n"])
def test_a_dir_pinned_by_nothing_is_refused(tmp_path, config_text):
    config_file = ""
    if config_text is not None:
        config_file = str(tmp_path / "redis.conf")
        (tmp_path / "redis.conf").write_text(config_text)
    with pytest.raises(EngineError, match="register its data dir \\(infrakt-backup db add --data-dir DIR"):
        redis.check_data_dir(server_info_of_this_process(config_file), str(tmp_path / "dump.rdb"))


def test_a_symlinked_data_dir_or_rdb_file_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(EngineError, match="is not a directory"):
        redis.check_data_dir(server_info_of_this_process(), str(tmp_path / "link" / "dump.rdb"), str(tmp_path / "real"))
    (tmp_path / "real" / "dump.rdb").symlink_to("/etc/passwd")
    with pytest.raises(EngineError, match="is not a regular file"):
        redis.check_data_dir(server_info_of_this_process(), str(tmp_path / "real" / "dump.rdb"), str(tmp_path / "real"))


def test_a_data_dir_of_another_user_is_refused(tmp_path):
    init_user = os.stat("/proc/1").st_uid  # the user of process 1 stands for the Redis user
    if tmp_path.stat().st_uid == init_user:
        os.chown(tmp_path, 65534, -1)
    with pytest.raises(EngineError, match=f"is owned by uid .*, not by uid {init_user} that Redis runs as"):
        redis.check_data_dir({"process_id": "1", "config_file": ""}, str(tmp_path / "dump.rdb"), str(tmp_path))


def test_a_hanging_redis_cli_is_stopped_at_the_timeout(make_connection, stand_in):
    stand_in("redis-cli", "exec sleep 20\n")
    connection = make_connection(engine="redis", restart_command="true", timeout=1)
    started = time.monotonic()
    expected = "^redis-cli CONFIG did not finish within 1 seconds .*the server was not touched"
    with pytest.raises(EngineError, match=expected):
        redis.restore(connection, iter([redis.RDB_MAGIC + b"0011"]))
    assert time.monotonic() - started < 10


def test_the_wait_for_a_loading_server_ends_at_the_timeout(make_connection, stand_in, tmp_path):
    stand_in("redis-cli", 'echo "LOADING Redis is loading the dataset in memory" >&2; exit 1\n')
    connection = make_connection(engine="redis", restart_command="true", timeout=1)
    started = time.monotonic()
    with pytest.raises(EngineError, match="^Redis did not finish loading within 1 seconds; Redis is stopped"):
        redis._start(connection, str(tmp_path / "dump.rdb"))
    assert time.monotonic() - started < 10


def test_a_hanging_restart_command_is_stopped_at_the_timeout():
    started = time.monotonic()
    with pytest.raises(EngineError, match="^restart_command did not finish within 1 seconds"):
        redis.run_restart_command(["sleep", "20"], 1)
    assert time.monotonic() - started < 10
