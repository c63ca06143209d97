"""db_restore refuses bad filenames and corrupted backups before any client runs: the
connection points at a closed port and a docker that does not exist, so reaching the database
would fail differently."""

import hashlib

import pytest

from ansible_collections.infrakt.backup.plugins.modules import db_restore

FILENAME = "shop_postgres_20261124T210509Z.dump"


@pytest.fixture
def backup_dir(tmp_path):
    """A backup dir holding one shop backup (plain SQL) with its sidecar."""
    directory = tmp_path / "shop"
    directory.mkdir()
    (directory / FILENAME).write_bytes(b"SELECT 1;\n")
    digest = hashlib.sha256(b"SELECT 1;\n").hexdigest()
    (directory / (FILENAME + ".sha256")).write_text(f"{digest}  {FILENAME}\n")
    return tmp_path


def args(backup_dir, filename, **extra):
    return dict(engine="postgres", db_name="shop", host="127.0.0.1", port=1, user="shop", password="pw",
                backup_dir=str(backup_dir), filename=filename, **extra)


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


def test_a_corrupted_backup_is_refused_before_the_database(run_module, backup_dir):
    (backup_dir / "shop" / FILENAME).write_bytes(b"SELECT 2;\n")
    result = run_module(db_restore, args(backup_dir, FILENAME, container="db", docker_bin="/nonexistent/docker"))
    assert result["failed"]
    assert result["msg"].startswith(f"backup {FILENAME} is corrupted: its sha256 is")


def test_check_mode_verifies_and_restores_nothing(run_module, backup_dir):
    result = run_module(db_restore, args(backup_dir, FILENAME, container="db", docker_bin="/nonexistent/docker"),
                        check_mode=True)
    assert not result.get("failed") and result["changed"]
    assert result["sha256"] == hashlib.sha256(b"SELECT 1;\n").hexdigest()
    assert result["msg"].startswith("checksum verified; would restore postgres database shop")


def test_a_plain_sql_backup_goes_to_psql_and_its_failure_is_reported(run_module, backup_dir):
    result = run_module(db_restore, args(backup_dir, FILENAME))
    assert result["failed"]
    assert result["msg"].startswith('psql failed: connection to server at "127.0.0.1", port 1 failed')
