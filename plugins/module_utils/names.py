# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names that reach a shell, a file path or an S3 key: validated and composed in one place.

Pure Python with no imports from Ansible, so that the wrapper validates user input with the
very same rules the modules apply on the server (an ordinary import of this module).
Every validator returns the value to use and raises ValueError with a one-line message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from collections import namedtuple
from datetime import datetime, timezone

try:
    from urllib.parse import urlsplit
except ImportError:  # Python 2 targets
    from urlparse import urlsplit

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")
PREFIX_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_.-]+\Z")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
REGION_RE = re.compile(r"^[a-z0-9-]{1,32}\Z")
HOSTNAME_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
PATH_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_.+-]+\Z")
# Printable ASCII without spaces: nothing that could end an INI line or start a new section.
CREDENTIAL_RE = re.compile(r"^[\x21-\x7e]{1,512}\Z")
# An age X25519 recipient: `age1` and the bech32 of a 32-byte public key with its checksum (58
# characters of bech32's alphabet). Public, so it may go on a command line.
AGE_RECIPIENT_RE = re.compile(r"^age1[02-9ac-hj-np-z]{58}\Z")

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
SIDECAR_SUFFIX = ".sha256"
PARTIAL_SUFFIX = ".partial"

# The backup filename grammar (docs/design.md, "Names that are contracts"):
# `<db_name>_<engine>_<YYYYMMDDTHHMMSSZ>.<format>[.<compression>][.age]`.
BACKUP_FORMATS = ("archive", "dump", "rdb", "sql")
COMPRESSIONS = ("gz", "zst")
ENCRYPTED_SUFFIX = ".age"
# the compression a database's backups get (module option compression, `db add --compression`)
# -> the suffix it puts in their filenames (None: none)
COMPRESSION_SUFFIXES = {"gzip": "gz", "none": None, "zstd": "zst"}
# engine -> the format of its backups and the compression it gets when none is chosen
ENGINE_FORMATS = {"postgres": "dump", "mysql": "sql", "mariadb": "sql", "redis": "rdb", "mongo": "archive"}
DEFAULT_COMPRESSIONS = {"postgres": "gzip", "mysql": "gzip", "mariadb": "gzip", "redis": "none", "mongo": "gzip"}
# formats that hold their gzip compression inside (pg_dump's custom format): no `.gz` in the name
SELF_COMPRESSED_FORMATS = ("dump",)

BACKUP_FILENAME_RE = re.compile(
    r"^(?P<db_name>.+)_(?P<engine>%s)_(?P<timestamp>\d{8}T\d{6}Z)\.(?P<format>%s)(?:\.(?P<compression>%s))?"
    r"(?P<encrypted>%s)?\Z"
    % (
        "|".join(sorted(ENGINE_FORMATS)),
        "|".join(BACKUP_FORMATS),
        "|".join(COMPRESSIONS),
        re.escape(ENCRYPTED_SUFFIX),
    )
)

BackupName = namedtuple("BackupName", "db_name engine created format compression encrypted")
BackupName.__doc__ = """The parts of a backup filename (parse_backup_filename): created is an aware
UTC datetime, compression None when uncompressed, encrypted True for an `.age` file."""


def validate_name(value, what="name"):
    """Return value if it is a safe name (database, server): letters, digits, `_ . -`, at most 63
    characters, starting with a letter or digit; raise ValueError otherwise."""
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ValueError(
            "%s %r is not valid: use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit"
            % (what, value)
        )
    return value


def normalize_prefix(prefix):
    """Return the S3 key prefix without leading/trailing slashes ('' for none); raise ValueError
    for empty segments, '.' or '..' segments, or characters outside [A-Za-z0-9_.-]."""
    if prefix is None:
        return ""
    stripped = prefix.strip("/")
    if not stripped:
        return ""
    segments = stripped.split("/")
    for segment in segments:
        if not segment:
            raise ValueError("prefix %r has an empty segment (double slash)" % prefix)
        if segment in (".", ".."):
            raise ValueError("prefix %r must not contain '.' or '..' segments" % prefix)
        if not PREFIX_SEGMENT_RE.match(segment):
            raise ValueError("prefix %r may only use letters, digits, '_', '.', '-' and '/'" % prefix)
    if len(stripped) > 512:
        raise ValueError("prefix is longer than 512 characters")
    return stripped


def validate_bucket(bucket):
    """Return bucket if it follows the S3 bucket naming rules (3-63 characters, lowercase letters,
    digits, dots and hyphens, starting and ending with a letter or digit, no '..', not an IP
    address); raise ValueError otherwise."""
    if not isinstance(bucket, str) or not BUCKET_RE.match(bucket):
        raise ValueError(
            "bucket %r is not a valid S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', "
            "starting and ending with a letter or digit" % (bucket,)
        )
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        raise ValueError("bucket %r is not a valid S3 bucket name: no '..', '.-' or '-.'" % bucket)
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        return bucket
    raise ValueError("bucket %r is not a valid S3 bucket name: it must not look like an IP address" % bucket)


