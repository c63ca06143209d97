"""`infrakt-backup web`: the page and the REST API, a second thin adapter over the same
actions as cli.py (Starlette under uvicorn, the optional extra `infrakt-backup[web]`).

api.py holds the routes under /api, pages.py the HTML pages, jobs.py the long operations,
auth.py the login token, the cookie and the Host and CSRF checks, app.py puts them together;
`serve` starts it."""

import ipaddress
import socket

import uvicorn

from infrakt_backup.errors import BadInput
from infrakt_backup.store import Store
from infrakt_backup.web.app import create_app
from infrakt_backup.web.auth import Guard, login_token

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def parse_listen(listen: str) -> tuple[str, int]:
    """Return (host, port) of `HOST:PORT` (`[::1]:8787` for IPv6); raise BadInput otherwise."""
    host, separator, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"--listen {listen!r} is not HOST:PORT (e.g. 127.0.0.1:8787)")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Return whether `host` (a name or an address) is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str) -> frozenset[str]:
    """Return the host names a request's Host header may carry for a server listening on `host`:
    the loopback names, `host` itself unless it is a wildcard, and, listening beyond loopback,
    this machine's names."""
    names = set(LOOPBACK_NAMES)
    if host not in ("0.0.0.0", "::"):  # noqa: S104 (compared, not bound)
        names.add(host.lower())
    if not is_loopback(host):
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    return frozenset(names)


def url_host(host: str) -> str:
    """Return `host` as it goes into a URL: IPv6 in brackets, a wildcard as this machine's name."""
    if host in ("0.0.0.0", "::"):  # noqa: S104
        return socket.getfqdn()
    return f"[{host}]" if ":" in host else host


def serve(store: Store, listen: str, *, allow_remote: bool, announce) -> None:
    """Serve the page and the API on `listen` (HOST:PORT) until interrupted. `announce(line,
    warning)` is given the login URL and, listening beyond loopback, a warning first. Raise
    BadInput for a bad address, a non-loopback one without `allow_remote`, or a bad
    $INFRAKT_WEB_TOKEN."""
    host, port = parse_listen(listen)
    if not is_loopback(host) and not allow_remote:
        raise BadInput(f"{host} can be reached from other machines: pass --allow-remote to listen there")
    guard = Guard(login_token(), port, allowed_hosts(host))
    app = create_app(store, guard)
    if not is_loopback(host):
        announce(f"listening on {host}, beyond this machine: anyone who can reach it and has the token can "
                 "change the settings and restore databases; the connection is not encrypted", True)
    announce(f"http://{url_host(host)}:{port}/?token={guard.token}", False)
    # No access log: the login URL's query string holds the token.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
