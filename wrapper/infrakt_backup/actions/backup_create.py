"""`infrakt-backup backup create DB` (the seed's POST /api/databases/{name}/backup): dump on the
server, then upload from the server when S3 is configured. The local copy is always kept."""

from infrakt_backup.errors import InfraktError
from infrakt_backup.playbook_vars import database_variables, s3_variables, server_variables
from infrakt_backup.remote import run_on_server

DB_BACKUP = "infrakt.backup.db_backup"
S3_OBJECT = "infrakt.backup.s3_object"


def create_backup(store, db_name: str, upload: bool = True, *, progress=None, verbosity: int = 0) -> dict:
    """Back up database `db_name`; upload to S3 when `upload` and S3 is configured.

    Returns {"database", "server", "filename", "path", "size", "sha256", "location", "s3_key"}
    with location "local" or "local+s3". Raises InfraktError when the dump fails, or when the
    upload fails (the message then says where the intact local backup is).
    """
    database = store.database(db_name)
    server = store.server(database.server)
    settings = store.s3_config()
    upload_to_s3 = bool(upload and settings is not None)
    variables = {
        **database_variables(database),
        **server_variables(server),
        **(s3_variables(settings) if upload_to_s3 else {}),
        "infrakt_upload_to_s3": upload_to_s3,
    }
    run = run_on_server(store, server, "backup.yml", variables, progress=progress, verbosity=verbosity)
    dump = run.result_of(DB_BACKUP)
    if dump is None:
        raise InfraktError(f"Backup of {db_name} failed: {run.failure or 'the dump did not run'}")
    backup = {
        "database": db_name,
        "server": server.name,
        "filename": dump["filename"],
        "path": dump["path"],
        "size": dump["size"],
        "sha256": dump["sha256"],
        "location": "local",
        "s3_key": None,
    }
    if not upload_to_s3:
        run.raise_for_failure(f"Backup of {db_name}")
        return backup
    uploaded = run.result_of(S3_OBJECT)
    if not run.ok or uploaded is None:
        raise InfraktError(
            f"Upload of {backup['filename']} to S3 failed: {run.failure}. "
            f"The local backup is intact on {server.name} at {backup['path']}."
        )
    return {**backup, "location": "local+s3", "s3_key": uploaded.get("key")}
