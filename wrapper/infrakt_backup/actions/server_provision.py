"""`infrakt-backup server provision NAME`: install the AWS CLI on a server (the awscli role)
and remember the absolute path of the `aws` it settled on, for later operations and cron."""

from infrakt_backup.errors import InfraktError
from infrakt_backup.remote import run_on_server


def provision(store, name: str, *, progress=None, verbosity: int = 0) -> dict:
    """Run playbooks/provision.yml on server `name`; return {"server", "aws_bin", "changed"}."""
    server = store.server(name)
    run = run_on_server(store, server, "provision.yml", {}, progress=progress, verbosity=verbosity)
    run.raise_for_failure(f"Provisioning {name}")
    aws_bin = run.fact("infrakt_aws_bin")
    if not aws_bin:
        raise InfraktError(f"Provisioning {name} did not report where the aws CLI is installed")
    store.update_server(name, aws_bin=aws_bin)
    return {"server": name, "aws_bin": aws_bin, "changed": any(r.result.get("changed") for r in run.results)}
