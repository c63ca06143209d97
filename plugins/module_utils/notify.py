# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pings a healthchecks.io-compatible URL about a scheduled run: `<url>/start` when it
starts, `<url>` when it succeeded, `<url>/fail` (the last log lines as the body) when it failed.

The URL is a secret (its path is the token): it is sent from this process (no command line
shows it) and never appears in what a ping failure reports. A ping that fails never fails
the backup. Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ssl
from http.client import HTTPConnection, HTTPSConnection
from urllib.parse import urlsplit

PING_TIMEOUT = 10  # seconds; a monitoring service that hangs must not hold the backup up
PING_SUFFIXES = {"start": "/start", "success": "", "fail": "/fail"}
MAX_BODY = 10000  # bytes of log lines sent with a failure (healthchecks.io keeps 10 kB)


def validate_ping_url(url):
    """Return url if it is an http(s) URL with a host and no spaces, user info or fragment;
    raise ValueError with a sentence that never repeats the URL (it holds a token)."""
    if not isinstance(url, str) or not url or any(char.isspace() for char in url):
        raise ValueError("the ping URL must be one http:// or https:// URL without spaces")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the ping URL must start with http:// or https:// and name a host")
    if "@" in parts.netloc or parts.fragment:
        raise ValueError("the ping URL must not carry user info or a #fragment")
    return url


def ping_url(url, kind):
    """Return the URL to ping for kind ("start", "success" or "fail")."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + PING_SUFFIXES[kind]
    return parts._replace(path=path).geturl()


def masked(url):
    """Return url with its path and query hidden: what may be shown of a ping URL."""
    parts = urlsplit(url)
    return "%s://%s/****" % (parts.scheme, parts.netloc)


def ping(url, kind, body=""):
    """Send the ping of kind for url (a POST with body, UTF-8, verified TLS for https); return
    None when it was answered with a 2xx status, else one sentence saying why not (without the
    URL). The scheduled run sends it from its own process (no runtime of Ansible's there)."""
    target = urlsplit(ping_url(url, kind))
    data = body.encode("utf-8")[-MAX_BODY:]
    if target.scheme == "https":
        connection = HTTPSConnection(target.hostname, target.port, timeout=PING_TIMEOUT,
                                     context=ssl.create_default_context())
    else:
        connection = HTTPConnection(target.hostname, target.port, timeout=PING_TIMEOUT)
    path = target.path + ("?" + target.query if target.query else "")
    try:
        connection.request("POST", path or "/", body=data,
                           headers={"User-Agent": "infrakt-backup", "Content-Type": "text/plain; charset=utf-8"})
        status = connection.getresponse().status
    except Exception as error:  # any failure to ping is reported, never raised
        return "the %s ping to %s failed: %s" % (kind, masked(url), error or type(error).__name__)
    finally:
        connection.close()
    if not 200 <= status < 300:
        return "the %s ping to %s was answered with HTTP %s" % (kind, masked(url), status)
    return None
