"""crypto.py: the master key file and the MultiFernet cipher over it."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrakt_backup.crypto import KeyFile, SecretCipher, new_key
from infrakt_backup.errors import InfraktError


def test_key_file_round_trip_keeps_order_and_is_private(tmp_path):
    keys = [new_key(), new_key()]
    key_file = KeyFile(tmp_path / "master.key")
    assert key_file.read() is None
    key_file.write(keys)
    assert key_file.read() == keys
    assert os.stat(key_file.path).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("content", "complaint"),
    [(b"", "is empty"), (b"\n\n", "is empty"), (b"not-a-key\n", "line 1 is not a Fernet key"),
     (new_key() + b"\ngarbage\n", "line 2 is not a Fernet key")],
    ids=["empty", "blank-lines", "not-a-key", "garbage-after-a-key"],  # the same on every xdist worker
)
def test_unusable_key_file_is_one_line_naming_it(tmp_path, content, complaint):
    path = tmp_path / "master.key"
    path.write_bytes(content)
    with pytest.raises(InfraktError) as raised:
        KeyFile(path).read()
    assert str(path) in raised.value.message and complaint in raised.value.message
    assert "\n" not in raised.value.message


def test_any_key_decrypts_and_the_first_encrypts(tmp_path):
    old, new = new_key(), new_key()
    old_token = SecretCipher([old], tmp_path / "k").encrypt("s3cr3t")
    both = SecretCipher([new, old], tmp_path / "k")
    assert both.decrypt(old_token) == "s3cr3t"
    new_token = both.rotate(old_token)
    assert SecretCipher([new], tmp_path / "k").decrypt(new_token) == "s3cr3t"
    with pytest.raises(InfraktError, match="cannot decrypt"):
        SecretCipher([old], tmp_path / "k").decrypt(new_token)


def test_wrong_key_names_the_key_file(tmp_path):
    token = SecretCipher([new_key()], tmp_path / "a").encrypt("x")
    with pytest.raises(InfraktError) as raised:
        SecretCipher([new_key()], tmp_path / "master.key").decrypt(token)
    assert str(tmp_path / "master.key") in raised.value.message


@given(st.text())
def test_round_trip_never_shows_the_secret_in_the_token(secret):
    cipher = SecretCipher([new_key()], None)
    token = cipher.encrypt(secret)
    assert cipher.decrypt(token) == secret
    if len(secret) >= 4:
        assert secret not in token
