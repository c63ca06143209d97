"""Signed manifests: the signature covers db_name, filename, size, sha256 and the encryption
mark; the sidecar carrying it is still read by the real `sha256sum -c`."""

import subprocess

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, signing

KEY = "0f" * 32
FILENAME = "shop_postgres_20261124T210509Z.dump"
SHA = "a" * 64


def test_a_signature_verifies_only_what_was_signed():
    signed = signing.signature(KEY, "shop", FILENAME, 10, SHA)
    assert signing.check(KEY, "shop", FILENAME, 10, SHA, signed) == signing.VERIFIED
    assert signing.check(KEY, "shop", FILENAME, 10, SHA, None) == signing.UNSIGNED
    for changed in [("blog", FILENAME, 10, SHA), ("shop", FILENAME.replace("21", "22"), 10, SHA),
                    ("shop", FILENAME, 11, SHA), ("shop", FILENAME, 10, "b" * 64)]:
        assert signing.check(KEY, *changed, signed) == signing.BAD_SIGNATURE
    assert signing.check("1f" * 32, "shop", FILENAME, 10, SHA, signed) == signing.BAD_SIGNATURE
    # the encryption mark is part of what is signed: the same bytes named .age are another backup
    assert signing.manifest("shop", FILENAME + ".age", 10, SHA).endswith(b"\n1\n")
    assert signing.manifest("shop", FILENAME, 10, SHA).endswith(b"\n0\n")


@pytest.mark.parametrize("key", [None, "", "0F" * 32, "0f" * 31, "zz" * 32, 42])
def test_a_bad_key_is_refused_without_showing_it(key):
    with pytest.raises(ValueError, match="64 lowercase hex") as raised:
        signing.validate_key(key)
    assert str(key) not in str(raised.value) or key in ("", None)


def test_require_verified_refuses_in_one_line_unless_allowed():
    with pytest.raises(ValueError, match="is not signed") as raised:
        signing.require_verified(KEY, "shop", FILENAME, 10, SHA, None)
    assert "\n" not in str(raised.value)
    with pytest.raises(ValueError, match="bad signature"):
        signing.require_verified(KEY, "shop", FILENAME, 10, SHA, "0" * 64)
    assert signing.require_verified(KEY, "shop", FILENAME, 10, SHA, "0" * 64, allow_unsigned=True) == "bad signature"
    assert signing.require_verified(None, "shop", FILENAME, 10, SHA, None) is None  # no key: nothing checked


def test_a_signed_sidecar_still_passes_sha256sum_check(tmp_path):
    backup = tmp_path / FILENAME
    backup.write_bytes(b"backup bytes")
    sha = backup_files.sha256_of_file(str(backup))
    signed = signing.signature(KEY, "shop", FILENAME, backup.stat().st_size, sha)
    assert backup_files.write_sidecar(str(backup), sha, signed)
    text = (tmp_path / (FILENAME + ".sha256")).read_text()
    assert text == f"{sha}  {FILENAME}\n{signing.SIGNATURE_PREFIX}{signed}\n"
    checked = subprocess.run(["sha256sum", "--strict", "-c", FILENAME + ".sha256"], cwd=tmp_path,
                             capture_output=True, text=True)
    assert (checked.returncode, checked.stdout) == (0, FILENAME + ": OK\n"), checked.stderr
    assert backup_files.read_signed_sidecar(str(backup)) == (sha, signed)
    assert backup_files.read_sidecar(str(backup)) == sha
    # an unsigned sidecar reads as before; any other comment is refused
    assert backup_files.parse_signed_sidecar(f"{sha}  {FILENAME}\n", FILENAME) == (sha, None)
    with pytest.raises(ValueError, match="sha256sum format"):
        backup_files.parse_signed_sidecar(f"{sha}  {FILENAME}\n# something else\n", FILENAME)
