"""Backups and restores through the collection's playbooks, run by plain ansible-playbook over
SSH against the bench server (this machine), with real PostgreSQL, MariaDB and Redis:
known data is backed up, changed, restored and compared exactly.

Isolation from other sessions using the same bench: PostgreSQL and MariaDB tests work in
scratch databases (`sample_dbtest_*`, the bench role and user may create them); Redis tests
run their own redis-server (a restore stops and restarts the server). Container mode runs the
clients through tests/shims/docker, a stand-in for `docker exec` that executes the command on
the host with only the `-e` variables (there is no Docker engine here): the playbooks get it
as `infrakt_docker_bin` → the modules' `docker_bin`, resolved on the server, which is this
machine. MongoDB has no server on the bench (see the unit tests).
"""

import gzip
import hashlib
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.integration.leaks import CREDENTIAL_BASES, ProcessWatch, files_containing
from tests.integration.plays import REPO_ROOT, bench_s3_variables, plant_backup, run_playbook, sha256_of
from tests.integration.scratch import Postgres, free_port, unique
from tests.testbed.sample import CUSTOMER_COUNT, ORDER_COUNT, REDIS_SAMPLE

pytestmark = pytest.mark.integration

DOCKER_SHIM = REPO_ROOT / "tests" / "shims" / "docker"


def run_play(testbed, playbook, variables, check=False):
    """Run playbooks/<playbook> on the bench server (see plays.run_playbook) with variables.
    Assert that neither the database password nor the S3 secret shows in the output or in any
    command line sampled meanwhile (the clients get passwords through their environment, by
    design). Return the PlaybookRun."""
    secrets = [variables.get("infrakt_db_password"), variables.get("infrakt_s3_secret_key")]
    with ProcessWatch(secrets, parts=("cmdline",)) as watch:
        run = run_playbook(testbed, playbook, variables, check=check)
    for secret in secrets:
        assert not secret or secret not in run.output, "a secret is in the ansible-playbook output"
    assert watch.hits == [], f"a secret is in a command line: {watch.hits}"
    assert watch.samples > 0
    return run


def secret_files(password):
    """Return the set of files under the tmpfs secret bases that hold password (compare the sets
    before and after a run: other sessions on the bench leave theirs there meanwhile)."""
    return {hit for base in CREDENTIAL_BASES if base.is_dir() for hit in files_containing(base, password.encode())}


# ---------------------------------------------------------------------------------------------
# PostgreSQL


@pytest.fixture(scope="module")
def postgres_backup(testbed, tmp_path_factory):
    """One backup of a scratch PostgreSQL database, shared by the tests that only need a
    backup to refuse: (database, backup_dir, db_backup result)."""
    database = Postgres(testbed.env, unique("sample_dbtest"))
    database.create()
    backup_dir = tmp_path_factory.mktemp("shared") / "backups"
    run = run_play(testbed, "backup.yml", database.variables(infrakt_backup_dir=str(backup_dir)))
    assert run.returncode == 0, run.output[-3000:]
    yield database, backup_dir, run.result("Dump ")
    database.drop()


