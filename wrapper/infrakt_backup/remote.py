"""Runs one of the collection's playbooks on one registered server: the glue every action
that touches a server shares (inventory from the store, host keys pinned in INFRAKT_HOME)."""

from infrakt_backup import runner
from infrakt_backup.errors import BadInput


def pick_server(store, server_name: str | None):
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


def run_on_server(store, server, playbook: str, variables: dict, *, progress=None, verbosity: int = 0):
    """Run playbooks/<playbook> on ServerEntry `server` and return the runner.PlaybookRun."""
    inventory = runner.server_inventory([server], store.home / "known_hosts")
    return runner.run_playbook(playbook, inventory, variables, verbosity=verbosity, progress=progress)
