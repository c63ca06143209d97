# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MySQL and MariaDB: `mysqldump`/`mariadb-dump --single-transaction --routines --triggers`
gzip-compressed in Python while it streams; restored by feeding the decompressed SQL to
`mysql`/`mariadb`. Each engine prefers its own client programs and falls back to the other's.
A restore is not atomic: the statements before a failing one stay applied.

The password reaches the client through a 0600 `--defaults-extra-file` natively, and through
MYSQL_PWD forwarded by `docker exec -e MYSQL_PWD` in a container (the SQL stream occupies
stdin, and a file inside the container would land on its disk).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import zlib

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    EngineError,
    client_command,
    find_client,
    private_files,
    require_magic,
    run_client,
)

DEFAULTS_FILE = "my.cnf"
GZIP_MAGIC = b"\x1f\x8b"
GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib's window bits for the gzip container
COMPRESSION_LEVEL = 6
# engine -> (dump clients, SQL clients), preferred first
CLIENTS = {
    "mariadb": (("mariadb-dump", "mysqldump"), ("mariadb", "mysql")),
    "mysql": (("mysqldump", "mariadb-dump"), ("mysql", "mariadb")),
}
OPTION_FILE_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))


def defaults_file_text(password):
    """Return a MySQL option file giving the clients password (quoted and escaped, so that
    `#`, quotes, backslashes and surrounding spaces survive)."""
    for character, escape in OPTION_FILE_ESCAPES:
        password = password.replace(character, escape)
    return '[client]\npassword="%s"\n' % password


def password_files(connection):
    """Return {name: text} of the password files the clients need: a defaults file natively
    when there is a password, nothing otherwise (a container gets MYSQL_PWD)."""
    if connection.password is None or connection.container:
        return {}
    return {DEFAULTS_FILE: defaults_file_text(connection.password)}


def _with_password(connection, client, options, defaults_file):
    """Return the Command running client with options, the password handed over as the
    engine's docstring says (`--defaults-extra-file` must come first)."""
    if connection.password is None:
        return client_command(connection, [client] + options)
    if connection.container:
        return client_command(connection, [client] + options, {"MYSQL_PWD": connection.password})
    return client_command(connection, [client, "--defaults-extra-file=" + defaults_file] + options)


def connection_options(connection):
    """Return the client options that reach the server of connection (`--opt=value`)."""
    options = []
    if connection.socket:
        options.append("--socket=" + connection.socket)
    if connection.host:
        options.append("--host=" + connection.host)
    if connection.port:
        options.append("--port=%d" % connection.port)
    if connection.user:
        options.append("--user=" + connection.user)
    return options


def dump_command(connection, client, defaults_file=None):
    """Return the Command that writes an SQL dump of the database to stdout with dump program
    client: one consistent snapshot (InnoDB), routines and triggers, binary columns as hex."""
    options = [
        "--single-transaction",
        "--routines",
        "--triggers",
        "--hex-blob",
        "--no-tablespaces",  # needs the PROCESS privilege otherwise (MySQL 8.0.21+)
        "--default-character-set=utf8mb4",
    ]
    options += connection_options(connection) + [connection.database]
    return _with_password(connection, client, options, defaults_file)


def restore_command(connection, client, defaults_file=None):
    """Return the Command that runs the SQL on stdin against the database with SQL program client."""
    options = ["--binary-mode"] + connection_options(connection) + [connection.database]
    return _with_password(connection, client, options, defaults_file)


class GzipWriter:
    """Gzip-compresses the bytes written to it and passes the compressed bytes to sink(chunk)."""

    def __init__(self, sink):
        self.sink = sink
        self._compressor = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, GZIP_WBITS)

    def write(self, chunk):
        """Compress chunk (bytes)."""
        compressed = self._compressor.compress(chunk)
        if compressed:
            self.sink(compressed)

    def close(self):
        """Pass on the end of the gzip stream."""
        self.sink(self._compressor.flush())


def gunzip_chunks(path):
    """Yield the decompressed bytes of the gzip file at path, at most CHUNK_SIZE at a time
    (a highly compressed file cannot blow up memory); raise EngineError when it is not gzip or
    ends early."""
    decompressor = zlib.decompressobj(GZIP_WBITS)
    try:
        for compressed in backup_files.file_chunks(path):
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


def dump(connection, sink):
    """Dump the database, passing the bytes of the gzip-compressed SQL to sink(chunk)."""
    dump_clients = CLIENTS[connection.engine][0]
    client = find_client(connection, dump_clients, connection.password)
    with private_files(password_files(connection)) as paths:
        command = dump_command(connection, client, paths.get(DEFAULTS_FILE))
        compressed = GzipWriter(sink)
        run_client(command, _program(client), connection.password, stdout_sink=compressed.write)
        compressed.close()


def check_backup(path):
    """Raise ValueError unless the file at path is gzip data (the SQL is checked as it streams)."""
    require_magic(path, GZIP_MAGIC, "gzip-compressed SQL")


def restore(connection, path):
    """Run the gzip-compressed SQL of the backup file at path (check_backup passed) against the
    database. `--binary-mode` (restore_command) keeps the client's own commands (`\\!`, `system`)
    from running, so the SQL cannot reach the server's shell."""
    client = find_client(connection, CLIENTS[connection.engine][1], connection.password)
    with private_files(password_files(connection)) as paths:
        command = restore_command(connection, client, paths.get(DEFAULTS_FILE))
        run_client(command, _program(client), connection.password, stdin_chunks=gunzip_chunks(path))


def _program(client):
    """Return the program name of client (a path or a name), for messages."""
    return client.rsplit("/", 1)[-1]
