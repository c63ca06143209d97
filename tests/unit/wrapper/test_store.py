"""store.py: CRUD, masking, file modes, missing/wrong keys and crash-safe key rotation."""

import dataclasses
import os
import sqlite3
import stat

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import DEFAULT_BACKUP_DIR
from infrakt_backup.crypto import KeyFile, SecretCipher, new_key
from infrakt_backup.errors import BAD_INPUT, BadInput, InfraktError
from infrakt_backup.store import DEFAULT_AWS_BIN, DEFAULT_PYTHON, Store, default_home

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
S3 = {"provider": "minio", "endpoint_url": "http://127.0.0.1:9000", "bucket": "backups", "region": "us-east-1",
      "access_key": "AKIAEXAMPLE", "prefix": "prod"}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def populated(store):
    store.save_s3_config(**S3, secret_key=SECRET)
    store.add_server("web1", host="10.0.0.1")
    store.add_database("shop", server="web1", engine="postgres", password="db-password-1")
    store.add_database("cache", server="web1", engine="redis")
    return store


def secrets(store):
    return store.s3_config().secret_key, store.database("shop").password


# ---------------------------------------------------------------- files


def test_home_defaults_to_infrakt_home_then_dot_infrakt(monkeypatch, tmp_path):
    monkeypatch.setenv("INFRAKT_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    monkeypatch.delenv("INFRAKT_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_home() == tmp_path / ".infrakt"


def test_files_are_private_whatever_the_umask(home):
    old_umask = os.umask(0o022)
    try:
        home.mkdir(mode=0o755)
        store = Store(home)
        assert not store.key_file.path.exists()  # created on first use only
        store.add_server("web1", host="10.0.0.1")
        assert not store.key_file.path.exists()  # no secret yet
        store.save_s3_config(**S3, secret_key=SECRET)
        store.rotate_key()
    finally:
        os.umask(old_umask)
    assert mode(home) == 0o700
    assert mode(home / "infrakt.db") == 0o600
    assert mode(home / "master.key") == 0o600
    assert sorted(p.name for p in home.iterdir()) == ["infrakt.db", "master.key"]


# ---------------------------------------------------------------- S3 settings


def test_s3_settings_save_keep_secret_and_delete(store):
    assert store.s3_config() is None
    with pytest.raises(BadInput, match="secret key is required"):
        store.save_s3_config(**S3)
    first = store.save_s3_config(**S3, secret_key=SECRET)
    assert (first.bucket, first.prefix, first.secret_key) == ("backups", "prod", SECRET)
    assert first.created_at.tzinfo is not None

    updated = store.save_s3_config(**{**S3, "bucket": "other", "access_key": "AKIANEW"})
    assert (updated.bucket, updated.access_key, updated.secret_key) == ("other", "AKIANEW", SECRET)
    assert updated.created_at == first.created_at and updated.updated_at >= first.updated_at

    assert store.delete_s3_config() is True
    assert store.delete_s3_config() is False
    assert store.s3_config() is None


def test_entries_are_detached_dataclasses_with_masked_repr(store):
    populated(store)
    settings, database = store.s3_config(), store.database("shop")
    assert dataclasses.is_dataclass(settings) and dataclasses.is_dataclass(database)
    assert SECRET not in repr(settings) and "secret_key='****'" in repr(settings)
    assert "db-password-1" not in repr(database) and "password='****'" in repr(database)
    assert "password=None" in repr(store.database("cache"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.bucket = "x"


# ---------------------------------------------------------------- servers and databases


def test_servers_crud(store):
    added = store.add_server("web2", host="10.0.0.2", port=2222, user="backup", ssh_key_path="/root/.ssh/id")
    store.add_server("web1", host="10.0.0.1")
    assert [s.name for s in store.servers()] == ["web1", "web2"]
    assert store.server("web2") == added
    web1 = store.server("web1")
    assert (web1.port, web1.user, web1.ssh_key_path, web1.python_interpreter, web1.aws_bin, web1.backup_dir) == (
        22, "root", None, DEFAULT_PYTHON, DEFAULT_AWS_BIN, DEFAULT_BACKUP_DIR)
    assert store.update_server("web1", aws_bin="/usr/local/bin/aws").aws_bin == "/usr/local/bin/aws"
    assert store.server("web1").aws_bin == "/usr/local/bin/aws"
    with pytest.raises(TypeError):
        store.update_server("web1", name="renamed")
    with pytest.raises(BadInput, match="already exists"):
        store.add_server("web1", host="10.0.0.9")
    store.remove_server("web2")
    with pytest.raises(BadInput, match="unknown server 'web2'") as raised:
        store.server("web2")
    assert raised.value.exit_code == BAD_INPUT
    with pytest.raises(BadInput, match="unknown server"):
        store.remove_server("web2")


def test_databases_crud(store):
    store.add_server("web1", host="10.0.0.1")
    added = store.add_database("shop", server="web1", engine="mysql", database="shop", user="backup",
                               host="127.0.0.1", port=3306, password="pw")
    assert store.database("shop") == added
    assert (added.server, added.password, added.container, added.restart_command) == ("web1", "pw", None, None)
    store.add_database("cache", server="web1", engine="redis", password="", restart_command="redis-server x.conf",
                       data_dir="/var/lib/redis")
    assert store.database("cache").password is None  # empty means none
    assert (added.data_dir, store.database("cache").data_dir) == (None, "/var/lib/redis")
    assert [d.name for d in store.databases()] == ["cache", "shop"]
    with pytest.raises(BadInput, match="already exists"):
        store.add_database("shop", server="web1", engine="mysql")
    with pytest.raises(BadInput, match="unknown server 'nope'"):
        store.add_database("other", server="nope", engine="mysql")
    with pytest.raises(BadInput, match=r"still has databases \(cache, shop\)"):
        store.remove_server("web1")
    store.remove_database("shop")
    store.remove_database("cache")
    with pytest.raises(BadInput, match="unknown database 'shop'"):
        store.database("shop")
    store.remove_server("web1")
    assert store.servers() == []


# ---------------------------------------------------------------- keys


def test_missing_key_with_stored_secrets_is_one_line_naming_it(store):
    populated(store)
    store.key_file.path.unlink()
    for read in (store.s3_config, lambda: store.database("shop"), store.databases, store.rotate_key,
                 lambda: store.save_s3_config(**S3, secret_key="a-new-secret")):
        with pytest.raises(InfraktError) as raised:
            read()
        assert str(store.key_file.path) in raised.value.message and "missing" in raised.value.message
    assert not store.key_file.path.exists()  # no new key was made up over the old secrets
    assert store.server("web1").host == "10.0.0.1"  # what needs no key still works


def test_wrong_key_is_refused_before_anything_is_encrypted_with_it(store):
    populated(store)
    original = store.key_file.path.read_bytes()
    KeyFile(store.key_file.path).write([new_key()])
    with pytest.raises(InfraktError, match="cannot decrypt") as raised:
        store.s3_config()
    assert str(store.key_file.path) in raised.value.message
    with pytest.raises(InfraktError, match="cannot decrypt"):
        store.add_database("other", server="web1", engine="postgres", password="x")
    store.key_file.path.write_bytes(original)
    assert secrets(store) == (SECRET, "db-password-1")
    assert [d.name for d in store.databases()] == ["cache", "shop"]


def test_rotation_reencrypts_everything_under_a_new_key_only(store):
    populated(store)
    old_keys = store.key_file.read()
    assert store.rotate_key() == 2
    new_keys = store.key_file.read()
    assert len(new_keys) == 1 and new_keys[0] not in old_keys
    assert secrets(store) == (SECRET, "db-password-1")
    KeyFile(store.key_file.path).write(old_keys)
    with pytest.raises(InfraktError, match="cannot decrypt"):
        store.s3_config()


def test_secrets_under_an_older_key_stay_readable_until_rotation(store):
    populated(store)
    old_key = store.key_file.read()[0]
    newer_key = new_key()
    store.key_file.write([newer_key, old_key])  # e.g. left by a rotation that was cut short
    assert secrets(store) == (SECRET, "db-password-1")
    store.add_database("fresh", server="web1", engine="postgres", password="fresh-pw")  # encrypted with newer_key
    assert store.database("fresh").password == "fresh-pw"
    assert store.rotate_key() == 3
    only = store.key_file.read()
    assert len(only) == 1 and only[0] not in (old_key, newer_key)
    assert secrets(store) == (SECRET, "db-password-1") and store.database("fresh").password == "fresh-pw"


def test_rotation_cut_short_leaves_every_secret_readable(store, monkeypatch):
    populated(store)
    old_keys = store.key_file.read()
    real_rotate = SecretCipher.rotate
    calls = []

    def crash_on_second(self, token):
        calls.append(token)
        if len(calls) == 2:
            raise OSError("power cut")
        return real_rotate(self, token)

    monkeypatch.setattr(SecretCipher, "rotate", crash_on_second)
    with pytest.raises(OSError, match="power cut"):
        store.rotate_key()
    monkeypatch.undo()
    keys = store.key_file.read()
    assert len(keys) == 2 and keys[1:] == old_keys  # the new key in front, the old one kept
    assert secrets(store) == (SECRET, "db-password-1")
    KeyFile(store.key_file.path).write(old_keys)  # the transaction was rolled back: the old key alone still opens all
    assert secrets(store) == (SECRET, "db-password-1")
    store.key_file.write(keys)
    assert store.rotate_key() == 2
    assert len(store.key_file.read()) == 1
    assert secrets(store) == (SECRET, "db-password-1")


def test_rotation_without_secrets_just_makes_a_key(store):
    assert store.rotate_key() == 0
    assert len(store.key_file.read()) == 1


def test_a_transaction_holds_the_write_lock_from_its_start(store):
    """Why key file changes cannot race: whoever reads or rewrites the key file does it inside a
    transaction begun with BEGIN IMMEDIATE, so another process waits for it."""
    with store._transaction() as session:
        session.connection()
        other = sqlite3.connect(store.db_path, timeout=0.1)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()


def test_a_directory_holding_other_things_is_not_made_a_home(tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir(mode=0o755)
    (busy / "notes.txt").write_text("someone else's\n")
    with pytest.raises(InfraktError, match="holds other files and no infrakt.db"):
        Store(busy)
    assert mode(busy) == 0o755 and sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    (tmp_path / "file").write_text("")
    with pytest.raises(InfraktError, match="is not a directory"):
        Store(tmp_path / "file")


def test_a_directory_of_another_user_is_not_made_a_home(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 65534, 65534)  # nobody; the tests run as root
    with pytest.raises(InfraktError, match="belongs to another user"):
        Store(theirs)
    assert mode(theirs) == 0o755
