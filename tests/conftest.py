"""Shared pytest setup: the collection is importable as ansible_collections.infrakt.backup
(through the link scripts/bootstrap.sh makes under collections/), and the repository root is
importable so that tests can use the test bench package `tests.testbed`.
The session fixture `testbed` brings the real test bench up for integration tests."""

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT / "collections", REPO_ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture(scope="session")
def testbed():
    """The running test bench (tests.testbed.Testbed), started once per session. It is
    stopped at the end unless it already ran before the session, TESTBED_KEEP=1, or another
    pytest session still uses it. Under pytest-xdist each worker has a bench of its own
    (<TESTBED_DIR>-gw0, …): its own S3 keys, database passwords and ports, so that the tests
    that look for a run's leftovers by those keys see only their own worker's runs."""
    from tests.testbed import Testbed
    from tests.testbed.bench import bench_dir

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    bed = Testbed.up(f"{bench_dir()}-{worker}" if worker else None)
    yield bed
    if not bed.was_running and os.environ.get("TESTBED_KEEP") != "1":
        bed.down(only_if_unused=True)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Keep `--dist loadgroup` grouping. pytest-xdist 3.8 tags a grouped test by assigning
    `item._nodeid = "<id>@<group>"`, which pytest 9.2 no longer reads (a node's id is the
    structured `item._id`): without this every xdist_group("server_global") test went to
    whichever worker was free, and two of them wrote root's /etc/infrakt/s3 at once."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is None:
            continue
        group = marker.args[0] if marker.args else marker.kwargs.get("name", "default")
        if not item.nodeid.endswith(f"@{group}"):
            item._id = type(item._id).parse(f"{item.nodeid}@{group}")
