"""`infrakt-backup status`: what the last backup of every database did, read from the status
files on all servers in ONE run (servers in parallel), judged as a monitoring check would."""

from datetime import datetime

from infrakt_backup.actions import DEFAULT_FORKS, validate_forks
from infrakt_backup.errors import BadInput
from infrakt_backup.remote import Progress, host_failures, run_on_servers
from infrakt_backup.store import Store

BACKUP_STATUS = "infrakt.backup.backup_status"
DEFAULT_MAX_AGE_HOURS = 26
# the last restore drill's fields of a status file (run_state.STATUS_FIELDS), shown as they are
DRILL_FIELDS = ("last_verified", "verify_result", "verify_filename", "verify_duration_s", "verify_counts")


def status(store: Store, max_age_hours: float = DEFAULT_MAX_AGE_HOURS, *, forks: int = DEFAULT_FORKS,
           progress: Progress | None = None, verbosity: int = 0) -> dict:
    """Return {"ok": bool, "databases": [row, …]}, one row per registered database: database,
    server, schedule (cron or None), installed, ok, result, last_success, age_seconds,
    last_attempt, last_skipped, filename, size, location, duration_s, error, and the last restore
    drill's (`backup verify`) last_verified, verify_result, verify_filename, verify_duration_s,
    verify_counts.

    A row is not ok when its last run failed, when its last drill failed, when its server could not
    be read, or, for a scheduled database, when it never succeeded or its last success is older than
    max_age_hours. Up to `forks` servers are read at once. Raise BadInput for a max age that is
    not a positive number or forks that is not a whole number, at least 1."""
    if isinstance(max_age_hours, bool) or not isinstance(max_age_hours, int | float) or not max_age_hours > 0:
        raise BadInput(f"the max age must be a positive number of hours, not {max_age_hours!r}")
    forks = validate_forks(forks)
    databases = store.databases()
    schedules = {schedule.db_name: schedule for schedule in store.schedules()}
    servers = [server for server in store.servers() if any(db.server == server.name for db in databases)]
    if not servers:
        return {"ok": True, "databases": []}
    wanted = {server.name: [db.name for db in databases if db.server == server.name] for server in servers}
    run = run_on_servers(store, servers, "status.yml", {"infrakt_status_databases": wanted}, forks=forks,
                         progress=progress, verbosity=verbosity)
    failures = host_failures(run, servers)
    # a result the run lost (runner: complete False) counts as not read, never as "no status"
    read = {result.host: result.result for result in run.results
            if result.action == BACKUP_STATUS and not result.failed and result.complete}
    rows = []
    for database in databases:
        schedule = schedules.get(database.name)
        answer = read.get(database.server)
        if answer is None:
            error = failures.get(database.server) or "the server's status files could not be read"
            rows.append(_row(database, schedule, {}, None, f"server {database.server}: {error}"))
            continue
        recorded = next(entry for entry in answer["statuses"] if entry["db_name"] == database.name)
        rows.append(_row(database, schedule, recorded, answer["checked_at"], None, max_age_hours))
    return {"ok": all(row["ok"] for row in rows), "databases": rows}


def _row(database, schedule, recorded: dict, checked_at: str | None, unreachable: str | None,
         max_age_hours: float = DEFAULT_MAX_AGE_HOURS) -> dict:
    """Return one database's status row (see status())."""
    age = _age_seconds(recorded.get("last_success"), checked_at)
    problem = unreachable
    if problem is None and recorded.get("result") == "failed":
        problem = recorded.get("error") or "the last backup failed"
    elif problem is None and schedule is not None and age is None:
        problem = "scheduled, but no backup has succeeded yet"
    elif problem is None and schedule is not None and age > max_age_hours * 3600:
        problem = f"the last successful backup is {age / 3600:.1f} hours old (more than {max_age_hours:g})"
    elif problem is None and recorded.get("verify_result") == "failed":
        problem = f"the last restore drill failed: {recorded.get('verify_error') or 'see backup verify'}"
    return {
        "database": database.name,
        "server": database.server,
        "schedule": schedule.cron if schedule else None,
        "installed": schedule.installed if schedule else None,
        "ok": problem is None,
        "result": recorded.get("result"),
        "last_success": recorded.get("last_success"),
        "age_seconds": age,
        "last_attempt": recorded.get("last_attempt"),
        "last_skipped": recorded.get("last_skipped"),
        "filename": recorded.get("filename"),
        "size": recorded.get("size"),
        "location": recorded.get("location"),
        "duration_s": recorded.get("duration_s"),
        "error": problem,
        **{name: recorded.get(name) for name in DRILL_FIELDS},
    }


def _age_seconds(moment: str | None, now: str | None) -> int | None:
    """Return the whole seconds from ISO-8601 UTC `moment` to `now` (the server's clock), or None."""
    if not moment or not now:
        return None
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return int((parse(now) - parse(moment)).total_seconds())
