# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The S3 operations of the s3_object module: upload, list, download, delete, probe.

Keys and filenames come from names.py, local backup files and sidecars from backup_files.py,
aws commands from awscli.py (an AwsCli instance is handed in).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import os
import re
import shutil
import tempfile
from contextlib import suppress
from datetime import datetime, timezone

from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import (
    DEFAULT_BACKUP_DIR,
    database_dir,
    ensure_private_dirs,
    iso_utc,
    parse_signed_sidecar,
    read_signed_sidecar,
    sha256_of_file,
    sidecar_path,
    sidecar_text,
    write_sidecar,
)
from ansible_collections.infrakt.backup.plugins.module_utils.names import (
    PARTIAL_SUFFIX,
    SIDECAR_SUFFIX,
    normalize_prefix,
    object_key,
    object_prefix,
    validate_backup_filename,
    validate_bucket,
)
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import AwsError, s3_url

PROBE_NAME_PREFIX = ".infrakt-probe-"
SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")

# ---------------------------------------------------------------------------------------------
# Checksums and listings
# ---------------------------------------------------------------------------------------------


def validate_sha256(value):
    """Return value lowercased if it is a sha256 hex digest; raise ValueError otherwise."""
    digest = (value or "").strip().lower()
    if not SHA256_RE.match(digest):
        raise ValueError("%r is not a sha256 hex digest (64 hex characters)" % (value,))
    return digest


def last_modified_utc(timestamp):
    """Return an ISO-8601 timestamp from the aws CLI (`...T21:55:28.000Z`, `...+00:00`, no
    zone: UTC) in backup_files.iso_utc's form, `YYYY-MM-DDTHH:MM:SSZ`."""
    when = datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return iso_utc(when.astimezone(timezone.utc))


def split_listing(contents, prefix):
    """Return (objects, sidecar_filenames) for the list-objects-v2 entries directly under
    prefix: objects are {filename, key, size, last_modified, sidecar} sorted by filename, where
    sidecar says whether the `<filename>.sha256` object is listed too; sidecar_filenames are
    those `.sha256` objects that belong to one of them."""
    objects = {}
    sidecars = set()
    for item in contents:
        key = item["Key"]
        filename = key[len(prefix):]
        if not key.startswith(prefix) or not filename or "/" in filename:
            continue
        if filename.endswith(SIDECAR_SUFFIX):
            sidecars.add(filename)
            continue
        objects[filename] = {
            "filename": filename,
            "key": key,
            "size": int(item["Size"]),
            "last_modified": last_modified_utc(item["LastModified"]),
        }
    listed = [dict(objects[name], sidecar=name + SIDECAR_SUFFIX in sidecars) for name in sorted(objects)]
    return listed, sorted(name for name in sidecars if name[: -len(SIDECAR_SUFFIX)] in objects)


# ---------------------------------------------------------------------------------------------
# S3 operations (the modes of the s3_object module)
# ---------------------------------------------------------------------------------------------


def recorded_sha256(cli, bucket, key, sizes):
    """Return (sha256, signature) recorded for object key: its sidecar's (when sizes, from
    object_sizes(), lists one), else its `sha256` metadata and no signature, else (None, None).
    A sidecar that is not one sha256sum line about this very file raises AwsError BadSidecar:
    conflicting records fail closed (an older backup copied over a newer name carries its own
    sidecar and matching metadata), never fall back to the metadata."""
    filename = key.rsplit("/", 1)[-1]
    if key + SIDECAR_SUFFIX in sizes:
        try:
            return parse_signed_sidecar(cli.read_text(bucket, key + SIDECAR_SUFFIX), filename)
        except ValueError as error:
            raise AwsError("BadSidecar", "%s: refusing the download" % error) from None
    try:
        return validate_sha256(cli.metadata(bucket, key).get("sha256")), None
    except ValueError:
        return None, None


def verified_local_sha256(src, sha256=None):
    """Return (the sha256 of local backup file src, the signature its sidecar records or None)
    after checking the sha256 against its `.sha256` sidecar (when there is one) and against
    sha256 (when given); raise AwsError ChecksumMismatch naming both digests when one differs,
    so that a file damaged after its dump is never uploaded as a valid backup."""
    digest = sha256_of_file(src)
    sidecar_sha256, signature = read_signed_sidecar(src)
    recorded = [("its sidecar records", sidecar_sha256),
                ("the given sha256 is", validate_sha256(sha256) if sha256 else None)]
    for what, expected in recorded:
        if expected is not None and expected != digest:
            raise AwsError(
                "ChecksumMismatch",
                "checksum mismatch: %s has sha256 %s but %s %s; nothing was uploaded" % (src, digest, what, expected),
            )
    return digest, signature


