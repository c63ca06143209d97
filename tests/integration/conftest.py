"""Fixtures the CLI integration tests share."""

import pytest

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
