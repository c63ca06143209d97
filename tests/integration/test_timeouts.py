"""Bounded waits (issue 9 item 5): a table locked by another session makes a backup or restore
through the playbooks fail within the timeouts given (infrakt_db_lock_timeout,
infrakt_db_timeout) with a one-line message, leaving no backup file and, for PostgreSQL, the
database as it was. Real PostgreSQL and MariaDB of the bench, scratch databases; the lock is
held by a client process kept alive with its transaction open."""

import time

import pytest

from tests.integration.plays import run_playbook
from tests.integration.scratch import mariadb_table_locked, postgres_table_locked

pytestmark = pytest.mark.integration

# far below the defaults (60 s, 6 h) and above what the playbook itself takes
BOUND = 45


def mariadb_variables(env, database, **extra):
    """The playbook variables for scratch MariaDB database (native, over the socket)."""
    return dict(infrakt_db_name=database.name, infrakt_db_engine="mariadb", infrakt_db_socket=env["MYSQL_SOCKET"],
                infrakt_db_user=env["MYSQL_USER"], infrakt_db_password=env["MYSQL_PASSWORD"], **extra)


def timed_play(testbed, playbook, variables):
    """Run playbook with variables; return (PlaybookRun, seconds it took)."""
    started = time.monotonic()
    run = run_playbook(testbed, playbook, variables)
    return run, time.monotonic() - started


def files_under(directory):
    """Return the files below directory (a backup root)."""
    return [path for path in directory.rglob("*") if path.is_file()]


def test_postgres_backup_of_a_locked_table_gives_up_after_the_lock_timeout(testbed, postgres_db, backup_dir):
    variables = postgres_db.variables(infrakt_backup_dir=str(backup_dir), infrakt_db_lock_timeout=2)
    with postgres_table_locked(postgres_db, "orders"):
        run, seconds = timed_play(testbed, "backup.yml", variables)
    assert run.returncode != 0 and seconds < BOUND
    status, result = run.status_and_result("Dump ")
    assert status == "fatal"
    assert result["msg"].startswith("pg_dump failed: query failed: ERROR: canceling statement due to statement timeout")
    assert "LOCK TABLE public.orders IN ACCESS SHARE MODE" in result["msg"] and "\n" not in result["msg"]
    assert files_under(backup_dir) == []


def test_postgres_restore_into_a_locked_table_is_stopped_at_the_timeout(testbed, postgres_db, backup_dir):
    variables = postgres_db.variables(infrakt_backup_dir=str(backup_dir))
    run = run_playbook(testbed, "backup.yml", variables)
    assert run.returncode == 0, run.output[-3000:]
    backup = run.result("Dump ")
    postgres_db.psql("DELETE FROM orders WHERE id > 100")  # a change the restore would undo
    damaged = postgres_db.fingerprint()

    variables.update(infrakt_restore_filename=backup["filename"], infrakt_db_timeout=5, infrakt_db_lock_timeout=2)
    with postgres_table_locked(postgres_db, "orders"):
        run, seconds = timed_play(testbed, "restore.yml", variables)
    assert run.returncode != 0 and seconds < BOUND
    status, result = run.status_and_result("Restore the database")
    assert status == "fatal" and result["database_touched"] is True
    assert result["msg"] == ("pg_restore did not finish within 5 seconds (timeout) and was stopped; "
                             "is a table locked by another session?")
    assert postgres_db.fingerprint() == damaged  # one transaction, rolled back
    kept = backup_dir / postgres_db.name
    assert sorted(files_under(backup_dir)) == [kept / backup["filename"], kept / (backup["filename"] + ".sha256")]


def test_mariadb_backup_of_a_locked_table_is_stopped_at_the_timeout(testbed, mariadb_db, backup_dir):
    variables = mariadb_variables(testbed.env, mariadb_db, infrakt_backup_dir=str(backup_dir), infrakt_db_timeout=5)
    with mariadb_table_locked(mariadb_db, "orders"):
        run, seconds = timed_play(testbed, "backup.yml", variables)
    assert run.returncode != 0 and seconds < BOUND
    status, result = run.status_and_result("Dump ")
    assert status == "fatal"
    assert result["msg"] == ("mariadb-dump did not finish within 5 seconds (timeout) and was stopped; "
                             "is a table locked by another session?")
    assert files_under(backup_dir) == []


def test_mariadb_restore_into_a_locked_table_gives_up_after_the_lock_timeout(testbed, mariadb_db, backup_dir):
    variables = mariadb_variables(testbed.env, mariadb_db, infrakt_backup_dir=str(backup_dir))
    run = run_playbook(testbed, "backup.yml", variables)
    assert run.returncode == 0, run.output[-3000:]
    backup = run.result("Dump ")

    variables.update(infrakt_restore_filename=backup["filename"], infrakt_db_lock_timeout=2)
    with mariadb_table_locked(mariadb_db, "orders"):
        run, seconds = timed_play(testbed, "restore.yml", variables)
    assert run.returncode != 0 and seconds < BOUND
    status, result = run.status_and_result("Restore the database")
    assert status == "fatal"
    # the client echoes the statement that waited (LOCK TABLES of a table tied to orders by a foreign key)
    assert result["msg"].startswith("mariadb failed: ") and "ERROR 1205 (HY000) at line " in result["msg"]
    assert result["msg"].endswith("Lock wait timeout exceeded; try restarting transaction")