def upload_backup(cli, bucket, prefix, db_name, src, sha256=None, check_mode=False):
    """Upload backup file src to `<prefix>/<db_name>/<basename>` with its sha256 as metadata
    and as a sidecar object (carrying the local sidecar's signature), once the file matches its
    local sidecar and sha256 (see verified_local_sha256); skip it when the S3 sidecar already
    says the same and the object has the same size. src is only read. Return {changed, key,
    url, size, sha256}."""
    validate_bucket(bucket)
    filename = validate_backup_filename(db_name, os.path.basename(src))
    if not os.path.isabs(src) or not os.path.isfile(src):
        raise AwsError("SourceMissing", "%s is not an existing file (an absolute path is needed)" % src)
    key = object_key(prefix, db_name, filename)
    size = os.path.getsize(src)
    digest, signature = verified_local_sha256(src, sha256)
    result = {"changed": False, "key": key, "url": s3_url(bucket, key), "size": size, "sha256": digest}
    sizes = cli.object_sizes(bucket, key)
    if sizes.get(key) == size and key + SIDECAR_SUFFIX in sizes:
        try:
            if parse_signed_sidecar(cli.read_text(bucket, key + SIDECAR_SUFFIX), filename) == (digest, signature):
                return result
        except ValueError:
            pass  # a damaged sidecar is rewritten below
    result["changed"] = True
    if not check_mode:
        cli.upload_file(src, bucket, key, {"sha256": digest})
        # the sidecar goes last: its presence says the object is complete
        cli.write_text(bucket, key + SIDECAR_SUFFIX, sidecar_text(digest, filename, signature))
    return result


def list_backups(cli, bucket, prefix, db_name, read_sidecars=False):
    """Return {changed: False, prefix, count, objects} for the objects directly under
    `<prefix>/<db_name>/` (see split_listing), from one list command. With read_sidecars each
    object also gets the `sha256` and `signature` its sidecar records (None without a sidecar,
    or a malformed one), all sidecars downloaded by one more aws process (read_sidecar_records);
    without, the sidecars are not read."""
    validate_bucket(bucket)
    db_prefix = object_prefix(prefix, db_name)
    objects, sidecars = split_listing(cli.list_objects(bucket, db_prefix), db_prefix)
    if read_sidecars:
        records = read_sidecar_records(cli, bucket, db_prefix, sidecars) if sidecars else {}
        for entry in objects:
            entry["sha256"], entry["signature"] = records.get(entry["filename"], (None, None))
    return {"changed": False, "prefix": db_prefix, "count": len(objects), "objects": objects}


def read_sidecar_records(cli, bucket, db_prefix, sidecars):
    """Return {backup filename: (sha256, signature)} of the sidecars named sidecars (from
    split_listing) under db_prefix, downloaded by one `aws s3 cp --recursive` into a temporary
    directory removed afterwards (a sidecar holds no secret). Malformed ones are left out."""
    directory = tempfile.mkdtemp(prefix="infrakt-sidecars-")
    try:
        cli.download_sidecars(bucket, db_prefix, directory)
        records = {}
        for name in sidecars:
            filename = name[: -len(SIDECAR_SUFFIX)]
            try:
                with open(os.path.join(directory, name)) as sidecar:
                    records[filename] = parse_signed_sidecar(sidecar.read(4096), filename)
            except (OSError, ValueError):
                continue
        return records
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def fetch_verified(cli, bucket, key, path, expected):
    """Download key to a temporary name next to path, check its sha256 against expected
    (None: no check) and rename it to path only then; return its sha256."""
    fd, partial = tempfile.mkstemp(
        dir=os.path.dirname(path), prefix="." + os.path.basename(path) + ".", suffix=PARTIAL_SUFFIX
    )
    os.close(fd)
    try:
        cli.download_file(bucket, key, partial)
        digest = sha256_of_file(partial)
        if expected and digest != expected:
            raise AwsError(
                "ChecksumMismatch",
                "checksum mismatch: expected %s got %s for %s; the download was discarded"
                % (expected, digest, s3_url(bucket, key)),
            )
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    finally:
        if os.path.lexists(partial):
            os.unlink(partial)
    return digest


def local_sidecar_records(path, sha256, signature):
    """Return True if the sidecar of the local backup at path records sha256 and signature."""
    try:
        return read_signed_sidecar(path) == (sha256, signature)
    except ValueError:
        return False


