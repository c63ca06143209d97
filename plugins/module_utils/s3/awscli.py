# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aws CLI on the server: every aws command line of the collection is built here, run
with the temporary credentials (AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE), and its errors
turned into one sentence plus a code.

No import from Ansible: commands run through the `run_command` callable handed in
(AnsibleModule.run_command). The wrapper imports DEFAULT_AWS_BIN from here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import signal
import subprocess
import threading
from contextlib import suppress

from ansible_collections.infrakt.backup.plugins.module_utils.masking import mask_secrets
from ansible_collections.infrakt.backup.plugins.module_utils.names import SIDECAR_SUFFIX, validate_endpoint_url
from ansible_collections.infrakt.backup.plugins.module_utils.s3.presets import CONFIG_FILE, CREDENTIALS_FILE

DEFAULT_AWS_BIN = "/opt/infrakt/awscli/bin/aws"

# Seconds an interrupted aws CLI gets to abort its multipart uploads before it is killed.
AWS_STOP_GRACE = 5
STREAM_STDERR_LINES = 20  # what an UploadStream keeps of the aws CLI's stderr for its error

AWS_ERROR_CODE_RE = re.compile(r"An error occurred \(([A-Za-z0-9.]+)\)")
EXPECTED_REGION_RE = re.compile(r"expecting '([a-z0-9-]+)'")

# Environment variables that beat the config files for the aws CLI: a stray one in the
# server's environment must not redirect our credentials, region or endpoint.
OVERRIDING_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REQUEST_CHECKSUM_CALCULATION",
    "AWS_RESPONSE_CHECKSUM_VALIDATION",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
)


def read_credentials(credentials_dir):
    """Return {"aws_access_key_id": ..., "aws_secret_access_key": ...} as written in
    credentials_dir's credentials file (to strip them from any text we return)."""
    credentials = {}
    with open(os.path.join(credentials_dir, CREDENTIALS_FILE)) as handle:
        for line in handle:
            name, sep, value = line.partition("=")
            if sep and name.strip() in ("aws_access_key_id", "aws_secret_access_key") and value.strip():
                credentials[name.strip()] = value.strip()
    return credentials


def credentials_environment(credentials_dir):
    """Return the environment variables that point the aws CLI at credentials_dir's files."""
    return {
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(credentials_dir, CREDENTIALS_FILE),
        "AWS_CONFIG_FILE": os.path.join(credentials_dir, CONFIG_FILE),
        # aws CLI v2 pipes output through a pager unless told not to
        "AWS_PAGER": "",
    }


def s3_url(bucket, key=""):
    """Return `s3://<bucket>/<key>`."""
    return "s3://%s/%s" % (bucket, key)


def list_objects_args(bucket, prefix, delimiter=True, max_items=None):
    """Return the arguments listing the objects under prefix (all pages, JSON); with
    delimiter, only the objects directly under it."""
    args = ["s3api", "list-objects-v2", "--bucket=" + bucket, "--prefix=" + prefix, "--output=json"]
    if delimiter:
        args.append("--delimiter=/")
    if max_items:
        args.append("--max-items=%d" % max_items)
    return args


def head_object_args(bucket, key):
    """Return the arguments reading an object's size and metadata (JSON)."""
    return ["s3api", "head-object", "--bucket=" + bucket, "--key=" + key, "--output=json"]


def upload_args(src, bucket, key, metadata):
    """Return the arguments uploading local file src (an absolute path) to key with
    metadata {name: value}."""
    args = ["s3", "cp", "--only-show-errors"]
    if metadata:
        args.append("--metadata=" + ",".join("%s=%s" % item for item in sorted(metadata.items())))
    return args + [src, s3_url(bucket, key)]


def download_args(bucket, key, dest):
    """Return the arguments downloading key to local path dest (an absolute path)."""
    return ["s3", "cp", "--only-show-errors", s3_url(bucket, key), dest]


def download_sidecars_args(bucket, prefix, dest):
    """Return the arguments downloading every `.sha256` sidecar under prefix (ending in `/`) into
    local directory dest, in one aws process (its requests run concurrently)."""
    return ["s3", "cp", "--only-show-errors", "--recursive", "--exclude=*", "--include=*" + SIDECAR_SUFFIX,
            s3_url(bucket, prefix), dest]


def put_stdin_args(bucket, key):
    """Return the arguments writing standard input to key."""
    return ["s3", "cp", "--only-show-errors", "-", s3_url(bucket, key)]


def get_stdout_args(bucket, key):
    """Return the arguments writing key's content to standard output."""
    return ["s3", "cp", "--only-show-errors", s3_url(bucket, key), "-"]


