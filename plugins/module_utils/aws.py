# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aws CLI on the server, in one place.

- Provider presets and the `config` / `credentials` files the CLI reads.
- Its commands: every aws command line of the collection is built here.
- Running them with the temporary credentials (AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE),
  reading their output, and turning their errors into one sentence plus a code.
- The S3 operations of the s3_object module (upload, download, list, delete, probe).

Keys and filenames come from names.py, local backup files and sidecars from
backup_files.py. No import from Ansible: commands run through the
`run_command` callable handed in (AnsibleModule.run_command).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import json
import os
import re
import shutil
import tempfile
from collections import namedtuple
from contextlib import suppress
from datetime import datetime, timezone

from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import (
    DEFAULT_BACKUP_DIR,
    database_dir,
    ensure_private_dirs,
    parse_sidecar,
    read_sidecar,
    sha256_of_file,
    sidecar_text,
    write_sidecar,
)
from ansible_collections.infrakt.backup.plugins.module_utils.names import (
    PARTIAL_SUFFIX,
    SIDECAR_SUFFIX,
    normalize_prefix,
    object_key,
    object_prefix,
    provider_region,
    validate_backup_filename,
    validate_bucket,
    validate_credential,
    validate_endpoint_url,
)

DEFAULT_AWS_BIN = "/opt/infrakt/awscli/bin/aws"
CREDENTIALS_FILE = "credentials"
CONFIG_FILE = "config"
PROBE_NAME_PREFIX = ".infrakt-probe-"
SECRET_MASK = "********"  # noqa: S105 - the mask replacing secrets, not one

SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")
CHUNKSIZE_RE = re.compile(r"^[1-9][0-9]{0,12}(?:KB|MB|GB)?\Z")
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

# ---------------------------------------------------------------------------------------------
# Provider presets and the files the CLI reads
# ---------------------------------------------------------------------------------------------

# checksum_when_required: send/verify the new flexible checksums only when an API demands
# them, because B2 and R2 reject the x-amz-sdk-checksum-algorithm headers (FACTS.md).
# Regions come from names.PROVIDER_REGIONS, shared with the wrapper.
Preset = namedtuple("Preset", "addressing_style checksum_when_required")
PROVIDERS = {
    "aws": Preset("virtual", False),
    "digitalocean": Preset("virtual", True),
    "backblaze": Preset("virtual", True),
    "cloudflare-r2": Preset("path", True),
    "minio": Preset("path", True),
    "wasabi": Preset("virtual", True),
    "custom": Preset("path", True),
}
ADDRESSING_STYLES = ("auto", "path", "virtual")


def resolve_provider(provider, endpoint_url=None, region=None, addressing_style=None):
    """Return the settings for provider after its preset fills what is not given:
    {"provider", "region", "addressing_style", "checksum_when_required"}. The region falls
    back to the one in the endpoint host (B2, Wasabi, DigitalOcean, AWS), then the preset's."""
    if provider not in PROVIDERS:
        raise ValueError("provider %r is not one of %s" % (provider, ", ".join(sorted(PROVIDERS))))
    preset = PROVIDERS[provider]
    if endpoint_url:
        validate_endpoint_url(endpoint_url)
    style = addressing_style or preset.addressing_style
    if style not in ADDRESSING_STYLES:
        raise ValueError("addressing style %r is not one of %s" % (style, ", ".join(ADDRESSING_STYLES)))
    return {
        "provider": provider,
        "region": provider_region(provider, endpoint_url, region),
        "addressing_style": style,
        "checksum_when_required": preset.checksum_when_required,
    }


def render_config(settings, max_concurrent_requests=10, multipart_chunksize="16MB", max_attempts=3):
    """Return the text of the aws CLI `config` file (profile default) for settings from
    resolve_provider() and the transfer settings."""
    if not 1 <= int(max_concurrent_requests) <= 100:
        raise ValueError("max_concurrent_requests must be between 1 and 100")
    if not CHUNKSIZE_RE.match(str(multipart_chunksize)):
        raise ValueError("multipart_chunksize %r is not a size like 8388608, 16MB or 1GB" % (multipart_chunksize,))
    if not 1 <= int(max_attempts) <= 20:
        raise ValueError("max_attempts must be between 1 and 20")
    lines = [
        "[default]",
        "region = %s" % settings["region"],
        "output = json",
        # standard retries with few attempts: an unreachable endpoint fails in a second, not
        # after the legacy mode's five backed-off attempts
        "retry_mode = standard",
        "max_attempts = %d" % int(max_attempts),
    ]
    if settings["checksum_when_required"]:
        lines += ["request_checksum_calculation = when_required", "response_checksum_validation = when_required"]
    lines += [
        "s3 =",
        "    addressing_style = %s" % settings["addressing_style"],
        "    max_concurrent_requests = %d" % int(max_concurrent_requests),
        "    multipart_chunksize = %s" % multipart_chunksize,
        "    multipart_threshold = %s" % multipart_chunksize,
    ]
    return "\n".join(lines) + "\n"


