"""`infrakt-backup backup list DB` (the seed's GET /api/databases/{name}/backups): the server's
local backups and the S3 copies, listed in one play and merged by filename, each with its
signature checked here, on the controller: the play brings the sidecars' records back (the
S3 sidecars in one more aws process), so the signing key never leaves the controller for a
listing."""

from ansible_collections.infrakt.backup.plugins.module_utils import names, signing
from infrakt_backup.actions import validated
from infrakt_backup.json_ready import iso_utc
from infrakt_backup.remote import Progress, database_play
from infrakt_backup.store import Store

BACKUP_INFO = "infrakt.backup.backup_info"
S3_OBJECT = "infrakt.backup.s3_object"
S3_CREDENTIALS = "infrakt.backup.s3_credentials"


def copy_signature(key: str, db_name: str, where: str, entry: dict) -> str:
    """Return the signature status (signing.VERIFIED, UNSIGNED, BAD_SIGNATURE) of one copy of a
    backup of db_name: entry is a backup_info backup (where "local") or an s3_object list object
    read with its sidecar (where "s3"). An S3 sidecar that is there but could not be read counts
    as a bad signature."""
    if where == "s3" and entry.get("sidecar") and entry.get("sha256") is None:
        return signing.BAD_SIGNATURE
    if entry.get("sha256") is None:
        return signing.UNSIGNED
    return signing.check(key, db_name, entry["filename"], entry.get("size"), entry["sha256"], entry.get("signature"))


def worst_signature(statuses: list[str]) -> str:
    """Return the status a backup shows for its copies' statuses: a bad signature on any copy,
    else unsigned when any copy is, else verified."""
    for status in (signing.BAD_SIGNATURE, signing.UNSIGNED):
        if status in statuses:
            return status
    return signing.VERIFIED


def merge_locations(db_name: str, local: list[dict], remote: list[dict], key: str) -> list[dict]:
    """Merge local backups (backup_info `backups`) and S3 objects (s3_object list `objects`,
    read with their sidecars) of db_name by filename, newest first.

    Each item: filename, size, created (ISO-8601 UTC from the filename), location
    ("local", "s3" or "both"), encrypted (the filename ends in `.age`), sha256 (what the
    server's local sidecar records; None without a local copy or sidecar), s3_sidecar (whether
    S3 holds the backup's `.sha256` sidecar; None without an S3 copy) and signature
    ("verified", "unsigned" or "bad signature" under the signing key `key`: worst_signature of
    its copies). Objects that are not backups of db_name (sidecars, strangers under the prefix)
    are left out.
    """
    merged: dict[str, dict] = {}
    statuses: dict[str, list[str]] = {}
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
            statuses.setdefault(filename, []).append(copy_signature(key, db_name, where, entry))
    ordered = sorted(merged.values(), key=lambda item: (item["created"], item["filename"]), reverse=True)
    return [{**item, "created": iso_utc(item["created"]), "signature": worst_signature(statuses[item["filename"]])}
            for item in ordered]


def list_backups(store: Store, db_name: str, *, progress: Progress | None = None, verbosity: int = 0) -> dict:
    """Return {"backups": the merged backup list of database `db_name` (see merge_locations),
    "s3_error": None, or why S3 could not be listed, when only the server's local backups are
    in "backups"}. Raises BadInput for an invalid or unknown name, InfraktError when the server
    cannot be listed or a listing did not arrive whole."""
    validated(names.validate_name, db_name, "database name")
    play = database_play(store, db_name)
    run = play.run("backups_list.yml", {"infrakt_list_signatures": True}, progress=progress, verbosity=verbosity)
    local = run.result_of(BACKUP_INFO)
    failed = run.first_failure
    s3_failed = local is not None and failed is not None and failed.action in (S3_OBJECT, S3_CREDENTIALS)
    if not s3_failed:
        run.raise_for_failure(f"Listing the backups of {db_name}")
    listed_s3 = play.settings is not None and not s3_failed
    remote = run.required_result(S3_OBJECT, "objects") if listed_s3 else []
    backups = merge_locations(db_name, run.required_result(BACKUP_INFO, "backups"), remote, store.signing_key())
    return {"backups": backups, "s3_error": run.failure if s3_failed else None}
