# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signed manifests: an HMAC-SHA256, keyed by the installation's signing key (kept in the
wrapper's config store, Fernet-encrypted; docs/design.md, "Signed manifests"), over what a
backup is — (db_name, filename, size, sha256, encrypted) — recorded as a comment line in its
`.sha256` sidecar, so that `sha256sum -c` still reads the sidecar and someone who can write to
the bucket (or the backup dir) but does not hold the key cannot plant, swap or rename a backup
unnoticed.

The key is 32 random bytes written as 64 hex characters. Pure Python with no imports from
Ansible; the wrapper imports it too (it checks the listings' signatures on the controller).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import re

from ansible_collections.infrakt.backup.plugins.module_utils import names

KEY_RE = re.compile(r"^[0-9a-f]{64}\Z")
MANIFEST_VERSION = "infrakt-backup manifest v1"
# the sidecar's comment line: SIGNATURE_PREFIX + 64 hex characters
SIGNATURE_PREFIX = "# infrakt-backup hmac-sha256 v1 "
VERIFIED = "verified"
UNSIGNED = "unsigned"
BAD_SIGNATURE = "bad signature"


def validate_key(key):
    """Return the signing key key (64 lowercase hex characters) as bytes; raise ValueError
    (without the value) otherwise."""
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ValueError("the signing key must be 64 lowercase hex characters")
    return bytes(bytearray.fromhex(key))


def manifest(db_name, filename, size, sha256):
    """Return the bytes the signature covers: the version, db_name, filename, size, sha256 and
    whether the backup is encrypted (its filename ends with `.age`), one per line (names hold
    no line break: names.py)."""
    encrypted = "1" if filename.endswith(names.ENCRYPTED_SUFFIX) else "0"
    fields = (MANIFEST_VERSION, db_name, filename, "%d" % size, sha256, encrypted)
    return ("\n".join(fields) + "\n").encode("utf-8")


def signature(key, db_name, filename, size, sha256):
    """Return the hex HMAC-SHA256 under key (validate_key's form, hex) of the manifest of a
    backup."""
    return hmac.new(validate_key(key), manifest(db_name, filename, size, sha256), hashlib.sha256).hexdigest()


def signer(key, db_name, filename):
    """Return the function (size, sha256) -> signature of backup filename of db_name under key,
    or None without a key (the backup is then unsigned)."""
    if not key:
        return None
    validate_key(key)
    return lambda size, sha256: signature(key, db_name, filename, size, sha256)


def check(key, db_name, filename, size, sha256, recorded):
    """Return VERIFIED when recorded (the signature a sidecar holds; None: none) is the
    signature under key of the backup described, UNSIGNED when there is none, BAD_SIGNATURE
    otherwise (the backup is not the one that was signed: planted, swapped, renamed or
    damaged, or signed with another key)."""
    if recorded is None:
        return UNSIGNED
    if sha256 is None or size is None:
        return BAD_SIGNATURE
    expected = signature(key, db_name, filename, size, sha256)
    return VERIFIED if hmac.compare_digest(expected, recorded) else BAD_SIGNATURE


def refusal(status, filename):
    """Return the one-line refusal of backup filename whose signature status is not VERIFIED."""
    if status == UNSIGNED:
        return ("%s is not signed (made before signed manifests, by hand, or planted); the database was not "
                "touched (allow_unsigned / --allow-unsigned accepts it)" % filename)
    return ("%s has a bad signature: it is not the backup this installation signed under that name (planted, "
            "swapped, renamed or signed with another key); the database was not touched "
            "(allow_unsigned / --allow-unsigned accepts it)" % filename)


def require_verified(key, db_name, filename, size, sha256, recorded, allow_unsigned=False):
    """Return the signature status of a backup (check); raise ValueError (refusal) unless it is
    VERIFIED or allow_unsigned. Without a key nothing is checked: None."""
    if not key:
        return None
    status = check(key, db_name, filename, size, sha256, recorded)
    if status != VERIFIED and not allow_unsigned:
        raise ValueError(refusal(status, filename))
    return status
