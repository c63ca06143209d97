"""db_restore refuses bad filenames, corrupted backups and files that are not in the engine's
own format before any client runs: the connection points at a closed port and a docker that
does not exist, so reaching the database would fail differently."""

import hashlib
import subprocess

import pytest

from ansible_collections.infrakt.backup.plugins.modules import db_restore

FILENAME = "shop_postgres_20261124T210509Z.dump"
ARCHIVE = b"PGDMP\x01\x0e\x00"  # the start of a pg_dump custom-format archive


def write_backup(backup_dir, filename, data):
    """Write backup filename of database shop with data and its matching sidecar."""
    directory = backup_dir / "shop"
    directory.mkdir(exist_ok=True)
    (directory / filename).write_bytes(data)
    (directory / (filename + ".sha256")).write_text(f"{hashlib.sha256(data).hexdigest()}  {filename}\n")


@pytest.fixture
def backup_dir(tmp_path):
    """A backup dir holding one shop backup (the start of an archive) with its sidecar."""
    write_backup(tmp_path, FILENAME, ARCHIVE)
    return tmp_path


def args(backup_dir, filename, **extra):
    return dict(dict(engine="postgres", db_name="shop", host="127.0.0.1", port=1, user="shop", password="pw",
                     backup_dir=str(backup_dir), filename=filename), **extra)


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("../../etc/passwd", "must be a plain name from the backup list, not a path"),
        ("/etc/passwd", "must be a plain name from the backup list, not a path"),
        ("other_postgres_20261124T210509Z.dump", "is not a backup of database 'shop'"),
        ("shop_postgres_20261124T210509Z.dump.sha256", "is not a backup of database 'shop'"),
    ],
)
def test_bad_filenames_are_refused(run_module, backup_dir, filename, message):
    result = run_module(db_restore, args(backup_dir, filename))
    assert result["failed"] and message in result["msg"]


def test_another_engines_backup_is_refused(run_module, backup_dir):
    result = run_module(db_restore, args(backup_dir, "shop_redis_20261124T210509Z.rdb"))
    assert result["failed"]
    assert result["msg"] == (
        "shop_redis_20261124T210509Z.rdb is a redis backup; it cannot be restored into a postgres database"
    )


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("shop_postgres_20261124T210509Z.dump.zst", "cannot be decoded: zstd failed: unsupported format"),
        ("shop_postgres_20261124T210509Z.dump.age", "is encrypted and no age identity was given to decrypt it"),
    ],
)
def test_a_name_of_a_later_version_is_accepted_and_refused_before_the_database(run_module, backup_dir, filename,
                                                                               message):
    # the grammar admits these names, so restore finds and verifies them; this version cannot
    # decrypt them yet, and a .zst that is no zstd data cannot be decoded
    write_backup(backup_dir, filename, ARCHIVE)
    result = run_module(db_restore, args(backup_dir, filename, container="db", docker_bin="/nonexistent/docker"))
    assert result["failed"] and result["database_touched"] is False
    assert result["msg"] == f"{filename} {message}; the database was not touched"


def test_a_zstd_archive_is_decoded_for_the_check(run_module, backup_dir):
    filename = "shop_postgres_20261124T210509Z.dump.zst"
    write_backup(backup_dir, filename, subprocess.run(["zstd", "-c"], input=ARCHIVE, capture_output=True).stdout)
    result = run_module(db_restore, args(backup_dir, filename, container="db", docker_bin="/nonexistent/docker"),
                        check_mode=True)
    assert not result.get("failed") and result["msg"].startswith("checksum verified; would restore"), result


def test_a_corrupted_backup_is_refused_before_the_database(run_module, backup_dir):
    (backup_dir / "shop" / FILENAME).write_bytes(ARCHIVE + b"\x00")
    result = run_module(db_restore, args(backup_dir, FILENAME, container="db", docker_bin="/nonexistent/docker"))
    assert result["failed"]
    assert result["msg"].startswith(f"backup {FILENAME} is corrupted: its sha256 is")


def test_check_mode_verifies_and_restores_nothing(run_module, backup_dir):
    result = run_module(db_restore, args(backup_dir, FILENAME, container="db", docker_bin="/nonexistent/docker"),
                        check_mode=True)
    assert not result.get("failed") and result["changed"]
    assert result["sha256"] == hashlib.sha256(ARCHIVE).hexdigest()
    assert result["msg"].startswith("checksum verified; would restore postgres database shop")


@pytest.mark.parametrize(
    ("engine", "filename", "what"),
    [
        ("postgres", FILENAME, "a pg_dump custom-format archive"),
        ("mariadb", "shop_mariadb_20261124T210509Z.sql.gz", "gzip data"),
        ("mysql", "shop_mysql_20261124T210509Z.sql.gz", "gzip data"),
        ("redis", "shop_redis_20261124T210509Z.rdb", "a Redis RDB file"),
        ("mongo", "shop_mongo_20261124T210509Z.archive.gz", "a gzip mongodump archive"),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True])
def test_a_file_not_in_the_engines_format_is_refused_before_any_client(run_module, tmp_path, engine, filename,
                                                                        what, check_mode):
    # plain SQL with a psql meta-command: what a planted `.dump` with a matching sidecar looks like
    write_backup(tmp_path, filename, b"\\! touch /tmp/infrakt-owned\nSELECT 1;\n")
    result = run_module(db_restore, args(tmp_path, filename, engine=engine, container="db",
                                         docker_bin="/nonexistent/docker"), check_mode=check_mode)
    assert result["failed"] and result["database_touched"] is False
    if what == "gzip data":  # the pipeline cannot decode it
        assert result["msg"].startswith(f"{filename} cannot be decoded: the backup is not valid gzip data: ")
        assert result["msg"].endswith("; the database was not touched")
    else:
        assert result["msg"] == f"{filename} is not {what}; the database was not touched"


def test_an_archive_that_passes_the_checks_reaches_pg_restore_and_its_failure_is_reported(run_module, backup_dir):
    result = run_module(db_restore, args(backup_dir, FILENAME))
    assert result["failed"] and result["database_touched"] is True
    assert result["msg"] == "pg_restore failed: could not read from input file: end of file"