def validate_region(region):
    """Return region if it is made of lowercase letters, digits and hyphens (like `eu-central-1`,
    `auto`); raise ValueError otherwise."""
    if not isinstance(region, str) or not REGION_RE.match(region):
        raise ValueError("region %r is not valid: use lowercase letters, digits and '-'" % (region,))
    return region


def validate_engine(engine):
    """Return engine if it is one of ENGINE_FORMATS; raise ValueError otherwise."""
    if engine not in ENGINE_FORMATS:
        raise ValueError("engine %r is not one of %s" % (engine, ", ".join(sorted(ENGINE_FORMATS))))
    return engine


def backup_extension(engine, compression=None):
    """Return the extension of engine's backups compressed with compression (a key of
    COMPRESSION_SUFFIXES; None: the engine's default): its format, then the compression's
    suffix unless the format holds that compression inside (`.dump`, `.dump.zst`, `.sql.gz`,
    `.rdb`). Raise ValueError for an unknown engine or compression."""
    validate_engine(engine)
    compression = validate_compression(compression or DEFAULT_COMPRESSIONS[engine])
    backup_format = ENGINE_FORMATS[engine]
    suffix = COMPRESSION_SUFFIXES[compression]
    if suffix is None or (compression == "gzip" and backup_format in SELF_COMPRESSED_FORMATS):
        return "." + backup_format
    return ".%s.%s" % (backup_format, suffix)


def validate_compression(compression):
    """Return compression if it is one of COMPRESSION_SUFFIXES; raise ValueError otherwise."""
    if compression not in COMPRESSION_SUFFIXES:
        raise ValueError("compression %r is not one of %s" % (compression, ", ".join(sorted(COMPRESSION_SUFFIXES))))
    return compression


def written_compression(parts):
    """Return the compression (a key of COMPRESSION_SUFFIXES) a backup named with parts (a
    BackupName) was written with: what its suffix says, else gzip for a format that holds it
    inside (its clients handle both), else none."""
    for compression, suffix in COMPRESSION_SUFFIXES.items():
        if suffix is not None and suffix == parts.compression:
            return compression
    return "gzip" if parts.format in SELF_COMPRESSED_FORMATS else "none"


# engine -> the extension of its backups when no compression is chosen (backward compatible)
ENGINE_EXTENSIONS = {engine: backup_extension(engine) for engine in ENGINE_FORMATS}


def backup_filename(db_name, engine, when=None, compression=None, encrypted=False):
    """Return `<db_name>_<engine>_<YYYYMMDDTHHMMSSZ><ext>[.age]` (backup_extension: the engine's
    format and compression, by default the engine's default one; `.age` when encrypted) for a
    backup taken at `when` (an aware datetime; now in UTC by default)."""
    validate_name(db_name, "database name")
    extension = backup_extension(engine, compression) + (ENCRYPTED_SUFFIX if encrypted else "")
    when = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return "%s_%s_%s%s" % (db_name, engine, when.strftime(TIMESTAMP_FORMAT), extension)


def validate_age_recipient(recipient):
    """Return recipient if it has the shape of an age X25519 recipient (`age1` and 58 bech32
    characters, lowercase); raise ValueError otherwise. (The wrapper also checks its checksum.)"""
    if not isinstance(recipient, str) or not AGE_RECIPIENT_RE.match(recipient):
        raise ValueError(
            "age recipient %r is not valid: an X25519 recipient is age1 followed by 58 letters and digits"
            " (age-keygen -y prints it)" % (recipient,)
        )
    return recipient


def parse_backup_filename(filename, db_name=None):
    """Return the BackupName parts of filename, a name of the backup filename grammar (of
    database db_name when given); raise ValueError for anything else (paths, sidecars, partial
    files, impossible timestamps, another database's backups)."""
    if db_name is not None:
        validate_name(db_name, "database name")
    parts = _grammar_parts(filename)
    if parts is not None and db_name in (None, parts.db_name):
        return parts
    if db_name is None:
        raise ValueError("%r is not a backup filename" % (filename,))
    raise ValueError("%r is not a backup of database %r" % (filename, db_name))


def _grammar_parts(filename):
    """Return the BackupName parts of filename, or None when it is not in the grammar."""
    match = BACKUP_FILENAME_RE.match(filename) if isinstance(filename, str) else None
    if not match or not NAME_RE.match(match.group("db_name")):
        return None
    try:
        created = datetime.strptime(match.group("timestamp"), TIMESTAMP_FORMAT)
    except ValueError:  # shaped like a time but none (month 13)
        return None
    return BackupName(
        db_name=match.group("db_name"),
        engine=match.group("engine"),
        created=created.replace(tzinfo=timezone.utc),
        format=match.group("format"),
        compression=match.group("compression"),
        encrypted=match.group("encrypted") is not None,
    )