def list_multipart_uploads_args(bucket, key):
    """Return the arguments listing the multipart uploads in progress under key (JSON)."""
    return ["s3api", "list-multipart-uploads", "--bucket=" + bucket, "--prefix=" + key, "--output=json"]


def abort_multipart_upload_args(bucket, key, upload_id):
    """Return the arguments aborting multipart upload upload_id of key."""
    return ["s3api", "abort-multipart-upload", "--bucket=" + bucket, "--key=" + key, "--upload-id=" + upload_id]


def delete_args(bucket, key):
    """Return the arguments deleting key."""
    return ["s3", "rm", "--only-show-errors", s3_url(bucket, key)]


class AwsError(Exception):
    """A failed S3 operation: `code` (like NoSuchBucket), `message` (one sentence for people),
    `stderr` (the aws CLI's, secrets stripped; empty when the CLI did not run) and `details`
    (more result fields, like the probe steps that passed)."""

    def __init__(self, code, message, stderr="", details=None):
        super(AwsError, self).__init__(message)
        self.code = code
        self.message = message
        self.stderr = stderr
        self.details = details or {}


# (error_code, pattern in the aws CLI's stderr, reason); first match wins, so specific
# patterns come before the generic 403/404 ones. {bucket}, {endpoint} and {region_hint} are
# filled in by classify_error.
ERROR_RULES = (
    ("InvalidAccessKeyId", re.compile(r"InvalidAccessKeyId"),
     "the S3 endpoint does not know the access key (InvalidAccessKeyId): check the access key"),
    ("SignatureDoesNotMatch", re.compile(r"SignatureDoesNotMatch"),
     "the secret key does not match the access key (SignatureDoesNotMatch): check the secret key"),
    ("ChecksumHeaderRejected", re.compile(r"x-amz-(?:sdk-)?checksum", re.IGNORECASE),
     "the endpoint rejected the checksum headers the aws CLI sends by default: choose the provider preset "
     "of your storage (any preset but 'aws' sets request_checksum_calculation = when_required)"),
    ("WrongRegion",
     re.compile(r"AuthorizationHeaderMalformed|PermanentRedirect|IllegalLocationConstraintException"
                r"|region '[^']*' is wrong|\(301\)"),
     "bucket {bucket} is not in the configured region{region_hint}: set the bucket's region"),
    ("NoSuchBucket", re.compile(r"NoSuchBucket"), "bucket {bucket} does not exist at {endpoint}"),
    ("InvalidBucketName", re.compile(r"InvalidBucketName"), "{endpoint} refuses the bucket name {bucket}"),
    ("AccessDenied", re.compile(r"AccessDenied|\(403\)|Forbidden"),
     "access to bucket {bucket} was denied (403): check the access key, the secret key and what the key "
     "may do on this bucket"),
    ("TLSError", re.compile(r"SSL validation failed|CERTIFICATE_VERIFY_FAILED|SSLError|\[SSL"),
     "the TLS connection to {endpoint} failed: check the URL's scheme (https or http) and the server's "
     "certificate"),
    ("EndpointUnreachable",
     re.compile(r"Could not connect to the endpoint URL|Connect timeout on endpoint URL"
                r"|Read timeout on endpoint URL|Connection was closed before we received"),
     "cannot reach the S3 endpoint {endpoint}: check the URL, that its host name resolves and that the "
     "service is up"),
    ("CredentialsMissing", re.compile(r"Unable to locate credentials|Partial credentials found"),
     "the aws CLI found no credentials: run the infrakt.backup.s3_credentials role first"),
    ("NoSuchKey", re.compile(r"NoSuchKey|\(404\)|Not Found"), "the object does not exist in bucket {bucket}"),
)


def classify_error(stderr, bucket=None, endpoint_url=None, rc=None):
    """Return (error_code, reason) for the aws CLI's stderr: a known failure (see ERROR_RULES)
    or the CLI's own error code and last line."""
    where = {"bucket": bucket or "(none)", "endpoint": endpoint_url or "AWS S3", "region_hint": ""}
    for code, pattern, reason in ERROR_RULES:
        if pattern.search(stderr):
            expected_region = EXPECTED_REGION_RE.search(stderr)
            if expected_region:
                where["region_hint"] = " (it is in %s)" % expected_region.group(1)
            return code, reason.format(**where)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    code_match = AWS_ERROR_CODE_RE.search(stderr)
    last_line = lines[-1] if lines else "no error output"
    return (code_match.group(1) if code_match else "AwsCliError"), "the aws CLI failed (exit code %s): %s" % (
        rc, last_line)


