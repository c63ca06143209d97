# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One backup run of one database, the same for the db_backup module (a manual
`backup create`) and a scheduled run (scheduled_run.py): under the database's lock
(run_state.database_lock, taken by the caller), the pipeline's create_backup with an S3
upload when S3 is configured, and the outcome recorded in the database's status file.

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import time
from datetime import datetime, timezone

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, names, pipeline, run_state, tmpfs
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import private_files
from ansible_collections.infrakt.backup.plugins.module_utils.s3 import presets
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import (
    DEFAULT_AWS_BIN,
    AwsCli,
    AwsError,
    UploadStream,
    s3_url,
)


def s3_target_argument_spec():
    """Return the argument_spec options of the modules that may also work on the backups in S3
    (db_backup uploads, backup_prune deletes, backup_verify reads), described in doc fragments
    infrakt.backup.s3_target and infrakt.backup.s3_keys: without a bucket they work on the
    server alone."""
    spec = dict(
        bucket=dict(type="str"),
        prefix=dict(type="str", default=""),
        credentials_dir=dict(type="path"),
        credentials_base_dir=dict(type="path"),
        aws_bin=dict(type="path", default=DEFAULT_AWS_BIN),
        endpoint_url=dict(type="str"),
    )
    spec.update(presets.s3_keys_argument_spec())
    return spec


@contextlib.contextmanager
def s3_target(run_command, params):
    """Yield the S3Target module params (s3_target_argument_spec) describe, its commands run
    through run_command, or None when they name no bucket; the block holds the credentials
    directory's shared lock (tmpfs.using_private_dir: sweeps leave it alone). The aws CLI files
    are those in credentials_dir (written by s3_credentials), or, given access_key and
    secret_key instead, written by this module run itself into a 0600 file in a 0700 directory
    on tmpfs (under credentials_base_dir when given) for the block and removed whatever
    happens: the credentials, the operation and their removal in one module run. Raise
    ValueError when a bucket has neither, AwsError when the aws CLI is missing."""
    if not params.get("bucket"):
        yield None
        return
    if params.get("credentials_dir"):
        with tmpfs.using_private_dir(params["credentials_dir"]):
            yield s3_target_from_params(run_command, params)
        return
    if not (params.get("access_key") and params.get("secret_key")):
        raise ValueError("bucket needs credentials_dir, or access_key and secret_key")
    _settings, files = presets.credential_files(params)
    with private_files(files, params.get("allow_secrets_on_disk", False), params.get("credentials_base_dir")) as paths:
        credentials_dir = os.path.dirname(paths[presets.CREDENTIALS_FILE])
        with tmpfs.using_private_dir(credentials_dir):
            yield s3_target_from_params(run_command, dict(params, credentials_dir=credentials_dir))


def s3_target_from_params(run_command, params):
    """Return the S3Target module params (s3_target_argument_spec) describe, its commands run
    through run_command (AnsibleModule.run_command), or None when they name no bucket. Raise
    AwsError when the aws CLI or the credentials files are missing."""
    if not params.get("bucket"):
        return None
    if not params.get("credentials_dir"):
        raise ValueError("credentials_dir is required with bucket")
    cli = AwsCli(run_command, params["aws_bin"], params["credentials_dir"], params.get("endpoint_url"))
    return S3Target(cli, params["bucket"], params.get("prefix") or "")


class S3Target(object):
    """Where backups are uploaded: cli (an s3.awscli.AwsCli), bucket and prefix."""

    def __init__(self, cli, bucket, prefix=""):
        self.cli = cli
        self.bucket = bucket
        self.prefix = prefix

    def uploader(self, db_name):
        """Return the upload stage for pipeline.create_backup: called with a backup filename of
        db_name, it opens an S3Upload of it."""
        return lambda filename: S3Upload(self, db_name, filename)


