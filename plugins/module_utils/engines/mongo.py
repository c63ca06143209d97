# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MongoDB: `mongodump --archive --db=<database>` out; `mongorestore --archive --drop
--nsInclude=<database>.*` in, both with `--gzip` for compression gzip (the tools write and
read the gzip themselves, `.archive.gz`); zstd is the pipeline's (`.archive.zst`). Users
authenticate against the `admin` database. Only the commands are tested here (there is no
MongoDB server on the test bench).

The password reaches the tools through a `--config` YAML file (MongoDB Database Tools
100.3.0+): a 0600 file natively. In a container the archive occupies stdin, so the container's
`sh` builds the file as a here-document on descriptor 3 from MONGO_CONFIG, an environment
variable forwarded by `docker exec -e`: the password is in no argv and on no disk.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    GZIP_MAGIC,  # mongodump --archive --gzip writes a gzip stream
    client_command,
    require_magic,
)

CONFIG_FILE = "mongo.yaml"
CONFIG_ENV = "MONGO_CONFIG"
AUTHENTICATION_DATABASE = "admin"
CLIENT_COMPRESSION = "gz"  # the tools write and read the gzip themselves (--gzip)
ARCHIVE_MAGIC = b"\x6d\xe2\x99\x81"  # first bytes of an uncompressed archive (0x8199e26d, little-endian)
# Runs "$0" (the tool) with "$@" (its options) and --config reading the here-document; the
# here-document expands $MONGO_CONFIG once, the expansion itself is not interpreted again.
CONTAINER_SCRIPT = 'exec "$0" --config=/dev/fd/3 "$@" 3<<INFRAKT_END\n$%s\nINFRAKT_END\n' % CONFIG_ENV


def config_text(password):
    """Return the `--config` YAML that gives the tools password (a JSON string is a valid YAML
    double-quoted scalar, escapes included)."""
    return "password: %s\n" % json.dumps(password)


def password_files(connection):
    """Return {name: text} of the password files the tools need: the config file natively when
    there is a password, nothing otherwise (a container gets MONGO_CONFIG)."""
    if connection.password is None or connection.container:
        return {}
    return {CONFIG_FILE: config_text(connection.password)}


def connection_options(connection):
    """Return the tool options that reach the server of connection (`--opt=value`)."""
    options = []
    host = connection.socket or connection.host  # the tools take a socket path as host
    if host:
        options.append("--host=" + host)
    if connection.port:
        options.append("--port=%d" % connection.port)
    if connection.user:
        options += ["--username=" + connection.user, "--authenticationDatabase=" + AUTHENTICATION_DATABASE]
    return options


def _with_password(connection, tool, options, password_paths):
    """Return the Command running tool with options, the password handed over as the module
    docstring says."""
    if connection.password is None:
        return client_command(connection, [tool] + options)
    if connection.container:
        argv = ["sh", "-c", CONTAINER_SCRIPT, tool] + options
        return client_command(connection, argv, {CONFIG_ENV: config_text(connection.password)})
    return client_command(connection, [tool, "--config=" + password_paths[CONFIG_FILE]] + options)


def dump_client(connection):
    """Return the tool that dumps the database: mongodump."""
    return "mongodump"


def restore_client(connection):
    """Return the tool that restores the database: mongorestore."""
    return "mongorestore"


def _archive_options(connection):
    """Return the options of an archive on stdin/stdout, gzip-compressed by the tools for
    connection.compression gzip."""
    return ["--archive", "--gzip"] if connection.compression == "gzip" else ["--archive"]


def dump_command(connection, client, password_paths):
    """Return the Command that writes an archive of the database to stdout with client
    (dump_client); password_paths are the {name: path} of the password_files()."""
    options = _archive_options(connection) + ["--db=" + connection.database] + connection_options(connection)
    return _with_password(connection, client, options, password_paths)


def restore_command(connection, client, password_paths):
    """Return the Command that restores the database from the archive on stdin with client
    (restore_client), dropping each collection before it is restored; other databases in the
    archive are left out."""
    options = _archive_options(connection) + ["--drop", "--nsInclude=%s.*" % connection.database]
    return _with_password(connection, client, options + connection_options(connection), password_paths)


def check_backup(first_bytes, filename):
    """Raise ValueError unless first_bytes (of backup filename as its tools get it: a gzip
    archive, which they decode themselves, for a `.archive.gz`) start a mongodump archive."""
    if names.written_compression(names.parse_backup_filename(filename)) == "gzip":
        require_magic(first_bytes, GZIP_MAGIC, "a gzip mongodump archive", filename)
    else:
        require_magic(first_bytes, ARCHIVE_MAGIC, "a mongodump archive", filename)
