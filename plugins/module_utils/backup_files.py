# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup files on the server: `<backup_dir>/<db_name>/<filename>` written as `.partial` with
its sha256 computed while the bytes stream through, renamed only on success, and a `.sha256`
sidecar in `sha256sum` format next to it (docs/design.md, "Names that are contracts").

Memory stays flat whatever the size: everything moves in CHUNK_SIZE pieces.
Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import hashlib
import os
import re
import time
from datetime import datetime, timezone

from ansible_collections.infrakt.backup.plugins.module_utils import names, signing

CHUNK_SIZE = 1024 * 1024
DEFAULT_BACKUP_DIR = "/opt/infrakt/backups"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# one sha256sum line, then optionally the signature as a comment line (sha256sum -c skips it)
SIDECAR_RE = re.compile(
    r"^(?P<sha256>[0-9a-f]{64}) [ *](?P<filename>[^\n]+)(?:\n%s(?P<signature>[0-9a-f]{64}))?\n?\Z"
    % re.escape(signing.SIGNATURE_PREFIX)
)
# A .partial untouched for longer than a run may take (its timeout) plus this margin belongs to
# a run that was killed (a running dump keeps writing to it, but may be silent for as long as its
# timeout: a lock wait, a BGSAVE); the next backup of the same database removes it.
STALE_PARTIAL_MARGIN = 3600


def iso_utc(when):
    """Return the aware datetime `when` as ISO-8601 UTC with seconds: `2026-11-24T21:05:09Z`."""
    return when.strftime(ISO_FORMAT)


def now_iso():
    """Return the current time as iso_utc() gives it."""
    return iso_utc(datetime.now(timezone.utc))


def database_dir(backup_dir, db_name):
    """Return `<backup_dir>/<db_name>` after checking that backup_dir is absolute and db_name a
    valid name; raise ValueError otherwise."""
    names.validate_name(db_name, "db_name")
    if not isinstance(backup_dir, str) or not os.path.isabs(backup_dir):
        raise ValueError("backup_dir %r must be an absolute path" % (backup_dir,))
    return os.path.join(os.path.normpath(backup_dir), db_name)


def ensure_private_dirs(path):
    """Create directory path and any missing parents as 0700 (existing parents are left as they
    are); make path itself 0700. Return path."""
    missing = []
    current = path
    while not os.path.isdir(current):
        missing.append(current)
        current = os.path.dirname(current)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by a concurrent run
            os.mkdir(directory, 0o700)
    os.chmod(path, 0o700)
    return path


def file_chunks(path):
    """Yield the bytes of the file at path in CHUNK_SIZE pieces."""
    with open(path, "rb") as source:
        yield from read_chunks(source)


