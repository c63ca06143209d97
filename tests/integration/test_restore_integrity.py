"""Integrity suite: a backup in S3 that is not what the engine wrote is refused by `backup
restore` through the CLI, the database untouched and nothing left on the server. Someone who
can write to the bucket changes the object or its sidecar with the plain aws CLI against the
bench S3 server; the server has no local copy, so the restore downloads it. (A flipped byte:
test_cli_backups.py; a planted plain-SQL `.dump` straight in the backup dir:
test_db_backup_restore.py.)"""

import hashlib
import os
import subprocess

import pytest

from tests.integration.wrapper_cli import SERVER_BACKUPS, remove_local_copy

pytestmark = pytest.mark.integration


class Bucket:
    """The bench bucket through the plain aws CLI, as anyone holding its keys sees it."""

    def __init__(self, env):
        self.env = env
        self.aws_env = {**os.environ, "AWS_ACCESS_KEY_ID": env["S3_ACCESS_KEY"],
                        "AWS_SECRET_ACCESS_KEY": env["S3_SECRET_KEY"], "AWS_DEFAULT_REGION": env["S3_REGION"]}

    def _aws(self, *args, data=None):
        return subprocess.run([self.env["AWS_BIN"], "s3", *args, "--endpoint-url", self.env["S3_ENDPOINT_URL"]],
                              input=data, capture_output=True, env=self.aws_env, check=True).stdout

    def url(self, key):
        return f"s3://{self.env['S3_BUCKET']}/{key}"

    def get(self, key) -> bytes:
        return self._aws("cp", "--only-show-errors", self.url(key), "-")

    def put(self, key, data: bytes) -> None:
        self._aws("cp", "--only-show-errors", "-", self.url(key), data=data)

    def delete(self, key) -> None:
        self._aws("rm", "--only-show-errors", self.url(key))


def sidecar(data: bytes, filename: str) -> bytes:
    return f"{hashlib.sha256(data).hexdigest()}  {filename}\n".encode()


def truncate(bucket, key, filename, archive, marker):
    bucket.put(key, archive[: len(archive) // 2])


def drop_sidecar(bucket, key, filename, archive, marker):
    # the same bytes, but their sha256 recorded nowhere: no sidecar, no object metadata
    bucket.put(key, archive)
    bucket.delete(key + ".sha256")


def sidecar_for_another_file(bucket, key, filename, archive, marker):
    bucket.put(key + ".sha256", sidecar(archive, filename.replace("_postgres_", "_postgres_x")))


def plant_plain_sql(bucket, key, filename, archive, marker):
    planted = f"\\! touch {marker}\nSELECT 1;\n".encode()
    if filename.endswith(".zst"):  # what the restore decodes is the plain SQL
        planted = subprocess.run(["zstd", "-c"], input=planted, capture_output=True, check=True).stdout
    bucket.put(key, planted)
    bucket.put(key + ".sha256", sidecar(planted, filename))


@pytest.mark.parametrize(("tamper", "refusal"), [
    (truncate, "checksum"),
    (drop_sidecar, "sha256"),
    (sidecar_for_another_file, "is about another file"),
    (plant_plain_sql, "not a pg_dump custom-format archive"),
], ids=lambda value: getattr(value, "__name__", value))
def test_a_tampered_backup_is_refused_and_the_database_untouched(wrapper, database, testbed, tmp_path, tamper,
                                                                  refusal):
    marker = tmp_path / "planted-shell-escape-ran"
    bucket = Bucket(testbed.env)
    created = wrapper.json("backup", "create", database.name)
    filename = created["filename"]
    remove_local_copy(database.name, filename)
    tamper(bucket, created["s3_key"], filename, bucket.get(created["s3_key"]), marker)
    database.psql("DELETE FROM orders WHERE id > 100")
    before = database.fingerprint()

    # a planted object is unsigned (test_signed_manifests.py): let it through to the format check
    allowed = ["--allow-unsigned"] if tamper is plant_plain_sql else []
    refused = wrapper.run("backup", "restore", database.name, filename, "--yes", *allowed, check=False)
    assert refused.returncode == 1, refused.stderr
    error = refused.stderr.strip().splitlines()[-1]
    assert error.startswith("infrakt-backup: error: ") and refusal in error, refused.stderr
    assert "before the database was touched" in error
    assert database.fingerprint() == before
    assert not marker.exists()
    # only a download that matches its sidecar is kept (the planted file: refused by format)
    assert (SERVER_BACKUPS / database.name / filename).exists() == (tamper is plant_plain_sql)
