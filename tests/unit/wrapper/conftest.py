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