def render_credentials(access_key, secret_key):
    """Return the text of the aws CLI `credentials` file (profile default)."""
    return "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (
        validate_credential(access_key, "access key"),
        validate_credential(secret_key, "secret key"),
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


# ---------------------------------------------------------------------------------------------
# Commands: the only place that builds aws command lines. Options take their value after
# `=` so that a value starting with '-' is never read as an option.
# ---------------------------------------------------------------------------------------------


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


def put_stdin_args(bucket, key):
    """Return the arguments writing standard input to key."""
    return ["s3", "cp", "--only-show-errors", "-", s3_url(bucket, key)]


def get_stdout_args(bucket, key):
    """Return the arguments writing key's content to standard output."""
    return ["s3", "cp", "--only-show-errors", s3_url(bucket, key), "-"]


def download_sidecars_args(bucket, prefix, dest_dir):
    """Return the arguments downloading every `*.sha256` object under prefix into dest_dir in
    one command."""
    return [
        "s3", "cp", "--only-show-errors", "--recursive", "--exclude=*", "--include=*" + SIDECAR_SUFFIX,
        s3_url(bucket, prefix), dest_dir,
    ]


def delete_args(bucket, key):
    """Return the arguments deleting key."""
    return ["s3", "rm", "--only-show-errors", s3_url(bucket, key)]


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


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


