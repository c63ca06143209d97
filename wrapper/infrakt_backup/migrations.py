"""The schema of infrakt.db, version by version.

MIGRATIONS[n - 1] turns a version n - 1 database into version n; `schema_version` records
each applied version. A migration is frozen once released: its DDL is spelled out here
rather than derived from store.py's models, which always describe the latest version.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, text

from infrakt_backup.errors import InfraktError


def _create_s3_config(connection: Connection) -> None:
    """Version 1: the one global S3 configuration (the CHECK keeps it at one row)."""
    connection.execute(
        text(
            """
            CREATE TABLE s3_config (
                id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                provider VARCHAR NOT NULL,
                endpoint_url VARCHAR NOT NULL,
                bucket VARCHAR NOT NULL,
                region VARCHAR NOT NULL,
                access_key VARCHAR NOT NULL,
                secret_key_encrypted VARCHAR NOT NULL,
                prefix VARCHAR NOT NULL DEFAULT '',
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL
            )
            """
        )
    )


def _create_servers(connection: Connection) -> None:
    """Version 2: the servers backups are made on."""
    connection.execute(
        text(
            """
            CREATE TABLE servers (
                name VARCHAR NOT NULL PRIMARY KEY,
                host VARCHAR NOT NULL,
                port INTEGER NOT NULL DEFAULT 22,
                user VARCHAR NOT NULL DEFAULT 'root',
                ssh_key_path VARCHAR,
                python_interpreter VARCHAR NOT NULL DEFAULT '/usr/bin/python3',
                aws_bin VARCHAR NOT NULL DEFAULT '/opt/infrakt/awscli/bin/aws',
                backup_dir VARCHAR NOT NULL DEFAULT '/opt/infrakt/backups',
                created_at DATETIME NOT NULL
            )
            """
        )
    )


def _create_databases(connection: Connection) -> None:
    """Version 3: the databases backed up, each on one server."""
    connection.execute(
        text(
            """
            CREATE TABLE databases (
                name VARCHAR NOT NULL PRIMARY KEY,
                server_name VARCHAR NOT NULL REFERENCES servers (name) ON DELETE RESTRICT,
                engine VARCHAR NOT NULL,
                database VARCHAR,
                user VARCHAR,
                host VARCHAR,
                port INTEGER,
                container VARCHAR,
                password_encrypted VARCHAR,
                restart_command VARCHAR,
                created_at DATETIME NOT NULL
            )
            """
        )
    )
    connection.execute(text("CREATE INDEX ix_databases_server_name ON databases (server_name)"))


def _add_database_data_dir(connection: Connection) -> None:
    """Version 4: a Redis database's registered data dir (`db add --data-dir`)."""
    connection.execute(text("ALTER TABLE databases ADD COLUMN data_dir VARCHAR"))


def _create_schedules(connection: Connection) -> None:
    """Version 5: a database's scheduled backups (`schedule set`): cron expression, retention,
    the ping URL (encrypted), and whether the server has them installed."""
    connection.execute(
        text(
            """
            CREATE TABLE schedules (
                db_name VARCHAR NOT NULL PRIMARY KEY REFERENCES databases (name) ON DELETE RESTRICT,
                cron VARCHAR NOT NULL,
                keep_local INTEGER NOT NULL,
                keep_last INTEGER,
                keep_daily INTEGER,
                keep_weekly INTEGER,
                keep_monthly INTEGER,
                notify_url_encrypted VARCHAR,
                installed BOOLEAN NOT NULL,
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL
            )
            """
        )
    )


def _add_database_local_copy(connection: Connection) -> None:
    """Version 6: whether a database's backups are also kept on its server (`db add
    --no-local-copy`: they only go to S3)."""
    connection.execute(text("ALTER TABLE databases ADD COLUMN local_copy BOOLEAN NOT NULL DEFAULT 1"))


def _add_database_compression(connection: Connection) -> None:
    """Version 7: how a database's backups are compressed (`db add --compression`); NULL, the
    value of databases registered before, is the engine's default (what they wrote so far)."""
    connection.execute(text("ALTER TABLE databases ADD COLUMN compression VARCHAR"))


def _create_encryption(connection: Connection) -> None:
    """Version 8: the encryption of backups with age (`settings encryption`; one row): the
    recipients backups are encrypted to (one per line), the identity made by `init` (encrypted;
    NULL for recipients whose identity is kept elsewhere) and its recipient, and whether new
    backups are encrypted (`disable` keeps the identity for restores)."""
    connection.execute(
        text(
            """
            CREATE TABLE encryption (
                id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                recipients VARCHAR NOT NULL,
                identity_encrypted VARCHAR,
                identity_recipient VARCHAR,
                enabled BOOLEAN NOT NULL,
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL
            )
            """
        )
    )


def _add_signing_key_and_verify_cron(connection: Connection) -> None:
    """Version 9 (signed manifests, restore drills): the installation's signing key (encrypted),
    one row, and a schedule's drill cron expression (`schedule set --verify-cron`; NULL: none).
    The key itself is generated on first use (Store.signing_key), not here: a migration is DDL
    only, runs before the master key file is looked at, and would otherwise create that file on
    every fresh config."""
    connection.execute(text("ALTER TABLE schedules ADD COLUMN verify_cron VARCHAR"))
    connection.execute(
        text(
            """
            CREATE TABLE signing_key (
                id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                key_encrypted VARCHAR NOT NULL,
                created_at DATETIME NOT NULL
            )
            """
        )
    )


MIGRATIONS: list[Callable[[Connection], None]] = [
    _create_s3_config, _create_servers, _create_databases, _add_database_data_dir, _create_schedules,
    _add_database_local_copy, _add_database_compression, _create_encryption, _add_signing_key_and_verify_cron,
]
LATEST_VERSION = len(MIGRATIONS)


def schema_version(connection: Connection) -> int:
    """Return the version of the database on `connection` (0 for a new, empty one)."""
    connection.execute(
        text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at DATETIME)")
    )
    return connection.execute(text("SELECT coalesce(max(version), 0) FROM schema_version")).scalar_one()


def migrate(connection: Connection, target: int = LATEST_VERSION) -> int:
    """Apply the migrations that bring the database on `connection` to version `target`, in
    the caller's transaction (all or nothing); return the version reached. Raise InfraktError
    when the database is newer than this program knows."""
    current = schema_version(connection)
    if current > LATEST_VERSION:
        raise InfraktError(
            f"the configuration database has schema version {current}, newer than this infrakt-backup "
            f"understands ({LATEST_VERSION}): upgrade infrakt-backup"
        )
    for version in range(current + 1, target + 1):
        MIGRATIONS[version - 1](connection)
        connection.execute(
            text("INSERT INTO schema_version (version, applied_at) VALUES (:version, :applied_at)"),
            {"version": version, "applied_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")},
        )
    return max(current, target)
