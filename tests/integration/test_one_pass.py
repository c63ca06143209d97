"""One pass from dump to S3 (`backup create` streams the dump to S3 while it writes the local
copy), on the bench: a dump that fails mid-stream leaves no object, no pending multipart upload
and no file; an upload that fails mid-stream keeps a complete local copy; `db add
--no-local-copy` keeps nothing on the server and still restores."""

import hashlib
import subprocess
import time

import pytest

from tests.integration.plays import sha256_of
from tests.integration.scratch import Postgres, scratch_database, unique
from tests.integration.wrapper_cli import CLI, SERVER_BACKUPS, registered

pytestmark = pytest.mark.integration

NOISE_MIB = 96  # incompressible rows: the dump streams for seconds, in several multipart parts


@pytest.fixture
def noisy(wrapper, testbed):
    """A registered scratch PostgreSQL database with NOISE_MIB MiB of random bytes, compressed
    with gzip: pg_dump's gzip keeps its dump going for seconds (with zstd it may be done in less
    than the 2 seconds a test gives it)."""
    env = testbed.env
    with scratch_database(Postgres(env, unique("onepass"))) as scratch:
        scratch.add_noise(NOISE_MIB)
        with registered(wrapper, scratch.name, env["PG_PASSWORD"], "--engine", "postgres", "--database",
                        scratch.name, "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", env["PG_USER"],
                        "--compression", "gzip"):
            yield scratch


def objects_and_uploads(testbed, prefix: str) -> tuple[list[str], list[str]]:
    """Return the object keys and the pending multipart uploads' keys under prefix."""
    s3, bucket = testbed.s3_client(), testbed.env["S3_BUCKET"]
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    uploads = [item["Key"] for item in s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])]
    return keys, uploads


def test_a_dump_failing_mid_stream_leaves_no_object_and_no_file(wrapper, testbed, noisy):
    prefix = f"{wrapper.json('settings', 's3', 'show')['prefix']}/{noisy.name}/"
    failed = wrapper.run("backup", "create", noisy.name, "--timeout", "2", check=False)
    assert failed.returncode == 1 and "did not finish within 2 seconds" in failed.stderr, failed.stderr
    assert objects_and_uploads(testbed, prefix) == ([], [])
    directory = SERVER_BACKUPS / noisy.name
    assert not directory.exists() or list(directory.iterdir()) == []


def test_an_upload_failing_mid_stream_keeps_the_local_copy(wrapper, testbed, noisy):
    env = testbed.env
    own = ("--endpoint-url", env["S3_ENDPOINT_URL"], "--bucket", env["S3_BUCKET"], "--region", env["S3_REGION"])
    prefix = wrapper.json("settings", "s3", "show")["prefix"]
    user = unique("onepass")
    access_key, secret_key = testbed.add_s3_user(user)
    try:
        wrapper.run("settings", "s3", "set", *own, "--access-key", access_key, "--prefix", prefix,
                    env={"INFRAKT_S3_SECRET_KEY": secret_key})
        running = subprocess.Popen([CLI, "backup", "create", noisy.name], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=wrapper.environment())
        deadline = time.monotonic() + 120
        while not objects_and_uploads(testbed, f"{prefix}/{noisy.name}/")[1] and time.monotonic() < deadline:
            time.sleep(0.1)  # until the stream's multipart upload has begun
        testbed.remove_s3_user(user)  # S3 now refuses the stream's next part
        stdout, stderr = running.communicate(timeout=300)
    finally:
        testbed.remove_s3_user(user)
        wrapper.run("settings", "s3", "set", *own, "--access-key", env["S3_ACCESS_KEY"], "--prefix", prefix,
                    env={"INFRAKT_S3_SECRET_KEY": env["S3_SECRET_KEY"]})
    assert running.returncode == 1, stdout + stderr
    assert "Upload of" in stderr and "The local backup is intact on bench at" in stderr
    (kept,) = [path for path in (SERVER_BACKUPS / noisy.name).iterdir() if not path.name.endswith(".sha256")]
    # the sidecar's sha256 line, then its signature line: the local copy is signed though the upload failed
    assert kept.with_name(kept.name + ".sha256").read_text().splitlines()[0] == f"{sha256_of(kept)}  {kept.name}"
    assert kept.stat().st_size > NOISE_MIB << 20  # the whole dump, not what was streamed before the failure
    keys, _ = objects_and_uploads(testbed, f"{prefix}/{noisy.name}/")
    assert keys == []
    listed = {item["filename"]: (item["location"], item["signature"])
              for item in wrapper.json("backup", "list", noisy.name)}
    assert listed == {kept.name: ("local", "verified")}


def test_no_local_copy_streams_to_s3_only_and_restores(wrapper, testbed):
    env = testbed.env
    with scratch_database(Postgres(env, unique("s3only"))) as scratch:
        fingerprint = scratch.fingerprint()
        with registered(wrapper, scratch.name, env["PG_PASSWORD"], "--engine", "postgres", "--database",
                        scratch.name, "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", env["PG_USER"],
                        "--no-local-copy"):
            created = wrapper.json("backup", "create", scratch.name)
            assert created["location"] == "s3" and created["path"] is None
            assert not (SERVER_BACKUPS / scratch.name).exists()
            key = created["s3_key"]
            body = testbed.s3_client().get_object(Bucket=env["S3_BUCKET"], Key=key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == created["sha256"] and len(body) == created["size"]
            refused = wrapper.run("backup", "create", scratch.name, "--no-upload", check=False)
            assert refused.returncode == 2 and "keeps no local copy" in refused.stderr
            scratch.damage()
            wrapper.run("backup", "restore", scratch.name, created["filename"], "--yes")
            assert scratch.fingerprint() == fingerprint
