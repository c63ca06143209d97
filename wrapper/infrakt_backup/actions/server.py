"""`infrakt-backup server add|list|remove`: the servers backups are made on, reached over SSH."""

from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import DEFAULT_BACKUP_DIR
from infrakt_backup.actions import (
    validate_absolute_path,
    validate_host,
    validate_port,
    validate_single_line,
    validated,
)
from infrakt_backup.errors import BadInput
from infrakt_backup.json_ready import entry_dict
from infrakt_backup.store import DEFAULT_PYTHON, Store


def ssh_key_path(path: str) -> str:
    """Return the absolute path of SSH private key file `path` (~ expanded); raise BadInput when
    it is not an existing file."""
    validated(validate_single_line, path, "SSH key path")
    key = Path(path).expanduser().absolute()
    if not key.is_file():
        raise BadInput(f"SSH key {str(key)!r} does not exist or is not a file")
    return str(key)


def add(
    store: Store, name: str, *, host: str, port: int = 22, user: str = "root", ssh_key: str | None = None,
    python: str = DEFAULT_PYTHON, backup_dir: str = DEFAULT_BACKUP_DIR,
) -> dict:
    """Validate and register server `name`; return it as entry_dict. Raise BadInput for invalid
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
    return entry_dict(entry)


def list_servers(store: Store) -> list[dict]:
    """Return every server as entry_dict, by name."""
    return [entry_dict(server) for server in store.servers()]


def remove(store: Store, name: str) -> None:
    """Forget server `name`; raise BadInput when it is unknown or databases still use it."""
    validated(names.validate_name, name, "server name")
    store.remove_server(name)
