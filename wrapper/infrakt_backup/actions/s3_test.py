"""`infrakt-backup settings s3 test`: the probe (list, write, read, delete) run from the server,
because a bucket that lists fine can still refuse uploads (B2, R2 and checksum headers)."""

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import validated
from infrakt_backup.errors import InfraktError
from infrakt_backup.remote import Progress, s3_play
from infrakt_backup.store import Store

S3_OBJECT = "infrakt.backup.s3_object"


def test_connection(
    store: Store, server_name: str | None = None, *, progress: Progress | None = None, verbosity: int = 0
) -> dict:
    """Probe the configured S3 storage from server `server_name` (default: the only one); return
    {"server", "endpoint_url", "bucket", "steps"}. Raises BadInput for an invalid or unknown
    server name or when nothing is configured, InfraktError when the probe fails."""
    if server_name is not None:
        validated(names.validate_name, server_name, "server name")
    play = s3_play(store, server_name)
    run = play.run("s3_test.yml", progress=progress, verbosity=verbosity)
    if not run.ok:
        raise InfraktError(f"Connection test from {play.server.name} failed: {run.failure}")
    probe = run.result_of(S3_OBJECT) or {}
    return {
        "server": play.server.name,
        "endpoint_url": play.settings.endpoint_url,
        "bucket": play.settings.bucket,
        "steps": probe.get("steps", []),
    }
