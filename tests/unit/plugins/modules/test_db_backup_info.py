"""backup_info lists local backups (module backup_info)."""

from ansible_collections.infrakt.backup.plugins.modules import backup_info


def test_lists_backups_and_ignores_the_rest(run_module, tmp_path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "shop_mysql_20261124T210509Z.sql.gz").write_bytes(b"\x1f\x8b")
    (tmp_path / "shop" / "shop_mysql_20261124T210510Z.sql.gz.partial").write_bytes(b"\x1f")
    (tmp_path / "shop" / "shop_mysql_20261125T000000Z.sql.zst").write_bytes(b"\x28\xb5\x2f\xfd")
    result = run_module(backup_info, dict(db_name="shop", backup_dir=str(tmp_path)))
    assert result["changed"] is False
    assert [(b["filename"], b["size"], b["created"], b["sha256"]) for b in result["backups"]] == [
        ("shop_mysql_20261124T210509Z.sql.gz", 2, "2026-11-24T21:05:09Z", None),
        ("shop_mysql_20261125T000000Z.sql.zst", 4, "2026-11-25T00:00:00Z", None),
    ]


def test_no_directory_means_no_backups(run_module, tmp_path):
    assert run_module(backup_info, dict(db_name="shop", backup_dir=str(tmp_path)))["backups"] == []


def test_bad_db_name(run_module, tmp_path):
    result = run_module(backup_info, dict(db_name="..", backup_dir=str(tmp_path)))
    assert result["failed"] and "db_name '..' is not valid" in result["msg"]
