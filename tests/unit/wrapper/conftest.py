"""Shared fixtures for the wrapper's unit tests: a Store in a fresh INFRAKT_HOME."""

import pytest

from infrakt_backup.store import Store


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A not yet existing INFRAKT_HOME under tmp_path (also exported, for code that reads it)."""
    path = tmp_path / "infrakt-home"
    monkeypatch.setenv("INFRAKT_HOME", str(path))
    return path


@pytest.fixture
def store(home):
    return Store(home)


# An ed25519 public key and its fingerprint as `ssh-keygen -l` prints it.
HOST_KEY = ("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIFVOFnY+cVmaSQYGGwOv0kXw5KzvVhskF0mu072jgy9j")
HOST_KEY_FINGERPRINT = "SHA256:UNjNv0KdJ3LT3MFyhxTUIDbesazKHvUq4zWzbzQz7Hs"


@pytest.fixture
def scanned(monkeypatch):
    """Make `server add` find HOST_KEY on every server without asking the network; return the
    (host, port) pairs it scanned."""
    from infrakt_backup.actions import server

    asked = []

    def scan_host_keys(host, port):
        asked.append((host, port))
        return [HOST_KEY]

    monkeypatch.setattr(server, "scan_host_keys", scan_host_keys)
    return asked
