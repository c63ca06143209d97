"""`infrakt-backup schedule set|list|remove`: a database's scheduled backups, installed on its
server by playbooks/schedule.yml (role infrakt.backup.backup_schedule). Also what `settings s3
set|delete` call to bring every scheduled server's S3 files and upload step up to date.

A server always gets the whole set of its schedules in one run (the role's present list), so
re-applying converges whatever happened before, and the role knows when the last one is gone
(then it removes the server's S3 files).
"""

from ansible_collections.infrakt.backup.plugins.module_utils import cron_expression, names, notify, retention
from infrakt_backup.actions import validated
from infrakt_backup.actions.settings_encryption import backup_recipients
from infrakt_backup.errors import InfraktError, NotFound
from infrakt_backup.json_ready import entry_dict
from infrakt_backup.playbook_vars import connection_parameters
from infrakt_backup.remote import Progress, host_failures, run_on_servers, signing_variables
from infrakt_backup.store import KEEP, DatabaseEntry, ScheduleEntry, ServerEntry, Store

DEFAULT_KEEP_LOCAL = retention.DEFAULT_KEEP_LOCAL
S3_RULES = tuple("keep_" + rule for rule in retention.RULES)  # the schedule fields of the S3 rules


def schedule_dict(store: Store, schedule: ScheduleEntry) -> dict:
    """Return what `schedule list` shows of a schedule: the database's server first, the ping
    URL masked."""
    shown = entry_dict(schedule)
    shown["notify_url"] = notify.masked(schedule.notify_url) if schedule.notify_url else None
    return {"database": schedule.db_name, "server": store.database(schedule.db_name).server, **shown}


def list_schedules(store: Store) -> list[dict]:
    """Return every schedule (schedule_dict), by database."""
    return [schedule_dict(store, schedule) for schedule in store.schedules()]


def show_schedule(store: Store, db_name: str) -> dict:
    """Return schedule_dict of the schedule of database `db_name`; raise BadInput for a bad name,
    NotFound for an unknown database or one without a schedule."""
    return schedule_dict(store, _stored_schedule(store, db_name)[1])


def _stored_schedule(store: Store, db_name: str) -> tuple[DatabaseEntry, ScheduleEntry]:
    """Return database `db_name` and its schedule; raise BadInput for a bad name, NotFound for an
    unknown database or one without a schedule."""
    validated(names.validate_name, db_name, "database name")
    database = store.database(db_name)
    schedule = store.schedule(db_name)
    if schedule is None:
        raise NotFound(f"database {db_name!r} has no scheduled backups")
    return database, schedule


def set_schedule(
    store: Store, db_name: str, *, cron: str, keep_local: int | None = None, keep_last: int | None = None,
    keep_daily: int | None = None, keep_weekly: int | None = None, keep_monthly: int | None = None,
    notify_url=KEEP, verify_cron=KEEP, progress: Progress | None = None, verbosity: int = 0,
) -> dict:
    """Store and install the scheduled backups of database `db_name` on its server. Retention
    values left out (None) stay as stored (new: keep_local 7, every S3 copy kept); notify_url
    KEEP keeps the stored ping URL, None removes it; verify_cron (a cron expression of scheduled
    restore drills of the newest backup) KEEP keeps the stored one, None removes it. Return
    schedule_dict of the result.

    Raise BadInput for a bad value or an unknown database (nothing stored then), InfraktError
    when the server could not be updated (the schedule is stored, marked not installed)."""
    validated(names.validate_name, db_name, "database name")
    cron = validated(cron_expression.validate_cron, cron)
    if verify_cron not in (KEEP, None):
        verify_cron = validated(cron_expression.validate_cron, verify_cron)
    counts = {"keep_local": keep_local, "keep_last": keep_last, "keep_daily": keep_daily,
              "keep_weekly": keep_weekly, "keep_monthly": keep_monthly}
    for what, value in counts.items():
        validated(retention.validate_count, value, what.replace("_", "-"), True)
    if notify_url not in (KEEP, None):
        validated(notify.validate_ping_url, notify_url)
    database = store.database(db_name)
    current = store.schedule(db_name)
    for what, value in counts.items():
        if value is None:
            counts[what] = getattr(current, what) if current else (DEFAULT_KEEP_LOCAL if what == "keep_local" else None)
    if verify_cron is KEEP:
        verify_cron = current.verify_cron if current else None
    store.save_schedule(db_name, cron=cron, notify_url=notify_url, verify_cron=verify_cron, **counts)
    server = store.server(database.server)
    failures = apply_schedules(store, [server], progress=progress, verbosity=verbosity)
    if failures:
        raise InfraktError(
            f"the schedule of {db_name} is stored but could not be installed on {server.name}: "
            f"{failures[server.name]}; run 'infrakt-backup schedule set {db_name} …' again once it is reachable"
        )
    return schedule_dict(store, store.schedule(db_name))


