"""Shared fixtures for the unit tests: run a module's main() in-process with given arguments
and return what it printed; put a stand-in for a client program first on PATH."""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def run_module(capsys):
    """Return run(module, args, check_mode=False) -> the module's result dict."""

    def run(module, args, check_mode=False):
        arguments = dict(args, _ansible_check_mode=check_mode)
        with patch_module_args(arguments), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return run


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """Return install(name, script): program `name` running the sh script, put first on PATH
    (in <tmp_path>/bin). For clients the real ones cannot be made to misbehave on demand."""
    directory = tmp_path / "bin"

    def install(name, script):
        directory.mkdir(exist_ok=True)
        program = directory / name
        program.write_text("#!/bin/sh\n" + script)
        program.chmod(0o755)
        if not os.environ["PATH"].startswith(f"{directory}:"):
            monkeypatch.setenv("PATH", f"{directory}:{os.environ['PATH']}")

    return install
