"""`infrakt-backup backup restore DB FILENAME` (the seed's POST /api/databases/{name}/restore):
download from S3 first when the server has no local copy, verify the sha256, then restore."""

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.playbook_vars import database_variables, s3_variables, server_variables
from infrakt_backup.remote import run_on_server

DB_RESTORE = "infrakt.backup.db_restore"
S3_OBJECT = "infrakt.backup.s3_object"


def restore_backup(store, db_name: str, filename: str, *, progress=None, verbosity: int = 0) -> dict:
    """Restore database `db_name` from backup `filename` (a plain name from `backup list`).

    Returns {"database", "server", "filename", "sha256", "downloaded"}. Raises BadInput for a
    filename that is not one of this database's backups, InfraktError saying which step failed
    (and whether the database was touched) otherwise.
    """
    try:
        names.validate_backup_filename(db_name, filename)
    except ValueError as error:
        raise BadInput(str(error)) from None
    database = store.database(db_name)
    server = store.server(database.server)
    variables = {
        **database_variables(database),
        **server_variables(server),
        **s3_variables(store.s3_config()),
        "infrakt_restore_filename": filename,
    }
    run = run_on_server(store, server, "restore.yml", variables, progress=progress, verbosity=verbosity)
    if not run.ok:
        failed = run.first_failure
        if failed is not None and failed.action == DB_RESTORE and failed.result.get("database_touched", True):
            raise InfraktError(f"Restore of {db_name} from {filename} failed while loading it: {run.failure}")
        raise InfraktError(
            f"Restore of {db_name} from {filename} failed before the database was touched: {run.failure}"
        )
    restored = run.result_of(DB_RESTORE) or {}
    downloaded = run.result_of(S3_OBJECT)
    return {
        "database": db_name,
        "server": server.name,
        "filename": filename,
        "sha256": restored.get("sha256"),
        "downloaded": bool(downloaded and downloaded.get("changed")),
    }