def test_postgres_backup_and_restore_native(testbed, postgres_db, backup_dir):
    password_files_before = secret_files(testbed.env["PG_PASSWORD"])
    before = postgres_db.fingerprint()
    assert before.startswith(f"{CUSTOMER_COUNT}|") and f"|{ORDER_COUNT}|" in before
    variables = postgres_db.variables(infrakt_backup_dir=str(backup_dir))

    run = run_play(testbed, "backup.yml", variables)
    assert run.returncode == 0, run.output[-3000:]
    status, backup = run.status_and_result("Dump ")
    assert status == "changed"
    path = Path(backup["path"])
    assert path == backup_dir / postgres_db.name / backup["filename"]
    assert re.match(rf"^{postgres_db.name}_postgres_\d{{8}}T\d{{6}}Z\.dump$", backup["filename"])
    assert path.read_bytes()[:5] == b"PGDMP"
    assert backup["sha256"] == sha256_of(path) and backup["size"] == path.stat().st_size
    assert (path.parent / (path.name + ".sha256")).read_text() == f"{backup['sha256']}  {path.name}\n"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".sha256"]
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    stamp = re.search(r"_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z\.", backup["filename"]).groups()
    assert backup["created"] == "{}-{}-{}T{}:{}:{}Z".format(*stamp)

    listing = run_play(testbed, "backups_list.yml", variables)
    assert listing.returncode == 0, listing.output[-3000:]
    assert listing.result("List the local backups")["backups"] == [
        {"filename": backup["filename"], "path": str(path), "size": backup["size"], "created": backup["created"],
         "engine": "postgres", "sha256": backup["sha256"], "signature": None},  # a play without a signing key
    ]

    postgres_db.damage()
    assert postgres_db.psql("SELECT count(*) FROM orders") == str(ORDER_COUNT // 2)
    run = run_play(testbed, "restore.yml", dict(variables, infrakt_restore_filename=backup["filename"]))
    assert run.returncode == 0, run.output[-3000:]
    status, restored = run.status_and_result("Restore the database")
    assert (status, restored["filename"], restored["sha256"]) == ("changed", backup["filename"], backup["sha256"])
    assert postgres_db.fingerprint() == before
    assert secret_files(testbed.env["PG_PASSWORD"]) <= password_files_before


def test_a_planted_plain_sql_dump_is_refused_and_runs_nothing(testbed, postgres_db, backup_dir, tmp_path):
    # A real plain-SQL dump of the database behind a psql shell escape: psql would run the
    # escape as the restoring user (root on a server) and then load the data back.
    marker = tmp_path / "planted-shell-escape-ran"
    env = testbed.env
    plain_sql = subprocess.run(
        [os.path.join(env["PG_BIN_DIR"], "pg_dump"), "--format=plain", "--clean", "--if-exists", "--no-owner",
         "-h", env["PG_HOST"], "-p", env["PG_PORT"], "-U", env["PG_USER"], postgres_db.name],
        check=True, capture_output=True, env=dict(os.environ, PGPASSWORD=env["PG_PASSWORD"]),
    ).stdout
    filename = f"{postgres_db.name}_postgres_20260101T000000Z.dump"
    plant_backup(backup_dir / postgres_db.name, filename, f"\\! touch {marker}\n".encode() + plain_sql)
    postgres_db.psql("DELETE FROM orders WHERE id > 100")  # a change the planted dump would undo
    damaged = postgres_db.fingerprint()

    variables = postgres_db.variables(infrakt_backup_dir=str(backup_dir), infrakt_restore_filename=filename)
    run = run_play(testbed, "restore.yml", variables)
    assert run.returncode != 0
    status, result = run.status_and_result("Restore the database")
    assert status == "fatal" and result["database_touched"] is False
    assert result["msg"] == f"{filename} is not a pg_dump custom-format archive; the database was not touched"
    assert not marker.exists()
    assert postgres_db.fingerprint() == damaged


@pytest.mark.parametrize("failure", ["wrong password", "database down"])
def test_failing_dump_leaves_no_file(testbed, postgres_db, backup_dir, failure):
    if failure == "wrong password":
        variables = postgres_db.variables(infrakt_db_password="not-the-password")
        expected = (f'pg_dump failed: connection to server at "127.0.0.1", port {testbed.env["PG_PORT"]} failed: '
                    f'FATAL: password authentication failed for user "{testbed.env["PG_USER"]}"')
    else:
        port = free_port()
        variables = postgres_db.variables(infrakt_db_port=port)
        expected = f'pg_dump failed: connection to server at "127.0.0.1", port {port} failed: Connection refused'
    run = run_play(testbed, "backup.yml", dict(variables, infrakt_backup_dir=str(backup_dir)))
    assert run.returncode != 0
    status, result = run.status_and_result("Dump ")
    assert status == "fatal" and result["msg"].startswith(expected)
    assert "\n" not in result["msg"]
    assert list((backup_dir / postgres_db.name).iterdir()) == []
    assert not any(task.startswith("Report") for task, _ in run.statuses())


def test_corrupted_backup_is_refused_and_the_database_untouched(testbed, postgres_backup):
    database, backup_dir, backup = postgres_backup
    path = Path(backup["path"])
    original = path.read_bytes()
    database.psql("DELETE FROM orders WHERE id > 100")
    changed = database.fingerprint()
    try:
        damaged = bytearray(original)
        damaged[len(damaged) // 2] ^= 0x01
        path.write_bytes(bytes(damaged))
        variables = database.variables(infrakt_backup_dir=str(backup_dir), infrakt_restore_filename=backup["filename"])
        run = run_play(testbed, "restore.yml", variables)
        assert run.returncode != 0
        status, result = run.status_and_result("Restore the database")
        assert status == "fatal"
        damaged_sha256 = hashlib.sha256(bytes(damaged)).hexdigest()
        assert result["msg"].startswith(f"backup {backup['filename']} is corrupted: its sha256 is {damaged_sha256} but")
        assert database.fingerprint() == changed
    finally:
        path.write_bytes(original)


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("../../etc/passwd", "must be a plain name from the backup list, not a path"),
        ("/etc/passwd", "must be a plain name from the backup list, not a path"),
        ("other_postgres_20261124T210509Z.dump", "is not a backup of database"),
    ],
)
def test_bad_filenames_are_refused(testbed, postgres_backup, filename, message):
    database, backup_dir, _ = postgres_backup
    before = database.fingerprint()
    variables = database.variables(infrakt_backup_dir=str(backup_dir), infrakt_restore_filename=filename)
    run = run_play(testbed, "restore.yml", variables)
    assert run.returncode != 0
    status, result = run.status_and_result("Restore the database")
    assert status == "fatal" and message in result["msg"]
    assert database.fingerprint() == before


