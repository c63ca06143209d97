"""Signed manifests (issue 10) through the CLI: backups are signed on the server with the
installation's key, `backup list` says which are verified, and someone who can write to the
bucket but does not hold the key cannot have a restore load a backup of their choosing —
swapping two valid backups (sidecars rewritten to match), renaming one to another database,
or planting an object with a fresh sha256 sidecar are refused in one line, the database
untouched; `--allow-unsigned` restores an unsigned backup. The key shows in no output (-vvv)
and no command line."""

import hashlib
import subprocess
import time

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import names, signing
from infrakt_backup.store import Store
from tests.integration.leaks import ProcessWatch
from tests.integration.plays import sha256_of
from tests.integration.wrapper_cli import SERVER_BACKUPS, registered_scratch_postgres, remove_local_copy

pytestmark = pytest.mark.integration


def signature_line(sidecar: bytes) -> str:
    """Return the signature comment line of sidecar text (it must have one)."""
    lines = sidecar.decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith(signing.SIGNATURE_PREFIX), sidecar
    return lines[1]


class Objects:
    """The bucket as someone holding its keys (not the signing key) sees it: whole objects."""

    def __init__(self, testbed):
        self.client = testbed.s3_client()
        self.bucket = testbed.env["S3_BUCKET"]

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def put_backup(self, key: str, data: bytes, sidecar_lines: list[str]) -> None:
        """Put data at key with a fresh sha256 line (naming the key's file) and sidecar_lines after it."""
        filename = key.rsplit("/", 1)[-1]
        head = f"{hashlib.sha256(data).hexdigest()}  {filename}"
        self.put(key, data)
        self.put(key + names.SIDECAR_SUFFIX, "\n".join([head, *sidecar_lines, ""]).encode())


def test_tampered_backups_are_refused_and_unsigned_ones_need_allow_unsigned(wrapper, testbed):
    objects = Objects(testbed)
    key = Store(wrapper.home).signing_key()  # the one the CLI generated or will generate
    with (registered_scratch_postgres(wrapper, "signed") as db,
          registered_scratch_postgres(wrapper, "signed_to") as to):
        first = wrapper.json("backup", "create", db.name)
        time.sleep(1.1)  # a filename has the time to the second
        db.psql("DELETE FROM orders WHERE id > 50")
        with ProcessWatch([key]) as processes:
            second = wrapper.json("backup", "create", db.name)
        assert processes.samples > 10 and processes.hits == [], "a command line or environment showed the key"

        # the server's sidecar is signed and still a sha256sum file
        local_dir = SERVER_BACKUPS / db.name
        checked = subprocess.run(["sha256sum", "--strict", "-c", second["filename"] + ".sha256"], cwd=local_dir,
                                 capture_output=True, text=True)
        assert checked.returncode == 0 and checked.stdout == f"{second['filename']}: OK\n", checked.stderr
        listed = wrapper.json("-vvv", "backup", "list", db.name)
        assert [(item["filename"], item["signature"]) for item in listed] == [
            (second["filename"], "verified"), (first["filename"], "verified")]

        # 1. swap the two backups' objects, each sidecar rewritten for its new name, signatures kept
        a, b = objects.get(first["s3_key"]), objects.get(second["s3_key"])
        a_line = signature_line(objects.get(first["s3_key"] + ".sha256"))
        b_line = signature_line(objects.get(second["s3_key"] + ".sha256"))
        objects.put_backup(first["s3_key"], b, [a_line])
        objects.put_backup(second["s3_key"], a, [b_line])
        # 2. the first backup renamed to one of the other database, with its signature
        renamed = first["filename"].replace(db.name, to.name, 1)
        renamed_key = first["s3_key"].rsplit("/", 2)[0] + f"/{to.name}/{renamed}"
        objects.put_backup(renamed_key, a, [a_line])
        # 3. a planted backup (a real dump) with a fresh sha256 sidecar and no signature
        made_at = names.parse_backup_filename(second["filename"]).created.strftime(names.TIMESTAMP_FORMAT)
        planted = second["filename"].replace(made_at, "20200101T000000Z")
        planted_key = second["s3_key"].rsplit("/", 1)[0] + "/" + planted
        objects.put_backup(planted_key, a, [])
        for filename in (first["filename"], second["filename"]):
            remove_local_copy(db.name, filename)  # the restores download from S3

        signatures = {item["filename"]: item["signature"] for item in wrapper.json("backup", "list", db.name)}
        assert signatures == {first["filename"]: "bad signature", second["filename"]: "bad signature",
                              planted: "unsigned"}

        db.psql("UPDATE customers SET name = 'after the backups'")
        to.psql("UPDATE customers SET name = 'untouched'")
        before, to_before = db.fingerprint(), to.fingerprint()
        for name, filename, refusal in ((db.name, second["filename"], "has a bad signature"),
                                        (to.name, renamed, "has a bad signature"),
                                        (db.name, planted, "is not signed")):
            refused = wrapper.run("-vvv", "backup", "restore", name, filename, "--yes", check=False)
            assert refused.returncode == 1, refused.stderr[-3000:]
            error = refused.stderr.strip().splitlines()[-1]
            assert refusal in error and "before the database was touched" in error, error
            assert error.startswith("infrakt-backup: error: ") and "--allow-unsigned" in error
        assert (db.fingerprint(), to.fingerprint()) == (before, to_before)

        # an unsigned backup (made before signed manifests: here the planted real dump) with --allow-unsigned
        allowed = wrapper.run("backup", "restore", db.name, planted, "--yes", "--allow-unsigned")
        # (the refused restore above downloaded it: a download checks only the sha256)
        assert "(sha256 verified, unsigned, allowed)." in allowed.stdout
        assert db.fingerprint() != before
        assert db.psql("SELECT count(*) FROM customers WHERE name = 'after the backups'") == "0"
        assert sha256_of(local_dir / planted) == hashlib.sha256(a).hexdigest()

    assert not wrapper.said(key), "the signing key appeared in the CLI's output"
    assert wrapper.said("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER")  # -vvv output was captured
    testbed.s3_client().delete_object(Bucket=testbed.env["S3_BUCKET"], Key=renamed_key)
    testbed.s3_client().delete_object(Bucket=testbed.env["S3_BUCKET"], Key=renamed_key + ".sha256")
