"""The REST API under /api: each route parses its request, calls one action (the same the CLI
calls) and sends what it returns as JSON. Long operations run as jobs (`202 {"job": id}`,
then GET /api/jobs/{id}), and so do the S3 settings' PUT and DELETE when they update
scheduled backups on servers (else they answer at once); errors are `{"error": "<one sentence>"}` with the status of
ERROR_STATUS. Validation is the actions' own: a job's input is refused before the POST
answers, because a job is answered only once it is under way (jobs.JobRegistry.start).
"""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infrakt_backup.actions import backup_create, backup_list, backup_restore, s3_test, settings_s3
from infrakt_backup.actions import db as db_actions
from infrakt_backup.actions import server as server_actions
from infrakt_backup.errors import BadInput, InfraktError, NotFound
from infrakt_backup.json_ready import mask_secret
from infrakt_backup.web.jobs import Busy, UnexpectedError, call_isolated

# Most specific first: the first class of an error's MRO found here gives its status.
ERROR_STATUS = {NotFound: 404, Busy: 409, BadInput: 400, UnexpectedError: 500, InfraktError: 502}
S3_FIELDS = ("provider", "endpoint_url", "bucket", "region", "prefix", "access_key", "secret_key")
MASK = mask_secret("")  # how every masked secret starts


def error_status(error: InfraktError) -> int:
    """Return the HTTP status for `error`."""
    return next(ERROR_STATUS[kind] for kind in type(error).__mro__ if kind in ERROR_STATUS)


def error_response(error: InfraktError) -> JSONResponse:
    return JSONResponse({"error": error.message}, status_code=error_status(error))


async def json_object(request: Request, fields: dict[str, type | tuple]) -> dict:
    """Return the request's JSON object (an empty body: {}) with every key of `fields` (None
    where it was left out). Raise BadInput for a body that is not a JSON object, a key not in
    `fields`, or a value that is neither null nor of the type `fields` gives it."""
    body = await request.body()
    if not body.strip():
        return dict.fromkeys(fields)
    try:
        given = await request.json()
    except ValueError:
        raise BadInput("the request body is not JSON") from None
    if not isinstance(given, dict):
        raise BadInput("the request body must be a JSON object")
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise BadInput(f"unknown field(s): {', '.join(unknown)}; expected: {', '.join(fields)}")
    for key, value in given.items():
        if value is not None and not isinstance(value, fields[key]):
            raise BadInput(f"{key} must be {'true or false' if fields[key] is bool else 'a string'}")
    return {key: given.get(key) for key in fields}


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
    Route("/api/jobs/{job_id}", job, methods=["GET"]),
]
