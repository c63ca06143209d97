"""The awscli role's Molecule scenario (extensions/molecule/awscli): converge, idempotence and
verify against the bench sshd, with the inventory the bench generates."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.molecule]

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def test_molecule_awscli_scenario(testbed):
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "collections"),
        "INFRAKT_MOLECULE_INVENTORY": testbed.env["INVENTORY"],
        "NO_COLOR": "1",
    }
    run = subprocess.run(
        [str(VENV_BIN / "molecule"), "test", "-s", "awscli"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    for step in ("prepare", "converge", "idempotence", "verify"):
        # molecule draws the arrow as ➜ on a terminal and as > otherwise
        assert re.search(rf"awscli (?:➜|>) {step}: Executed: Successful", output), output[-5000:]
