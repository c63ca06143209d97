"""A Connection factory for the engine and pipeline tests: connection_from_params with defaults."""

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import connection_from_params

PASSWORD = "s3cr3t:pa\\ss\"wo'rd #1"  # characters every password format must escape


@pytest.fixture
def make_connection():
    """Return connection(**params) -> Connection, params on top of engine postgres, db_name shop."""

    def connection(**params):
        values = dict(
            engine="postgres", db_name="shop", database=None, host=None, port=None, user=None, password=None,
            socket=None, container=None, docker_bin="docker", restart_command=None,
        )
        values.update(params)
        return connection_from_params(values)

    return connection
