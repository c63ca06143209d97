"""Fixtures the CLI integration tests share."""

import pytest

from tests.integration.scratch import Postgres, scratch_database, unique
from tests.integration.wrapper_cli import registered, wrapper_with_bench_s3


@pytest.fixture(scope="module")
def wrapper(testbed, tmp_path_factory):
    """The CLI with a home of its own: the bench server registered and provisioned, S3
    settings for the bench S3 server under a prefix of this module's own."""
    return wrapper_with_bench_s3(testbed, tmp_path_factory.mktemp("home") / "infrakt")


@pytest.fixture
def database(testbed, wrapper):
    """A scratch PostgreSQL database registered in the wrapper under its own name."""
    env = testbed.env
    with (scratch_database(Postgres(env, unique("sample_cli"))) as scratch,
          registered(wrapper, scratch.name, env["PG_PASSWORD"], "--engine", "postgres", "--database", scratch.name,
                     "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", env["PG_USER"])):
        yield scratch
