"""Restore drills (issue 10) through the CLI: `backup verify --latest --restore` streams the
newest backup from S3 on the server, checks signature, sha256 and format, restores it into
scratch space — a temporary PostgreSQL or MariaDB database, a redis-server of its own — counts
what arrived and removes the scratch space; `status` shows the drill. A backup that does not
load (a truncated archive, signed with the store's key as a backup of this installation would
be) fails in one line, and leaves no scratch database, file or process behind either."""

import hashlib
import json
import subprocess
import time

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import names, signing
from infrakt_backup.store import Store
from tests.integration.leaks import pids_running
from tests.integration.scratch import MariaDb, scratch_database, unique
from tests.integration.wrapper_cli import SERVER_BACKUPS, registered, registered_scratch_postgres
from tests.testbed.sample import REDIS_SAMPLE

pytestmark = pytest.mark.integration


def drill(wrapper, db_name: str, *args: str, check: bool = True):
    """Run `backup verify DB --restore --json` (args before it); return (its answer or None, the
    CompletedProcess, the seconds it took)."""
    started = time.monotonic()
    completed = wrapper.run("backup", "verify", db_name, *args, "--restore", "--json", check=check)
    seconds = time.monotonic() - started
    return (json.loads(completed.stdout) if completed.returncode == 0 else None), completed, seconds


def status_row(wrapper, db_name: str) -> dict:
    listed = wrapper.run("status", "--json", check=False)
    return next(row for row in json.loads(listed.stdout) if row["database"] == db_name)


def plant_signed(testbed, wrapper, s3_key: str, filename: str, data: bytes) -> None:
    """Put data in S3 next to s3_key as backup filename with a sidecar signed with the store's key,
    as db_backup would have signed it: only its content is wrong."""
    db_name = s3_key.rsplit("/", 2)[-2]
    key = s3_key.rsplit("/", 1)[0] + "/" + filename
    sha256 = hashlib.sha256(data).hexdigest()
    signature = signing.signature(Store(wrapper.home).signing_key(), db_name, filename, len(data), sha256)
    client, bucket = testbed.s3_client(), testbed.env["S3_BUCKET"]
    client.put_object(Bucket=bucket, Key=key, Body=data)
    client.put_object(Bucket=bucket, Key=key + names.SIDECAR_SUFFIX,
                      Body=f"{sha256}  {filename}\n{signing.SIGNATURE_PREFIX}{signature}\n".encode())


def scratch_databases(psql) -> list[str]:
    return [name for name in psql("SELECT datname FROM pg_database").split() if name.startswith("infrakt_drill_")]


def test_postgres_drill_passes_then_a_truncated_signed_backup_fails_and_nothing_is_left(wrapper, testbed):
    with registered_scratch_postgres(wrapper, "drill") as db:
        created = wrapper.json("backup", "create", db.name)
        answer, _, seconds = drill(wrapper, db.name, "--latest")
        expected_rows = int(db.psql("SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders)"))
        assert (answer["filename"], answer["source"], answer["signature"], answer["sha256"]) == (
            created["filename"], "s3", "verified", created["sha256"])
        assert answer["restored"] and answer["counts"] == {"tables": 2, "rows": expected_rows}
        assert answer["verify_result"] == "passed" and answer["recorded"]
        print(f"\ndrill of the sample PostgreSQL database: {seconds:.1f} s on the CLI, "
              f"{answer['duration_s']} s on the server")
        row = status_row(wrapper, db.name)
        assert (row["verify_result"], row["verify_filename"], row["verify_counts"]) == (
            "passed", created["filename"], answer["counts"])
        assert scratch_databases(lambda sql: db.psql(sql, database=testbed.env["PG_DATABASE"])) == []

        # the archive cut in half, recompressed and signed: every check but the load passes
        archive = subprocess.run(["zstd", "-dc", str(SERVER_BACKUPS / db.name / created["filename"])],
                                 capture_output=True, check=True).stdout
        truncated = subprocess.run(["zstd", "-q", "-c"], input=archive[: len(archive) // 2], capture_output=True,
                                   check=True).stdout
        made_at = names.parse_backup_filename(created["filename"]).created.strftime(names.TIMESTAMP_FORMAT)
        cut = created["filename"].replace(made_at, "20300101T000000Z")  # the newest
        plant_signed(testbed, wrapper, created["s3_key"], cut, truncated)
        failed, completed, _ = drill(wrapper, db.name, check=False)
        error = completed.stderr.strip().splitlines()[-1]
        assert failed is None and completed.returncode == 1, completed.stderr
        assert error.startswith("infrakt-backup: error: Verification of") and cut in error and "pg_restore" in error
        assert scratch_databases(lambda sql: db.psql(sql, database=testbed.env["PG_DATABASE"])) == []
        row = status_row(wrapper, db.name)
        assert not row["ok"] and row["verify_result"] == "failed" and "restore drill failed" in row["error"]
        # the status table shows the drill
        assert "LAST DRILL" in wrapper.run("status", check=False).stdout


def test_mariadb_drill_restores_into_a_scratch_database(wrapper, testbed):
    env = testbed.env
    with (scratch_database(MariaDb(env, unique("sample_drill"))) as db,
          registered(wrapper, db.name, env["MYSQL_PASSWORD"], "--engine", "mariadb", "--database", db.name,
                     "--host", env["MYSQL_HOST"], "--port", env["MYSQL_PORT"], "--user", env["MYSQL_USER"])):
        wrapper.json("backup", "create", db.name)
        answer, _, _ = drill(wrapper, db.name)
        rows = int(db.sql("SELECT (SELECT COUNT(*) FROM customers) + (SELECT COUNT(*) FROM orders)"
                          " + (SELECT COUNT(*) FROM order_audit)"))
        assert answer["counts"] == {"tables": 3, "rows": rows} and answer["signature"] == "verified"
        assert [name for name in db.sql("SHOW DATABASES", database=False).split()
                if name.startswith("infrakt_drill_")] == []


def test_redis_drill_loads_into_a_redis_server_of_its_own(wrapper, redis_db):
    name, server = redis_db
    wrapper.json("backup", "create", name)
    pid = (server.directory / "redis.pid").read_text()
    answer, _, _ = drill(wrapper, name)
    assert answer["counts"] == {"keys": len(REDIS_SAMPLE)} and answer["restored"]
    assert (server.directory / "redis.pid").read_text() == pid  # the live server was left alone
    assert pids_running("redis-server", "infrakt_drill_") == []
    assert [path.name for path in (SERVER_BACKUPS / name).iterdir() if path.name.startswith("infrakt_drill_")] == []
