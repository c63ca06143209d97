"""One module per thing a user asks for. Each action takes the Store first, validates its
input, and returns plain data (dicts, lists) that cli.py prints as text or JSON.

Below: the input checks several actions share. Like the collection's names.py they raise
ValueError with a one-line message; `validated` turns that into BadInput (exit code 2).
"""

import ipaddress
import re

from infrakt_backup.errors import BadInput

HOSTNAME_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
PATH_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")


def validated(validator, *args):
    """Return validator(*args); raise BadInput with its message when it raises ValueError."""
    try:
        return validator(*args)
    except ValueError as error:
        raise BadInput(str(error)) from None


def validate_port(port, what: str = "port") -> int:
    """Return port if it is an integer from 1 to 65535; raise ValueError otherwise."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"{what} {port!r} is not valid: use a number from 1 to 65535")
    return port


def validate_host(host: str, what: str = "host") -> str:
    """Return host if it is a DNS name (RFC 1123 labels, at most 253 characters) or an IPv4/IPv6
    address; raise ValueError otherwise."""
    if not isinstance(host, str):
        raise ValueError(f"{what} {host!r} is not a valid host name or IP address")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    name = host.removesuffix(".")
    if not name or len(name) > 253 or not all(HOSTNAME_LABEL_RE.match(label) for label in name.split(".")):
        raise ValueError(f"{what} {host!r} is not a valid host name or IP address")
    return host


def validate_absolute_path(path: str, what: str = "path") -> str:
    """Return path without a trailing slash if it is absolute, made of segments of
    [A-Za-z0-9_.+-] other than '.' and '..'; raise ValueError otherwise."""
    segments = path.removesuffix("/").split("/") if isinstance(path, str) else []
    if len(segments) < 2 or segments[0] != "":
        raise ValueError(f"{what} {path!r} must be an absolute path such as /opt/infrakt/backups")
    for segment in segments[1:]:
        if not PATH_SEGMENT_RE.match(segment) or segment in (".", ".."):
            raise ValueError(
                f"{what} {path!r} may only use letters, digits, '_', '.', '+', '-' and '/' "
                "(no empty, '.' or '..' parts)"
            )
    return "/".join(segments)


def validate_single_line(value: str, what: str) -> str:
    """Return value if it is not empty and has no control characters (newline, NUL …); raise
    ValueError otherwise. For values written into files on the server, where a newline would
    start a new entry."""
    if not value:
        raise ValueError(f"{what} must not be empty")
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError(f"{what} must not contain control characters such as newlines")
    return value
