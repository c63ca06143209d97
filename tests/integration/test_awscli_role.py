"""The awscli role: its Molecule scenario (extensions/molecule/awscli: converge, idempotence,
verify against the bench sshd, with the inventory the bench generates), check mode and the
`existing` method through playbooks/provision.yml."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@pytest.mark.molecule
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


def run_provision(testbed, *args: str) -> subprocess.CompletedProcess:
    """Run playbooks/provision.yml on the bench with args; -v output in JSON lines."""
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "collections"),
           "ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_CALLBACK_FORMAT_PRETTY": "false", "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", testbed.env["INVENTORY"], str(REPO_ROOT / "playbooks/provision.yml"),
         "-v", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


def exported_aws_bin(stdout: str) -> str:
    """Return the last infrakt_aws_bin the run exported."""
    return re.findall(r'"ansible_facts": \{"infrakt_aws_bin": "([^"]+)"\}', stdout)[-1]


def test_check_mode_installs_nothing(testbed, tmp_path):
    venv = tmp_path / "awscli"
    run = run_provision(testbed, "--check", "-e", f"awscli_venv={venv}")
    assert run.returncode == 0, run.stdout[-3000:]
    assert re.search(r"changed: \[bench\].*", run.stdout)
    assert exported_aws_bin(run.stdout) == f"{venv}/bin/aws"
    assert not venv.exists()


def test_existing_method_exports_the_given_aws(testbed):
    installed = run_provision(testbed)
    assert installed.returncode == 0, installed.stdout[-3000:]
    aws_bin = exported_aws_bin(installed.stdout)
    run = run_provision(testbed, "-e", "awscli_method=existing", "-e", f"awscli_existing_bin={aws_bin}")
    assert run.returncode == 0, run.stdout[-3000:]
    assert exported_aws_bin(run.stdout) == aws_bin
    assert "changed: [bench]" not in run.stdout


def test_existing_method_without_an_aws_fails_clearly(testbed):
    run = run_provision(testbed, "-e", "awscli_method=existing", "-e", "awscli_existing_bin=/nonexistent/aws")
    assert run.returncode != 0
    assert "/nonexistent/aws does not exist on the server (awscli_method existing)" in run.stdout