def test_check_mode_dumps_nothing(testbed, postgres_db, backup_dir):
    run = run_play(testbed, "backup.yml", postgres_db.variables(infrakt_backup_dir=str(backup_dir)), check=True)
    assert run.returncode == 0, run.output[-3000:]
    result = run.result("Dump ")
    assert result["msg"].startswith(f"would dump postgres database {postgres_db.name} to {backup_dir}/")
    assert run.result("Report the backup")["msg"] == result["msg"]
    assert not backup_dir.exists()


# ---------------------------------------------------------------------------------------------
# MariaDB


def test_mariadb_backup_and_restore_native(testbed, mariadb_db, backup_dir):
    before = mariadb_db.fingerprint()
    assert "orders_audit" in before and "orders_amount_sum" in before
    variables = dict(
        infrakt_db_name=mariadb_db.name, infrakt_db_engine="mariadb", infrakt_db_socket=testbed.env["MYSQL_SOCKET"],
        infrakt_db_user=testbed.env["MYSQL_USER"], infrakt_db_password=testbed.env["MYSQL_PASSWORD"],
        infrakt_backup_dir=str(backup_dir),
    )
    run = run_play(testbed, "backup.yml", variables)
    assert run.returncode == 0, run.output[-3000:]
    backup = run.result("Dump ")
    assert backup["filename"].endswith(".sql.gz") and Path(backup["path"]).read_bytes()[:2] == b"\x1f\x8b"
    assert backup["sha256"] == sha256_of(backup["path"])

    mariadb_db.damage()
    assert mariadb_db.sql("SELECT COUNT(*) FROM orders") == "10"
    run = run_play(testbed, "restore.yml", dict(variables, infrakt_restore_filename=backup["filename"]))
    assert run.returncode == 0, run.output[-3000:]
    assert mariadb_db.fingerprint() == before


def test_mariadb_restore_runs_no_client_commands(testbed, mariadb_db, backup_dir, tmp_path):
    # `--binary-mode` keeps the mariadb client's own commands (`\\!`, `system`) off while it reads
    # SQL from a pipe; without it both lines below run a shell command.
    markers = [tmp_path / "backslash-bang-ran", tmp_path / "system-ran"]
    sql = (f"CREATE TABLE planted (id INT);\n\\! touch {markers[0]}\nsystem touch {markers[1]}\n"
           "INSERT INTO planted VALUES (1);\n")
    filename = f"{mariadb_db.name}_mariadb_20260101T000000Z.sql.gz"
    plant_backup(backup_dir / mariadb_db.name, filename, gzip.compress(sql.encode()))
    variables = dict(
        infrakt_db_name=mariadb_db.name, infrakt_db_engine="mariadb", infrakt_db_socket=testbed.env["MYSQL_SOCKET"],
        infrakt_db_user=testbed.env["MYSQL_USER"], infrakt_db_password=testbed.env["MYSQL_PASSWORD"],
        infrakt_backup_dir=str(backup_dir), infrakt_restore_filename=filename,
    )
    run = run_play(testbed, "restore.yml", variables)
    assert run.returncode != 0  # the client sends the command lines to the server as SQL, which refuses them
    assert run.status_and_result("Restore the database")[0] == "fatal"
    assert [marker for marker in markers if marker.exists()] == []


# ---------------------------------------------------------------------------------------------
# Redis


