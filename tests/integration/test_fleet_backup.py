"""`backup create --all | --server NAME | DB…`: one run over two servers, the bench server with
two good databases and one whose dump fails, and a server nobody answers on. The good ones are
on the server and in S3 (object and sidecar match the local file), each failure is named per
database, the exit code is 1; on a terminal the progress line ticks and stdout stays JSON."""

import hashlib
import json
import os
import re
import subprocess

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, signing
from infrakt_backup.store import Store
from tests.integration.plays import bench_s3_client, sha256_of
from tests.integration.scratch import free_port, unique
from tests.integration.wrapper_cli import CLI, registered, registered_scratch_postgres

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fleet(wrapper, testbed):
    """The wrapper with databases good_a, good_b (scratch PostgreSQL) and broken (its database
    does not exist) on the bench server, and lost on server `gone` (a closed port):
    (wrapper, {role: name}, gone's name)."""
    env = testbed.env
    gone, broken, lost = unique("gone"), unique("broken"), unique("lost")
    wrapper.run("server", "add", gone, "--host", "127.0.0.1", "--port", str(free_port()))
    pg_options = ("--engine", "postgres", "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", env["PG_USER"])
    with (registered_scratch_postgres(wrapper, "fleet_a") as good_a,
          registered_scratch_postgres(wrapper, "fleet_b") as good_b,
          registered(wrapper, broken, env["PG_PASSWORD"], *pg_options, "--database", unique("missing"))):
        wrapper.run("db", "add", lost, "--server", gone, "--engine", "postgres", env={"INFRAKT_DB_PASSWORD": ""})
        try:
            yield wrapper, {"good_a": good_a.name, "good_b": good_b.name, "broken": broken, "lost": lost}, gone
        finally:
            wrapper.run("db", "remove", lost, check=False)
            wrapper.run("server", "remove", gone, check=False)


def run_with_terminal_stderr(wrapper, *args) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe; return (exit code,
    stdout, what the terminal showed)."""
    master, slave = os.openpty()
    process = subprocess.Popen([CLI, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                               env=wrapper.environment())
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the last holder of the terminal's other side is gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    stdout = process.stdout.read().decode()
    process.stdout.close()
    return process.wait(timeout=60), stdout, shown.decode(errors="replace")


def test_all_databases_in_one_run_good_ones_uploaded_failures_named_progress_on_a_terminal(fleet, testbed):
    wrapper, names, gone = fleet
    code, stdout, shown = run_with_terminal_stderr(wrapper, "backup", "create", "--all", "--forks", "4", "--json")
    assert code == 1, shown
    rows = {row["database"]: row for row in json.loads(stdout)}  # stdout is JSON alone
    assert list(rows) == sorted(names.values())

    s3 = bench_s3_client(testbed.env)
    for role in ("good_a", "good_b"):
        row = rows[names[role]]
        assert row["error"] is None and row["server"] == "bench" and row["location"] == "local+s3", row
        assert sha256_of(row["path"]) == row["sha256"] and os.path.getsize(row["path"]) == row["size"]
        assert row["s3_key"].endswith(f"/{names[role]}/{row['filename']}")
        body = s3.get_object(Bucket=testbed.env["S3_BUCKET"], Key=row["s3_key"])["Body"].read()
        assert len(body) == row["size"] and hashlib.sha256(body).hexdigest() == row["sha256"]
        sidecar = s3.get_object(Bucket=testbed.env["S3_BUCKET"], Key=row["s3_key"] + ".sha256")["Body"].read()
        assert sidecar.decode().splitlines()[0] == f"{row['sha256']}  {row['filename']}"
        # signed on its server in the fleet run, like a backup of one
        sha256, signature = backup_files.parse_signed_sidecar(sidecar.decode(), row["filename"])
        assert signing.check(Store(wrapper.home).signing_key(), names[role], row["filename"], row["size"], sha256,
                             signature) == signing.VERIFIED

    broken = rows[names["broken"]]
    assert broken["error"].startswith(f"Backup of {names['broken']} failed: ") and "does not exist" in broken["error"]
    assert broken["filename"] is None and broken["location"] is None
    lost = rows[names["lost"]]
    assert lost["server"] == gone and lost["location"] is None
    assert lost["error"].startswith(f"Backup of {names['lost']} failed: cannot reach server {gone}: "), lost

    # the terminal: the running task with its elapsed time, rewritten in place, and the count
    assert re.search(r"\r\x1b\[K… Dump the databases \(\d+ s\)", shown), shown
    assert "2/4 done, 2 failed, 0 running" in shown
    assert testbed.env["PG_PASSWORD"] not in shown + stdout
