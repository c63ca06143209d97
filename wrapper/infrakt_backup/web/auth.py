"""Who may talk to the web server: one login token, given to tools as `Authorization: Bearer
<token>` and to a browser once, as `/?token=<token>`, which swaps it for a session cookie.

- Every request's Host header must name this server (a DNS-rebinding page reaches 127.0.0.1
  under a name of its own).
- A page needs the session cookie (HttpOnly, SameSite=Strict; its value is derived from the
  token, not the token). An API call needs the bearer token, or the cookie; one that changes
  something (any method but GET and HEAD) with the cookie needs the page's CSRF token too, in
  the X-CSRF-Token header: the cookie alone never suffices.
- A missing or wrong token is 401 with no detail. Tokens are compared in constant time.
"""

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from infrakt_backup.errors import BadInput

TOKEN_ENV = "INFRAKT_WEB_TOKEN"  # noqa: S105 (the name of the variable)
# A fixed token goes into a URL as it is, and must not be guessable.
TOKEN_RE = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
STATIC_PREFIX = "/static/"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a login URL carries the token
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "Cache-Control": "no-store",
}


def login_token() -> str:
    """Return $INFRAKT_WEB_TOKEN when set, else a new random token. Raise BadInput for a set
    token that is not 16-256 characters of letters, digits and `. _ ~ -`."""
    fixed = os.environ.get(TOKEN_ENV)
    if fixed is None:
        return secrets.token_urlsafe(32)
    if not TOKEN_RE.match(fixed):
        raise BadInput(f"${TOKEN_ENV} must be 16-256 letters, digits, '.', '_', '~' or '-'")
    return fixed


def _host_name(host_header: str) -> str:
    """Return the host name of a Host header, without its port and IPv6 brackets, lowercased."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0].lower()
    return host_header.rpartition(":")[0].lower() if host_header.count(":") == 1 else host_header.lower()


@dataclass(frozen=True)
class Guard:
    """The login token of one web server, the port it listens on (its cookie is named after it:
    cookies do not tell ports apart) and the host names its Host header may carry."""

    token: str
    port: int
    allowed_hosts: frozenset[str]

    def _derived(self, purpose: str) -> str:
        return hmac.new(self.token.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    @property
    def cookie_name(self) -> str:
        return f"infrakt_session_{self.port}"

    @property
    def csrf_token(self) -> str:
        """The CSRF token the pages carry (derived from the login token, which they never show)."""
        return self._derived("csrf")

    def is_token(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def has_bearer(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.is_token(given.strip())

    def has_session(self, request: Request) -> bool:
        given = request.cookies.get(self.cookie_name)
        return given is not None and hmac.compare_digest(given.encode(), self._derived("session").encode())

    def has_csrf(self, request: Request) -> bool:
        given = request.headers.get(CSRF_HEADER)
        return given is not None and hmac.compare_digest(given.encode(), self.csrf_token.encode())

    def host_allowed(self, request: Request) -> bool:
        return _host_name(request.headers.get("host", "")) in self.allowed_hosts

    def login(self, request: Request) -> Response:
        """Return the answer to a page request carrying ?token=: with the right token, a redirect
        to the same page without it that sets the session cookie; else 401."""
        if not self.is_token(request.query_params.get("token")):
            return PlainTextResponse("401 Unauthorized", status_code=401)
        rest = [(key, value) for key, value in request.query_params.multi_items() if key != "token"]
        # one leading slash: `//host/…` would send the browser to another host
        path = "/" + request.url.path.lstrip("/")
        response = RedirectResponse(path + (f"?{urlencode(rest)}" if rest else ""), status_code=303)
        response.set_cookie(self.cookie_name, self._derived("session"), httponly=True, samesite="strict", path="/")
        return response


def unauthorized(api: bool) -> Response:
    """Return the 401 answer, without saying whether the token was missing or wrong."""
    if api:
        return JSONResponse({"error": "unauthorized"}, status_code=401)
    return PlainTextResponse("401 Unauthorized: open the address 'infrakt-backup web' printed.", status_code=401)


class GuardMiddleware(BaseHTTPMiddleware):
    """Checks every request against the Guard (see the module docstring) and adds the security
    headers to every answer."""

    def __init__(self, app, guard: Guard):
        super().__init__(app)
        self.guard = guard

    async def dispatch(self, request: Request, call_next) -> Response:
        response = await self._checked(request, call_next)
        response.headers.update(SECURITY_HEADERS)
        return response

    async def _checked(self, request: Request, call_next) -> Response:
        guard = self.guard
        path = request.url.path
        api = path.startswith("/api/")
        if not guard.host_allowed(request):
            return JSONResponse({"error": "unexpected Host header"}, status_code=400) if api else \
                PlainTextResponse("400 Bad Request: unexpected Host header", status_code=400)
        if path.startswith(STATIC_PREFIX):
            return await call_next(request)
        if not api:
            if "token" in request.query_params:
                return guard.login(request)
            return await call_next(request) if guard.has_session(request) else unauthorized(api=False)
        if guard.has_bearer(request):
            return await call_next(request)
        if not guard.has_session(request):
            return unauthorized(api=True)
        if request.method not in SAFE_METHODS and not guard.has_csrf(request):
            return JSONResponse({"error": "this call needs the page's CSRF token (X-CSRF-Token) or the bearer token"},
                                status_code=403)
        return await call_next(request)
