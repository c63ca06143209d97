"""`infrakt-backup backup prune DB`: apply the database's retention now (its schedule's, or
the defaults: 7 local copies, every S3 copy kept), on the server and in S3, through
playbooks/prune.yml — the code scheduled runs apply after each backup."""

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import validated
from infrakt_backup.actions.schedule import DEFAULT_KEEP_LOCAL, S3_RULES
from infrakt_backup.errors import InfraktError
from infrakt_backup.remote import Progress, database_play
from infrakt_backup.store import Store

BACKUP_PRUNE = "infrakt.backup.backup_prune"


def prune(store: Store, db_name: str, dry_run: bool = False, *, progress: Progress | None = None,
          verbosity: int = 0) -> dict:
    """Delete (dry_run: list) the backups of `db_name` its retention does not keep. Return
    {"database", "server", "dry_run", "local": {"deleted", "kept"}, "s3": {…} or None}; raise
    BadInput for an unknown database, InfraktError when the prune failed (what was deleted
    before is named)."""
    validated(names.validate_name, db_name, "database name")
    play = database_play(store, db_name)
    schedule = store.schedule(db_name)
    rules = {"infrakt_keep_local": schedule.keep_local if schedule else DEFAULT_KEEP_LOCAL}
    if schedule is not None:
        rules.update({f"infrakt_{rule}": getattr(schedule, rule) for rule in S3_RULES
                      if getattr(schedule, rule) is not None})
    run = play.run("prune.yml", {**rules, "infrakt_dry_run": dry_run}, progress=progress, verbosity=verbosity)
    pruned = run.result_of(BACKUP_PRUNE)
    if pruned is None or not run.ok:
        raise InfraktError(f"Prune of {db_name} failed: {run.failure or 'the prune did not run'}")
    return {"database": db_name, "server": play.server.name, "dry_run": dry_run,
            "local": pruned["local"], "s3": pruned.get("s3")}
