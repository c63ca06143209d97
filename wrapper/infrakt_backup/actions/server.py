"""`infrakt-backup server add|list|remove`: the servers backups are made on, reached over SSH."""

from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import (
    validate_absolute_path,
    validate_host,
    validate_port,
    validate_single_line,
    validated,
)
from infrakt_backup.errors import BadInput
from infrakt_backup.output import iso_utc
from infrakt_backup.store import DEFAULT_BACKUP_DIR, DEFAULT_PYTHON


def server_dict(server) -> dict:
    """Return ServerEntry `server` as a JSON-ready dict."""
    return {
        "name": server.name,
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "ssh_key_path": server.ssh_key_path,
        "python_interpreter": server.python_interpreter,
        "aws_bin": server.aws_bin,
        "backup_dir": server.backup_dir,
        "created_at": iso_utc(server.created_at),
    }


def ssh_key_path(path: str) -> str:
    """Return the absolute path of SSH private key file `path` (~ expanded); raise BadInput when
    it is not an existing file."""
    validated(validate_single_line, path, "SSH key path")
    key = Path(path).expanduser().absolute()
    if not key.is_file():
        raise BadInput(f"SSH key {str(key)!r} does not exist or is not a file")
    return str(key)


def add(
    store, name: str, *, host: str, port: int = 22, user: str = "root", ssh_key: str | None = None,
    python: str = DEFAULT_PYTHON, backup_dir: str = DEFAULT_BACKUP_DIR,
) -> dict:
    """Validate and register server `name`; return it as server_dict. Raise BadInput for invalid
    values or a name already taken."""
    validated(names.validate_name, name, "server name")
    validated(validate_host, host)
    validated(validate_port, port)
    validated(names.validate_name, user, "SSH user")
    entry = store.add_server(
        name, host=host, port=port, user=user, ssh_key_path=ssh_key_path(ssh_key) if ssh_key else None,
        python_interpreter=validated(validate_absolute_path, python, "python interpreter"),
        backup_dir=validated(validate_absolute_path, backup_dir, "backup directory"),
    )
    return server_dict(entry)


def list_servers(store) -> list[dict]:
    """Return every server as server_dict, by name."""
    return [server_dict(server) for server in store.servers()]


def remove(store, name: str) -> None:
    """Forget server `name`; raise BadInput when it is unknown or databases still use it."""
    validated(names.validate_name, name, "server name")
    store.remove_server(name)
