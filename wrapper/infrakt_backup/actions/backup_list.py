"""`infrakt-backup backup list DB` (the seed's GET /api/databases/{name}/backups): the server's
local backups and the S3 copies, listed in one play and merged by filename."""

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import validated
from infrakt_backup.json_ready import iso_utc
from infrakt_backup.remote import Progress, database_play
from infrakt_backup.store import Store

BACKUP_INFO = "infrakt.backup.backup_info"
S3_OBJECT = "infrakt.backup.s3_object"
S3_CREDENTIALS = "infrakt.backup.s3_credentials"


def merge_locations(db_name: str, local: list[dict], remote: list[dict]) -> list[dict]:
    """Merge local backups (backup_info `backups`) and S3 objects (s3_object list `objects`)
    of db_name by filename, newest first.

    Each item: filename, size, created (ISO-8601 UTC from the filename), location
    ("local", "s3" or "both"), encrypted (the filename ends in `.age`), sha256 (what the
    server's local sidecar records; None without a local copy or sidecar) and s3_sidecar
    (whether S3 holds the backup's `.sha256` sidecar; None without an S3 copy). A listing
    does not read the S3 sidecars, one request per backup; a restore from S3 checks against
    it. Objects that are not backups of db_name (sidecars, strangers under the prefix) are
    left out.
    """
    merged: dict[str, dict] = {}
    for where, entries in (("local", local), ("s3", remote)):
        for entry in entries:
            filename = entry["filename"]
            try:
                parts = names.parse_backup_filename(filename, db_name)
            except ValueError:
                continue
            item = merged.setdefault(
                filename,
                {"filename": filename, "size": entry.get("size"), "created": parts.created, "location": where,
                 "encrypted": parts.encrypted, "sha256": None, "s3_sidecar": None},
            )
            if item["location"] != where:
                item["location"] = "both"
            if where == "local":
                item["sha256"] = entry.get("sha256")
            else:
                item["s3_sidecar"] = bool(entry.get("sidecar"))
    ordered = sorted(merged.values(), key=lambda item: (item["created"], item["filename"]), reverse=True)
    return [{**item, "created": iso_utc(item["created"])} for item in ordered]


def list_backups(store: Store, db_name: str, *, progress: Progress | None = None, verbosity: int = 0) -> dict:
    """Return {"backups": the merged backup list of database `db_name` (see merge_locations),
    "s3_error": None, or why S3 could not be listed, when only the server's local backups are
    in "backups"}. Raises BadInput for an invalid or unknown name, InfraktError when the server
    cannot be listed or a listing did not arrive whole."""
    validated(names.validate_name, db_name, "database name")
    play = database_play(store, db_name)
    run = play.run("backups_list.yml", progress=progress, verbosity=verbosity)
    local = run.result_of(BACKUP_INFO)
    failed = run.first_failure
    s3_failed = local is not None and failed is not None and failed.action in (S3_OBJECT, S3_CREDENTIALS)
    if not s3_failed:
        run.raise_for_failure(f"Listing the backups of {db_name}")
    listed_s3 = play.settings is not None and not s3_failed
    remote = run.required_result(S3_OBJECT, "objects") if listed_s3 else []
    backups = merge_locations(db_name, run.required_result(BACKUP_INFO, "backups"), remote)
    return {"backups": backups, "s3_error": run.failure if s3_failed else None}
