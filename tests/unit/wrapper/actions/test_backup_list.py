"""merge_locations: the seed's merged list with location local | s3 | both."""

from infrakt_backup.actions.backup_list import merge_locations

OLD = "shop_postgres_20261101T000000Z.dump"
MID = "shop_postgres_20261110T000000Z.dump"
NEW = "shop_postgres_20261124T210509Z.dump"


def test_merged_by_filename_newest_first():
    local = [{"filename": NEW, "size": 30, "sha256": "c" * 64}, {"filename": MID, "size": 20, "sha256": None}]
    remote = [
        {"filename": MID, "size": 20, "sha256": "b" * 64, "last_modified": "2026-11-10T00:00:05Z"},
        {"filename": OLD, "size": 10, "sha256": "a" * 64, "last_modified": "2026-11-01T00:00:05Z"},
    ]
    merged = merge_locations("shop", local, remote)
    assert [(item["filename"], item["location"]) for item in merged] == [(NEW, "local"), (MID, "both"), (OLD, "s3")]
    assert merged[1]["sha256"] == "b" * 64
    assert merged[0]["created"] == "2026-11-24T21:05:09Z"


def test_strangers_under_the_prefix_are_left_out():
    remote = [{"filename": "notes.txt", "size": 1}, {"filename": "other_postgres_20261101T000000Z.dump", "size": 1}]
    assert merge_locations("shop", [], remote) == []