def stop_aws(process):
    """Stop the aws CLI process (a Popen) unless it has ended: SIGINT first, on which it aborts
    its multipart uploads (SIGTERM or SIGKILL would leave their parts in the bucket), SIGKILL
    after AWS_STOP_GRACE seconds; then reap it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(AWS_STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class StreamingAws(object):
    """One aws CLI process streaming an object through a pipe (args: its arguments; stdin and
    stdout: subprocess.PIPE or DEVNULL), its stderr kept (the last STREAM_STDERR_LINES lines)
    by a thread of its own for the error it ends with."""

    def __init__(self, cli, bucket, key, args, stdin, stdout):
        self.cli, self.bucket, self.key = cli, bucket, key
        environment = dict(os.environ)
        environment.update(cli.environment)
        self._process = subprocess.Popen(
            cli.command(args), stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=environment,
            close_fds=True, preexec_fn=lambda: os.umask(0o077),
        )
        self._stderr = []
        self._reader = threading.Thread(target=self._read_stderr)
        self._reader.daemon = True
        self._reader.start()

    def _read_stderr(self):
        for line in iter(self._process.stderr.readline, b""):
            self._stderr.append(line)
            del self._stderr[:-STREAM_STDERR_LINES]

    def _error(self):
        """Return the AwsError the aws CLI's exit and stderr describe."""
        self._reader.join(AWS_STOP_GRACE)
        stderr = mask_secrets(b"".join(self._stderr).decode("utf-8", "replace"), self.cli.credentials.values())
        code, reason = classify_error(stderr, self.bucket, self.cli.endpoint_url, self._process.returncode)
        return AwsError(code, reason, stderr)


class DownloadStream(StreamingAws):
    """One `aws s3 cp s3://bucket/key -`: the object's bytes as they arrive, nothing written to
    the server's disk (a restore drill reads a backup this way)."""

    def __init__(self, cli, bucket, key):
        super(DownloadStream, self).__init__(cli, bucket, key, get_stdout_args(bucket, key), subprocess.DEVNULL,
                                             subprocess.PIPE)

    def chunks(self, size):
        """Yield the object's bytes, at most size at a time; raise AwsError when the aws CLI
        fails. Closing the generator early stops the aws CLI."""
        try:
            yield from iter(lambda: self._process.stdout.read(size), b"")
            failed = self._process.wait() != 0
        finally:
            stop_aws(self._process)
            with suppress(OSError):
                self._process.stdout.close()
        if failed:
            raise self._error()


class UploadStream(StreamingAws):
    """One `aws s3 cp - s3://bucket/key` fed chunk by chunk (write), so that a backup goes to S3
    while it is dumped. The object is completed only by finish(), after the caller knows the dump
    succeeded; abort() interrupts the aws CLI (SIGINT: it aborts a multipart upload) and
    removes whatever object arrived, so a failed dump never leaves a complete-looking object.

    A write the aws CLI cannot take (it died: S3 went away) does not raise: the stream keeps
    the error for finish(), and the caller goes on (a local copy is still being written)."""

    def __init__(self, cli, bucket, key):
        super(UploadStream, self).__init__(cli, bucket, key, put_stdin_args(bucket, key), subprocess.PIPE,
                                           subprocess.DEVNULL)
        self.failed = None

    def write(self, chunk):
        """Send the bytes chunk to S3 (unless the upload already failed)."""
        if self.failed is not None:
            return
        try:
            self._process.stdin.write(chunk)
        except OSError:  # the aws CLI ended: S3 refused or went away
            self._process.wait()
            self.failed = self._error()

    def finish(self):
        """Complete the upload (end of input) and wait for the aws CLI; raise AwsError when it
        failed, at any point of the stream."""
        if self.failed is None:
            with suppress(OSError):  # the aws CLI ended meanwhile: its exit status says why
                self._process.stdin.close()
            if self._process.wait() != 0:
                self.failed = self._error()
        if self.failed is not None:
            raise self.failed

    def abort(self):
        """Give up the upload: interrupt the aws CLI before it completes the object (on SIGINT it
        aborts its multipart upload), then abort a multipart upload of the key it left (killed
        before it could: a busy server) and remove any object of the key."""
        # SIGINT, then the end of input: with its stdin still open the aws CLI may not get to
        # its abort (seen: killed after the grace time, the multipart upload left pending)
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
        with suppress(OSError):
            self._process.stdin.close()
        stop_aws(self._process)
        with suppress(AwsError, ValueError):
            self.cli.abort_multipart_uploads(self.bucket, self.key)
        with suppress(AwsError):
            self.cli.delete_object(self.bucket, self.key)


