"""merge_locations: the seed's merged list with location local | s3 | both; list_backups when
S3 cannot be listed."""

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import signing
from infrakt_backup.actions.backup_list import BACKUP_INFO, S3_OBJECT, list_backups, merge_locations
from infrakt_backup.errors import InfraktError
from infrakt_backup.remote import Play
from infrakt_backup.runner import ModuleResult, PlaybookRun

KEY = "ab" * 32
OLD = "shop_postgres_20261101T000000Z.dump"
MID = "shop_postgres_20261110T000000Z.dump"
NEW = "shop_postgres_20261124T210509Z.dump"


def test_merged_by_filename_newest_first():
    local = [{"filename": NEW, "size": 30, "sha256": "c" * 64}, {"filename": MID, "size": 20, "sha256": None}]
    remote = [
        {"filename": MID, "size": 20, "sidecar": True, "last_modified": "2026-11-10T00:00:05Z"},
        {"filename": OLD, "size": 10, "sidecar": False, "last_modified": "2026-11-01T00:00:05Z"},
    ]
    merged = merge_locations("shop", local, remote, KEY)
    assert [(item["filename"], item["location"]) for item in merged] == [(NEW, "local"), (MID, "both"), (OLD, "s3")]
    # sha256 is what the local sidecar records; S3 sidecars are only said to exist
    assert [(item["sha256"], item["s3_sidecar"]) for item in merged] == [("c" * 64, None), (None, True), (None, False)]
    assert merged[0]["created"] == "2026-11-24T21:05:09Z"


def test_strangers_under_the_prefix_are_left_out():
    remote = [{"filename": "notes.txt", "size": 1}, {"filename": "other_postgres_20261101T000000Z.dump", "size": 1}]
    assert merge_locations("shop", [], remote, KEY) == []


def test_each_copy_of_a_backup_is_checked_against_its_signature():
    sha = "d" * 64
    good = signing.signature(KEY, "shop", NEW, 30, sha)
    for_mid = signing.signature(KEY, "shop", MID, 20, sha)
    local = [{"filename": NEW, "size": 30, "sha256": sha, "signature": good},
             {"filename": MID, "size": 20, "sha256": sha, "signature": for_mid}]
    remote = [
        {"filename": NEW, "size": 30, "sidecar": True, "sha256": sha, "signature": good},
        # the S3 copy of MID is another object (another size) under the signed record: swapped
        {"filename": MID, "size": 21, "sidecar": True, "sha256": sha, "signature": for_mid},
        {"filename": OLD, "size": 10, "sidecar": True, "sha256": sha, "signature": None},
    ]
    merged = {item["filename"]: item["signature"] for item in merge_locations("shop", local, remote, KEY)}
    assert merged == {NEW: "verified", MID: "bad signature", OLD: "unsigned"}
    # a signature made with another key, or a sidecar that could not be read, is bad
    assert merge_locations("shop", local[:1], [], "cd" * 32)[0]["signature"] == "bad signature"
    unreadable = [{"filename": OLD, "size": 10, "sidecar": True, "sha256": None, "signature": None}]
    assert merge_locations("shop", [], unreadable, KEY)[0]["signature"] == "bad signature"


def _listing_run(failed_action):
    """A backups_list.yml run whose local listing answered and whose `failed_action` failed."""
    run = PlaybookRun(status="failed", rc=2, failure="cannot reach the S3 endpoint x")
    run.results = [ModuleResult("web1", "List local", BACKUP_INFO, {"backups": [{"filename": NEW, "size": 30}]}),
                   ModuleResult("web1", "List S3", failed_action, {"msg": "x"}, failed=True)]
    return run


@pytest.fixture
def with_s3(store):
    store.add_server("web1", host="10.0.0.1")
    store.add_database("shop", server="web1", engine="postgres")
    store.save_s3_config(provider="minio", endpoint_url="http://127.0.0.1:9", bucket="bucket", region="us-east-1",
                         access_key="a", secret_key="s")
    return store


def test_an_s3_failure_still_returns_the_local_backups(with_s3, monkeypatch):
    monkeypatch.setattr(Play, "run", lambda *args, **kwargs: _listing_run(S3_OBJECT))
    listed = list_backups(with_s3, "shop")
    assert [(item["filename"], item["location"]) for item in listed["backups"]] == [(NEW, "local")]
    assert listed["s3_error"] == "cannot reach the S3 endpoint x"


def test_another_failure_is_an_error(with_s3, monkeypatch):
    monkeypatch.setattr(Play, "run", lambda *args, **kwargs: _listing_run("ansible.builtin.debug"))
    with pytest.raises(InfraktError, match="Listing the backups of shop failed: cannot reach"):
        list_backups(with_s3, "shop")
