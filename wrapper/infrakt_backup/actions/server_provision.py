"""`infrakt-backup server provision NAME`: install the AWS CLI (the awscli role) and zstd on a server
and remember the absolute path of the `aws` it settled on, for later operations and cron."""

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import validated
from infrakt_backup.errors import InfraktError
from infrakt_backup.remote import Progress, server_play
from infrakt_backup.store import Store


def provision(store: Store, name: str, *, progress: Progress | None = None, verbosity: int = 0) -> dict:
    """Run playbooks/provision.yml on server `name`; return {"server", "aws_bin", "changed"}.
    Raises BadInput for an invalid or unknown name, InfraktError when provisioning fails."""
    validated(names.validate_name, name, "server name")
    run = server_play(store, name).run("provision.yml", progress=progress, verbosity=verbosity)
    run.raise_for_failure(f"Provisioning {name}")
    aws_bin = run.fact("infrakt_aws_bin")
    if not aws_bin:
        raise InfraktError(f"Provisioning {name} did not report where the aws CLI is installed")
    store.update_server(name, aws_bin=aws_bin)
    return {"server": name, "aws_bin": aws_bin, "changed": any(r.result.get("changed") for r in run.results)}
