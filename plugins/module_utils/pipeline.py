# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one path every backup takes and the one path every restore takes.

Backup (create_backup), one pass: dump (the engine) → compress (what the filename says and the
engine's clients do not do themselves) → encrypt (age, to the recipients given: `.age`) →
sha256 → at the same time into the local `.partial` file (backup_files.PartialBackup; none with
keep_local=False) and into the upload stream (an optional stage, see create_backup) → commit
(rename, sidecar last) once the dump succeeded → the upload completed and its sidecar written →
result.
Restore (restore_backup): fetch (an optional callable) → verify (sha256 against the sidecar)
→ decode (decrypt an `.age` with the identity given, undo the compression the pipeline
applied) → check (the engine's check_backup on the first decoded bytes) → engine restore.

Callers change what a stage does by what they pass (an upload, a fetch), not by writing a
second path. Memory stays flat: everything moves in backup_files.CHUNK_SIZE pieces.
Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import hashlib
import itertools
import os
import zlib
from datetime import datetime, timezone

from ansible_collections.infrakt.backup.plugins.module_utils import age, backup_files, engines, names, signing, zstd
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    DEFAULT_TIMEOUT,
    EngineError,
    private_files,
)
from ansible_collections.infrakt.backup.plugins.module_utils.termination import cleanup_on_termination

GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib's window bits for the gzip container
GZIP_LEVEL = 6
CHECK_SIZE = 512  # first bytes of the decoded backup its engine's check_backup looks at


class UploadFailed(Exception):
    """The upload failed: `backup` is create_backup's result for the intact local file it
    committed (None without a local copy: then there is no backup), `error` what the upload
    raised."""

    def __init__(self, backup, error):
        super(UploadFailed, self).__init__(str(error))
        self.backup = backup
        self.error = error


class GzipWriter:
    """Gzip-compresses the bytes written to it and passes the compressed bytes to sink(chunk)."""

    def __init__(self, sink):
        self.sink = sink
        self._compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS)

    def write(self, chunk):
        """Compress chunk (bytes)."""
        compressed = self._compressor.compress(chunk)
        if compressed:
            self.sink(compressed)

    def close(self):
        """Pass on the end of the gzip stream."""
        self.sink(self._compressor.flush())

    def abort(self):
        """Nothing runs that would need stopping."""


class UncompressedWriter:
    """Passes the bytes written to it to sink(chunk) as they are."""

    def __init__(self, sink):
        self.write = sink

    def close(self):
        """Nothing is held back."""

    def abort(self):
        """Nothing runs that would need stopping."""


class EncryptedWriter(object):
    """The compression writer compressor (one of WRITERS) whose output goes through the
    AgeWriter encryptor: written through compressor; closed and aborted in that order, so that
    the end of the compressed stream is encrypted before age's end."""

    def __init__(self, compressor, encryptor):
        self.write = compressor.write
        self._stages = (compressor, encryptor)

    def close(self):
        """Pass on the end of both streams."""
        for stage in self._stages:
            stage.close()

    def abort(self):
        """Stop both stages."""
        for stage in self._stages:
            stage.abort()


def gunzip_chunks(source):
    """Yield the decompressed bytes of the gzip data read from source (a binary file object:
    gunzip_stream)."""
    return gunzip_stream(backup_files.read_chunks(source))


def gunzip_stream(chunks):
    """Yield the decompressed bytes of the gzip stream whose byte chunks are given, at most
    CHUNK_SIZE at a time (a highly compressed file cannot blow up memory); raise EngineError
    when it is not gzip or ends early."""
    decompressor = zlib.decompressobj(GZIP_WBITS)
    try:
        for compressed in chunks:
            while compressed:
                chunk = decompressor.decompress(compressed, backup_files.CHUNK_SIZE)
                compressed = decompressor.unconsumed_tail
                if chunk:
                    yield chunk
        chunk = decompressor.flush()
    except zlib.error as error:
        raise EngineError("the backup is not valid gzip data: %s" % error) from None
    if chunk:
        yield chunk
    if not decompressor.eof:
        raise EngineError("the backup ends in the middle of its gzip stream")


# compression of a filename (None: none) -> what writes it (write, then close at the end or
# abort when the dump failed) / what reads it back from a binary file object (the backup file,
# or age's output) / what decodes a stream of it (byte chunks in, byte chunks out: a restore
# drill reads the backup from S3 as it arrives)
WRITERS = {None: UncompressedWriter, "gz": GzipWriter, "zst": zstd.ZstdWriter}
READERS = {None: backup_files.read_chunks, "gz": gunzip_chunks, "zst": zstd.zstd_chunks}
DECODERS = {None: iter, "gz": gunzip_stream, "zst": zstd.zstd_stream}


def pipeline_compression(connection, compression):
    """Return the compression the pipeline itself applies and undoes for a backup of
    connection's engine whose filename says compression: none when the engine's clients write
    and read it themselves (CLIENT_COMPRESSION)."""
    if compression == engines.ENGINES[connection.engine].CLIENT_COMPRESSION:
        return None
    return compression


