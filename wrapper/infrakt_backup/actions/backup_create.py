"""`infrakt-backup backup create DB [DB…] | --server NAME | --all` (the seed's POST
/api/databases/{name}/backup): dump on the servers, then upload from there when S3 is
configured. All the databases selected are backed up in ONE run: the servers in parallel, the
databases of one server one after another (a loop in backup.yml); one backup is a run of one."""

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions import DEFAULT_FORKS, timeout_variables, validate_forks, validated
from infrakt_backup.actions.settings_encryption import backup_recipients
from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.playbook_vars import backup_item
from infrakt_backup.progress import fleet_count
from infrakt_backup.remote import Progress, host_failures, run_on_servers, signing_variables
from infrakt_backup.runner import Outcome, PlaybookRun, lost_result_message
from infrakt_backup.store import DatabaseEntry, Store

DB_BACKUP = "infrakt.backup.db_backup"
ROW_KEYS = ("database", "server", "filename", "path", "size", "sha256", "location", "s3_key", "duration_s", "error")


def create_backup(
    store: Store, db_name: str, upload: bool = True, *, timeout: int | None = None, lock_timeout: int | None = None,
    progress: Progress | None = None, verbosity: int = 0,
) -> dict:
    """Back up database `db_name` (create_backups of one).

    Returns its row without "error": {"database", "server", "filename", "path", "size", "sha256",
    "location", "s3_key", "duration_s"}. Raises BadInput for an invalid or unknown name,
    InfraktError with the row's error when the backup failed (an upload failure says where the
    intact local backup is).
    """
    validated(names.validate_name, db_name, "database name")
    row = create_backups(store, [db_name], upload=upload, timeout=timeout, lock_timeout=lock_timeout,
                         progress=progress, verbosity=verbosity)["backups"][0]
    if row["error"] is not None:
        raise InfraktError(row["error"])
    return {key: value for key, value in row.items() if key != "error"}


def create_backups(
    store: Store, db_names: list[str] | None = None, *, all_databases: bool = False, server_name: str | None = None,
    upload: bool = True, timeout: int | None = None, lock_timeout: int | None = None, forks: int = DEFAULT_FORKS,
    progress: Progress | None = None, verbosity: int = 0,
) -> dict:
    """Back up the databases `db_names`, or every database of server `server_name`, or all
    (exactly one of the three), in one run on up to `forks` servers at a time; upload each to S3
    when `upload` and S3 is configured (the db_backup module does both on the server, under the
    lock scheduled runs take, and records the outcome in the status file they write). `timeout`
    bounds each dump and `lock_timeout` its wait for a locked table (seconds; None: the
    modules' defaults). With encryption on (`settings encryption`), each server encrypts its
    backups to the recipients in the stream (their filenames end in `.age`). While it runs,
    `progress` gets the task lines and, for more than one database, a count line
    (progress.fleet_count) each time one ends.

    Returns {"ok": bool, "backups": [row, …]} in the order selected, a row per database with
    ROW_KEYS: location "local+s3", "s3", "local" (also for a failed upload whose local copy is
    intact) or None, error None or one sentence naming the database. Raises BadInput for invalid
    or unknown names, a selection that is not exactly one of the three, or a database that keeps
    no local copy when nothing is uploaded.
    """
    databases = _selected(store, db_names or [], all_databases, server_name)
    forks = validate_forks(forks)
    timeouts = timeout_variables(timeout, lock_timeout)
    settings = store.s3_config()
    upload_to_s3 = bool(upload and settings is not None)
    for database in databases:
        if not upload_to_s3 and not database.local_copy:
            raise BadInput(f"{database.name} keeps no local copy, so its backups must go to S3: "
                           + ("S3 is not configured" if settings is None else "leave out --no-upload"))
    servers = [store.server(name) for name in dict.fromkeys(database.server for database in databases)]
    by_server = {server.name: server for server in servers}
    extra = {
        "infrakt_backup_databases": {server.name: [backup_item(database, server) for database in databases
                                                   if database.server == server.name] for server in servers},
        # apart from the items: an item is part of the task's result
        "infrakt_db_passwords": {database.name: database.password for database in databases if database.password},
        "infrakt_upload_to_s3": upload_to_s3,
        **timeouts,
        # a play variable, the same for every server's db_backup run: every backup is signed
        **signing_variables(store),
    }
    recipients = backup_recipients(store)
    if recipients:
        extra["infrakt_age_recipients"] = recipients  # public keys: the identity stays here
    if len(databases) == 1:
        extra["infrakt_db_name"] = databases[0].name  # names the dump task in the progress lines
    tally = _Tally(databases, progress) if progress is not None and len(databases) > 1 else None
    run = run_on_servers(store, servers, "backup.yml", extra, settings=settings if upload_to_s3 else None,
                         forks=forks, progress=progress, on_outcome=tally.see if tally else None, verbosity=verbosity)
    rows = backup_rows(run, databases, host_failures(run, list(by_server.values())))
    return {"ok": all(row["error"] is None for row in rows), "backups": rows}


