"""`infrakt-backup backup verify DB [FILENAME | --latest] [--restore]`: a restore drill. The
server reads the backup as it streams from S3 (or its local copy without S3), checks its
signature, sha256 and format and, with restore, loads it into scratch space beside the
database (removed afterwards) and counts what arrived; the outcome goes into the database's
status file, so `status` shows it."""

from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import timeout_variables, validated
from infrakt_backup.actions.settings_encryption import restore_identity
from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.remote import Progress, database_play, signing_variables
from infrakt_backup.store import Store

BACKUP_VERIFY = "infrakt.backup.backup_verify"
# what the drill's answer says, passed on as it is
FIELDS = ("filename", "source", "size", "sha256", "signature", "encrypted", "decrypted", "format", "restored",
          "counts", "duration_s", "verify_result", "recorded")


def verify_backup(
    store: Store, db_name: str, filename: str | None = None, *, restore: bool = False, allow_unsigned: bool = False,
    identity_file: Path | None = None, timeout: int | None = None, lock_timeout: int | None = None,
    progress: Progress | None = None, verbosity: int = 0,
) -> dict:
    """Verify backup `filename` of database `db_name` (None: the newest), and with `restore`
    restore it into scratch space on its server. The backup must be signed by this installation
    unless `allow_unsigned`. An encrypted backup is decrypted on the server in the stream with
    the stored identity and those of `identity_file`, sent for this drill alone (and written
    there, 0600 on tmpfs, only when the backup is encrypted: without `filename` the newest one
    is not known before the run, so the identity goes with it when there is one); with no
    identity at all only its age header is checked.

    Returns {"database", "server", "filename", "source" (s3 or local), "size", "sha256",
    "signature", "encrypted", "decrypted", "format", "restored", "counts" ({tables, rows} or {keys}; None
    without a restore), "duration_s", "verify_result" ("passed"), "recorded" (in the status
    file)}. Raises BadInput for an invalid or unknown name or a filename of another database,
    InfraktError with one line saying what failed when the backup does not pass.
    """
    validated(names.validate_name, db_name, "database name")
    if filename is not None:
        validated(names.validate_backup_filename, db_name, filename)
    timeouts = timeout_variables(timeout, lock_timeout)
    play = database_play(store, db_name)
    if restore and play.database.engine == "mongo":
        raise BadInput("a restore drill of MongoDB is not supported yet: verify it without --restore")
    variables = {"infrakt_verify_restore": restore, "infrakt_allow_unsigned": allow_unsigned, **timeouts,
                 **signing_variables(store)}
    if filename is not None:
        variables["infrakt_verify_filename"] = filename
    identity = restore_identity(store, identity_file)
    if identity is not None and (filename is None or names.parse_backup_filename(filename).encrypted):
        variables["infrakt_age_identity"] = identity
    run = play.run("verify.yml", variables, progress=progress, verbosity=verbosity)
    run.raise_for_failure(f"Verification of {db_name}")
    answer = run.result_of(BACKUP_VERIFY)
    if answer is None:
        raise InfraktError(f"Verification of {db_name} failed: the drill did not run")
    return {"database": db_name, "server": play.server.name, **{name: answer.get(name) for name in FIELDS}}
