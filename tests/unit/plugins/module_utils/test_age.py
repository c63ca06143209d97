"""age as a pipeline stage (plugins/module_utils/age.py) with Debian's real age program: a
backup encrypted in the stream (after zstd) that the stock `age -d` opens, and its restore
decrypting in the stream with the identity in a 0600 file on tmpfs that is gone afterwards;
a wrong identity, none, or a bad recipient refused before the database. The dump and restore
clients are stand-ins (tests/integration has the real databases)."""

import hashlib
import os
import subprocess
from datetime import UTC, datetime

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import age, backup_files, pipeline, tmpfs

WHEN = datetime(2026, 11, 24, 21, 5, 9, tzinfo=UTC)
SQL = b"INSERT INTO t VALUES ('plaintext-marker-4f1c');\n" * 20000


def new_identity(directory):
    """Make an identity with age-keygen in directory; return (identity file path, recipient)."""
    path = directory / f"identity-{os.urandom(4).hex()}.txt"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True).stdout
    return path, recipient.strip()


@pytest.fixture
def fake_mariadb(tmp_path, stand_in):
    """Stand-ins for mariadb-dump (prints SQL) and mariadb (keeps its stdin in restored.sql)."""
    (tmp_path / "dump.sql").write_bytes(SQL)
    stand_in("mariadb-dump", f"cat {tmp_path}/dump.sql\n")
    stand_in("mariadb", f"cat > {tmp_path}/restored.sql\n")
    return tmp_path


def identity_dirs():
    """The private run directories now holding an age identity file (on tmpfs)."""
    bases = tmpfs.base_dir_candidates(os.geteuid())
    return {os.path.join(base, name) for base in bases if os.path.isdir(base) for name in os.listdir(base)
            if os.path.exists(os.path.join(base, name, age.IDENTITY_FILE))}


def test_an_encrypted_backup_is_made_in_the_stream_opened_by_stock_age_and_restored(make_connection, fake_mariadb):
    identity, recipient = new_identity(fake_mariadb)
    _, other = new_identity(fake_mariadb)
    uploaded = []

    class Stream:
        failed = None

        def write(self, chunk):
            uploaded.append(chunk)

        def finish(self, size, sha256, signature=None):
            return {"size": size}

        def abort(self):
            raise AssertionError("not aborted")

    connection = make_connection(engine="mariadb", db_name="blog", compression="zstd")
    backup_dir = str(fake_mariadb / "b")
    result = pipeline.create_backup(connection, backup_dir, now=WHEN, upload=lambda name: Stream(),
                                    recipients=[recipient, other])
    filename = "blog_mariadb_20261124T210509Z.sql.zst.age"
    stored = (fake_mariadb / "b" / "blog" / filename).read_bytes()
    assert result["filename"] == filename and result["sha256"] == hashlib.sha256(stored).hexdigest()
    assert stored.startswith(b"age-encryption.org/v1\n") and b"plaintext-marker" not in stored
    assert b"".join(uploaded) == stored  # the same bytes went to the upload stream
    # the stock tools: age -d with the identity file, then zstd -dc
    decrypted = subprocess.run(["age", "-d", "-i", str(identity)], input=stored, capture_output=True, check=True)
    assert subprocess.run(["zstd", "-dc"], input=decrypted.stdout, capture_output=True, check=True).stdout == SQL

    before = identity_dirs()
    restored = pipeline.restore_backup(connection, backup_dir, filename, identity=identity.read_text())
    assert restored["sha256"] == result["sha256"]
    assert (fake_mariadb / "restored.sql").read_bytes() == SQL
    assert identity_dirs() == before  # the identity file went with the restore


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_each_compression_goes_under_the_encryption(make_connection, fake_mariadb, compression):
    identity, recipient = new_identity(fake_mariadb)
    connection = make_connection(engine="mariadb", db_name="blog", compression=compression)
    backup_dir = str(fake_mariadb / "b")
    result = pipeline.create_backup(connection, backup_dir, now=WHEN, recipients=[recipient])
    assert result["filename"].endswith((".sql.gz.age", ".sql.age")[compression == "none"])
    pipeline.restore_backup(connection, backup_dir, result["filename"], identity=identity.read_text())
    assert (fake_mariadb / "restored.sql").read_bytes() == SQL


def test_a_wrong_or_missing_identity_is_refused_before_the_database(make_connection, fake_mariadb):
    _, recipient = new_identity(fake_mariadb)
    wrong, _ = new_identity(fake_mariadb)
    connection = make_connection(engine="mariadb", db_name="blog", compression="zstd")
    backup_dir = str(fake_mariadb / "b")
    filename = pipeline.create_backup(connection, backup_dir, now=WHEN, recipients=[recipient])["filename"]
    before = identity_dirs()
    with pytest.raises(ValueError, match=f"^{filename} cannot be decoded: age failed: no identity matched any of the "
                                         "recipients; the database was not touched$"):
        pipeline.restore_backup(connection, backup_dir, filename, identity=wrong.read_text())
    with pytest.raises(ValueError, match=f"^{filename} is encrypted and no age identity was given to decrypt it; "
                                         "the database was not touched$"):
        pipeline.restore_backup(connection, backup_dir, filename, check_mode=True)
    assert not (fake_mariadb / "restored.sql").exists()
    assert identity_dirs() == before


def test_an_altered_encrypted_backup_with_a_fresh_sidecar_is_refused(make_connection, fake_mariadb):
    identity, recipient = new_identity(fake_mariadb)
    connection = make_connection(engine="mariadb", db_name="blog", compression="none")
    backup_dir = str(fake_mariadb / "b")
    filename = pipeline.create_backup(connection, backup_dir, now=WHEN, recipients=[recipient])["filename"]
    path = fake_mariadb / "b" / "blog" / filename
    data = bytearray(path.read_bytes())
    data[300] ^= 1  # inside the first payload chunk: its authentication fails
    path.write_bytes(bytes(data))
    backup_files.write_sidecar(str(path), hashlib.sha256(bytes(data)).hexdigest())
    with pytest.raises(ValueError, match="cannot be decoded: age failed: .*the database was not touched$"):
        pipeline.restore_backup(connection, backup_dir, filename, identity=identity.read_text())
    assert not (fake_mariadb / "restored.sql").exists()


def test_a_bad_recipient_is_refused_before_the_dump(make_connection, fake_mariadb):
    connection = make_connection(engine="mariadb", db_name="blog")
    with pytest.raises(ValueError, match="^age recipient 'age1nope' is not valid"):
        pipeline.create_backup(connection, str(fake_mariadb / "b"), check_mode=True, recipients=["age1nope"])
    assert not (fake_mariadb / "b").exists()


def test_a_missing_age_names_the_package(make_connection, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pipeline.EngineError, match="^age was not found on PATH; install the age package"):
        age.AgeWriter(["age1" + "q" * 58], lambda chunk: None)
