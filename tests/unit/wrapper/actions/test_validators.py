"""actions/__init__.py: the input checks shared by the actions (host, port, path, one line)."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrakt_backup.actions import (
    validate_absolute_path,
    validate_host,
    validate_port,
    validate_single_line,
    validated,
)
from infrakt_backup.errors import BAD_INPUT, BadInput


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "2001:db8::10", "db", "web-1.example.com", "example.com.",
                                  "a" * 63 + ".io"])
def test_hosts_accepted(host):
    assert validate_host(host) == host


@pytest.mark.parametrize("host", ["", "bad_host", "-web", "web-", "a..b", "a" * 64 + ".io", "host name",
                                  "web;rm -rf /", "$(id)", "[::1]", "10.0.0.1:22", "x" * 254, 42])
def test_hosts_refused(host):
    with pytest.raises(ValueError, match="not a valid host"):
        validate_host(host)


@given(st.text())
def test_an_accepted_host_carries_no_shell_or_option_syntax(host):
    try:
        validate_host(host)
    except ValueError:
        return
    assert re.fullmatch(r"[A-Za-z0-9.:-]+", host) and not host.startswith("-")


@pytest.mark.parametrize("port", [1, 22, 65535])
def test_ports_accepted(port):
    assert validate_port(port) == port


@pytest.mark.parametrize("port", [0, -1, 65536, "22", True, None])
def test_ports_refused(port):
    with pytest.raises(ValueError, match="from 1 to 65535"):
        validate_port(port)


@pytest.mark.parametrize(("path", "normalized"), [("/usr/bin/python3", "/usr/bin/python3"),
                                                  ("/opt/infrakt/backups/", "/opt/infrakt/backups"),
                                                  ("/opt/python3.11+x", "/opt/python3.11+x")])
def test_absolute_paths_accepted(path, normalized):
    assert validate_absolute_path(path) == normalized


@pytest.mark.parametrize("path", ["", "/", "relative/dir", "/opt//x", "/opt/../etc", "/opt/./x", "/opt/my dir",
                                  "/opt/$(id)", "/opt/a;b", "~/backups", None])
def test_absolute_paths_refused(path):
    with pytest.raises(ValueError, match="backup directory"):
        validate_absolute_path(path, "backup directory")


def test_single_line():
    assert validate_single_line("redis-server --port 6380", "command") == "redis-server --port 6380"
    for value in ("", "a\nb", "a\rb", "a\x00b", "a\x7fb"):
        with pytest.raises(ValueError, match="command"):
            validate_single_line(value, "command")


def test_validated_turns_value_errors_into_bad_input():
    assert validated(validate_port, 22) == 22
    with pytest.raises(BadInput) as raised:
        validated(validate_port, 0)
    assert raised.value.exit_code == BAD_INPUT and "from 1 to 65535" in raised.value.message
