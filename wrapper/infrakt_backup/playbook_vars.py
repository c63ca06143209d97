"""Store entries → the playbook variables of docs/design.md (the names users of plain
ansible-playbook set in their inventory). Unset values are left out so the playbooks'
own defaults apply.
"""

from infrakt_backup.store import DatabaseEntry, S3Settings, ServerEntry


def _without_unset(variables: dict) -> dict:
    return {name: value for name, value in variables.items() if value not in (None, "")}


def _is_socket(host) -> bool:
    return bool(host) and host.startswith("/")


def s3_variables(settings: S3Settings | None) -> dict:
    """Return the infrakt_s3_* variables for S3Settings `settings` (secret included), or {}
    when S3 is not configured."""
    if settings is None:
        return {}
    return _without_unset(
        {
            "infrakt_s3_provider": settings.provider,
            "infrakt_s3_endpoint_url": settings.endpoint_url,
            "infrakt_s3_bucket": settings.bucket,
            "infrakt_s3_region": settings.region,
            "infrakt_s3_access_key": settings.access_key,
            "infrakt_s3_secret_key": settings.secret_key,
            "infrakt_s3_prefix": settings.prefix,
        }
    )


def server_variables(server: ServerEntry) -> dict:
    """Return the variables that describe where things live on ServerEntry `server`."""
    return _without_unset({"infrakt_aws_bin": server.aws_bin, "infrakt_backup_dir": server.backup_dir})


def database_variables(database: DatabaseEntry | None) -> dict:
    """Return the infrakt_db_* variables for DatabaseEntry `database` (password included), or {}
    for no database."""
    if database is None:
        return {}
    return _without_unset(
        {
            "infrakt_db_name": database.name,
            "infrakt_db_engine": database.engine,
            "infrakt_db_database": database.database,
            # `db add --host /path` names a local socket (PostgreSQL: its directory)
            "infrakt_db_host": None if _is_socket(database.host) else database.host,
            "infrakt_db_socket": database.host if _is_socket(database.host) else None,
            "infrakt_db_port": database.port,
            "infrakt_db_user": database.user,
            "infrakt_db_password": database.password,
            "infrakt_db_container": database.container,
            "infrakt_db_restart_command": database.restart_command,
            "infrakt_db_data_dir": database.data_dir,
            "infrakt_db_local_copy": database.local_copy,
            "infrakt_db_compression": database.compression,
        }
    )


# backup.yml's loop item (infrakt_backup_databases) → the variable of the one-database form
BACKUP_ITEM_KEYS = {"db_name": "infrakt_db_name", "engine": "infrakt_db_engine", "database": "infrakt_db_database",
                    "host": "infrakt_db_host", "socket": "infrakt_db_socket", "port": "infrakt_db_port",
                    "user": "infrakt_db_user", "container": "infrakt_db_container",
                    "local_copy": "infrakt_db_local_copy", "compression": "infrakt_db_compression",
                    "backup_dir": "infrakt_backup_dir", "aws_bin": "infrakt_aws_bin"}


def backup_item(database: DatabaseEntry, server: ServerEntry) -> dict:
    """Return backup.yml's item for DatabaseEntry `database` on ServerEntry `server` (one entry of
    infrakt_backup_databases): what database_variables and server_variables say, under the keys
    of BACKUP_ITEM_KEYS, without the password (an item is part of the task's result)."""
    variables = {**database_variables(database), **server_variables(server)}
    return _without_unset({key: variables.get(name) for key, name in BACKUP_ITEM_KEYS.items()})


def connection_parameters(database: DatabaseEntry) -> dict:
    """Return the db_backup module parameters (engines.common.connection_argument_spec) of
    DatabaseEntry `database`, password included: what a schedule's config on the server holds."""
    variables = database_variables(database)
    return _without_unset(
        {
            "engine": database.engine,
            "database": database.database,
            "host": variables.get("infrakt_db_host"),
            "socket": variables.get("infrakt_db_socket"),
            "port": database.port,
            "user": database.user,
            "password": database.password,
            "container": database.container,
            "data_dir": database.data_dir,
            "compression": database.compression,
        }
    )