def _selected(store: Store, db_names: list[str], all_databases: bool, server_name: str | None) -> list[DatabaseEntry]:
    """Return the DatabaseEntry objects a create_backups call selects, each once; raise
    BadInput (see create_backups)."""
    if sum((bool(db_names), all_databases, server_name is not None)) != 1:
        raise BadInput("name the databases to back up, or give --server NAME or --all (one of the three)")
    if all_databases:
        databases = store.databases()
        if not databases:
            raise BadInput("no database is registered: add one with 'infrakt-backup db add'")
        return databases
    if server_name is not None:
        validated(names.validate_name, server_name, "server name")
        store.server(server_name)  # an unknown server is NotFound
        databases = [database for database in store.databases() if database.server == server_name]
        if not databases:
            raise BadInput(f"no database is registered on server {server_name}")
        return databases
    for db_name in db_names:
        validated(names.validate_name, db_name, "database name")
    return [store.database(db_name) for db_name in dict.fromkeys(db_names)]


def backup_rows(run: PlaybookRun, databases: list[DatabaseEntry], failures: dict[str, str]) -> list[dict]:
    """Return a row (ROW_KEYS) per database of `databases` from `run`, a run of backup.yml, and
    `failures` (remote.host_failures: server name → why the run failed there). A database with
    no result of its own is failed: by its server's failure, else as without a result."""
    unreachable = {result.host for result in run.results if result.unreachable}
    dumped = {result.host: result for result in run.results if result.action == DB_BACKUP and not result.unreachable}
    rows = []
    for database in databases:
        row = dict.fromkeys(ROW_KEYS)
        row.update(database=database.name, server=database.server)
        rows.append(row)
        host_result = dumped.get(database.server)
        if host_result is None:
            reason = failures.get(database.server) or run.failure or "the dump did not run"
            where = "cannot reach server" if database.server in unreachable else "server"
            row["error"] = f"Backup of {database.name} failed: {where} {database.server}: {reason}"
            continue
        if not host_result.complete:
            row["error"] = f"Backup of {database.name} failed: {lost_result_message(host_result)}"
            continue
        item = next((item for item in host_result.result.get("results", [])
                     if (item.get("item") or {}).get("db_name") == database.name), None)
        if item is None:
            row["error"] = f"Backup of {database.name} failed: its server returned no result of it"
            continue
        row.update(_file_fields(item))
        if item.get("failed") and item.get("location") == "local":
            row["error"] = (f"Upload of {item['filename']} to S3 failed: {item.get('upload_error')}. "
                            f"The local backup is intact on {database.server} at {item['path']}.")
        elif item.get("failed"):
            row["location"] = None
            row["error"] = f"Backup of {database.name} failed: {_one_line(item.get('msg') or 'the dump failed')}"
        elif database.server in failures and not host_result.failed:  # a later task failed there
            row["error"] = f"Backup of {database.name} was made, but then: {failures[database.server]}"
    return rows


def _file_fields(item: dict) -> dict:
    """Return the row's fields about the backup file from db_backup's result `item`."""
    uploaded = item.get("upload")
    return {
        "filename": item.get("filename"),
        "path": item.get("path"),
        "size": item.get("size"),
        "sha256": item.get("sha256"),
        "location": ("local+s3" if item.get("path") else "s3") if uploaded else "local",
        "s3_key": uploaded.get("key") if uploaded else None,
        "duration_s": item.get("duration_s"),
    }


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Tally:
    """Counts a run's databases as their backups end (runner Outcomes) and says the count
    through `progress` (progress.fleet_count) at each change."""

    def __init__(self, databases: list[DatabaseEntry], progress: Progress):
        self.pending = {(database.server, database.name) for database in databases}
        self.total = len(databases)
        self.done = self.failed = 0
        self.progress = progress

    def see(self, outcome: Outcome) -> None:
        """Count what `outcome` ended: one database (a dump item), or every database still
        pending on a server where a task failed or that could not be reached."""
        if outcome.item is not None and outcome.action == DB_BACKUP:
            ended = self.pending & {(outcome.host, outcome.item)}
        elif outcome.item is None and outcome.status != "ok":
            ended = {key for key in self.pending if key[0] == outcome.host}
        else:
            return
        if not ended:
            return
        self.pending -= ended
        if outcome.status == "ok":
            self.done += len(ended)
        else:
            self.failed += len(ended)
        self.progress(fleet_count(self.done, self.failed, self.total))
