"""The pure parts of the S3 operations (plugins/module_utils/s3/operations.py): listing
parsing, timestamps and checksums; and the local side of a download (directories, modes), the
aws CLI stood in for."""

import json

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.s3 import operations

FILENAME = "shop_postgres_20261124T210509Z.dump"
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


# list-objects-v2 output of aws-cli 1.46 (two pages merged by the CLI look the same).
LISTING = json.loads(
    """{
    "Contents": [
        {"Key": "p/shop/shop_postgres_20261124T210509Z.dump", "LastModified": "2026-11-24T21:55:28.000Z",
         "ETag": "\\"x\\"", "ChecksumAlgorithm": ["CRC32"], "Size": 67108864, "StorageClass": "STANDARD"},
        {"Key": "p/shop/shop_postgres_20261124T210509Z.dump.sha256", "LastModified": "2026-11-24T21:55:29.000Z",
         "Size": 103},
        {"Key": "p/shop/shop_postgres_20261123T010000Z.dump", "LastModified": "2026-11-23T01:00:05+00:00",
         "Size": 10},
        {"Key": "p/shop/orphan.dump.sha256", "LastModified": "2026-11-23T01:00:05.000Z", "Size": 100},
        {"Key": "p/shop/notes.txt", "LastModified": "2026-11-22T10:00:00.123Z", "Size": 3}
    ],
    "RequestCharged": null,
    "Prefix": "p/shop/"
}"""
)["Contents"]


def test_split_listing_folds_sidecars_and_sorts():
    objects, sidecars = operations.split_listing(LISTING, "p/shop/")
    assert [entry["filename"] for entry in objects] == ["notes.txt", "shop_postgres_20261123T010000Z.dump", FILENAME]
    assert [entry["sidecar"] for entry in objects] == [False, False, True]
    assert sidecars == [FILENAME + ".sha256"]
    assert objects[2] == {
        "filename": FILENAME, "key": "p/shop/" + FILENAME, "size": 67108864,
        "last_modified": "2026-11-24T21:55:28Z", "sidecar": True,
    }
    assert objects[0]["last_modified"] == "2026-11-22T10:00:00Z"


def test_split_listing_skips_deeper_keys_and_the_prefix_itself():
    contents = [{"Key": "p/shop/", "LastModified": "2026-11-24T21:55:28Z", "Size": 0},
                {"Key": "p/shop/old/x.dump", "LastModified": "2026-11-24T21:55:28Z", "Size": 1}]
    assert operations.split_listing(contents, "p/shop/") == ([], [])


@pytest.mark.parametrize(
    ("timestamp", "iso"),
    [("2026-11-24T21:55:28.000Z", "2026-11-24T21:55:28Z"), ("2026-11-24T22:55:28+01:00", "2026-11-24T21:55:28Z"),
     ("2026-11-24T21:55:28", "2026-11-24T21:55:28Z")],
)
def test_last_modified_utc(timestamp, iso):
    assert operations.last_modified_utc(timestamp) == iso


@pytest.mark.parametrize("value", [DIGEST, DIGEST.upper(), f" {DIGEST}\n"])
def test_sha256_is_normalized(value):
    assert operations.validate_sha256(value) == DIGEST


@pytest.mark.parametrize("value", [None, "", DIGEST[:-1], DIGEST + "0", "g" * 64])
def test_bad_sha256_is_refused(value):
    with pytest.raises(ValueError, match="sha256"):
        operations.validate_sha256(value)


def test_a_local_file_that_matches_its_sidecar_and_sha256_passes(tmp_path):
    backup = tmp_path / FILENAME
    backup.write_bytes(b"test")  # sha256("test") is DIGEST
    (tmp_path / (FILENAME + ".sha256")).write_text(f"{DIGEST}  {FILENAME}\n")
    assert operations.verified_local_sha256(str(backup), DIGEST) == (DIGEST, None)
    assert operations.verified_local_sha256(str(backup)) == (DIGEST, None)


@pytest.mark.parametrize(("sidecar", "given", "what"), [
    (True, None, "its sidecar records"), (False, "0" * 64, "the given sha256 is"), (True, "0" * 64, "sidecar")])
def test_a_local_file_that_differs_from_its_sidecar_or_sha256_is_refused(tmp_path, sidecar, given, what):
    backup = tmp_path / FILENAME
    backup.write_bytes(b"tesT")
    if sidecar:
        (tmp_path / (FILENAME + ".sha256")).write_text(f"{DIGEST}  {FILENAME}\n")
    with pytest.raises(operations.AwsError) as raised:
        operations.verified_local_sha256(str(backup), given)
    assert raised.value.code == "ChecksumMismatch"
    assert what in raised.value.message and "nothing was uploaded" in raised.value.message


class OneObjectCli:
    """Stands in for the aws CLI (awscli.AwsCli) of a bucket holding backup FILENAME of shop
    (b"test") and its sidecar: the three calls a download makes."""

    key = "p/shop/" + FILENAME

    def object_sizes(self, bucket, key):
        """Return the sizes list-objects-v2 gives for the backup and its sidecar."""
        return {self.key: 4, self.key + ".sha256": len(f"{DIGEST}  {FILENAME}\n")}

    def read_text(self, bucket, key):
        """Return the sidecar object's text."""
        assert key == self.key + ".sha256"
        return f"{DIGEST}  {FILENAME}\n"

    def download_file(self, bucket, key, dest):
        """Write the backup's bytes to dest, as `aws s3 cp` does."""
        with open(dest, "wb") as handle:
            handle.write(b"test")


def test_a_download_leaves_an_existing_dest_dir_s_mode_alone(tmp_path):
    shared = tmp_path / "shared"  # a dest_dir like /tmp
    shared.mkdir()
    shared.chmod(0o1777)
    result = operations.download_backup(OneObjectCli(), "bench", "p", "shop", FILENAME, dest_dir=str(shared))
    assert result["verified"] is True and result["path"] == str(shared / FILENAME)
    assert oct(shared.stat().st_mode & 0o7777) == oct(0o1777)
    assert oct((shared / FILENAME).stat().st_mode & 0o777) == oct(0o600)


def test_a_download_makes_missing_directories_private(tmp_path):
    dest = tmp_path / "backups" / "shop"
    operations.download_backup(OneObjectCli(), "bench", "p", "shop", FILENAME, backup_dir=str(tmp_path / "backups"))
    assert [oct(path.stat().st_mode & 0o777) for path in (dest.parent, dest)] == [oct(0o700)] * 2
    assert sorted(path.name for path in dest.iterdir()) == [FILENAME, FILENAME + ".sha256"]