def remove_schedule(store: Store, db_name: str, *, progress: Progress | None = None, verbosity: int = 0) -> dict:
    """Remove the scheduled backups of `db_name` from its server (cron entry, script, config;
    the server's S3 files when no schedule is left there), then forget them. Return
    {"database", "server", "removed"}; raise NotFound for an unknown database or one without a
    schedule, InfraktError when the server could not be updated (the schedule stays stored)."""
    database, _ = _stored_schedule(store, db_name)
    server = store.server(database.server)
    failures = apply_schedules(store, [server], absent=[db_name], progress=progress, verbosity=verbosity)
    if failures:
        raise InfraktError(
            f"the schedule of {db_name} could not be removed from {server.name}: {failures[server.name]}"
        )
    store.remove_schedule(db_name)
    return {"database": db_name, "server": server.name, "removed": True}


def scheduled_servers(store: Store) -> list[ServerEntry]:
    """Return the servers that have at least one schedule, by name."""
    scheduled = {store.database(schedule.db_name).server for schedule in store.schedules()}
    return [server for server in store.servers() if server.name in scheduled]


def reapply_all(store: Store, *, progress: Progress | None = None, verbosity: int = 0) -> dict:
    """Re-install the schedules of every scheduled server in one run, with the S3 settings as
    stored now (none: the upload step and the servers' S3 files go). Return {"servers_updated":
    [names], "servers_failed": [{"server", "error"}]}."""
    servers = scheduled_servers(store)
    failures = apply_schedules(store, servers, progress=progress, verbosity=verbosity) if servers else {}
    return {
        "servers_updated": [server.name for server in servers if server.name not in failures],
        "servers_failed": [{"server": name, "error": error} for name, error in sorted(failures.items())],
    }


def apply_schedules(
    store: Store, servers: list[ServerEntry], *, absent: list[str] | None = None, progress: Progress | None = None,
    verbosity: int = 0,
) -> dict[str, str]:
    """Install on each of `servers` all of its stored schedules but those of `absent` (which it
    removes), with the current S3 settings; record which are installed. Return {server name:
    why it failed} for the servers that could not be updated."""
    absent = absent or []
    databases = {database.name: database for database in store.databases()}
    schedules = store.schedules()
    recipients = backup_recipients(store)
    hosts = {}
    for server in servers:
        mine = [schedule for schedule in schedules if databases[schedule.db_name].server == server.name]
        hosts[server.name] = {
            "present": [_schedule_item(schedule, databases[schedule.db_name], recipients)
                        for schedule in mine if schedule.db_name not in absent],
            "absent": [name for name in absent if databases[name].server == server.name],
            "aws_bin": server.aws_bin,
            "backup_dir": server.backup_dir,
            "python": server.python_interpreter,
        }
    run = run_on_servers(store, servers, "schedule.yml", {"infrakt_schedules": hosts, **signing_variables(store)},
                         settings=store.s3_config(), progress=progress, verbosity=verbosity)
    failures = host_failures(run, servers)
    for server in servers:
        for item in hosts[server.name]["present"]:
            store.mark_schedule_installed(item["db_name"], server.name not in failures)
    return failures


def _schedule_item(schedule: ScheduleEntry, database, recipients: list[str]) -> dict:
    """Return one schedule as the backup_schedule role takes it, its backups encrypted to
    recipients (age public keys; none: not encrypted)."""
    return {
        "db_name": schedule.db_name,
        "cron": cron_expression.cron_module_fields(schedule.cron),
        "verify_cron": cron_expression.cron_module_fields(schedule.verify_cron) if schedule.verify_cron else None,
        "keep_local": schedule.keep_local,
        "retention": {rule: getattr(schedule, rule) for rule in S3_RULES if getattr(schedule, rule) is not None},
        "notify_url": schedule.notify_url,
        "local_copy": database.local_copy,
        "recipients": recipients,
        "connection": connection_parameters(database),
    }
