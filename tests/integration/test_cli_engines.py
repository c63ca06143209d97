"""The main job through the wrapper CLI for the engines besides PostgreSQL (test_cli_backups.py):
`backup create / list / restore` of a scratch MariaDB database on the bench MariaDB and of a
redis-server of the test's own (a Redis restore stops it and starts it with the registered
restart command), round trip through the bench S3 server, data compared before and after.
The database password goes in through INFRAKT_DB_PASSWORD and must never come out of the CLI."""

import pytest

from tests.integration.scratch import MariaDb, scratch_database, unique
from tests.integration.wrapper_cli import registered, s3_round_trip

pytestmark = pytest.mark.integration


@pytest.fixture
def mariadb_db(testbed, wrapper):
    """A scratch MariaDB database registered in the wrapper under its own name, over TCP."""
    env = testbed.env
    with (scratch_database(MariaDb(env, unique("sample_cli"))) as scratch,
          registered(wrapper, scratch.name, env["MYSQL_PASSWORD"], "--engine", "mariadb", "--database", scratch.name,
                     "--host", env["MYSQL_HOST"], "--port", env["MYSQL_PORT"], "--user", env["MYSQL_USER"])):
        yield scratch


def test_mariadb_round_trip_through_s3(wrapper, mariadb_db, testbed):
    created = s3_round_trip(wrapper, mariadb_db.name, mariadb_db.fingerprint, mariadb_db.damage)
    assert created["filename"].endswith(".sql.zst")  # db add's default compression
    assert not wrapper.said(testbed.env["MYSQL_PASSWORD"])


def test_redis_round_trip_through_s3(wrapper, redis_db):
    name, server = redis_db
    server_pid = (server.directory / "redis.pid").read_text().strip()
    created = s3_round_trip(wrapper, name, server.contents, server.change)
    assert created["filename"].endswith(".rdb.zst")
    assert (server.directory / "redis.pid").read_text().strip() != server_pid  # stopped and started again
    assert not wrapper.said(server.password)