def stale_partial_age(connection):
    """Return the age (seconds) after which the sweep of a backup of connection removes a
    `.partial`: longer than any concurrent run may take, that is its timeout (connection's, or
    the default when that is longer: another run may have the default) plus a margin."""
    return max(connection.timeout, DEFAULT_TIMEOUT) + backup_files.STALE_PARTIAL_MARGIN


class DigestOnly(object):
    """What stands in for PartialBackup when no local copy is kept: the size and sha256 of the
    bytes written, and no file."""

    def __init__(self):
        self.size = 0
        self._digest = hashlib.sha256()

    def write(self, chunk):
        """Count chunk (bytes) into the size and checksum."""
        self._digest.update(chunk)
        self.size += len(chunk)

    def commit(self):
        """Return (size, sha256)."""
        return self.size, self._digest.hexdigest()


def create_backup(connection, backup_dir, check_mode=False, now=None, upload=None, keep_local=True,
                  recipients=None, signing_key=None):
    """Dump the database of connection into `<backup_dir>/<db_name>/<filename>` (names.
    backup_filename at now, default the current time, with connection.compression), compressed
    as the filename says (zstd needs the zstd program, checked in check mode too) and, with
    recipients (age X25519 public keys), encrypted to them by age after the compression (the
    filename ends in `.age`; age is checked in check mode too): the sha256 (of what is stored)
    is computed while writing, the file renamed and given its sidecar only when the dump
    succeeded. upload(filename), when given, opens the upload stream the same bytes go to while
    they are written (write(chunk), then finish(size, sha256, signature) -> dict once the dump
    succeeded, or abort() when it failed, so that no complete-looking object is left); finish's
    answer becomes the result's `upload`. With keep_local False nothing is written to the
    server's disk (path None). With signing_key (signing.validate_key's hex) the sidecars carry
    the backup's signature (signing.signature), else none.

    Return {path, filename, engine, db_name, created, size, sha256}; in check mode nothing is
    dumped or uploaded and the result says what would be (size and sha256 None). Raise
    EngineError or ValueError; a failed dump leaves no file behind. A failed upload raises
    UploadFailed, which carries the result of the local backup (kept), None without one."""
    when = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    filename = names.backup_filename(connection.db_name, connection.engine, when, connection.compression,
                                     encrypted=bool(recipients))
    directory = backup_files.database_dir(backup_dir, connection.db_name)
    path = os.path.join(directory, filename)
    result = dict(
        path=path if keep_local else None,
        filename=filename,
        engine=connection.engine,
        db_name=connection.db_name,
        created=backup_files.iso_utc(when),
        size=None,
        sha256=None,
    )
    sign = signing.signer(signing_key, connection.db_name, filename)
    compression = pipeline_compression(connection, names.parse_backup_filename(filename).compression)
    if compression == "zst":
        zstd.zstd_bin()  # a missing zstd fails before anything starts
    if recipients:
        age.encrypt_argv(recipients)  # a missing age or a bad recipient too
    if check_mode:
        result["msg"] = "would dump %s database %s to %s" % (
            connection.engine, connection.database, path if keep_local else "S3 only")
        return result
    if upload is None and not keep_local:
        raise ValueError("a backup without a local copy needs an upload (S3 configured)")
    if keep_local:
        backup_files.ensure_private_dirs(directory)
        backup_files.sweep_stale_partials(directory, stale_partial_age(connection))
    with cleanup_on_termination():
        with (backup_files.PartialBackup(path, sign) if keep_local else _no_file()) as local:
            local = local or DigestOnly()
            stream = upload(filename) if upload is not None else None
            try:
                sink = _tee(local, stream, stop_on_upload_failure=not keep_local)
                _dump(connection, _writer(compression, recipients, sink))
                result["size"], result["sha256"] = local.commit()
            except BaseException as error:
                if stream is not None:
                    stream.abort()
                if stream is not None and error is stream.failed:
                    raise UploadFailed(None, error) from None
                raise
        if stream is not None:
            try:
                signature = sign(result["size"], result["sha256"]) if sign else None
                result["upload"] = stream.finish(result["size"], result["sha256"], signature)
            except Exception as error:  # whatever the upload raised, a local backup stands
                raise UploadFailed(result if keep_local else None, error) from None
    return result


def _writer(compression, recipients, sink):
    """Return the writer that compresses (WRITERS[compression]) and, with recipients, encrypts
    what is written to it, passing the result to sink(chunk)."""
    if not recipients:
        return WRITERS[compression](sink)
    encryptor = age.AgeWriter(recipients, sink)
    try:
        return EncryptedWriter(WRITERS[compression](encryptor.write), encryptor)
    except BaseException:
        encryptor.abort()
        raise


def _dump(connection, writer):
    """Dump the database of connection into writer (see _writer): closed at the end, aborted
    when anything failed."""
    try:
        engines.dump(connection, writer.write)
    except BaseException:
        writer.abort()
        raise
    writer.close()