class AwsCli:
    """The aws CLI at aws_bin, talking to endpoint_url (None: AWS itself) with the temporary
    credentials in credentials_dir; commands run through run_command
    (AnsibleModule.run_command)."""

    def __init__(self, run_command, aws_bin, credentials_dir, endpoint_url=None):
        if not (os.path.isfile(aws_bin) and os.access(aws_bin, os.X_OK)):
            raise AwsError(
                "AwsCliMissing",
                "the aws CLI is not installed at %s: run playbooks/provision.yml (role infrakt.backup.awscli) "
                "or set infrakt_aws_bin" % aws_bin,
            )
        for name in (CREDENTIALS_FILE, CONFIG_FILE):
            if not os.path.isfile(os.path.join(credentials_dir, name)):
                raise AwsError(
                    "CredentialsMissing",
                    "%s holds no %s file: create it with the infrakt.backup.s3_credentials role first"
                    % (credentials_dir, name),
                )
        self.run_command = run_command
        self.aws_bin = aws_bin
        self.endpoint_url = validate_endpoint_url(endpoint_url) if endpoint_url else None
        self.credentials = read_credentials(credentials_dir)
        self.environment = credentials_environment(credentials_dir)
        for name in OVERRIDING_ENVIRONMENT:
            os.environ.pop(name, None)

    def command(self, args):
        """Return the argv of `aws <args>` against this endpoint."""
        return [self.aws_bin] + (["--endpoint-url=" + self.endpoint_url] if self.endpoint_url else []) + args

    def run(self, args, bucket, data=None):
        """Run `aws <args>` (feeding data to stdin) and return its stdout; raise AwsError. An aws
        CLI still running when this ends otherwise (the module terminated) is stopped."""
        command = self.command(args)
        started = []
        try:
            rc, stdout, stderr = self.run_command(
                command,
                data=data,
                binary_data=True,
                environ_update=self.environment,
                # arguments are literal: no ~ or $VAR expansion; files the CLI writes are private
                expand_user_and_vars=False,
                umask=0o077,
                before_communicate_callback=started.append,
            )
        finally:
            for process in started:
                stop_aws(process)
        if rc != 0:
            stderr = mask_secrets(stderr, self.credentials.values())
            code, reason = classify_error(stderr, bucket, self.endpoint_url, rc)
            raise AwsError(code, reason, stderr)
        return stdout

    def list_objects(self, bucket, prefix, delimiter=True, max_items=None):
        """Return the list-objects-v2 `Contents` entries under prefix (every page)."""
        stdout = self.run(list_objects_args(bucket, prefix, delimiter, max_items), bucket)
        if not stdout.strip():
            return []
        return json.loads(stdout).get("Contents") or []

    def object_sizes(self, bucket, key):
        """Return {key: size} for key and the objects whose key starts with it (its sidecar)."""
        return {item["Key"]: int(item["Size"]) for item in self.list_objects(bucket, key, delimiter=False)}

    def metadata(self, bucket, key):
        """Return the user metadata of object key ({} when it has none)."""
        return json.loads(self.run(head_object_args(bucket, key), bucket)).get("Metadata") or {}

    def read_text(self, bucket, key):
        """Return the content of the (small, text) object key."""
        return self.run(get_stdout_args(bucket, key), bucket)

    def write_text(self, bucket, key, text):
        """Store text as object key."""
        self.run(put_stdin_args(bucket, key), bucket, data=text)

    def upload_file(self, src, bucket, key, metadata):
        """Upload local file src as key with metadata {name: value}."""
        self.run(upload_args(src, bucket, key, metadata), bucket)

    def download_file(self, bucket, key, dest):
        """Download key to local path dest."""
        self.run(download_args(bucket, key, dest), bucket)

    def download_sidecars(self, bucket, prefix, dest):
        """Download the `.sha256` sidecars under prefix into local directory dest."""
        self.run(download_sidecars_args(bucket, prefix, dest), bucket)

    def abort_multipart_uploads(self, bucket, key):
        """Abort every multipart upload in progress of exactly key."""
        listed = json.loads(self.run(list_multipart_uploads_args(bucket, key), bucket) or "{}")
        for upload in listed.get("Uploads") or []:
            if upload.get("Key") == key:
                self.run(abort_multipart_upload_args(bucket, key, upload["UploadId"]), bucket)

    def delete_object(self, bucket, key):
        """Delete object key."""
        self.run(delete_args(bucket, key), bucket)
