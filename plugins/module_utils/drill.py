# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore drills (`backup verify`): one backup read as it arrives — from S3 (`aws s3 cp … -`)
or the server's local copy — and nothing of it kept: its signature (signing.py) and its
record checked first, its bytes counted and hashed on the way and checked against the recorded
size and sha256 at the end, decoded as the pipeline decodes a restore, its start checked by
the engine's check_backup; with restore, loaded into scratch space on the database's server
(engines.drill: a temporary database, or a redis-server of its own) that is removed whatever
happens, and what arrived counted. The outcome goes into the database's status file.

An encrypted backup (`.age`) is decrypted in the stream when the drill is given an identity
(the CLI brings it for that run alone: a 0600 file on tmpfs, removed whatever happens), then
checked and restored like any other. Without one — a scheduled drill: the server never holds
the identity — it is checked up to what can be checked: signature, size, sha256 and the age
header (`age-encryption.org/v1`).

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import collections
import contextlib
import hashlib
import os

from ansible_collections.infrakt.backup.plugins.module_utils import (
    age,
    backup_files,
    engines,
    names,
    pipeline,
    run_state,
    signing,
)
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import AwsError, DownloadStream
from ansible_collections.infrakt.backup.plugins.module_utils.s3.operations import split_listing
from ansible_collections.infrakt.backup.plugins.module_utils.termination import cleanup_on_termination

SCRATCH_PREFIX = "infrakt_drill_"
AGE_HEADER = b"age-encryption.org/v1\n"

Source = collections.namedtuple("Source", "filename where size sha256 signature chunks")
Source.__doc__ = """A backup to drill: its filename, where it is read ("s3" or "local"), the size it has
there, the sha256 and signature its sidecar records (None: none) and chunks(), which yields its bytes."""


def s3_source(target, db_name, filename=None):
    """Return the Source of backup filename of db_name in S3 (target: a backup_run.S3Target),
    the newest one (by the time in its name) when filename is None. Raise AwsError NoSuchKey
    when there is none, BadSidecar for a sidecar that is not about it."""
    cli, bucket = target.cli, target.bucket
    db_prefix = names.object_prefix(target.prefix, db_name)
    objects, _sidecars = split_listing(cli.list_objects(bucket, db_prefix), db_prefix)
    found = dict((entry["filename"], entry) for entry in objects if _is_backup(db_name, entry["filename"]))
    filename = filename or _newest(found, db_name, "in S3")
    if filename not in found:
        raise AwsError("NoSuchKey", "backup %s is not in S3 (%s)" % (filename, db_prefix))
    entry = found[filename]
    sha256, signature = None, None
    if entry["sidecar"]:
        try:
            sha256, signature = backup_files.parse_signed_sidecar(
                cli.read_text(bucket, entry["key"] + names.SIDECAR_SUFFIX), filename)
        except ValueError as error:
            raise AwsError("BadSidecar", str(error)) from None

    def stream():
        return DownloadStream(cli, bucket, entry["key"]).chunks(backup_files.CHUNK_SIZE)
    return Source(filename, "s3", entry["size"], sha256, signature, stream)


def local_source(backup_dir, db_name, filename=None):
    """Return the Source of backup filename of db_name on the server (the newest when None);
    raise ValueError when there is none or its sidecar is malformed."""
    backups = dict((entry["filename"], entry) for entry in backup_files.list_local_backups(backup_dir, db_name))
    filename = filename or _newest(backups, db_name, "on the server")
    if filename not in backups:
        raise ValueError("backup %s is not on the server" % filename)
    path = backups[filename]["path"]
    sha256, signature = backup_files.read_signed_sidecar(path)
    return Source(filename, "local", os.path.getsize(path), sha256, signature, lambda: backup_files.file_chunks(path))


def _is_backup(db_name, filename):
    """Return True when filename is a backup name of db_name (the grammar)."""
    try:
        names.parse_backup_filename(filename, db_name)
    except ValueError:
        return False
    return True


def _newest(backups, db_name, where):
    """Return the newest filename of backups (names of db_name) by the time in the name; raise
    ValueError when there is none."""
    if not backups:
        raise ValueError("%s has no backups %s" % (db_name, where))
    return max(backups, key=lambda filename: (names.backup_created_at(db_name, filename), filename))


def scratch_name():
    """Return a fresh name for a drill's scratch space: SCRATCH_PREFIX and 8 random hex digits."""
    return SCRATCH_PREFIX + binascii.hexlify(os.urandom(4)).decode("ascii")


class Tally(object):
    """The bytes of a backup as they pass: counted and hashed (iterate over it)."""

    def __init__(self, chunks):
        self._chunks = chunks
        self.size = 0
        self._digest = hashlib.sha256()

    def __iter__(self):
        for chunk in self._chunks:
            self.size += len(chunk)
            self._digest.update(chunk)
            yield chunk

    @property
    def sha256(self):
        """The hex sha256 of the bytes passed so far."""
        return self._digest.hexdigest()


