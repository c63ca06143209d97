"""`infrakt-backup backup create DB` (the seed's POST /api/databases/{name}/backup): dump on the
server, then upload from the server when S3 is configured. The local copy is always kept."""

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import timeout_variables, validated
from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.remote import Progress, database_play, signing_variables
from infrakt_backup.store import Store

DB_BACKUP = "infrakt.backup.db_backup"


def create_backup(
    store: Store, db_name: str, upload: bool = True, *, timeout: int | None = None, lock_timeout: int | None = None,
    progress: Progress | None = None, verbosity: int = 0,
) -> dict:
    """Back up database `db_name`; upload to S3 when `upload` and S3 is configured (the
    db_backup module does both on the server, under the lock scheduled runs take, and records
    the outcome in the status file they write). `timeout` bounds the whole dump and
    `lock_timeout` its wait for a locked table (seconds; None: the modules' defaults).

    Returns {"database", "server", "filename", "path", "size", "sha256", "location", "s3_key",
    "duration_s"} with location "local" or "local+s3". Raises BadInput for an invalid or unknown
    name, InfraktError when the dump fails, or when the upload fails (the message then says
    where the intact local backup is).
    """
    validated(names.validate_name, db_name, "database name")
    timeouts = timeout_variables(timeout, lock_timeout)
    play = database_play(store, db_name)
    upload_to_s3 = bool(upload and play.settings is not None)
    if not upload_to_s3 and not play.database.local_copy:
        raise BadInput(f"{db_name} keeps no local copy, so its backups must go to S3: "
                       + ("S3 is not configured" if play.settings is None else "leave out --no-upload"))
    run = (play if upload_to_s3 else play.without_s3()).run(
        "backup.yml", {"infrakt_upload_to_s3": upload_to_s3, **timeouts, **signing_variables(store)}, progress=progress,
        verbosity=verbosity
    )
    dump = run.result_of(DB_BACKUP)
    if dump is None:
        failure = run.first_failure
        kept = failure.result if failure is not None and failure.action == DB_BACKUP else {}
        if kept.get("location") == "local":
            raise InfraktError(
                f"Upload of {kept['filename']} to S3 failed: {kept.get('upload_error')}. "
                f"The local backup is intact on {play.server.name} at {kept['path']}."
            )
        raise InfraktError(f"Backup of {db_name} failed: {run.failure or 'the dump did not run'}")
    run.raise_for_failure(f"Backup of {db_name}")
    uploaded = dump.get("upload")
    return {
        "database": db_name,
        "server": play.server.name,
        "filename": dump["filename"],
        "path": dump["path"],
        "size": dump["size"],
        "sha256": dump["sha256"],
        "location": ("local+s3" if dump["path"] else "s3") if uploaded else "local",
        "s3_key": uploaded.get("key") if uploaded else None,
        "duration_s": dump.get("duration_s"),
    }
