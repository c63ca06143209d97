"""MySQL/MariaDB command building (engines/mysql.py)."""

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.engines import mysql

from ..conftest import PASSWORD

DUMP_OPTIONS = [
    "--single-transaction", "--routines", "--triggers", "--hex-blob", "--no-tablespaces",
    "--default-character-set=utf8mb4",
]
LOCK_WAITS_60 = "--init-command=SET SESSION lock_wait_timeout=60, innodb_lock_wait_timeout=60"


def test_native_dump_reads_the_password_from_a_defaults_file_given_first(make_connection):
    connection = make_connection(engine="mariadb", host="127.0.0.1", port=3307, user="shop", password=PASSWORD)
    command = mysql.dump_command(connection, "/usr/bin/mariadb-dump", {"my.cnf": "/dev/shm/infrakt/run-x/my.cnf"})
    assert command.argv == [
        "/usr/bin/mariadb-dump", "--defaults-extra-file=/dev/shm/infrakt/run-x/my.cnf", *DUMP_OPTIONS,
        "--host=127.0.0.1", "--port=3307", "--user=shop", "shop",
    ]
    assert command.env == {}
    assert mysql.password_files(connection) == {"my.cnf": mysql.defaults_file_text(PASSWORD)}


def test_socket_and_no_password(make_connection):
    connection = make_connection(engine="mysql", socket="/run/mysqld/mysqld.sock", database="shop_db")
    command = mysql.restore_command(connection, "mysql", {})
    assert command.argv == ["mysql", "--binary-mode", LOCK_WAITS_60, "--socket=/run/mysqld/mysqld.sock", "shop_db"]
    assert mysql.password_files(connection) == {}


def test_container_gets_mysql_pwd_through_docker_exec_env(make_connection):
    connection = make_connection(engine="mysql", container="shop-db", user="root", password=PASSWORD)
    for command, client in ((mysql.dump_command(connection, "mysqldump", {}), "mysqldump"),
                            (mysql.restore_command(connection, "mysql", {}), "mysql")):
        assert command.argv[:7] == ["docker", "exec", "-i", "-e", "MYSQL_PWD", "shop-db", client]
        assert command.env == {"MYSQL_PWD": PASSWORD}
        assert not any(PASSWORD in part for part in command.argv)
    assert mysql.password_files(connection) == {}


def test_each_engine_prefers_its_own_clients():
    assert mysql.CLIENTS["mariadb"] == (("mariadb-dump", "mysqldump"), ("mariadb", "mysql"))
    assert mysql.CLIENTS["mysql"] == (("mysqldump", "mariadb-dump"), ("mysql", "mariadb"))


def test_defaults_file_quotes_and_escapes_the_password():
    text = mysql.defaults_file_text(' a\\b#c"d\te\n')
    assert text == '[client]\npassword=" a\\\\b#c\\"d\\te\\n"\n'


@pytest.mark.parametrize("first_bytes", [b"-- MariaDB dump 10.19\n", "INSERT INTO t VALUES ('é');".encode()[:-4]])
def test_sql_text_passes_the_check(first_bytes):
    mysql.check_backup(first_bytes, "shop_mysql_20261124T210509Z.sql")


@pytest.mark.parametrize("first_bytes", [b"", b"\x1f\x8b\x08\x00", b"PGDMP\x01\x0e\x00", b"REDIS0011\xfa\x00"])
def test_what_is_not_sql_text_fails_the_check(first_bytes):
    expected = "^shop_mysql_20261124T210509Z.sql is not SQL text; the database was not touched$"
    with pytest.raises(ValueError, match=expected):
        mysql.check_backup(first_bytes, "shop_mysql_20261124T210509Z.sql")


def test_restore_session_waits_for_locks_at_most_lock_timeout(make_connection):
    command = mysql.restore_command(make_connection(engine="mariadb", lock_timeout=7), "mariadb", {})
    assert command.argv[:3] == [
        "mariadb", "--binary-mode", "--init-command=SET SESSION lock_wait_timeout=7, innodb_lock_wait_timeout=7",
    ]