def drill(connection, source, signing_key=None, allow_unsigned=False, restore=False, backup_dir=None,
          identity=None):
    """Verify the backup of connection's database read from source (a Source): signature
    (signing.require_verified; without signing_key none is checked), the recorded sha256 and
    size against the bytes read, the decryption of an encrypted backup with identity (the text
    of an age identity file; without it only the age header is checked), the decoding, the
    engine's format; with restore, a load into scratch space (engines.drill, under
    backup_dir/<db_name> for engines that need files).

    Return {filename, source, size, sha256, signature, encrypted, decrypted, format, restored,
    counts, scratch}. Raise ValueError (the backup is not what was signed or recorded, or is
    not in the engine's format), EngineError (it did not load, or a client failed) or AwsError."""
    filename = source.filename
    parts = names.parse_backup_filename(names.validate_backup_filename(connection.db_name, filename),
                                        connection.db_name)
    engine = engines.ENGINES[connection.engine]
    if engines.ENGINES[parts.engine] is not engine:
        raise ValueError("%s is a %s backup, not one of a %s database" % (filename, parts.engine, connection.engine))
    if source.sha256 is None:
        raise ValueError("%s has no recorded sha256 (no sidecar): it cannot be verified" % filename)
    result = dict(filename=filename, source=source.where, size=source.size, sha256=source.sha256,
                  encrypted=parts.encrypted, decrypted=False, restored=False, counts=None, scratch=None)
    result["signature"] = signing.require_verified(signing_key, connection.db_name, filename, source.size,
                                                   source.sha256, source.signature, allow_unsigned)
    tally = Tally(source.chunks())
    raw = iter(tally)
    with cleanup_on_termination():
        try:
            if parts.encrypted and not identity:
                result["format"] = _check_age(raw, filename)
            else:
                with pipeline.identity_file(connection, parts, filename, identity) as identity_path:
                    plain = age.decrypted_stream(raw, identity_path) if parts.encrypted else raw
                    result["decrypted"] = parts.encrypted
                    try:
                        _check_and_load(connection, filename, parts, plain, result, restore, backup_dir)
                    finally:
                        _close(plain)  # age is stopped when the drill ends early
        finally:
            _close(raw)  # the download stops (aws CLI interrupted) when the drill ends early
    if (tally.size, tally.sha256) != (source.size, source.sha256):
        raise ValueError("%s is corrupted: %d bytes with sha256 %s arrived, its record says %d bytes with sha256 %s"
                         % (filename, tally.size, tally.sha256, source.size, source.sha256))
    return result


def _check_and_load(connection, filename, parts, plain, result, restore, backup_dir):
    """Decode the plain (decrypted) bytes of backup filename (parts: its names.BackupName) as the
    pipeline decodes a restore, check the engine's format and, with restore, load them into
    scratch space and count what arrived; read them to their end either way. Fills result's
    format, scratch, counts and restored."""
    decoded = pipeline.DECODERS[pipeline.pipeline_compression(connection, parts.compression)](plain)
    try:
        first_bytes, chunks = pipeline.peek(decoded, filename)
        engines.ENGINES[connection.engine].check_backup(first_bytes, filename)
        result["format"] = "ok"
        if restore:
            scratch = engines.Scratch(scratch_name(), backup_files.database_dir(
                backup_dir or backup_files.DEFAULT_BACKUP_DIR, connection.db_name))
            result["scratch"] = scratch.name
            result["counts"] = engines.drill(
                connection._replace(compression=names.written_compression(parts)), chunks, scratch)
            result["restored"] = True
        for _chunk in chunks:  # what the client left unread, or all of it without restore
            pass
    finally:
        decoded.close()


def _close(chunks):
    """Close the generator chunks, unless a decoder's thread is still running it: then it ends
    with that thread."""
    with contextlib.suppress(ValueError):
        chunks.close()


def _check_age(chunks, filename):
    """Read the encrypted backup (its byte chunks) to its end, checking that it starts with the
    age header; return the format said. Without the identity that is all a drill can check."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= len(AGE_HEADER):
            break
    if not head.startswith(AGE_HEADER):
        raise ValueError("%s is not an age-encrypted file (no %r header)" % (filename, AGE_HEADER.strip()))
    for _chunk in chunks:
        pass
    return "age header (not decrypted: no identity was given)"


def record_drill(state_dir, db_name, outcome, lock_wait=0, locked=False):
    """Record a drill's outcome (drill's result, or {error} for a failed one, with duration_s and
    verified_at) in db_name's status file, under the database's lock (a backup's own record is
    never interleaved with it): taken here, waiting up to lock_wait seconds, unless the caller
    holds it (locked). Return whether it was recorded (a backup held the lock that long: not)."""
    if locked:
        _record(state_dir, db_name, outcome)
        return True
    try:
        with run_state.database_lock(state_dir, db_name, wait=lock_wait):
            _record(state_dir, db_name, outcome)
    except run_state.Locked:
        return False
    return True


def _record(state_dir, db_name, outcome):
    """Write a drill's outcome into db_name's status file."""
    run_state.record_status(
        state_dir, db_name, last_verified=outcome["verified_at"],
        verify_result="failed" if outcome.get("error") else "passed", verify_filename=outcome.get("filename"),
        verify_duration_s=outcome["duration_s"], verify_counts=outcome.get("counts"),
        verify_error=outcome.get("error"),
    )
