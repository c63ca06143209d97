"""Fixtures the integration tests share: scratch databases and servers on the bench, and the
CLI with a home of its own."""

import pytest

from tests.integration.scratch import MariaDb, Postgres, Redis, unique
from tests.integration.wrapper_cli import registered_scratch_postgres, wrapper_with_bench_s3


@pytest.fixture(scope="module")
def wrapper(testbed, tmp_path_factory):
    """The CLI with a home of its own: the bench server registered and provisioned, S3
    settings for the bench S3 server under a prefix of this module's own."""
    return wrapper_with_bench_s3(testbed, tmp_path_factory.mktemp("home") / "infrakt")


@pytest.fixture
def database(wrapper):
    """A scratch PostgreSQL database registered in the wrapper under its own name."""
    with registered_scratch_postgres(wrapper, "sample_cli") as scratch:
        yield scratch


@pytest.fixture
def backup_dir(tmp_path):
    """A fresh backup root for one test (on the server, which is this machine)."""
    return tmp_path / "backups"


@pytest.fixture
def postgres_db(testbed):
    database = Postgres(testbed.env, unique("sample_dbtest"))
    database.create()
    yield database
    database.drop()


@pytest.fixture
def mariadb_db(testbed):
    database = MariaDb(testbed.env, unique("sample_dbtest"))
    database.create()
    yield database
    database.drop()


@pytest.fixture
def redis_server(tmp_path):
    server = Redis(tmp_path)
    server.start()
    yield server
    server.stop()
