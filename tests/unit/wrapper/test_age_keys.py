"""Key handling for the encryption of backups: age_keys.py (X25519 + bech32, checked against
Debian's age-keygen and age) and the `settings encryption` actions on a real store: the
identity only ever Fernet-encrypted in the SQLite file, covered by `key rotate`, exported 0600
and never over an existing file, kept by `disable` and `set`; what a restore sends."""

import sqlite3
import stat
import subprocess
from datetime import UTC, datetime

import pytest

from infrakt_backup import age_keys
from infrakt_backup.actions import key_rotate, settings_encryption
from infrakt_backup.errors import BadInput


def test_a_generated_identity_is_one_age_keygen_and_age_accept(tmp_path):
    identity = age_keys.generate_identity()
    assert identity.identity.startswith("AGE-SECRET-KEY-1") and identity.recipient.startswith("age1")
    assert identity.identity not in repr(identity)
    derived = subprocess.run(["age-keygen", "-y"], input=identity.identity + "\n", capture_output=True, text=True,
                             check=True).stdout.strip()
    assert derived == identity.recipient
    assert age_keys.parse_identity(identity.identity) == identity
    identity_file = tmp_path / "identity.txt"
    identity_file.write_text(age_keys.identity_file_text(identity, datetime(2026, 12, 1, tzinfo=UTC)))
    sealed = subprocess.run(["age", "-r", identity.recipient], input=b"secret rows", capture_output=True,
                            check=True).stdout
    opened = subprocess.run(["age", "-d", "-i", str(identity_file)], input=sealed, capture_output=True, check=True)
    assert opened.stdout == b"secret rows"


def test_identities_made_by_age_keygen_are_read_and_recipients_checked(tmp_path):
    path = tmp_path / "k.txt"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", str(path)], capture_output=True, text=True).stdout.strip()
    (identity,) = age_keys.read_identity_file(path.read_text(), str(path))
    assert identity.recipient == age_keys.validate_recipient(recipient)
    typo = recipient[:-1] + ("q" if recipient[-1] != "q" else "p")
    with pytest.raises(ValueError, match="checksum is wrong"):
        age_keys.validate_recipient(typo)
    with pytest.raises(ValueError, match="is not valid: an X25519 recipient"):
        age_keys.validate_recipient("age1short")


@pytest.mark.parametrize(("text", "message"), [
    ("# only a comment\n", "holds no age identity"),
    ("# created\nAGE-SECRET-KEY-1NOTAKEY\n", "line 2 is not an age X25519 identity"),
    ("age1ttzkade03hcwjvnuphrkrxch845p2mhspefzajqely4qa26qlqsqs0z4ju\n", "line 1 is not an age X25519 identity"),
])
def test_what_is_no_identity_file_is_refused_without_showing_it(text, message):
    with pytest.raises(ValueError, match=message) as raised:
        age_keys.read_identity_file(text, "k.txt")
    assert "NOTAKEY" not in str(raised.value)


def sqlite_text(store) -> bytes:
    """The bytes of the store's SQLite file and any journal next to it."""
    return b"".join(path.read_bytes() for path in store.home.iterdir() if path.name.startswith("infrakt.db"))


def test_init_stores_the_identity_encrypted_and_key_rotate_covers_it(store):
    shown = settings_encryption.init(store)
    assert shown["created"] and shown["enabled"] and shown["identity_set"] and "identity" not in shown
    assert shown["recipients"] == [shown["identity_recipient"]]
    identity = store.encryption().identity
    assert identity.startswith("AGE-SECRET-KEY-1") and identity.encode() not in sqlite_text(store)
    with sqlite3.connect(store.db_path) as connection:
        (token,) = connection.execute("SELECT identity_encrypted FROM encryption").fetchone()
    assert key_rotate.rotate(store)["secrets"] == 1
    assert store.encryption().identity == identity  # opens with the new key alone
    with sqlite3.connect(store.db_path) as connection:
        assert connection.execute("SELECT identity_encrypted FROM encryption").fetchone()[0] != token
    again = settings_encryption.init(store)  # idempotent: the same identity
    assert not again["created"] and again["recipients"] == shown["recipients"]
    assert settings_encryption.backup_recipients(store) == shown["recipients"]


def test_set_and_disable_keep_the_stored_identity(store):
    stored = settings_encryption.init(store)["identity_recipient"]
    elsewhere = [age_keys.generate_identity().recipient for _ in range(2)]
    shown = settings_encryption.set_recipients(store, [elsewhere[0], elsewhere[1], elsewhere[0]])
    assert shown["recipients"] == elsewhere and shown["identity_recipient"] == stored
    disabled = settings_encryption.disable(store)
    assert disabled["disabled"] and disabled["identity_kept"]
    assert settings_encryption.backup_recipients(store) == []
    assert not settings_encryption.disable(store)["disabled"]
    assert settings_encryption.init(store)["recipients"] == [stored]  # on again with the stored identity
    with pytest.raises(BadInput, match="checksum is wrong"):
        settings_encryption.set_recipients(store, [stored[:-1] + ("q" if stored[-1] != "q" else "p")])
    with pytest.raises(BadInput, match="at least one"):
        settings_encryption.set_recipients(store, [])


def test_export_writes_0600_once_and_age_reads_it(store, tmp_path):
    with pytest.raises(BadInput, match="no age identity is stored"):
        settings_encryption.export_identity(store, tmp_path / "none.txt")
    recipient = settings_encryption.init(store)["identity_recipient"]
    output = tmp_path / "identity.txt"
    assert settings_encryption.export_identity(store, output) == {"path": str(output), "recipient": recipient}
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert f"# public key: {recipient}\n" in output.read_text()
    assert subprocess.run(["age-keygen", "-y", str(output)], capture_output=True, text=True).stdout.strip() == recipient
    before = output.read_bytes()
    with pytest.raises(BadInput, match="exists: choose a new file"):
        settings_encryption.export_identity(store, output)
    assert output.read_bytes() == before


def test_a_restore_sends_the_stored_identity_and_the_given_file(store, tmp_path):
    assert settings_encryption.restore_identity(store, None) is None
    elsewhere = age_keys.generate_identity()
    identity_file = tmp_path / "mine.txt"
    identity_file.write_text(age_keys.identity_file_text(elsewhere, datetime(2026, 12, 1, tzinfo=UTC)))
    assert settings_encryption.restore_identity(store, identity_file) == elsewhere.identity + "\n"
    settings_encryption.init(store)
    stored = store.encryption().identity
    assert settings_encryption.restore_identity(store, identity_file) == f"{stored}\n{elsewhere.identity}\n"
    with pytest.raises(BadInput, match="cannot read the identity file"):
        settings_encryption.restore_identity(store, tmp_path / "missing.txt")
