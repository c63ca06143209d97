"""`infrakt-backup db add|list|remove`: the databases backed up, each on one registered server."""

import shlex
from collections.abc import Callable

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import (
    validate_absolute_path,
    validate_host,
    validate_port,
    validate_single_line,
    validated,
)
from infrakt_backup.errors import BadInput
from infrakt_backup.json_ready import entry_dict
from infrakt_backup.store import Store

# Characters that would end a line in the password files the engines write on the server.
PASSWORD_FORBIDDEN = ("\n", "\r", "\x00")


def validate_db_host(host: str) -> str:
    """Return host if it is a host name, an IP address, or an absolute socket directory
    (PostgreSQL's `-h /var/run/postgresql`); raise ValueError otherwise."""
    if host.startswith("/"):
        return validate_absolute_path(host, "database host (socket directory)")
    return validate_host(host, "database host")


def validate_restart_command(command: str) -> str:
    """Return command if it is one line that splits into words like a shell would (it is run
    as an argument list, never through a shell); raise ValueError otherwise."""
    validate_single_line(command, "restart command")
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise ValueError(f"restart command {command!r} cannot be split into words: {error}") from None
    if not words:
        raise ValueError("restart command must not be empty")
    return command


def add(
    store: Store, name: str, *, server: str, engine: str, database: str | None = None, user: str | None = None,
    host: str | None = None, port: int | None = None, container: str | None = None, password: str | None = None,
    restart_command: str | None = None, data_dir: str | None = None, local_copy: bool = True,
    compression: str = "zstd", ask_password: Callable[[], str | None] | None = None,
) -> dict:
    """Validate and register database `name` on server `server`; return it as entry_dict
    (the password only as "password_set"). Values left None use the engine's defaults on the
    server; an empty password means none; local_copy False keeps its backups in S3 only;
    compression is how its backups are compressed (names.COMPRESSION_SUFFIXES).
    `ask_password()`, when given, is called when no
    password is given (after every other value was checked) and returns it, '' or None.
    Raise BadInput for invalid values, an unknown server or a name already taken."""
    validated(names.validate_name, name, "database name")
    validated(names.validate_name, server, "server name")
    validated(names.validate_engine, engine)
    validated(names.validate_compression, compression)
    if database is not None:
        validated(names.validate_name, database, "database")
    if user is not None:
        validated(names.validate_name, user, "database user")
    if host is not None:
        host = validated(validate_db_host, host)
    if port is not None:
        validated(validate_port, port)
    if container is not None:
        validated(names.validate_name, container, "container")
    if restart_command is not None:
        if engine != "redis":
            raise BadInput("a restart command is only used for redis (to start it again after a restore)")
        validated(validate_restart_command, restart_command)
    if data_dir is not None:
        if engine != "redis":
            raise BadInput("a data dir is only used for redis (the only dir a restore writes its RDB file into)")
        data_dir = validated(validate_absolute_path, data_dir, "data dir")
    if password is None and ask_password is not None:
        password = ask_password()
    if password and any(character in password for character in PASSWORD_FORBIDDEN):
        raise BadInput("the database password must not contain newlines or NUL characters")
    entry = store.add_database(
        name, server=server, engine=engine, database=database, user=user, host=host, port=port, container=container,
        password=password or None, restart_command=restart_command, data_dir=data_dir, local_copy=local_copy,
        compression=compression,
    )
    return entry_dict(entry)


def list_databases(store: Store) -> list[dict]:
    """Return every database as entry_dict, by name."""
    return [entry_dict(database) for database in store.databases()]


def remove(store: Store, name: str) -> None:
    """Forget database `name` (its backups stay where they are); raise BadInput when unknown."""
    validated(names.validate_name, name, "database name")
    store.remove_database(name)
