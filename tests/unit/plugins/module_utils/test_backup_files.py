"""Local backup files (module_utils/backup_files.py): .partial → final + sidecar, checksums,
private directories, listings."""

import hashlib
import os
import stat
import time

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files

FILENAME = "shop_postgres_20261124T210509Z.dump"


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_partial_backup_commit_renames_and_writes_the_sidecar(tmp_path):
    path = str(tmp_path / FILENAME)
    data = [os.urandom(1000), b"", os.urandom(3 * 1024 * 1024)]
    with backup_files.PartialBackup(path) as backup:
        for chunk in data:
            backup.write(chunk)
        assert os.listdir(tmp_path) == [FILENAME + ".partial"]
        size, sha256 = backup.commit()
    expected = hashlib.sha256(b"".join(data)).hexdigest()
    assert (size, sha256) == (3 * 1024 * 1024 + 1000, expected)
    assert sorted(os.listdir(tmp_path)) == [FILENAME, FILENAME + ".sha256"]
    assert (tmp_path / (FILENAME + ".sha256")).read_text() == f"{expected}  {FILENAME}\n"
    assert mode_of(path) == 0o600 and mode_of(path + ".sha256") == 0o600
    assert backup_files.verify_backup(path) == expected


def test_partial_backup_without_commit_leaves_nothing(tmp_path):
    path = str(tmp_path / FILENAME)
    with pytest.raises(RuntimeError), backup_files.PartialBackup(path) as backup:
        backup.write(b"half a dump")
        raise RuntimeError("pg_dump failed")
    assert os.listdir(tmp_path) == []


def test_partial_backup_never_overwrites_a_backup(tmp_path):
    (tmp_path / FILENAME).write_bytes(b"the older backup")
    with pytest.raises(ValueError, match="already exists"), backup_files.PartialBackup(str(tmp_path / FILENAME)):
        pass
    assert (tmp_path / FILENAME).read_bytes() == b"the older backup"


def test_a_second_run_in_the_same_second_cannot_share_the_partial_file(tmp_path):
    path = str(tmp_path / FILENAME)
    with backup_files.PartialBackup(path) as first:
        first.write(b"first run")
        with pytest.raises(ValueError, match="being written right now"), backup_files.PartialBackup(path):
            pass
        first.commit()
    assert (tmp_path / FILENAME).read_bytes() == b"first run"


def test_a_backup_appearing_under_the_final_name_meanwhile_is_not_overwritten(tmp_path):
    path = str(tmp_path / FILENAME)
    with pytest.raises(FileExistsError), backup_files.PartialBackup(path) as backup:
        backup.write(b"ours")
        (tmp_path / FILENAME).write_bytes(b"theirs")
        backup.commit()
    assert (tmp_path / FILENAME).read_bytes() == b"theirs"
    assert os.listdir(tmp_path) == [FILENAME]


def test_verify_backup_refuses_a_changed_file(tmp_path):
    path = tmp_path / FILENAME
    path.write_bytes(b"original")
    backup_files.write_sidecar(str(path), hashlib.sha256(b"original").hexdigest())
    path.write_bytes(b"originaL")
    with pytest.raises(ValueError, match="is corrupted: its sha256 is"):
        backup_files.verify_backup(str(path))


def test_verify_backup_needs_the_file_and_the_sidecar(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        backup_files.verify_backup(str(tmp_path / FILENAME))
    (tmp_path / FILENAME).write_bytes(b"x")
    with pytest.raises(ValueError, match="has no checksum file"):
        backup_files.verify_backup(str(tmp_path / FILENAME))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense\n", "not in sha256sum format"),
        ("%s  other.dump\n" % ("a" * 64), "about another file"),
        ("{}  {}\nsecond line\n".format("a" * 64, FILENAME), "not in sha256sum format"),
    ],
)
def test_parse_sidecar_refuses_bad_sidecars(text, message):
    with pytest.raises(ValueError, match=message):
        backup_files.parse_sidecar(text, FILENAME)


def test_parse_sidecar_accepts_sha256sum_output():
    assert backup_files.parse_sidecar("{}  {}\n".format("b" * 64, FILENAME), FILENAME) == "b" * 64
    assert backup_files.parse_sidecar("{} *{}".format("c" * 64, FILENAME), FILENAME) == "c" * 64


def test_ensure_private_dirs_makes_missing_levels_0700(tmp_path):
    (tmp_path / "opt").mkdir(mode=0o755)
    path = str(tmp_path / "opt" / "infrakt" / "backups" / "shop")
    backup_files.ensure_private_dirs(path)
    assert mode_of(path) == 0o700
    assert mode_of(tmp_path / "opt" / "infrakt") == 0o700
    assert mode_of(tmp_path / "opt") == 0o755


@pytest.mark.parametrize(("backup_dir", "db_name"), [("relative/dir", "shop"), ("/opt", "../etc"), ("/opt", "")])
def test_database_dir_validates(backup_dir, db_name):
    with pytest.raises(ValueError):
        backup_files.database_dir(backup_dir, db_name)


def test_sweep_stale_partials_removes_only_old_partials(tmp_path):
    old = tmp_path / (FILENAME + ".partial")
    fresh = tmp_path / "shop_postgres_20261124T220000Z.dump.partial"
    kept = tmp_path / FILENAME
    for path in (old, fresh, kept):
        path.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    os.utime(kept, (two_hours_ago, two_hours_ago))
    assert backup_files.sweep_stale_partials(str(tmp_path), 3600) == [str(old)]
    assert sorted(os.listdir(tmp_path)) == sorted([fresh.name, kept.name])


def test_list_local_backups(tmp_path):
    directory = tmp_path / "shop"
    directory.mkdir()
    newer = directory / "shop_postgres_20261125T010203Z.dump"
    newer.write_bytes(b"12345")
    backup_files.write_sidecar(str(newer), "d" * 64, "e" * 64)
    older = directory / "shop_redis_20261124T210509Z.rdb"
    older.write_bytes(b"REDIS")
    later = directory / "shop_postgres_20261126T000000Z.dump.zst.age"  # a name a later version writes
    later.write_bytes(b"age")
    for stranger in ("shop_postgres_20261125T010203Z.dump.partial", "shopx_postgres_20261125T010203Z.dump",
                     "notes.txt", "shop_postgres_2026.dump", "shop_postgres_20261399T010203Z.dump",
                     "shop_postgres_20261125T010203Z.dump.sha256.partial"):
        (directory / stranger).write_bytes(b"x")
    assert backup_files.list_local_backups(str(tmp_path), "shop") == [
        {"filename": older.name, "path": str(older), "size": 5, "created": "2026-11-24T21:05:09Z",
         "engine": "redis", "sha256": None, "signature": None},
        {"filename": newer.name, "path": str(newer), "size": 5, "created": "2026-11-25T01:02:03Z",
         "engine": "postgres", "sha256": "d" * 64, "signature": "e" * 64},
        {"filename": later.name, "path": str(later), "size": 3, "created": "2026-11-26T00:00:00Z",
         "engine": "postgres", "sha256": None, "signature": None},
    ]
    assert backup_files.list_local_backups(str(tmp_path), "other") == []
