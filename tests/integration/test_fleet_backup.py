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


def test_all_databases_in_one_run_good_ones_uploaded_failures_named(fleet, testbed):
    wrapper, names, gone = fleet
    completed = wrapper.run("backup", "create", "--all", "--forks", "4", "--json", check=False)
    assert completed.returncode == 1, completed.stderr
    assert completed.stderr == ""
    rows = {row["database"]: row for row in json.loads(completed.stdout)}
    assert set(rows) == set(names.values())

    s3 = bench_s3_client(testbed.env)
    for role in ("good_a", "good_b"):
        row = rows[names[role]]
        assert row["error"] is None and row["server"] == "bench" and row["location"] == "local+s3", row
        assert sha256_of(row["path"]) == row["sha256"] and os.path.getsize(row["path"]) == row["size"]
        assert row["s3_key"].endswith(f"/{names[role]}/{row['filename']}")
        body = s3.get_object(Bucket=testbed.env["S3_BUCKET"], Key=row["s3_key"])["Body"].read()
        assert len(body) == row["size"] and hashlib.sha256(body).hexdigest() == row["sha256"]
        sidecar = s3.get_object(Bucket=testbed.env["S3_BUCKET"], Key=row["s3_key"] + ".sha256")["Body"].read()
        assert sidecar.decode() == f"{row['sha256']}  {row['filename']}\n"

    broken = rows[names["broken"]]
    assert broken["error"].startswith(f"Backup of {names['broken']} failed: ") and "does not exist" in broken["error"]
    assert broken["filename"] is None and broken["location"] is None
    lost = rows[names["lost"]]
    assert lost["server"] == gone and lost["location"] is None
    assert lost["error"].startswith(f"Backup of {names['lost']} failed: cannot reach server {gone}: "), lost
    assert not wrapper.said(testbed.env["PG_PASSWORD"])


def test_one_server_on_a_terminal_shows_elapsed_time_and_count_stdout_stays_json(fleet):
    wrapper, names, _ = fleet
    code, stdout, shown = run_with_terminal_stderr(wrapper, "backup", "create", "--server", "bench", "--json")
    assert code == 1
    rows = json.loads(stdout)
    assert [row["database"] for row in rows] == sorted([names["good_a"], names["good_b"], names["broken"]])
    assert [row["error"] is None for row in rows] == [row["database"] != names["broken"] for row in rows]
    assert re.search(r"… Dump the databases \(\d+ s\)", shown), shown
    assert "2/3 done, 1 failed, 0 running" in shown and "\r\x1b[K" in shown
