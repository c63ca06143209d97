"""PostgreSQL command building (engines/postgres.py): no password in any argv."""

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.engines import postgres

from ..conftest import PASSWORD


def test_native_dump_takes_the_password_from_a_passfile(make_connection):
    connection = make_connection(host="db.internal", port=5433, user="shop", password=PASSWORD)
    command = postgres.dump_command(connection, "pg_dump", {"pgpass": "/run/infrakt/run-x/pgpass"})
    assert command.argv == [
        "pg_dump", "--format=custom", "--lock-wait-timeout=60000", "--host=db.internal", "--port=5433",
        "--username=shop", "--no-password", "--dbname=shop",
    ]
    assert command.env == {"PGPASSFILE": "/run/infrakt/run-x/pgpass"}
    assert postgres.password_files(connection) == {"pgpass": postgres.passfile_text(PASSWORD)}


def test_socket_directory_is_the_host(make_connection):
    command = postgres.dump_command(make_connection(socket="/var/run/postgresql", database="shop_db"), "pg_dump", {})
    assert command.argv == ["pg_dump", "--format=custom", "--lock-wait-timeout=60000", "--host=/var/run/postgresql",
                            "--no-password", "--dbname=shop_db"]
    assert command.env == {}


def test_container_dump_forwards_pgpassword(make_connection):
    connection = make_connection(container="shop-db", user="postgres", password=PASSWORD)
    command = postgres.dump_command(connection, "pg_dump", {})
    assert command.argv == [
        "docker", "exec", "-i", "-e", "PGPASSWORD", "shop-db",
        "pg_dump", "--format=custom", "--lock-wait-timeout=60000", "--username=postgres", "--no-password",
        "--dbname=shop",
    ]
    assert command.env == {"PGPASSWORD": PASSWORD}
    assert postgres.password_files(connection) == {}


def test_custom_format_restore_is_one_transaction(make_connection):
    command = postgres.restore_command(make_connection(user="shop"), "pg_restore", {})
    assert command.argv == [
        "pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
        "--username=shop", "--no-password", "--dbname=shop",
    ]


def test_only_a_custom_format_archive_passes_the_check(tmp_path):
    postgres.check_backup(postgres.CUSTOM_FORMAT_MAGIC + b"\x01\x0e", "archive.dump")
    with pytest.raises(ValueError, match="^shop_postgres_20261124T210509Z.dump is not a pg_dump custom-format "
                                         "archive; the database was not touched$"):
        postgres.check_backup(b"\\! touch /tmp/owned\nSELECT 1;\n", "shop_postgres_20261124T210509Z.dump")


@pytest.mark.parametrize(
    "password", [PASSWORD, "plain", "", ":::", "\\"],
)
def test_no_password_in_any_argv(make_connection, password):
    for container in (None, "c"):
        connection = make_connection(password=password or None, container=container, user="u")
        for command in (
            postgres.dump_command(connection, "pg_dump", {"pgpass": "/p"}),
            postgres.restore_command(connection, "pg_restore", {"pgpass": "/p"}),
        ):
            assert not password or not any(password in part for part in command.argv)


def test_passfile_escapes_colons_and_backslashes():
    assert postgres.passfile_text("a:b\\c") == "*:*:*:*:a\\:b\\\\c\n"


def test_passfile_refuses_line_breaks():
    with pytest.raises(ValueError, match="line break"):
        postgres.passfile_text("a\nb")


def test_dump_waits_for_table_locks_at_most_lock_timeout(make_connection):
    command = postgres.dump_command(make_connection(lock_timeout=5), "pg_dump", {})
    assert "--lock-wait-timeout=5000" in command.argv


@pytest.mark.parametrize(("compression", "own"), [(None, True), ("gzip", True), ("zstd", False), ("none", False)])
def test_pg_dump_compresses_only_for_gzip(make_connection, compression, own):
    # PostgreSQL 15's pg_dump knows gzip levels only: zstd is the pipeline's, on an uncompressed archive
    argv = postgres.dump_command(make_connection(compression=compression), "pg_dump", {}).argv
    assert ("--compress=0" not in argv) is own
    assert postgres.restore_command(make_connection(compression=compression), "pg_restore", {}).argv == \
        postgres.restore_command(make_connection(), "pg_restore", {}).argv  # pg_restore reads either
