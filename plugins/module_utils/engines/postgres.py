# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL: `pg_dump --format=custom` out (its own gzip compression for compression gzip,
`--compress=0` otherwise: zstd is applied by the pipeline, as PostgreSQL 15's pg_dump knows
only gzip levels); `pg_restore --clean --if-exists --no-owner
--single-transaction` in, so a failed restore leaves the database as it was. Only custom-format
archives are restored: plain SQL would go through psql, whose `\\!` meta-command runs shell
commands on the server, so a planted `.dump` (object and matching sidecar) could run anything.

The password reaches the client through a 0600 PGPASSFILE natively, and through PGPASSWORD
forwarded by `docker exec -e PGPASSWORD` (value in the docker CLI's environment) in a container.

Lock waits: pg_dump gets `--lock-wait-timeout` (it locks every table at its start). pg_restore
has no such option, and a lock_timeout given through PGOPTIONS does not hold: the archive sets
`lock_timeout = 0` and `statement_timeout = 0` before anything else (checked with pg_restore 15),
so a restore waiting for a lock is bounded by the connection's timeout (common.run_client).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    EngineError,
    client_command,
    private_files,
    require_magic,
    run_client,
)

PASSFILE = "pgpass"
CLIENT_COMPRESSION = None  # the archive's own gzip is inside the format (`.dump`); `.dump.zst` is the pipeline's
CUSTOM_FORMAT_MAGIC = b"PGDMP"  # first bytes of a pg_dump --format=custom archive


def passfile_text(password):
    """Return the .pgpass line that gives password for any host, port, database and user
    (`:` and `\\` escaped); raise ValueError for a password with a line break."""
    if "\n" in password or "\r" in password:
        raise ValueError("a PostgreSQL password with a line break cannot be used")
    return "*:*:*:*:%s\n" % password.replace("\\", "\\\\").replace(":", "\\:")


def password_files(connection):
    """Return {name: text} of the password files the clients need: a PGPASSFILE natively when
    there is a password, nothing otherwise (a container gets PGPASSWORD)."""
    if connection.password is None or connection.container:
        return {}
    return {PASSFILE: passfile_text(connection.password)}


def _password_env(connection, password_paths):
    """Return the environment that hands the password to a client: PGPASSWORD for a container,
    PGPASSFILE (password_paths[PASSFILE]) natively."""
    if connection.password is None:
        return {}
    if connection.container:
        return {"PGPASSWORD": connection.password}
    return {"PGPASSFILE": password_paths[PASSFILE]}


def connection_options(connection):
    """Return the libpq options of connection (`--opt=value`, so no value can pass for an
    option), never prompting for a password."""
    options = []
    host = connection.socket or connection.host  # libpq takes a socket directory as host
    if host:
        options.append("--host=" + host)
    if connection.port:
        options.append("--port=%d" % connection.port)
    if connection.user:
        options.append("--username=" + connection.user)
    options += ["--no-password", "--dbname=" + connection.database]
    return options


def dump_client(connection):
    """Return the program that dumps the database: pg_dump."""
    return "pg_dump"


def restore_client(connection):
    """Return the program that restores the database: pg_restore."""
    return "pg_restore"


def dump_command(connection, client, password_paths):
    """Return the Command that writes a custom-format dump of the database to stdout with
    client (dump_client), compressed by pg_dump itself only for connection.compression gzip,
    waiting at most connection.lock_timeout for each table's lock; password_paths are the
    {name: path} of the password_files()."""
    argv = [client, "--format=custom", "--lock-wait-timeout=%d" % (connection.lock_timeout * 1000)]  # milliseconds
    if connection.compression != "gzip":
        argv.append("--compress=0")
    argv += connection_options(connection)
    return client_command(connection, argv, _password_env(connection, password_paths))


def restore_command(connection, client, password_paths):
    """Return the Command that loads a custom-format dump from stdin in one transaction with
    client (restore_client, pg_restore), dropping the objects it recreates, ownership left to the
    connecting user."""
    argv = [client, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
    return client_command(connection, argv + connection_options(connection), _password_env(connection, password_paths))


def check_backup(first_bytes, filename):
    """Raise ValueError unless first_bytes (of backup filename, decoded) start a pg_dump custom-format archive."""
    require_magic(first_bytes, CUSTOM_FORMAT_MAGIC, "a pg_dump custom-format archive", filename)


# Tables and their exact row counts in the connected database (its own schemas), in one query:
# query_to_xml runs a count(*) per table.
COUNT_QUERY = (
    "SELECT count(*), coalesce(sum((xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I',"
    " table_schema, table_name), false, true, '')))[1]::text::bigint), 0) FROM information_schema.tables"
    " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
)


def _psql(connection, sql, database):
    """Run sql with psql against database of connection's server; return its unaligned output (text)."""
    with private_files(password_files(connection), connection.allow_secrets_on_disk) as paths:
        argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--command=" + sql]
        command = client_command(connection, argv + connection_options(connection._replace(database=database)),
                                 _password_env(connection, paths))
        return run_client(command, "psql", connection.password, timeout=connection.timeout).decode("utf-8", "replace")


def create_scratch(connection, scratch):
    """Create the empty database scratch (a restore drill's, named by drill.py) on connection's
    server; raise EngineError, naming the missing CREATEDB privilege when the user may not."""
    try:
        _psql(connection, 'CREATE DATABASE "%s"' % names.validate_name(scratch, "scratch"), connection.database)
    except EngineError as error:
        if "permission denied to create database" not in str(error):
            raise
        raise EngineError(
            "%s may not create databases: a restore drill of PostgreSQL restores into a scratch database and needs "
            "the CREATEDB privilege (ALTER ROLE %s CREATEDB)"
            % (connection.user or "the connecting user", connection.user or "<user>"),
            database_touched=False,
        ) from None


def scratch_counts(connection, scratch):
    """Return {tables, rows} of database scratch: its tables and their exact row counts."""
    tables, rows = _psql(connection, COUNT_QUERY, scratch).strip().split("|")
    return {"tables": int(tables), "rows": int(rows)}


def drop_scratch(connection, scratch):
    """Drop database scratch (its sessions ended first)."""
    _psql(connection, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % scratch, connection.database)
