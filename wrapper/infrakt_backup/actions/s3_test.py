"""`infrakt-backup settings s3 test`: the probe (list, write, read, delete) run from the server,
because a bucket that lists fine can still refuse uploads (B2, R2 and checksum headers)."""

from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.playbook_vars import s3_variables, server_variables
from infrakt_backup.remote import pick_server, run_on_server


def test_connection(store, server_name: str | None = None, *, progress=None, verbosity: int = 0) -> dict:
    """Probe the configured S3 storage from a server; return {"server", "steps", "bucket",
    "endpoint_url"}. Raises BadInput when nothing is configured, InfraktError when the probe fails."""
    settings = store.s3_config()
    if settings is None:
        raise BadInput("S3 backup storage is not configured: run 'infrakt-backup settings s3 set' first")
    server = pick_server(store, server_name)
    variables = {**s3_variables(settings), **server_variables(server)}
    run = run_on_server(store, server, "s3_test.yml", variables, progress=progress, verbosity=verbosity)
    if not run.ok:
        raise InfraktError(f"Connection test from {server.name} failed: {run.failure}")
    probe = run.result_of("infrakt.backup.s3_object") or {}
    return {
        "server": server.name,
        "endpoint_url": settings.endpoint_url,
        "bucket": settings.bucket,
        "steps": probe.get("steps", []),
    }