def test_redis_backup_and_restore_native(testbed, redis_server, backup_dir):
    before = redis_server.contents()
    assert set(before) == set(REDIS_SAMPLE)
    variables = dict(
        infrakt_db_name="cache", infrakt_db_engine="redis", infrakt_db_host="127.0.0.1",
        infrakt_db_port=redis_server.port, infrakt_db_password=redis_server.password,
        infrakt_db_restart_command=shlex.join(redis_server.start_command), infrakt_backup_dir=str(backup_dir),
        infrakt_db_data_dir=str(redis_server.directory / "data"),
    )
    run = run_play(testbed, "backup.yml", variables)
    assert run.returncode == 0, run.output[-3000:]
    backup = run.result("Dump ")
    assert Path(backup["path"]).read_bytes()[:5] == b"REDIS"
    assert backup["sha256"] == sha256_of(backup["path"])

    redis_server.change()
    server_pid = (redis_server.directory / "redis.pid").read_text().strip()
    run = run_play(testbed, "restore.yml", dict(variables, infrakt_restore_filename=backup["filename"]))
    assert run.returncode == 0, run.output[-3000:]
    assert (redis_server.directory / "redis.pid").read_text().strip() != server_pid  # stopped and started
    assert redis_server.contents() == before
    assert not list((redis_server.directory / "data").glob(".infrakt-restore-*"))


# ---------------------------------------------------------------------------------------------
# S3 (moto on the bench), through infrakt.backup.s3_object and the s3_credentials role


@pytest.mark.parametrize("where", ["native", "container"])
def test_s3_round_trip_backup_upload_list_download_restore(testbed, postgres_db, backup_dir, where):
    credential_files_before = secret_files(testbed.env["S3_SECRET_KEY"])
    before = postgres_db.fingerprint()
    # container: `docker exec -i bench-postgres pg_dump …` through the docker shim (see DOCKER_SHIM)
    container = {"infrakt_db_container": "bench-postgres", "infrakt_docker_bin": str(DOCKER_SHIM)}
    container_variables = container if where == "container" else {}
    variables = dict(postgres_db.variables(infrakt_backup_dir=str(backup_dir), **container_variables),
                     **bench_s3_variables(testbed.env, unique("dbtest"), infrakt_aws_bin=testbed.env["AWS_BIN"]))

    run = run_play(testbed, "backup.yml", variables)
    assert run.returncode == 0, run.output[-3000:]
    status, backup = run.status_and_result("Dump ")
    assert run.module_args("Dump ").get("container") == container_variables.get("infrakt_db_container")
    key = f"{variables['infrakt_s3_prefix']}/{postgres_db.name}/{backup['filename']}"
    # the upload is part of the dump's module run
    uploaded = backup["upload"]
    assert (status, backup["location"], uploaded["key"], uploaded["sha256"]) == ("changed", "both", key,
                                                                                  backup["sha256"])

    Path(backup["path"]).unlink()
    Path(backup["path"] + ".sha256").unlink()
    listing = run_play(testbed, "backups_list.yml", variables)
    assert listing.returncode == 0, listing.output[-3000:]
    assert listing.result("List the local backups")["backups"] == []
    objects = listing.result("List the S3 backups")["objects"]
    assert [(o["filename"], o["size"], o["sidecar"]) for o in objects] == [(backup["filename"], backup["size"], True)]

    postgres_db.damage()
    run = run_play(testbed, "restore.yml", dict(variables, infrakt_restore_filename=backup["filename"]))
    assert run.returncode == 0, run.output[-3000:]
    status, downloaded = run.status_and_result("Download ")
    assert (status, downloaded["path"], downloaded["sha256"]) == ("changed", backup["path"], backup["sha256"])
    assert run.result("Restore the database")["sha256"] == backup["sha256"]
    assert postgres_db.fingerprint() == before
    assert sha256_of(backup["path"]) == backup["sha256"]
    assert secret_files(testbed.env["S3_SECRET_KEY"]) <= credential_files_before


def test_failed_upload_keeps_the_local_backup_and_fails_the_play(testbed, postgres_db, backup_dir):
    variables = dict(postgres_db.variables(infrakt_backup_dir=str(backup_dir)),
                     **bench_s3_variables(testbed.env, unique("dbtest"), infrakt_aws_bin=testbed.env["AWS_BIN"],
                                          infrakt_s3_bucket="infrakt-no-such-bucket"))
    credential_files_before = secret_files(testbed.env["S3_SECRET_KEY"])
    run = run_play(testbed, "backup.yml", variables)
    assert run.returncode != 0
    status, backup = run.status_and_result("Dump ")
    assert status == "fatal" and backup["error_code"] == "NoSuchBucket", backup["msg"]
    assert backup["msg"].endswith(f"the local backup is intact at {backup['path']}")
    assert backup["location"] == "local" and sha256_of(backup["path"]) == backup["sha256"]
    assert Path(backup["path"] + ".sha256").is_file()
    # db_backup wrote the S3 keys for its own run and removed them, failure or not
    assert secret_files(testbed.env["S3_SECRET_KEY"]) <= credential_files_before
