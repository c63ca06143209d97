"""`infrakt-backup server add|pin|list|remove`: the servers backups are made on, reached over
SSH. `server add` pins the server's SSH host keys in the home's known_hosts (`pin` again after
a deliberate key change); every play then checks them strictly (runner.server_inventory)."""

import base64
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import subprocess
from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import names, tmpfs
from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import DEFAULT_BACKUP_DIR
from infrakt_backup.actions import (
    validate_absolute_path,
    validate_host,
    validate_port,
    validate_single_line,
    validated,
)
from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.json_ready import entry_dict
from infrakt_backup.remote import known_hosts_path
from infrakt_backup.store import DEFAULT_PYTHON, Store

FINGERPRINT_RE = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
KEYSCAN_TIMEOUT = 10  # seconds ssh-keyscan waits for the server


def ssh_key_path(path: str) -> str:
    """Return the absolute path of SSH private key file `path` (~ expanded); raise BadInput when
    it is not an existing file."""
    validated(validate_single_line, path, "SSH key path")
    key = Path(path).expanduser().absolute()
    if not key.is_file():
        raise BadInput(f"SSH key {str(key)!r} does not exist or is not a file")
    return str(key)


def known_hosts_name(host: str, port: int) -> str:
    """Return how known_hosts (and ssh looking in it) names host at port: `[host]:port` unless
    the port is 22."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: str) -> str:
    """Return the SHA256 fingerprint of a public key (its base64 blob), as `ssh-keygen -l` prints it."""
    digest = hashlib.sha256(base64.b64decode(key)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def scan_host_keys(host: str, port: int) -> list[tuple[str, str]]:
    """Return the host keys server host:port offers, as (key type, base64 key) pairs, every type
    ssh may use; raise InfraktError when none can be fetched."""
    try:
        scanned = subprocess.run(["ssh-keyscan", "-T", str(KEYSCAN_TIMEOUT), "-p", str(port), "--", host],
                                 capture_output=True, text=True, timeout=KEYSCAN_TIMEOUT * 6, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InfraktError(f"cannot fetch the SSH host key of {host} port {port}: {error}") from None
    keys = [tuple(line.split()[1:3]) for line in scanned.stdout.splitlines()
            if line.strip() and not line.startswith("#") and len(line.split()) >= 3]
    if not keys:
        said = [line for line in scanned.stderr.splitlines() if line.strip() and not line.startswith("#")]
        reason = said[-1].strip() if said else "no SSH server answered"
        raise InfraktError(f"cannot fetch the SSH host key of {host} port {port}: {reason}")
    return keys


def _keys_to_pin(
    host: str, port: int, keys: list[tuple[str, str]], expected_fingerprint: str | None
) -> list[tuple[str, str]]:
    """Return which of the host keys host:port offers (`keys`) to pin: all, or only the one
    whose fingerprint is `expected_fingerprint` (raise BadInput when none has it)."""
    if expected_fingerprint is None:
        return keys
    matching = [(kind, key) for kind, key in keys if fingerprint(key) == expected_fingerprint]
    if not matching:
        offered = ", ".join(fingerprint(key) for _, key in keys)
        raise BadInput(f"the SSH host key of {host} port {port} has fingerprint {offered}, not "
                       f"{expected_fingerprint}: nothing was stored")
    return matching


def _names(field: str, name: str) -> bool:
    """Return whether a known_hosts line's host field names `name`, plainly or hashed
    (`|1|salt|hash`, as ssh writes them with HashKnownHosts)."""
    if field.startswith("|1|"):
        salt, _, hashed = field[3:].partition("|")
        try:
            return hmac.compare_digest(hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest(),
                                       base64.b64decode(hashed))
        except ValueError:
            return False
    return name in field.split(",")


def _write_known_hosts(store: Store, name: str, keys: list[tuple[str, str]]) -> None:
    """Replace the known_hosts lines of `name` (known_hosts_name) by `keys`; the file stays 0600
    and is replaced whole, so a run never reads half of it, under a lock, so two `server add`
    or `server pin` at once never lose each other's keys."""
    path = known_hosts_path(store)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        kept = [line for line in (path.read_text().splitlines() if path.exists() else [])
                if not line.split() or line.startswith(("#", "@")) or not _names(line.split()[0], name)]
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
        try:
            tmpfs.write_private_file(str(temporary), "".join(
                f"{line}\n" for line in kept + [f"{name} {kind} {key}" for kind, key in keys]))
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)