def _tee(local, stream, stop_on_upload_failure):
    """Return the sink that writes each chunk to local (PartialBackup or DigestOnly) and to the
    upload stream (None: none). When stop_on_upload_failure (no local copy), an upload that
    failed ends the dump at once: the stream's error is raised."""
    if stream is None:
        return local.write

    def write(chunk):
        local.write(chunk)
        stream.write(chunk)
        if stop_on_upload_failure and stream.failed is not None:
            raise stream.failed
    return write


@contextlib.contextmanager
def _no_file():
    """The `with` of a backup without a local copy: nothing to write or remove."""
    yield None


def restore_backup(connection, backup_dir, filename, check_mode=False, fetch=None, identity=None,
                   signing_key=None, allow_unsigned=False):
    """Restore the database of connection from backup filename (a plain name of this database's
    backups, any name of the filename grammar) in `<backup_dir>/<db_name>/`. fetch(path,
    filename) -> dict, when given, first puts the backup and its sidecar at path (in check mode
    too: verifying needs the file) and its answer becomes the result's `fetch`. Then the sha256
    is checked against the sidecar and, with signing_key, the sidecar's signature (signing.
    require_verified: unsigned or badly signed backups only with allow_unsigned; checked before
    anything is decrypted): a mismatch, a refused signature, a backup this pipeline cannot
    decode (an `.age` without identity, the text of an age identity file, or one it does not
    open), or a file that is not in the engine's own format raises ValueError before the
    database is touched. The identity is written for the restore alone into a 0600 file on
    tmpfs, removed whatever happens (a signal or a dropped SSH session included). The engine's
    clients get the compression the filename says (names.written_compression).

    Return {path, filename, engine, sha256, signature} (signature: the signing status, None
    without signing_key); in check mode only the checks run."""
    names.validate_backup_filename(connection.db_name, filename)
    parts = names.parse_backup_filename(filename, connection.db_name)
    engine = engines.ENGINES[connection.engine]
    if engines.ENGINES[parts.engine] is not engine:
        raise ValueError(
            "%s is a %s backup; it cannot be restored into a %s database" % (filename, parts.engine, connection.engine)
        )
    path = os.path.join(backup_files.database_dir(backup_dir, connection.db_name), filename)
    result = dict(path=path, filename=filename, engine=connection.engine)
    with cleanup_on_termination():
        if fetch is not None:
            result["fetch"] = fetch(path, filename)
        result["sha256"] = backup_files.verify_backup(path)
        result["signature"] = signing.require_verified(
            signing_key, connection.db_name, filename, os.path.getsize(path), result["sha256"],
            backup_files.read_signed_sidecar(path)[1], allow_unsigned)
        with identity_file(connection, parts, filename, identity) as identity_path:
            decoded = _decoded(connection, parts, path, identity_path)
            try:
                first_bytes, chunks = peek(decoded, filename)
                engine.check_backup(first_bytes, filename)
                if check_mode:
                    result["msg"] = "checksum verified; would restore %s database %s from %s" % (
                        connection.engine,
                        connection.database,
                        path,
                    )
                    return result
                engines.restore(connection._replace(compression=names.written_compression(parts)), chunks)
            finally:
                decoded.close()  # the backup file is closed (and age stopped) whatever happened
    return result


@contextlib.contextmanager
def identity_file(connection, parts, filename, identity):
    """Yield the path of a 0600 file on tmpfs holding identity (the age identity file's text)
    for the restore of an encrypted backup (parts: its names.BackupName), removed at the end of
    the block whatever happens; None for a backup that is not encrypted. Raise ValueError (the
    database was not touched) for an encrypted one without identity."""
    if not parts.encrypted:
        yield None
        return
    if not identity:
        raise ValueError("%s is encrypted and no age identity was given to decrypt it; the database was not touched"
                         % filename)
    with private_files({age.IDENTITY_FILE: identity}, connection.allow_secrets_on_disk) as paths:
        yield paths[age.IDENTITY_FILE]


def peek(decoded, filename):
    """Return (the first CHECK_SIZE bytes, all the chunks) of the generator decoded (the decoded
    backup filename): the chunks read to get them are kept, so the file is read once. Raise
    ValueError (the database was not touched) when the backup cannot be decoded there."""
    head = []
    size = 0
    try:
        while size < CHECK_SIZE:
            chunk = next(decoded, None)
            if chunk is None:
                break
            head.append(chunk)
            size += len(chunk)
    except EngineError as error:
        raise ValueError("%s cannot be decoded: %s; the database was not touched" % (filename, error)) from None
    return b"".join(head)[:CHECK_SIZE], itertools.chain(head, decoded)


def _decoded(connection, parts, path, identity_path):
    """Return the generator of the decoded bytes of the backup at path, named with parts (a
    names.BackupName), for connection's engine: decrypted with the identity file at
    identity_path when encrypted, then decompressed as the pipeline compressed it."""
    decode = READERS[pipeline_compression(connection, parts.compression)]
    if parts.encrypted:
        return age.decrypted_chunks(path, identity_path, decode)
    return _file_decoded(path, decode)


def _file_decoded(path, decode):
    """Yield what decode (one of READERS) yields for the file at path."""
    with open(path, "rb") as source:
        yield from decode(source)
