"""The ASGI application: the API and the pages behind the Guard, the static files, and one
answer per error (JSON under /api, a short page elsewhere)."""

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from infrakt_backup.errors import InfraktError
from infrakt_backup.store import Store
from infrakt_backup.web import api, pages
from infrakt_backup.web.auth import STATIC_PREFIX, Guard, GuardMiddleware
from infrakt_backup.web.jobs import JobRegistry


async def _infrakt_error(request: Request, error: InfraktError) -> Response:
    if request.url.path.startswith("/api/"):
        return api.error_response(error)
    return pages.render(request, "error.html", api.error_status(error), message=error.message)


async def _http_error(request: Request, error: HTTPException) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": error.detail.lower()}, status_code=error.status_code)
    return pages.render(request, "error.html", error.status_code, message=error.detail)


def create_app(store: Store, guard: Guard) -> Starlette:
    """Return the web server's application on `store`, guarded by `guard`."""
    static = StaticFiles(directory=str(Path(__file__).with_name("static")))
    app = Starlette(
        routes=[*api.routes, *pages.routes, Mount(STATIC_PREFIX.rstrip("/"), static, name="static")],
        middleware=[Middleware(GuardMiddleware, guard=guard)],
        exception_handlers={InfraktError: _infrakt_error, HTTPException: _http_error},
    )
    app.state.store = store
    app.state.guard = guard
    app.state.jobs = JobRegistry(store.home)
    return app