def _pinned(keys: list[tuple[str, str]]) -> list[dict]:
    """Return pinned keys as [{"type", "fingerprint"}]."""
    return [{"type": kind, "fingerprint": fingerprint(key)} for kind, key in keys]


def _validate_fingerprint(expected: str | None) -> None:
    """Raise BadInput unless expected is None or a SHA256 fingerprint (`SHA256:` and 43 base64 characters)."""
    if expected is not None and not FINGERPRINT_RE.match(expected):
        raise BadInput(f"host key fingerprint {expected!r} is not valid: give it as ssh-keygen -l prints it, "
                       "SHA256:<43 characters>")


def add(
    store: Store, name: str, *, host: str, port: int = 22, user: str = "root", ssh_key: str | None = None,
    python: str = DEFAULT_PYTHON, backup_dir: str = DEFAULT_BACKUP_DIR, host_key_fingerprint: str | None = None,
) -> dict:
    """Validate and register server `name` and pin its SSH host keys (only the one with
    `host_key_fingerprint` when given); return it as entry_dict with "host_keys" (the pinned
    keys' type and fingerprint) and "host_key_error" (None, or why no key could be fetched: the
    server is then stored unpinned, and plays refuse it until `pin` succeeds). Raise BadInput
    for invalid values, a name already taken or a fingerprint that does not match; then nothing
    is stored."""
    validated(names.validate_name, name, "server name")
    validated(validate_host, host)
    validated(validate_port, port)
    validated(names.validate_name, user, "SSH user")
    key_path = ssh_key_path(ssh_key) if ssh_key else None
    python = validated(validate_absolute_path, python, "python interpreter")
    backup_dir = validated(validate_absolute_path, backup_dir, "backup directory")
    _validate_fingerprint(host_key_fingerprint)
    if any(server.name == name for server in store.servers()):  # bad input, found before any network wait
        raise BadInput(f"server {name!r} already exists")
    try:
        keys, host_key_error = _keys_to_pin(host, port, scan_host_keys(host, port), host_key_fingerprint), None
    except BadInput:
        raise
    except InfraktError as error:  # not up yet, say: registered, and no play runs until it is pinned
        keys, host_key_error = [], error.message
    entry = store.add_server(name, host=host, port=port, user=user, ssh_key_path=key_path, python_interpreter=python,
                             backup_dir=backup_dir)
    if keys:
        _write_known_hosts(store, known_hosts_name(host, port), keys)
    return {**entry_dict(entry), "host_keys": _pinned(keys), "host_key_error": host_key_error}


def pin(store: Store, name: str, *, host_key_fingerprint: str | None = None) -> dict:
    """Fetch the SSH host keys of registered server `name` again and pin them in place of the
    ones pinned before (after a deliberate key change); return {"server", "host_keys"}. Raise
    as add() does."""
    validated(names.validate_name, name, "server name")
    _validate_fingerprint(host_key_fingerprint)
    server = store.server(name)
    keys = _keys_to_pin(server.host, server.port, scan_host_keys(server.host, server.port), host_key_fingerprint)
    _write_known_hosts(store, known_hosts_name(server.host, server.port), keys)
    return {"server": name, "host_keys": _pinned(keys)}


def list_servers(store: Store) -> list[dict]:
    """Return every server as entry_dict, by name."""
    return [entry_dict(server) for server in store.servers()]


def remove(store: Store, name: str) -> None:
    """Forget server `name` and its pinned host keys (unless another server has the same host and
    port); raise BadInput when it is unknown or databases still use it."""
    validated(names.validate_name, name, "server name")
    server = store.server(name)
    store.remove_server(name)
    if not any((other.host, other.port) == (server.host, server.port) for other in store.servers()):
        _write_known_hosts(store, known_hosts_name(server.host, server.port), [])
