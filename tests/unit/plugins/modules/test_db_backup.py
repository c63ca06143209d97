"""db_backup argument handling, check mode and a failing dump (closed port): no file left."""

import os

from ansible_collections.infrakt.backup.plugins.modules import db_backup


def test_check_mode_reports_the_backup_it_would_make(run_module, tmp_path):
    result = run_module(
        db_backup,
        dict(engine="mariadb", db_name="blog", database="wordpress", backup_dir=str(tmp_path / "b")),
        check_mode=True,
    )
    assert result["changed"] and not result.get("failed")
    assert result["filename"].startswith("blog_mariadb_") and result["filename"].endswith("Z.sql.gz")
    assert result["path"] == str(tmp_path / "b" / "blog" / result["filename"])
    assert result["size"] is None and result["sha256"] is None
    assert result["msg"] == "would dump mariadb database wordpress to {}".format(result["path"])
    assert not (tmp_path / "b").exists()


def test_a_failed_dump_leaves_no_file(run_module, tmp_path):
    result = run_module(
        db_backup,
        dict(engine="postgres", db_name="shop", host="127.0.0.1", port=1, password="pw", backup_dir=str(tmp_path)),
    )
    assert result["failed"]
    assert result["msg"].startswith('pg_dump failed: connection to server at "127.0.0.1", port 1 failed')
    assert os.listdir(tmp_path / "shop") == []


def test_bad_names_are_refused(run_module, tmp_path):
    result = run_module(db_backup, dict(engine="postgres", db_name="shop/../x", backup_dir=str(tmp_path)))
    assert result["failed"] and "db_name 'shop/../x' is not valid" in result["msg"]
    args = dict(engine="postgres", db_name="shop", user="-U postgres", backup_dir=str(tmp_path))
    result = run_module(db_backup, args)
    assert result["failed"] and "user '-U postgres' is not valid" in result["msg"]


def test_a_dump_that_fails_midway_behind_the_compressor_leaves_no_file(run_module, tmp_path, stand_in):
    # pipefail semantics: the MariaDB dump is gzip-compressed as it streams; a dump program that
    # has already written SQL and then fails must fail the backup.
    stand_in("mariadb-dump", "head -c 3000000 /dev/urandom | od -An -tx1\necho 'lost connection' >&2\nexit 2\n")
    result = run_module(db_backup, dict(engine="mariadb", db_name="blog", database="wordpress",
                                        backup_dir=str(tmp_path / "b")))
    assert result["failed"]
    assert result["msg"] == "mariadb-dump failed: lost connection"
    assert os.listdir(tmp_path / "b" / "blog") == []


def test_a_dump_that_outlives_the_timeout_is_stopped_and_leaves_no_file(run_module, tmp_path, stand_in):
    # a mariadb-dump that writes some SQL, then waits as one blocked by a table lock
    stand_in("mariadb-dump", "echo 'CREATE TABLE customers (id INT);'\nsleep 60\n")
    result = run_module(db_backup, dict(engine="mariadb", db_name="blog", backup_dir=str(tmp_path / "b"), timeout=1))
    assert result["failed"]
    assert result["msg"] == ("mariadb-dump did not finish within 1 seconds (timeout) and was stopped; "
                             "is a table locked by another session?")
    assert os.listdir(tmp_path / "b" / "blog") == []
