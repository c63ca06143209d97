"""`infrakt-backup backup restore DB FILENAME` (the seed's POST /api/databases/{name}/restore):
download from S3 first when the server has no local copy, verify the sha256, then restore."""

from collections.abc import Callable
from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import timeout_variables, validated
from infrakt_backup.actions.settings_encryption import restore_identity
from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.remote import Progress, database_play, signing_variables
from infrakt_backup.runner import PlaybookRun
from infrakt_backup.store import Store

DB_RESTORE = "infrakt.backup.db_restore"
S3_OBJECT = "infrakt.backup.s3_object"
# What a restore that stopped without db_restore's answer (an interrupt, a lost connection)
# leaves, per engine: only the way the engine loads a backup says it.
UNFINISHED_RESTORE = {
    "postgres": "PostgreSQL loads it in one transaction, rolled back unless it had finished: "
                "the database holds either its previous data or the whole backup",
    "mariadb": "the database may be partly restored: restore it again",
    "mysql": "the database may be partly restored: restore it again",
    "mongo": "the database may be partly restored: restore it again",
    "redis": "the state of the Redis server is unknown (stopped, or holding the previous or the restored data): "
             "check it",
}


def restore_backup(
    store: Store, db_name: str, filename: str, *, confirm: Callable[[dict], bool] | None = None,
    timeout: int | None = None, lock_timeout: int | None = None, identity_file: Path | None = None,
    allow_unsigned: bool = False,
    progress: Progress | None = None, verbosity: int = 0,
) -> dict:
    """Restore database `db_name` from backup `filename` (a plain name from `backup list`).
    `timeout` bounds the whole restore and `lock_timeout` its waits for locks (seconds; None:
    the modules' defaults). The backup's sidecar must carry this installation's signature of
    it (checked on the server before the database is touched or anything is decrypted) unless
    `allow_unsigned`. An encrypted backup (`.age`) is decrypted on the server in the stream with
    the stored identity and those of `identity_file` (an age identity file), sent for this
    restore alone.

    `confirm`, when given, is called with {"database", "engine", "server", "filename"} once the
    names are valid and the database is known, before anything runs; it returns whether to go
    on (or raises BadInput). Returns {"database", "server", "filename", "sha256", "downloaded"}.
    Raises BadInput for an invalid or unknown name and a filename that is not one of this
    database's backups, InfraktError for a restore not confirmed and, saying which step failed
    (and whether the database was touched), for a failed one.
    """
    validated(names.validate_name, db_name, "database name")
    validated(names.validate_backup_filename, db_name, filename)
    variables = {"infrakt_restore_filename": filename, "infrakt_allow_unsigned": allow_unsigned,
                 **timeout_variables(timeout, lock_timeout), **signing_variables(store)}
    identity = restore_identity(store, identity_file)
    if names.parse_backup_filename(filename).encrypted:
        if identity is None:
            raise BadInput(f"{filename} is encrypted and no age identity is stored: "
                           "give its identity file with --identity-file FILE")
        variables["infrakt_age_identity"] = identity  # the server gets it for this restore alone
    play = database_play(store, db_name)
    target = {"database": db_name, "engine": play.database.engine, "server": play.server.name, "filename": filename}
    if confirm is not None and not confirm(target):
        raise InfraktError(f"restore of {db_name} cancelled: nothing was changed")
    run = play.run("restore.yml", variables, progress=progress, verbosity=verbosity)
    if not run.ok:
        raise InfraktError(f"Restore of {db_name} from {filename} {_how_it_ended(run, play.database.engine)}")
    restored = run.result_of(DB_RESTORE) or {}
    downloaded = run.result_of(S3_OBJECT)
    return {
        "database": db_name,
        "server": play.server.name,
        "filename": filename,
        "sha256": restored.get("sha256"),
        "signature": restored.get("signature"),
        "downloaded": bool(downloaded and downloaded.get("changed")),
    }


def _how_it_ended(run: PlaybookRun, engine: str) -> str:
    """Return how the failed restore `run` ended, as the end of a sentence: whether the database
    was touched, from db_restore's own answer when there is one, else from whether its task had
    started (then what that leaves for `engine`)."""
    loading = run.has_started(DB_RESTORE)
    if run.status == "canceled":
        return f"was interrupted while loading it; {UNFINISHED_RESTORE[engine]}" if loading else \
            "was interrupted before the database was touched"
    failed = run.first_failure
    if failed is not None and failed.action == DB_RESTORE and "database_touched" in failed.result:
        if failed.result["database_touched"]:
            return f"failed while loading it: {run.failure}"
        return f"failed before the database was touched: {run.failure}"
    if loading:  # no answer from db_restore: the connection or ansible-playbook went away
        return f"stopped while loading it ({run.failure}); {UNFINISHED_RESTORE[engine]}"
    return f"failed before the database was touched: {run.failure}"
