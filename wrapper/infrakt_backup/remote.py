"""The prelude every action that runs a playbook shares: load the rows the play works on
(`database_play`, `s3_play`, `server_play`), build the playbook variables from them
(playbook_vars.py) and run the play on the server (`Play.run`: inventory from the store, host
keys pinned in INFRAKT_HOME). The action, which validated the names it was given, then shapes
the run's module results into its answer."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from infrakt_backup import runner
from infrakt_backup.errors import BadInput
from infrakt_backup.playbook_vars import database_variables, s3_variables, server_variables
from infrakt_backup.store import DatabaseEntry, S3Settings, ServerEntry, Store

# What an action that runs a play is given to report it: one short line per task.
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Play:
    """The rows one play runs with: the server it runs on and, when the play works on them, a
    database and the S3 settings (None: not configured, or left out of this run)."""

    store: Store
    server: ServerEntry
    database: DatabaseEntry | None = None
    settings: S3Settings | None = None

    def without_s3(self) -> "Play":
        """Return this play without the S3 settings: none of their variables (the secret among
        them) reaches the run."""
        return replace(self, settings=None)

    def variables(self) -> dict:
        """Return the playbook variables of the rows held: the database's, the server's
        locations (aws_bin, backup_dir) and the S3 settings'. A play on the server alone
        (provision) gets none: it finds aws_bin itself, and an extra variable would beat the
        fact it sets."""
        if self.database is None and self.settings is None:
            return {}
        return {**database_variables(self.database), **server_variables(self.server), **s3_variables(self.settings)}

    def run(
        self, playbook: str, extra: dict | None = None, *, progress: Progress | None = None, verbosity: int = 0
    ) -> runner.PlaybookRun:
        """Run playbooks/<playbook> on the server with variables() and `extra`; return the
        runner.PlaybookRun."""
        inventory = runner.server_inventory([self.server], known_hosts_path(self.store))
        variables = {**self.variables(), **(extra or {})}
        run = runner.run_playbook(playbook, inventory, variables, verbosity=verbosity, progress=progress)
        run.failure = _host_key_failure(run.failure, self.server) or run.failure
        return run


def signing_variables(store: Store) -> dict:
    """Return the playbook variable that carries the installation's signing key
    (Store.signing_key) to the plays that sign backups (backup, schedule) or check their
    signatures (restore, verify) on the server; the key goes there as a no_log module argument
    or in a schedule's 0600 config, never to a play that does not need it."""
    return {"infrakt_signing_key": store.signing_key()}


def run_on_servers(
    store: Store, servers: list[ServerEntry], playbook: str, extra: dict, *, settings: S3Settings | None = None,
    forks: int | None = None, progress: Progress | None = None,
    on_outcome: Callable[[runner.Outcome], None] | None = None, verbosity: int = 0,
) -> runner.PlaybookRun:
    """Run playbooks/<playbook> once on all of `servers`, up to `forks` of them at a time (None:
    Ansible's default), with the S3 settings' variables (None: none) and `extra`, whose
    per-server values are keyed by server name (the inventory host names); `on_outcome` sees
    each loop item and task as it ends on a server. Return the runner.PlaybookRun, whose
    results name their host."""
    inventory = runner.server_inventory(servers, known_hosts_path(store))
    variables = {**s3_variables(settings), **extra}
    return runner.run_playbook(playbook, inventory, variables, verbosity=verbosity, progress=progress,
                               on_outcome=on_outcome, forks=forks)


def host_failures(run: runner.PlaybookRun, servers: list[ServerEntry]) -> dict[str, str]:
    """Return {server name: one sentence} for each of `servers` on which `run` failed or that
    it could not reach."""
    by_name = {server.name: server for server in servers}
    failures = {}
    for result in run.results:
        if result.failed and result.host in by_name and result.host not in failures:
            # a no_log task's result holds no msg, not even ssh's reason for an unreachable host
            reason = _failure_reason(result.result) or ("the SSH connection failed" if result.unreachable
                                                        else "the play failed there")
            message = str(reason).strip().splitlines()[0]
            failures[result.host] = _host_key_failure(message, by_name[result.host]) or message
    if not run.results and run.failure:
        failures = {server.name: run.failure for server in servers}
    return failures


def _failure_reason(result: dict) -> str | None:
    """Return the msg of a failed task's result; for a loop, that of its first failed or
    unreachable item (the loop's own msg says only "All items completed" or "One or more items
    failed", even when ssh could not reach the server)."""
    items = [item for item in result.get("results") or []
             if isinstance(item, dict) and (item.get("failed") or item.get("unreachable")) and item.get("msg")]
    return items[0]["msg"] if items else result.get("msg")


def _host_key_failure(failure: str | None, server: ServerEntry) -> str | None:
    """Return one sentence for a run that ssh refused because server's host key is not the one
    pinned, or none is (in place of ssh's multi-line warning), else None."""
    if failure is None or "Host key verification failed" not in failure:
        return None
    where = f"server {server.name} ({server.host} port {server.port})"
    if "has changed" in failure:
        return (f"the SSH host key of {where} is not the one pinned for it: if it was changed on purpose, "
                f"pin the new one with 'infrakt-backup server pin {server.name} --host-key-fingerprint SHA256:…'; "
                "otherwise someone may be intercepting the connection")
    return f"no SSH host key is pinned for {where}: pin it with 'infrakt-backup server pin {server.name}'"


def known_hosts_path(store: Store) -> Path:
    """Return the known_hosts file of `store`'s home: the SSH host keys `server add` pinned."""
    return store.home / "known_hosts"


def database_play(store: Store, db_name: str) -> Play:
    """Return the Play of database `db_name`: it, its server and the S3 settings; raise BadInput
    for an unknown database."""
    database = store.database(db_name)
    return Play(store, store.server(database.server), database, store.s3_config())


def s3_play(store: Store, server_name: str | None) -> Play:
    """Return the Play of the S3 settings on server `server_name` (pick_server); raise BadInput
    when S3 is not configured."""
    settings = store.s3_config()
    if settings is None:
        raise BadInput("S3 backup storage is not configured: run 'infrakt-backup settings s3 set' first")
    return Play(store, pick_server(store, server_name), settings=settings)


def server_play(store: Store, server_name: str) -> Play:
    """Return the Play of server `server_name` alone; raise BadInput for an unknown server."""
    return Play(store, store.server(server_name))


def pick_server(store: Store, server_name: str | None) -> ServerEntry:
    """Return the ServerEntry named server_name, or the only registered one when None;
    raise BadInput when there is none or several to choose from."""
    if server_name:
        return store.server(server_name)
    servers = store.servers()
    if not servers:
        raise BadInput("no server is registered: add one with 'infrakt-backup server add'")
    if len(servers) > 1:
        names = ", ".join(server.name for server in servers)
        raise BadInput(f"several servers are registered ({names}): choose one with --server")
    return servers[0]
