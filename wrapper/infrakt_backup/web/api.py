"""The REST API under /api: each route parses its request, calls one action (the same the CLI
calls) and sends what it returns as JSON. Long operations (the S3 test, backup, restore, prune,
schedule set and remove, status) run as jobs (`202 {"job": id}`, then GET /api/jobs/{id}), and
so do the S3 settings' PUT and DELETE when they update scheduled backups on servers (else they
answer at once); errors are `{"error": "<one sentence>"}` with the status of ERROR_STATUS.
Validation is the actions' own: a job's input is refused before the POST answers, because a
job is answered only once it is under way (jobs.JobRegistry.start).
"""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infrakt_backup.actions import backup_create, backup_list, backup_prune, backup_restore, s3_test, settings_s3
from infrakt_backup.actions import db as db_actions
from infrakt_backup.actions import schedule as schedule_actions
from infrakt_backup.actions import server as server_actions
from infrakt_backup.actions import status as status_actions
from infrakt_backup.errors import BadInput, InfraktError, NotFound
from infrakt_backup.json_ready import mask_secret
from infrakt_backup.web.jobs import Busy, UnexpectedError, call_isolated

# Most specific first: the first class of an error's MRO found here gives its status.
ERROR_STATUS = {NotFound: 404, Busy: 409, BadInput: 400, UnexpectedError: 500, InfraktError: 502}
S3_FIELDS = ("provider", "endpoint_url", "bucket", "region", "prefix", "access_key", "secret_key")
MASK = mask_secret("")  # how every masked secret starts
MASKED_PING_PATH = "/****"  # how notify.masked ends a ping URL
# PUT /api/databases/{name}/schedule: the options of `schedule set`
SCHEDULE_FIELDS = {"cron": str, **dict.fromkeys(("keep_local", *schedule_actions.S3_RULES), int), "notify_url": str}
TYPE_NAMES = {bool: "true or false", str: "a string", int: "a whole number", (int, float): "a number"}


def error_status(error: InfraktError) -> int:
    """Return the HTTP status for `error`."""
    return next(ERROR_STATUS[kind] for kind in type(error).__mro__ if kind in ERROR_STATUS)


def error_response(error: InfraktError) -> JSONResponse:
    return JSONResponse({"error": error.message}, status_code=error_status(error))


async def json_object(request: Request, fields: dict[str, type | tuple], omitted: tuple[str, ...] = ()) -> dict:
    """Return the request's JSON object (an empty body: {}) with every key of `fields` (None
    where it was left out), but the keys of `omitted` only where given (left out, the action's
    default applies). Raise BadInput for a body that is not a JSON object, a key not in
    `fields`, or a value that is neither null nor of the type `fields` gives it (TYPE_NAMES)."""
    body = await request.body()
    try:
        given = await request.json() if body.strip() else {}
    except ValueError:
        raise BadInput("the request body is not JSON") from None
    if not isinstance(given, dict):
        raise BadInput("the request body must be a JSON object")
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise BadInput(f"unknown field(s): {', '.join(unknown)}; expected: {', '.join(fields)}")
    for key, value in given.items():
        if value is not None and not isinstance(value, fields[key]):
            raise BadInput(f"{key} must be {TYPE_NAMES[fields[key]]}")
    return {key: given.get(key) for key in fields if key in given or key not in omitted}


def _store(request: Request):
    return request.app.state.store


def _no_secret_given() -> str:
    """ask_secret for the API: the secret comes in the body or not at all."""
    raise BadInput("an S3 secret key is required")


async def _answered(request: Request, kind: str, database: str | None, action, **arguments) -> JSONResponse:
    """Run `action` with `arguments` as a job. Return 202 {"job": id} once it is under way (a play
    runs); the error that ended it before (bad input, an unknown name, a run that could not
    start); or 200 with its result when it finished without running a play (saving the S3
    settings with no scheduled backups to update)."""
    job = await run_in_threadpool(request.app.state.jobs.start, kind, database, action, arguments)
    if job.progress:  # under way, whether it has ended since or not
        return JSONResponse({"job": job.id}, status_code=202)
    if job.state == "failed":
        return error_response(job.error)
    return JSONResponse(job.result)


async def s3_settings_show(request: Request) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(settings_s3.show, _store(request)))


async def s3_settings_save(request: Request) -> JSONResponse:
    """PUT: the keys of `settings s3 show --json` (provider … access_key) and secret_key, which may
    be left out on an update. Answers the saved settings with "secret_key_kept" and "schedules"
    (the servers whose scheduled backups were updated or could not be), as a job when there
    are scheduled backups to update."""
    given = await json_object(request, dict.fromkeys(S3_FIELDS, str))
    if (given["secret_key"] or "").startswith(MASK):
        # what GET shows: saved, it would replace the real secret
        raise BadInput("secret_key is the masked value GET shows: send the secret itself, or leave it out to keep it")
    return await _answered(request, "s3_settings_save", None, settings_s3.save, **given, ask_secret=_no_secret_given)


async def s3_settings_delete(request: Request) -> JSONResponse:
    """DELETE: answers {"deleted", "schedules"}, as a job when there are scheduled backups to update."""
    return await _answered(request, "s3_settings_delete", None, settings_s3.delete)


async def s3_settings_test(request: Request) -> JSONResponse:
    given = await json_object(request, {"server": str})
    return await _answered(request, "s3_test", None, s3_test.test_connection, server_name=given["server"])


async def servers(request: Request) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(server_actions.list_servers, _store(request)))


