"""Fixtures the integration tests share: scratch databases and servers on the bench, and the
CLI with a home of its own."""

import fcntl
import shlex

import pytest

from tests.integration.plays import run_playbook
from tests.integration.scratch import MariaDb, Postgres, Redis, scratch_database, unique
from tests.integration.wrapper_cli import registered, registered_scratch_postgres, wrapper_with_bench_s3

# Machine-wide, like what provisioning installs: the bench server of every worker is this machine.
PROVISION_LOCK = "/tmp/infrakt-tests-provision.lock"
# Held by each test marked xdist_group("server_global") while it runs.
SERVER_GLOBAL_LOCK = "/tmp/infrakt-tests-server-global.lock"


@pytest.fixture(scope="session", autouse=True)
def provisioned_server(testbed):
    """Provision this machine once per session, one pytest process (xdist worker) at a time:
    the first run installs the aws CLI venv under /opt/infrakt and packages with apt, which two
    runs must not do at once; the tests' own provisions then find everything in place."""
    with open(PROVISION_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = run_playbook(testbed, "provision.yml", {})
    assert run.returncode == 0, run.output[-3000:]


@pytest.fixture(autouse=True)
def server_global_turn(request):
    """A test that uses what the server holds once for everybody (root's crontab, /etc/infrakt,
    /opt/infrakt, Molecule's collections) runs only while no other such test does. --dist
    loadgroup already sends them all to one worker; the lock keeps that true when the grouping
    breaks (it did once, on a pytest upgrade) and between two pytest sessions on one machine."""
    if request.node.get_closest_marker("xdist_group") is None:
        yield
        return
    with open(SERVER_GLOBAL_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


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
    """A scratch database on the bench PostgreSQL with the sample data (dropped afterwards)."""
    with scratch_database(Postgres(testbed.env, unique("sample_dbtest"))) as database:
        yield database


@pytest.fixture
def mariadb_db(testbed):
    """A scratch database on the bench MariaDB with the sample data (dropped afterwards)."""
    with scratch_database(MariaDb(testbed.env, unique("sample_dbtest"))) as database:
        yield database


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of the test's own with the sample keys (stopped afterwards)."""
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_db(wrapper, redis_server):
    """(registered name, Redis): redis_server registered in the wrapper with the command that
    starts it again."""
    name = unique("cache")
    with registered(wrapper, name, redis_server.password, "--engine", "redis", "--host", "127.0.0.1",
                    "--port", str(redis_server.port), "--restart-command", shlex.join(redis_server.start_command),
                    "--data-dir", str(redis_server.directory / "data")):
        yield name, redis_server