class S3Upload(object):
    """A backup streamed to `<prefix>/<db_name>/<filename>` while it is dumped (one aws process
    for the object, no listing first: the filename is new by construction), then its sidecar,
    written only once the object is complete."""

    def __init__(self, target, db_name, filename):
        self.target = target
        self.filename = names.validate_backup_filename(db_name, filename)
        self.key = names.object_key(target.prefix, db_name, filename)
        self._stream = UploadStream(target.cli, target.bucket, self.key)

    @property
    def failed(self):
        """The AwsError that ended the stream early, or None."""
        return self._stream.failed

    def write(self, chunk):
        """Send chunk on to S3."""
        self._stream.write(chunk)

    def finish(self, size, sha256, signature=None):
        """Complete the object, then write its sidecar (with the signature line when signature is
        given); return {changed, key, url, size, sha256}. Raise AwsError; an object whose
        sidecar could not be written is removed again."""
        self._stream.finish()
        cli, bucket = self.target.cli, self.target.bucket
        try:
            cli.write_text(bucket, self.key + names.SIDECAR_SUFFIX,
                           backup_files.sidecar_text(sha256, self.filename, signature))
        except AwsError:
            with contextlib.suppress(AwsError):
                cli.delete_object(bucket, self.key)
            raise
        return {"changed": True, "key": self.key, "url": s3_url(bucket, self.key), "size": size, "sha256": sha256}

    def abort(self):
        """Give the upload up (the dump failed): no object is left."""
        self._stream.abort()


def backup_and_record(connection, backup_dir, state_dir, trigger, s3=None, now=None, keep_local=True,
                      recipients=None, signing_key=None):
    """Back up connection's database into backup_dir and upload it to s3 (an S3Target) when
    given; record the outcome in its status file under state_dir (trigger: "schedule" or
    "manual"). The caller holds the database's lock. With signing_key the sidecars carry the
    backup's signature (pipeline.create_backup).

    With keep_local False the backup only goes to S3 (nothing on the server's disk). With
    recipients (age public keys) it is encrypted to them in the stream (pipeline.create_backup).

    Return create_backup's result plus `location` ("local", "both" or "s3") and `duration_s`.
    Raise what the pipeline raised after recording it: UploadFailed (a local backup is kept and
    recorded with location "local"), EngineError, ValueError or OSError."""
    started = time.monotonic()
    attempt = backup_files.iso_utc(now or datetime.now(timezone.utc))
    run_state.record_status(state_dir, connection.db_name, trigger=trigger, result="running", last_attempt=attempt)
    upload = s3.uploader(connection.db_name) if s3 is not None else None
    try:
        result = pipeline.create_backup(connection, backup_dir, now=now, upload=upload, keep_local=keep_local,
                                        recipients=recipients, signing_key=signing_key)
    except pipeline.UploadFailed as failure:
        made = "upload failed" if failure.backup else "upload failed, no backup was made (no local copy is kept)"
        _record_failure(state_dir, connection.db_name, started, "%s: %s" % (made, failure), failure.backup)
        raise
    except BaseException as error:  # a signal too: the status must not say "running" forever
        _record_failure(state_dir, connection.db_name, started, str(error) or type(error).__name__)
        raise
    location = ("both" if keep_local else "s3") if upload else "local"
    result.update(location=location, duration_s=_elapsed(started))
    run_state.record_status(
        state_dir, connection.db_name, result="success", last_success=attempt, filename=result["filename"],
        size=result["size"], sha256=result["sha256"], location=result["location"],
        duration_s=result["duration_s"], error=None,
    )
    return result


def _elapsed(started):
    """Return the seconds since started (time.monotonic()), rounded to 0.1."""
    return round(time.monotonic() - started, 1)


def _record_failure(state_dir, db_name, started, error, backup=None):
    """Record a failed run of db_name: its error and, when the run left a backup locally
    (backup: create_backup's result), that backup; otherwise the file fields keep describing
    the last backup made."""
    kept = {}
    if backup is not None:
        kept = dict(filename=backup["filename"], size=backup["size"], sha256=backup["sha256"], location="local")
    run_state.record_status(
        state_dir, db_name, result="failed", error=error, duration_s=_elapsed(started), **kept
    )