def read_chunks(source):
    """Yield the bytes read from source (a binary file object) to its end, in CHUNK_SIZE pieces."""
    while True:
        chunk = source.read(CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


def sha256_of_file(path):
    """Return the hex sha256 of the file at path, read in chunks."""
    digest = hashlib.sha256()
    for chunk in file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def sidecar_path(backup_path):
    """Return the path of the `.sha256` sidecar of the backup at backup_path."""
    return backup_path + names.SIDECAR_SUFFIX


def sidecar_text(sha256, filename, signature=None):
    """Return the sidecar content for a backup: `<hex>  <filename>\\n` (sha256sum format), then
    the signature's comment line when signature (hex) is given."""
    text = "%s  %s\n" % (sha256, filename)
    if signature is not None:
        text += "%s%s\n" % (signing.SIGNATURE_PREFIX, signature)
    return text


def parse_sidecar(text, filename):
    """Return the hex sha256 recorded in sidecar text for filename; raise ValueError when text is
    not one sha256sum line (and a signature line) or names another file."""
    return parse_signed_sidecar(text, filename)[0]


def parse_signed_sidecar(text, filename):
    """Return (sha256, signature) recorded in sidecar text for filename, signature None when the
    sidecar has no signature line; raise ValueError as parse_sidecar does."""
    match = SIDECAR_RE.match(text)
    if not match:
        raise ValueError("the checksum file of %s is not in sha256sum format" % filename)
    if match.group("filename") != filename:
        raise ValueError(
            "the checksum file of %s is about another file (%s)" % (filename, match.group("filename"))
        )
    return match.group("sha256"), match.group("signature")


def read_sidecar(backup_path):
    """Return the hex sha256 recorded in the sidecar of the backup at backup_path, or None when
    there is no sidecar; raise ValueError when it is malformed."""
    return read_signed_sidecar(backup_path)[0]


def read_signed_sidecar(backup_path):
    """Return (sha256, signature) recorded in the sidecar of the backup at backup_path ((None,
    None) when there is no sidecar, signature None when it has no signature line); raise
    ValueError when it is malformed."""
    try:
        with open(sidecar_path(backup_path)) as sidecar:
            text = sidecar.read(4096)
    except FileNotFoundError:
        return None, None
    return parse_signed_sidecar(text, os.path.basename(backup_path))


def write_private_atomically(path, text):
    """Write text to the file at path (0600), through a temporary name in the same directory
    renamed over it, so that a reader sees the old content or the new, never half of it.
    Return True when the content changed (an identical file is left untouched)."""
    try:
        with open(path) as current:
            if current.read() == text:
                return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    partial = path + names.PARTIAL_SUFFIX
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        _remove_if_present(partial)
    return True


def write_sidecar(backup_path, sha256, signature=None):
    """Write the sidecar of the backup at backup_path (0600, with the signature line when
    signature is given), atomically; return True when its content changed."""
    return write_private_atomically(
        sidecar_path(backup_path), sidecar_text(sha256, os.path.basename(backup_path), signature))


def verify_backup(backup_path):
    """Return the sha256 of the backup at backup_path after checking it against its sidecar;
    raise ValueError when the file or the sidecar is missing or the checksums differ."""
    filename = os.path.basename(backup_path)
    if not os.path.isfile(backup_path):
        raise ValueError("backup %s not found in %s" % (filename, os.path.dirname(backup_path)))
    expected = read_sidecar(backup_path)
    if expected is None:
        raise ValueError("backup %s has no checksum file %s%s" % (filename, filename, names.SIDECAR_SUFFIX))
    actual = sha256_of_file(backup_path)
    if actual != expected:
        raise ValueError(
            "backup %s is corrupted: its sha256 is %s but %s%s records %s"
            % (filename, actual, filename, names.SIDECAR_SUFFIX, expected)
        )
    return actual


def sweep_stale_partials(directory, max_age, now=None):
    """Remove the `.partial` files in directory not modified for max_age seconds (left by killed
    runs); return their paths, sorted."""
    now = time.time() if now is None else now
    removed = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith(names.PARTIAL_SUFFIX):
            continue
        try:
            if now - os.lstat(path).st_mtime > max_age:
                os.unlink(path)
                removed.append(path)
        except FileNotFoundError:
            continue  # gone meanwhile
    return removed


def _remove_if_present(path):
    """Remove the file at path unless it is already gone."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class PartialBackup:
    """A backup being written: bytes go to `<final>.partial` (0600) and into a sha256 as they
    arrive. commit() renames it to its final name and writes the sidecar; leaving the `with`
    block without commit() (a failed dump) removes the partial file, so no file is left under
    any name.

    Use: `with PartialBackup(path) as backup: backup.write(chunk) …; backup.commit()`. With
    sign ((size, sha256) -> hex signature, signing.signer) the sidecar carries the signature.
    """

    def __init__(self, final_path, sign=None):
        self.final_path = final_path
        self.sign = sign
        self.partial_path = final_path + names.PARTIAL_SUFFIX
        self.size = 0
        self.sha256 = None
        self._digest = hashlib.sha256()
        self._file = None

    def __enter__(self):
        if os.path.lexists(self.final_path):
            raise ValueError("a backup named %s already exists" % os.path.basename(self.final_path))
        try:
            # O_EXCL: two runs in the same second must not write into one partial file
            descriptor = os.open(
                self.partial_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600
            )
        except FileExistsError:
            raise ValueError(
                "another backup named %s is being written right now" % os.path.basename(self.final_path)
            ) from None
        self._file = os.fdopen(descriptor, "wb")
        return self

    def write(self, chunk):
        """Append the bytes chunk to the partial file and to the checksum."""
        self._digest.update(chunk)
        self._file.write(chunk)
        self.size += len(chunk)

    def commit(self):
        """Flush the partial file to disk, rename it to its final name and write the sidecar.
        Return (size, sha256)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self.sha256 = self._digest.hexdigest()
        # link + unlink instead of rename: a backup that appeared under the final name meanwhile
        # is never overwritten (link fails with FileExistsError instead)
        os.link(self.partial_path, self.final_path)
        os.unlink(self.partial_path)
        try:
            write_sidecar(self.final_path, self.sha256, self.sign(self.size, self.sha256) if self.sign else None)
        except BaseException:
            # a backup without its checksum cannot be restored: take it back
            _remove_if_present(self.final_path)
            raise
        return self.size, self.sha256

    def __exit__(self, exc_type, exc_value, traceback):
        if not self._file.closed:
            self._file.close()
        _remove_if_present(self.partial_path)
        return False


def list_local_backups(backup_dir, db_name):
    """Return the backups of db_name under backup_dir, oldest first: dicts with filename, path,
    size, created (ISO-8601 UTC from the filename), engine, sha256 and signature (from the
    sidecar; None when it is missing or malformed, signature None when it has none). Every name
    of the filename grammar is listed (names.parse_backup_filename); partial files, sidecars and
    strangers are left out."""
    directory = database_dir(backup_dir, db_name)
    if not os.path.isdir(directory):
        return []
    backups = []
    for filename in os.listdir(directory):
        path = os.path.join(directory, filename)
        try:
            parts = names.parse_backup_filename(filename, db_name)
        except ValueError:
            continue
        if not os.path.isfile(path):
            continue
        try:
            sha256, signature = read_signed_sidecar(path)
        except ValueError:
            sha256 = signature = None
        backups.append(
            {
                "filename": filename,
                "path": path,
                "size": os.path.getsize(path),
                "created": iso_utc(parts.created),
                "engine": parts.engine,
                "sha256": sha256,
                "signature": signature,
            }
        )
    return sorted(backups, key=lambda backup: (backup["created"], backup["filename"]))
