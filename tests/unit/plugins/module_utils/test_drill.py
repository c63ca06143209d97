"""Restore drills without a database (drill.py): the newest local backup is chosen, its
signature, size and sha256 are checked as it is read, an encrypted one gets its age header
checked and is not restored without an identity, and decrypted in the stream (Debian's real
age) with one, and the outcome is recorded in the status file. The scratch
restores themselves run on the bench (tests/integration/test_restore_drills.py)."""

import gzip
import hashlib
import subprocess

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, drill, engines, run_state, signing
from tests.unit.plugins.module_utils.test_age import identity_dirs

KEY = "5a" * 32
SQL = b"CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n"


def write_backup(tmp_path, filename, data, key=KEY):
    directory = tmp_path / "blog"
    directory.mkdir(exist_ok=True)
    path = directory / filename
    path.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    backup_files.write_sidecar(str(path), sha256, signing.signature(key, "blog", filename, len(data), sha256))
    return path


def test_the_newest_local_backup_is_verified_without_a_restore(tmp_path, make_connection):
    write_backup(tmp_path, "blog_mariadb_20261101T000000Z.sql.gz", gzip.compress(b"old"))
    newest = write_backup(tmp_path, "blog_mariadb_20261124T210509Z.sql.gz", gzip.compress(SQL))
    source = drill.local_source(str(tmp_path), "blog")
    assert source.filename == newest.name
    result = drill.drill(make_connection(engine="mariadb", db_name="blog"), source, KEY)
    assert (result["signature"], result["format"], result["restored"], result["source"]) == (
        "verified", "ok", False, "local")


def test_a_backup_changed_after_its_record_is_refused(tmp_path, make_connection):
    path = write_backup(tmp_path, "blog_mariadb_20261124T210509Z.sql.gz", gzip.compress(SQL))
    connection = make_connection(engine="mariadb", db_name="blog")
    source = drill.local_source(str(tmp_path), "blog")
    path.write_bytes(gzip.compress(SQL + b"-- more\n"))  # after the record was read: as a stream changes
    with pytest.raises(ValueError, match="is corrupted: .* bytes with sha256"):
        drill.drill(connection, source, KEY)
    with pytest.raises(ValueError, match="bad signature"):
        drill.drill(connection, drill.local_source(str(tmp_path), "blog"), "6b" * 32)


def test_an_encrypted_backup_gets_its_age_header_checked_and_is_not_restored(tmp_path, make_connection):
    write_backup(tmp_path, "blog_mariadb_20261124T210509Z.sql.zst.age",
                 b"age-encryption.org/v1\n-> X25519 abc\n--- def\n" + b"\x00" * 100)
    connection = make_connection(engine="mariadb", db_name="blog")
    result = drill.drill(connection, drill.local_source(str(tmp_path), "blog"), KEY, restore=True)
    assert (result["encrypted"], result["restored"], result["signature"]) == (True, False, "verified")
    assert result["format"].startswith("age header")
    write_backup(tmp_path, "blog_mariadb_20261125T000000Z.sql.zst.age", b"not age at all")
    with pytest.raises(ValueError, match="not an age-encrypted file"):
        drill.drill(connection, drill.local_source(str(tmp_path), "blog"), KEY)


def test_an_encrypted_backup_given_its_identity_is_decrypted_in_the_stream_and_checked(tmp_path, make_connection):
    subprocess.run(["age-keygen", "-o", str(tmp_path / "id.txt")], check=True, capture_output=True)
    subprocess.run(["age-keygen", "-o", str(tmp_path / "other.txt")], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", str(tmp_path / "id.txt")], check=True, capture_output=True,
                               text=True).stdout.strip()
    encrypted = subprocess.run(["age", "-r", recipient], input=gzip.compress(SQL * 5000), check=True,
                               capture_output=True).stdout
    write_backup(tmp_path, "blog_mariadb_20261124T210509Z.sql.gz.age", encrypted)
    connection = make_connection(engine="mariadb", db_name="blog")
    before = identity_dirs()
    result = drill.drill(connection, drill.local_source(str(tmp_path), "blog"), KEY,
                         identity=(tmp_path / "id.txt").read_text())
    assert identity_dirs() == before  # the identity's 0600 file on tmpfs is gone
    assert (result["encrypted"], result["decrypted"], result["format"], result["size"]) == (
        True, True, "ok", len(encrypted))
    with pytest.raises(ValueError, match="cannot be decoded: age .*no identity matched"):
        drill.drill(connection, drill.local_source(str(tmp_path), "blog"), KEY,
                    identity=(tmp_path / "other.txt").read_text())
    # altered after it was signed, with a sidecar to match: age's authentication refuses it
    altered = bytearray(encrypted)
    altered[-100] ^= 1
    write_backup(tmp_path, "blog_mariadb_20261124T210509Z.sql.gz.age", bytes(altered))
    with pytest.raises(ValueError, match="cannot be decoded: age"):
        drill.drill(connection, drill.local_source(str(tmp_path), "blog"), KEY,
                    identity=(tmp_path / "id.txt").read_text())


def test_the_outcome_goes_into_the_status_file(tmp_path):
    outcome = {"verified_at": "2026-12-01T22:00:00Z", "duration_s": 1.5, "filename": "x", "counts": {"keys": 3}}
    assert drill.record_drill(str(tmp_path), "blog", outcome, 0)
    status = run_state.read_status(str(tmp_path), "blog")
    assert (status["last_verified"], status["verify_result"], status["verify_counts"]) == (
        "2026-12-01T22:00:00Z", "passed", {"keys": 3})
    with run_state.database_lock(str(tmp_path), "blog"):  # a backup runs: not recorded, not waited for long
        assert not drill.record_drill(str(tmp_path), "blog", dict(outcome, error="boom"), 0)


def test_scratch_names_are_names_with_the_drill_prefix():
    name = drill.scratch_name()
    assert name.startswith(drill.SCRATCH_PREFIX) and len(name) == len(drill.SCRATCH_PREFIX) + 8
    assert engines.mysql.drill_pattern(name) == "infrakt\\_drill\\_"