def validate_backup_filename(db_name, filename):
    """Return filename if it is a plain backup filename of db_name (no directory part, no '..',
    this database's name in the grammar); raise ValueError otherwise."""
    if not isinstance(filename, str) or not filename:
        raise ValueError("a backup filename is required")
    if "/" in filename or "\\" in filename or filename in (".", "..") or "\x00" in filename:
        raise ValueError("backup filename %r must be a plain name from the backup list, not a path" % filename)
    parse_backup_filename(filename, db_name)
    return filename


def backup_created_at(db_name, filename):
    """Return the aware UTC datetime encoded in a backup filename of db_name."""
    return parse_backup_filename(filename, db_name).created


def object_prefix(prefix, db_name):
    """Return the S3 key prefix (ending in '/') under which db_name's backups live:
    `<prefix>/<db_name>/`, or `<db_name>/` with no prefix."""
    validate_name(db_name, "database name")
    normalized = normalize_prefix(prefix)
    return "%s/%s/" % (normalized, db_name) if normalized else "%s/" % db_name


def object_key(prefix, db_name, filename):
    """Return the S3 key `<prefix>/<db_name>/<filename>` (no double slashes); filename is one
    plain segment of letters, digits and `_.+-` (a backup, its sidecar, a probe object), so a
    key never holds a glob, a space or a shell character."""
    if not isinstance(filename, str) or filename in (".", "..") or not PATH_SEGMENT_RE.match(filename):
        raise ValueError("filename %r must be a plain name" % filename)
    return object_prefix(prefix, db_name) + filename


def validate_port(port, what="port"):
    """Return port if it is an integer from 1 to 65535; raise ValueError otherwise."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"{what} {port!r} is not valid: use a number from 1 to 65535")
    return port


def validate_seconds(value, what):
    """Return value if it is a whole number of seconds, at least 1 (a timeout); raise
    ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("%s must be a whole number of seconds, at least 1" % what)
    return value


def validate_host(host, what="host"):
    """Return host if it is a DNS name (RFC 1123 labels, at most 253 characters) or an IPv4/IPv6
    address; raise ValueError otherwise."""
    if not isinstance(host, str):
        raise ValueError(f"{what} {host!r} is not a valid host name or IP address")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253 or not all(HOSTNAME_LABEL_RE.match(label) for label in name.split(".")):
        raise ValueError(f"{what} {host!r} is not a valid host name or IP address")
    return host


def validate_absolute_path(path, what="path"):
    """Return path without a trailing slash if it is absolute, made of segments of
    [A-Za-z0-9_.+-] other than '.' and '..'; raise ValueError otherwise."""
    segments = (path[:-1] if path.endswith("/") else path).split("/") if isinstance(path, str) else []
    if len(segments) < 2 or segments[0] != "":
        raise ValueError(f"{what} {path!r} must be an absolute path such as /opt/infrakt/backups")
    for segment in segments[1:]:
        if not PATH_SEGMENT_RE.match(segment) or segment in (".", ".."):
            raise ValueError(
                f"{what} {path!r} may only use letters, digits, '_', '.', '+', '-' and '/' "
                "(no empty, '.' or '..' parts)"
            )
    return "/".join(segments)


def validate_single_line(value, what):
    """Return value if it is not empty and has no control characters (newline, NUL …); raise
    ValueError otherwise. For values written into files on the server, where a newline would
    start a new entry."""
    if not value:
        raise ValueError(f"{what} must not be empty")
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError(f"{what} must not contain control characters such as newlines")
    return value


def validate_endpoint_url(url):
    """Return url without a trailing slash if it is an http(s) URL of a host (and port) only:
    no user info, path, query or fragment; raise ValueError otherwise (the message shows the
    URL with any user info masked: it may hold a password)."""
    if not isinstance(url, str) or not url:
        raise ValueError("endpoint URL %r must be an http:// or https:// URL" % (url,))
    if "@" in url:
        scheme, separator, _rest = url.partition("://")
        shown = (scheme + separator if separator else "") + "***@" + url.rsplit("@", 1)[1]
        raise ValueError(f"endpoint URL {shown!r} must not carry a user name or password")
    if any(character.isspace() or not character.isprintable() for character in url):
        raise ValueError(f"endpoint URL {url!r} must be an http:// or https:// URL without spaces")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"endpoint URL {url!r} must start with http:// or https://")
    if parts.path not in ("", "/") or "?" in url or "#" in url:
        raise ValueError(
            f"endpoint URL {url!r} must not have a path, query or fragment (the bucket and prefix are set apart)"
        )
    if not parts.hostname:
        raise ValueError(f"endpoint URL {url!r} has no host")
    validate_host(parts.hostname, "endpoint host")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"endpoint URL {url!r} has an invalid port")
    return "%s://%s" % (parts.scheme.lower(), parts.netloc)


def validate_credential(value, what):
    """Return value if it can go into the aws CLI's credentials file (1-512 printable ASCII
    characters, no spaces); raise ValueError naming `what` but never showing the value."""
    if not isinstance(value, str) or not CREDENTIAL_RE.match(value):
        raise ValueError("the S3 %s must be 1-512 printable ASCII characters without spaces" % what)
    return value
