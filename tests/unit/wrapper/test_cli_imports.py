"""The CLI starts without loading what the command does not need: `--help` and `--version`
load neither SQLAlchemy nor ansible-runner, a command that opens the store loads SQLAlchemy
but not ansible-runner. Each case runs in a fresh interpreter, as `infrakt-backup` does."""

import json
import subprocess
import sys

import pytest

from infrakt_backup import cli
from infrakt_backup.actions import settings_s3
from infrakt_backup.store import DEFAULT_PYTHON

HEAVY = ("sqlalchemy", "ansible_runner", "cryptography", "infrakt_backup.store", "ansible.executor")
# Runs the CLI's entry point with argv, then prints which of HEAVY it loaded.
PROBE = """
import json, sys
from infrakt_backup.cli import main
heavy = json.loads(sys.argv[2])
sys.argv = ["infrakt-backup", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print(json.dumps([name for name in heavy if name in sys.modules]), file=sys.stderr)
"""


def loaded_by(tmp_path, *args: str) -> list[str]:
    """Return the modules of HEAVY that `infrakt-backup args` loaded (home in tmp_path)."""
    completed = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
                               capture_output=True, text=True, check=True, timeout=60,
                               env={"PATH": "/usr/bin:/bin", "INFRAKT_HOME": str(tmp_path / "home")})
    return json.loads(completed.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["backup", "--help"], ["server", "add", "--help"]])
def test_help_and_version_load_neither_sqlalchemy_nor_ansible_runner(tmp_path, args):
    assert loaded_by(tmp_path, *args) == []


def test_a_command_on_the_store_loads_sqlalchemy_but_not_ansible_runner(tmp_path):
    loaded = loaded_by(tmp_path, "db", "list")
    assert "sqlalchemy" in loaded and "ansible_runner" not in loaded


def test_the_defaults_in_the_help_are_the_actions_own():
    assert cli.DEFAULT_PYTHON == DEFAULT_PYTHON
    assert cli.DEFAULT_PROVIDER == settings_s3.DEFAULT_PROVIDER
