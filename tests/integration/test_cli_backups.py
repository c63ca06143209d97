"""The main job through the wrapper CLI, as a user runs it: `backup create / list / restore`
against the bench server over SSH, the bench S3 server and a scratch PostgreSQL database —
and the ways it must fail: a corrupted S3 object, filenames that try to leave the backup
directory (the faults of a run, an S3 outage and a failing dump among them, are in
test_faults.py)."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.wrapper_cli import (
    SERVER_BACKUPS,
    remove_local_copy,
    s3_round_trip,
)

pytestmark = pytest.mark.integration


def test_create_list_restore_from_s3(wrapper, database, testbed):
    s3_round_trip(wrapper, database.name, database.fingerprint, database.damage)
    assert not wrapper.said(testbed.env["PG_PASSWORD"])


@pytest.mark.parametrize("filename", ["../../etc/passwd", "/etc/passwd", "other_postgres_20261124T210509Z.dump"])
def test_restore_refuses_names_outside_the_database_before_anything_runs(wrapper, database, filename):
    refused = wrapper.run("backup", "restore", database.name, filename, "--yes", check=False)
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "…" not in refused.stderr  # no play started


def test_corrupted_s3_object_is_refused_and_the_database_untouched(wrapper, database, testbed):
    env = testbed.env
    created = wrapper.json("backup", "create", database.name)
    remove_local_copy(database.name, created["filename"])
    aws_env = {**os.environ, "AWS_ACCESS_KEY_ID": env["S3_ACCESS_KEY"], "AWS_SECRET_ACCESS_KEY": env["S3_SECRET_KEY"],
               "AWS_DEFAULT_REGION": env["S3_REGION"]}
    key_url = f"s3://{env['S3_BUCKET']}/{created['s3_key']}"
    object_path = testbed.env["TESTBED_DIR"] + "/corrupted.dump"
    subprocess.run([env["AWS_BIN"], "s3", "cp", "--only-show-errors", key_url, object_path,
                    "--endpoint-url", env["S3_ENDPOINT_URL"]], env=aws_env, check=True)
    data = bytearray(Path(object_path).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(object_path).write_bytes(bytes(data))
    subprocess.run([env["AWS_BIN"], "s3", "cp", "--only-show-errors", object_path, key_url,
                    "--endpoint-url", env["S3_ENDPOINT_URL"]], env=aws_env, check=True)
    os.unlink(object_path)

    before = database.fingerprint()
    refused = wrapper.run("backup", "restore", database.name, created["filename"], "--yes", check=False)
    assert refused.returncode == 1
    assert "checksum" in refused.stderr and "before the database was touched" in refused.stderr
    assert database.fingerprint() == before
    assert not (SERVER_BACKUPS / database.name / created["filename"]).exists()
