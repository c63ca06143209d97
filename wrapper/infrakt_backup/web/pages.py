"""The HTML pages: `/` (databases with their schedules, and servers), `/settings` (S3 Backup
Storage) and `/databases/{name}` (its schedule and Backups tab). Rendered from what the actions
return; what takes a play (the backup list, the status, the jobs) the pages' JavaScript fetches
from the API."""

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from ansible_collections.infrakt.backup.plugins.module_utils.s3 import presets
from infrakt_backup.actions import db as db_actions
from infrakt_backup.actions import schedule as schedule_actions
from infrakt_backup.actions import server as server_actions
from infrakt_backup.actions import settings_s3
from infrakt_backup.errors import NotFound

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def render(request: Request, template: str, status_code: int = 200, **context) -> Response:
    """Return `template` rendered with `context` and what every page needs (the CSRF token)."""
    guard = request.app.state.guard
    return templates.TemplateResponse(request, template, {"csrf_token": guard.csrf_token, **context},
                                      status_code=status_code)


async def index(request: Request) -> Response:
    store = request.app.state.store
    scheduled = await run_in_threadpool(schedule_actions.list_schedules, store)
    return render(request, "index.html", databases=await run_in_threadpool(db_actions.list_databases, store),
                  schedules={schedule["database"]: schedule for schedule in scheduled},
                  servers=await run_in_threadpool(server_actions.list_servers, store),
                  s3=await run_in_threadpool(settings_s3.show, store))


async def settings(request: Request) -> Response:
    store = request.app.state.store
    return render(request, "settings.html", s3=await run_in_threadpool(settings_s3.show, store),
                  providers=list(presets.PROVIDERS),
                  servers=await run_in_threadpool(server_actions.list_servers, store))


async def database(request: Request) -> Response:
    store = request.app.state.store
    name = request.path_params["name"]
    found = [entry for entry in await run_in_threadpool(db_actions.list_databases, store) if entry["name"] == name]
    if not found:
        raise NotFound(f"unknown database {name!r}")
    scheduled = await run_in_threadpool(schedule_actions.list_schedules, store)
    return render(request, "database.html", database=found[0],
                  schedule=next((schedule for schedule in scheduled if schedule["database"] == name), None),
                  s3_rules=schedule_actions.S3_RULES,
                  s3=await run_in_threadpool(settings_s3.show, store))


routes = [
    Route("/", index, methods=["GET"]),
    Route("/settings", settings, methods=["GET"]),
    Route("/databases/{name}", database, methods=["GET"]),
]