async def databases(request: Request) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(db_actions.list_databases, _store(request)))


async def database_backups(request: Request) -> JSONResponse:
    """GET: {"backups": the merged list (location local, s3 or both), "s3_error": None or why S3
    could not be listed (then only the server's backups are in the list)}."""
    listed = await run_in_threadpool(call_isolated, _store(request).home, backup_list.list_backups,
                                     {"db_name": request.path_params["name"]}, lambda line: None)
    return JSONResponse(listed)


async def database_backup(request: Request) -> JSONResponse:
    """POST {"upload_to_s3": bool}: true by default, which uploads when S3 is configured."""
    name = request.path_params["name"]
    given = await json_object(request, {"upload_to_s3": bool})
    upload = given["upload_to_s3"] is not False
    return await _answered(request, "backup", name, backup_create.create_backup, db_name=name, upload=upload)


async def database_restore(request: Request) -> JSONResponse:
    """POST {"filename": a name from the backups list}: downloaded from S3 first when the server
    has no copy. The page asks for confirmation before it calls this."""
    name = request.path_params["name"]
    given = await json_object(request, {"filename": str})
    return await _answered(request, "restore", name, backup_restore.restore_backup, db_name=name,
                          filename=given["filename"])


async def database_prune(request: Request) -> JSONResponse:
    """POST {"dry_run": bool}: as `backup prune` (false by default: the backups the retention does
    not keep are deleted)."""
    name = request.path_params["name"]
    given = await json_object(request, {"dry_run": bool})
    return await _answered(request, "prune", name, backup_prune.prune, db_name=name, dry_run=given["dry_run"] is True)


async def schedules(request: Request) -> JSONResponse:
    """GET: every schedule as `schedule list --json` shows it (the ping URL masked)."""
    return JSONResponse(await run_in_threadpool(schedule_actions.list_schedules, _store(request)))


async def database_schedule(request: Request) -> JSONResponse:
    """GET: the database's schedule as GET /api/schedules shows it; 404 when it has none."""
    return JSONResponse(await run_in_threadpool(schedule_actions.show_schedule, _store(request),
                                                request.path_params["name"]))


async def database_schedule_set(request: Request) -> JSONResponse:
    """PUT {"cron", "keep_local", "keep_last", "keep_daily", "keep_weekly", "keep_monthly",
    "notify_url"}: as `schedule set`, a job whose result is the schedule as GET shows it. A
    retention value left out or null stays as stored; notify_url is write-only: left out it
    stays, null removes it (--no-notify)."""
    name = request.path_params["name"]
    # notify_url left out is not passed at all: set_schedule's default, store.KEEP, keeps it (that
    # sentinel would not survive the trip to the job's child process)
    given = await json_object(request, SCHEDULE_FIELDS, omitted=("notify_url",))
    if (given.get("notify_url") or "").endswith(MASKED_PING_PATH):
        # what GET shows: saved, it would replace the real ping URL
        raise BadInput("notify_url is the masked value GET shows: send the ping URL itself, leave it out to keep "
                       "it, or null to remove it")
    return await _answered(request, "schedule_set", name, schedule_actions.set_schedule, db_name=name, **given)


async def database_schedule_remove(request: Request) -> JSONResponse:
    """DELETE: as `schedule remove`, a job whose result is {"database", "server", "removed"}."""
    name = request.path_params["name"]
    return await _answered(request, "schedule_remove", name, schedule_actions.remove_schedule, db_name=name)


async def status(request: Request) -> JSONResponse:
    """POST {"max_age": hours (26 by default)}: as `status`, a job whose result is {"ok",
    "databases": one row per database}."""
    given = await json_object(request, {"max_age": (int, float)})
    max_age = status_actions.DEFAULT_MAX_AGE_HOURS if given["max_age"] is None else given["max_age"]
    return await _answered(request, "status", None, status_actions.status, max_age_hours=max_age)


async def job(request: Request) -> JSONResponse:
    """GET: {"id", "kind", "database", "state", "progress", "result", "error", "started_at", "ended_at"}."""
    found = request.app.state.jobs.get(request.path_params["job_id"])
    if found is None:
        raise NotFound(f"unknown job {request.path_params['job_id']!r}")
    return JSONResponse(found.as_dict())


routes = [
    Route("/api/settings/s3", s3_settings_show, methods=["GET"]),
    Route("/api/settings/s3", s3_settings_save, methods=["PUT"]),
    Route("/api/settings/s3", s3_settings_delete, methods=["DELETE"]),
    Route("/api/settings/s3/test", s3_settings_test, methods=["POST"]),
    Route("/api/servers", servers, methods=["GET"]),
    Route("/api/databases", databases, methods=["GET"]),
    Route("/api/databases/{name}/backups", database_backups, methods=["GET"]),
    Route("/api/databases/{name}/backup", database_backup, methods=["POST"]),
    Route("/api/databases/{name}/restore", database_restore, methods=["POST"]),
    Route("/api/databases/{name}/prune", database_prune, methods=["POST"]),
    Route("/api/schedules", schedules, methods=["GET"]),
    Route("/api/databases/{name}/schedule", database_schedule, methods=["GET"]),
    Route("/api/databases/{name}/schedule", database_schedule_set, methods=["PUT"]),
    Route("/api/databases/{name}/schedule", database_schedule_remove, methods=["DELETE"]),
    Route("/api/status", status, methods=["POST"]),
    Route("/api/jobs/{job_id}", job, methods=["GET"]),
]