def download_backup(cli, bucket, prefix, db_name, filename, dest_dir=None, verify=True, check_mode=False,
                    backup_dir=DEFAULT_BACKUP_DIR):
    """Download backup filename of db_name into dest_dir (default `<backup_dir>/<db_name>`;
    missing directories are made 0700, an existing one keeps its mode, the file is 0600);
    the file appears under its name only once its sha256 matches the recorded one, and then gets
    its local sidecar. verify=False takes whatever arrives and writes no sidecar (removing one of
    the bytes it replaced): only a verified file is vouched for, so db_restore refuses it. A
    local copy that already matches is kept (changed False). Return {changed, path,
    sidecar_path (None unless verified), key, url, size, sha256, verified}."""
    validate_bucket(bucket)
    validate_backup_filename(db_name, filename)
    key = object_key(prefix, db_name, filename)
    dest_dir = dest_dir or database_dir(backup_dir, db_name)
    if not os.path.isabs(dest_dir):
        raise ValueError("dest_dir %r must be an absolute path" % dest_dir)
    path = os.path.join(dest_dir, filename)
    sizes = cli.object_sizes(bucket, key)
    if key not in sizes:
        where = s3_url(bucket, object_prefix(prefix, db_name))
        raise AwsError("NoSuchKey", "backup %s is not in %s" % (filename, where))
    expected, signature = recorded_sha256(cli, bucket, key, sizes)
    if expected is None and verify:
        raise AwsError(
            "ChecksumMissing",
            "%s has no recorded sha256 (no sidecar, no metadata): refusing an unverifiable download "
            "(verify=false accepts it)" % s3_url(bucket, key),
        )
    verified = bool(verify and expected)
    result = {
        "changed": True, "path": path, "sidecar_path": sidecar_path(path) if verified else None, "key": key,
        "url": s3_url(bucket, key), "size": sizes[key], "sha256": expected, "verified": verified,
    }
    if os.path.isfile(path):
        local = sha256_of_file(path)
        if local == expected or (expected is None and os.path.getsize(path) == sizes[key]):
            result.update(sha256=local, changed=verified and not local_sidecar_records(path, local, signature))
            if result["changed"] and not check_mode:
                write_sidecar(path, local, signature)
            return result
    if check_mode:
        return result
    if not os.path.isdir(dest_dir):
        ensure_private_dirs(dest_dir)  # made 0700; an existing one (a dest_dir of /tmp) keeps its mode
    result["sha256"] = fetch_verified(cli, bucket, key, path, expected if verify else None)
    if verified:
        write_sidecar(path, result["sha256"], signature)
    else:
        with suppress(FileNotFoundError):
            os.unlink(sidecar_path(path))
    return result


def delete_backup(cli, bucket, prefix, db_name, filename, check_mode=False):
    """Delete backup filename of db_name and its sidecar from S3. Return {changed, key,
    deleted} where deleted lists the keys that existed (and are gone unless check_mode)."""
    validate_bucket(bucket)
    validate_backup_filename(db_name, filename)
    key = object_key(prefix, db_name, filename)
    sizes = cli.object_sizes(bucket, key)
    present = [name for name in (key, key + SIDECAR_SUFFIX) if name in sizes]
    if not check_mode:
        # the backup first: a sidecar left alone by a failure is ignored by listings
        for name in present:
            cli.delete_object(bucket, name)
    return {"changed": bool(present), "key": key, "deleted": present}


def probe_bucket(cli, bucket, prefix, check_mode=False):
    """Check that the credentials can list prefix, put a small object there, read it back
    unchanged and delete it (check mode: list only). Return {changed: False, steps, key}; the
    probe object is deleted even when reading it back fails. A failure names the step that
    failed and carries the steps that passed."""
    validate_bucket(bucket)
    base = normalize_prefix(prefix)
    base = base + "/" if base else ""
    key = base + PROBE_NAME_PREFIX + binascii.hexlify(os.urandom(8)).decode("ascii")
    body = "infrakt.backup probe %s\n" % key
    steps = []

    def read_back():
        if cli.read_text(bucket, key) != body:
            raise AwsError("ProbeMismatch", "the object read back from %s differs from what was written"
                           % s3_url(bucket, key))

    actions = [("list", lambda: cli.list_objects(bucket, base, max_items=1))]
    if not check_mode:
        actions += [("put", lambda: cli.write_text(bucket, key, body)), ("get", read_back),
                    ("delete", lambda: cli.delete_object(bucket, key))]
    for step, action in actions:
        try:
            action()
        except AwsError as error:
            if step == "get":
                # do not leave the probe object behind; the read-back failure is the one to report
                with suppress(AwsError):
                    cli.delete_object(bucket, key)
            raise AwsError(error.code, "at the %s step, %s" % (step, error.message), error.stderr,
                           {"steps": list(steps)}) from None
        steps.append(step)
    return {"changed": False, "steps": steps, "key": key}
