# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MySQL and MariaDB: `mysqldump`/`mariadb-dump --single-transaction --routines --triggers`
(the backup pipeline compresses the SQL while it streams, zstd or gzip); restored by feeding the
decompressed SQL to `mysql`/`mariadb`. Each engine prefers its own client programs and falls
back to the other's. A restore is not atomic: the statements before a failing one stay applied.

The password reaches the client through a 0600 `--defaults-extra-file` natively, and through
MYSQL_PWD forwarded by `docker exec -e MYSQL_PWD` in a container (the SQL stream occupies
stdin, and a file inside the container would land on its disk).

Lock waits: the SQL client starts its session with `lock_wait_timeout` and
`innodb_lock_wait_timeout` set to the connection's lock_timeout (`--init-command`). The dump
clients have no way to set a session variable, so a dump waiting for a lock is bounded by the
connection's timeout (common.run_client).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import codecs

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    EngineError,
    client_command,
    find_client,
    private_files,
    program_name,
    refuse_backup,
    run_client,
)

DEFAULTS_FILE = "my.cnf"
CLIENT_COMPRESSION = None  # the clients write and read plain SQL; the pipeline compresses it
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


def _with_password(connection, client, options, password_paths):
    """Return the Command running client with options, the password handed over as the
    engine's docstring says (`--defaults-extra-file` must come first)."""
    if connection.password is None:
        return client_command(connection, [client] + options)
    if connection.container:
        return client_command(connection, [client] + options, {"MYSQL_PWD": connection.password})
    return client_command(connection, [client, "--defaults-extra-file=" + password_paths[DEFAULTS_FILE]] + options)


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


def dump_client(connection):
    """Return the dump program of the engine found where the database is (CLIENTS)."""
    return find_client(connection, CLIENTS[connection.engine][0], connection.password)


def restore_client(connection):
    """Return the SQL program of the engine found where the database is (CLIENTS)."""
    return find_client(connection, CLIENTS[connection.engine][1], connection.password)


def dump_command(connection, client, password_paths):
    """Return the Command that writes an SQL dump of the database to stdout with dump program
    client (dump_client): one consistent snapshot (InnoDB), routines and triggers, binary columns
    as hex; password_paths are the {name: path} of the password_files()."""
    options = [
        "--single-transaction",
        "--routines",
        "--triggers",
        "--hex-blob",
        "--no-tablespaces",  # needs the PROCESS privilege otherwise (MySQL 8.0.21+)
        "--default-character-set=utf8mb4",
    ]
    options += connection_options(connection) + [connection.database]
    return _with_password(connection, client, options, password_paths)


def restore_command(connection, client, password_paths):
    """Return the Command that runs the SQL on stdin against the database with SQL program
    client (restore_client), each statement waiting at most connection.lock_timeout for a lock.
    `--binary-mode` keeps the client's own commands (`\\!`, `system`) from running, so the SQL
    cannot reach the server's shell."""
    lock_waits = "--init-command=SET SESSION lock_wait_timeout=%d, innodb_lock_wait_timeout=%d" % (
        connection.lock_timeout,
        connection.lock_timeout,
    )
    options = ["--binary-mode", lock_waits] + connection_options(connection) + [connection.database]
    return _with_password(connection, client, options, password_paths)


def check_backup(first_bytes, filename):
    """Raise ValueError unless first_bytes (of backup filename, decoded) are SQL text: not empty,
    UTF-8 (a character cut at the end allowed) without NUL bytes."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(first_bytes)
    except UnicodeDecodeError:
        text = ""
    if not text or "\x00" in text:
        refuse_backup(filename, "SQL text")


def _sql(connection, statement, database=None):
    """Run statement with the SQL client against connection's server (in database when given);
    return its tab-separated output without headers (text)."""
    client = restore_client(connection)
    with private_files(password_files(connection), connection.allow_secrets_on_disk) as paths:
        options = ["--batch", "--skip-column-names", "--execute=" + statement] + connection_options(connection)
        command = _with_password(connection, client, options + ([database] if database else []), paths)
        return run_client(command, program_name(client), connection.password,
                          timeout=connection.timeout).decode("utf-8", "replace")


def create_scratch(connection, scratch):
    """Create the empty database scratch (a restore drill's, named by drill.py); raise
    EngineError, naming the missing privileges when the user may not."""
    try:
        _sql(connection, "CREATE DATABASE `%s`" % names.validate_name(scratch, "scratch"))
    except EngineError as error:
        if "Access denied" not in str(error):
            raise
        pattern = "`%s%%`" % drill_pattern(scratch)
        raise EngineError(
            "%s may not create the scratch database %s: a restore drill of MySQL/MariaDB needs the privileges "
            "of a restore on databases named like it (GRANT ALL ON %s.* TO %s)"
            % (connection.user or "the connecting user", scratch, pattern, connection.user or "<user>"),
            database_touched=False,
        ) from None


def drill_pattern(scratch):
    """Return the LIKE pattern (escaped) of the scratch names a drill uses: its prefix."""
    return scratch.rsplit("_", 1)[0].replace("_", "\\_") + "\\_"


def scratch_counts(connection, scratch):
    """Return {tables, rows} of database scratch: its base tables and their exact row counts
    (information_schema's TABLE_ROWS is an estimate for InnoDB)."""
    # scratch is a name (names.validate_name) and the table names are quoted: nothing else gets in
    listed = _sql(connection, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s'"  # noqa: S608
                  " AND TABLE_TYPE = 'BASE TABLE'" % names.validate_name(scratch, "scratch"))
    tables = [name for name in listed.splitlines() if name]
    if not tables:
        return {"tables": 0, "rows": 0}
    counts = " + ".join("(SELECT COUNT(*) FROM `%s`)" % name.replace("`", "``") for name in tables)  # noqa: S608
    return {"tables": len(tables), "rows": int(_sql(connection, "SELECT " + counts, scratch).strip())}


def drop_scratch(connection, scratch):
    """Drop database scratch."""
    _sql(connection, "DROP DATABASE IF EXISTS `%s`" % scratch)