def strip_secrets(text, secrets):
    """Return text with every non-empty string of secrets replaced by a mask."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, SECRET_MASK)
    return text


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


# ---------------------------------------------------------------------------------------------
# Running the CLI
# ---------------------------------------------------------------------------------------------


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

    def run(self, args, bucket, data=None):
        """Run `aws <args>` (feeding data to stdin) and return its stdout; raise AwsError."""
        command = [self.aws_bin] + (["--endpoint-url=" + self.endpoint_url] if self.endpoint_url else []) + args
        rc, stdout, stderr = self.run_command(
            command,
            data=data,
            binary_data=True,
            environ_update=self.environment,
            # arguments are literal: no ~ or $VAR expansion; files the CLI writes are private
            expand_user_and_vars=False,
            umask=0o077,
        )
        if rc != 0:
            stderr = strip_secrets(stderr, self.credentials.values())
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

    def download_sidecars(self, bucket, prefix, dest_dir):
        """Download every sidecar under prefix into dest_dir (one command)."""
        self.run(download_sidecars_args(bucket, prefix, dest_dir), bucket)

    def delete_object(self, bucket, key):
        """Delete object key."""
        self.run(delete_args(bucket, key), bucket)


# ---------------------------------------------------------------------------------------------
# Checksums and listings
# ---------------------------------------------------------------------------------------------


def validate_sha256(value):
    """Return value lowercased if it is a sha256 hex digest; raise ValueError otherwise."""
    digest = (value or "").strip().lower()
    if not SHA256_RE.match(digest):
        raise ValueError("%r is not a sha256 hex digest (64 hex characters)" % (value,))
    return digest


def iso_utc(timestamp):
    """Return an ISO-8601 timestamp from the aws CLI (`...T21:55:28.000Z`, `...+00:00`) as
    `YYYY-MM-DDTHH:MM:SSZ` in UTC."""
    when = datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_listing(contents, prefix):
    """Return (objects, sidecar_filenames) for the list-objects-v2 entries directly under
    prefix: objects are {filename, key, size, last_modified, sha256: None} sorted by filename;
    sidecar_filenames are the `.sha256` objects that belong to one of them."""
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
            "last_modified": iso_utc(item["LastModified"]),
            "sha256": None,
        }
    listed = [objects[name] for name in sorted(objects)]
    return listed, sorted(name for name in sidecars if name[: -len(SIDECAR_SUFFIX)] in objects)


# ---------------------------------------------------------------------------------------------
# S3 operations (the modes of the s3_object module)
# ---------------------------------------------------------------------------------------------


def recorded_sha256(cli, bucket, key, sizes):
    """Return the sha256 recorded for object key: its sidecar's (when sizes, from
    object_sizes(), lists one), else its `sha256` metadata, else None."""
    filename = key.rsplit("/", 1)[-1]
    if key + SIDECAR_SUFFIX in sizes:
        try:
            return parse_sidecar(cli.read_text(bucket, key + SIDECAR_SUFFIX), filename)
        except ValueError:
            pass  # a damaged sidecar: the metadata may still tell
    try:
        return validate_sha256(cli.metadata(bucket, key).get("sha256"))
    except ValueError:
        return None


def upload_backup(cli, bucket, prefix, db_name, src, sha256=None, check_mode=False):
    """Upload backup file src to `<prefix>/<db_name>/<basename>` with its sha256 as metadata
    and as a sidecar object; skip it when the sidecar already records that sha256 and the
    object has the same size. src is only read. Return {changed, key, url, size, sha256}."""
    validate_bucket(bucket)
    filename = validate_backup_filename(db_name, os.path.basename(src))
    if not os.path.isabs(src) or not os.path.isfile(src):
        raise AwsError("SourceMissing", "%s is not an existing file (an absolute path is needed)" % src)
    key = object_key(prefix, db_name, filename)
    size = os.path.getsize(src)
    digest = validate_sha256(sha256) if sha256 else sha256_of_file(src)
    result = {"changed": False, "key": key, "url": s3_url(bucket, key), "size": size, "sha256": digest}
    sizes = cli.object_sizes(bucket, key)
    if sizes.get(key) == size and key + SIDECAR_SUFFIX in sizes:
        try:
            if parse_sidecar(cli.read_text(bucket, key + SIDECAR_SUFFIX), filename) == digest:
                return result
        except ValueError:
            pass  # a damaged sidecar is rewritten below
    result["changed"] = True
    if not check_mode:
        cli.upload_file(src, bucket, key, {"sha256": digest})
        # the sidecar goes last: its presence says the object is complete
        cli.write_text(bucket, key + SIDECAR_SUFFIX, sidecar_text(digest, filename))
    return result


def list_backups(cli, bucket, prefix, db_name):
    """Return {changed: False, prefix, count, objects} for the objects directly under
    `<prefix>/<db_name>/` (see split_listing); each object's sha256 comes from its sidecar,
    all sidecars fetched with one command."""
    validate_bucket(bucket)
    db_prefix = object_prefix(prefix, db_name)
    objects, sidecars = split_listing(cli.list_objects(bucket, db_prefix), db_prefix)
    if sidecars:
        scratch = tempfile.mkdtemp(prefix="infrakt-sidecars-")
        try:
            cli.download_sidecars(bucket, db_prefix, scratch)
            for entry in objects:
                try:
                    entry["sha256"] = read_sidecar(os.path.join(scratch, entry["filename"]))
                except ValueError:
                    entry["sha256"] = None  # a damaged sidecar lists as "no checksum"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return {"changed": False, "prefix": db_prefix, "count": len(objects), "objects": objects}


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


def local_sidecar_records(path, sha256):
    """Return True if the sidecar of the local backup at path records sha256."""
    try:
        return read_sidecar(path) == sha256
    except ValueError:
        return False


def download_backup(cli, bucket, prefix, db_name, filename, dest_dir=None, verify=True, check_mode=False):
    """Download backup filename of db_name into dest_dir (default
    /opt/infrakt/backups/<db_name>) and write its local sidecar; the file appears under its
    name only once its sha256 matches the recorded one (verify=False: whatever arrives). A
    local copy that already matches is kept (changed False). Return {changed, path,
    sidecar_path, key, url, size, sha256, verified}."""
    validate_bucket(bucket)
    validate_backup_filename(db_name, filename)
    key = object_key(prefix, db_name, filename)
    dest_dir = dest_dir or database_dir(DEFAULT_BACKUP_DIR, db_name)
    if not os.path.isabs(dest_dir):
        raise ValueError("dest_dir %r must be an absolute path" % dest_dir)
    path = os.path.join(dest_dir, filename)
    sizes = cli.object_sizes(bucket, key)
    if key not in sizes:
        where = s3_url(bucket, object_prefix(prefix, db_name))
        raise AwsError("NoSuchKey", "backup %s is not in %s" % (filename, where))
    expected = recorded_sha256(cli, bucket, key, sizes)
    if expected is None and verify:
        raise AwsError(
            "ChecksumMissing",
            "%s has no recorded sha256 (no sidecar, no metadata): refusing an unverifiable download "
            "(verify=false accepts it)" % s3_url(bucket, key),
        )
    result = {
        "changed": True, "path": path, "sidecar_path": path + SIDECAR_SUFFIX, "key": key,
        "url": s3_url(bucket, key), "size": sizes[key], "sha256": expected, "verified": bool(verify and expected),
    }
    if os.path.isfile(path):
        local = sha256_of_file(path)
        if local == expected or (expected is None and os.path.getsize(path) == sizes[key]):
            result.update(sha256=local, changed=not local_sidecar_records(path, local))
            if result["changed"] and not check_mode:
                write_sidecar(path, local)
            return result
    if check_mode:
        return result
    ensure_private_dirs(dest_dir)
    result["sha256"] = fetch_verified(cli, bucket, key, path, expected if verify else None)
    write_sidecar(path, result["sha256"])
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
