"""The awscli role: its Molecule scenario (extensions/molecule/awscli: converge, idempotence,
verify against the bench sshd, with the inventory the bench generates), check mode and the
`existing` method through playbooks/provision.yml."""

import pytest

from tests.integration.plays import run_molecule, run_playbook

# Molecule installs the collection into root's ~/.ansible/collections and the scenarios use
# fixed paths under /opt/infrakt: one xdist worker runs every scenario, one after another
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("server_global")]


@pytest.mark.molecule
def test_molecule_awscli_scenario(testbed):
    run_molecule("awscli", testbed.env["INVENTORY"], ("prepare", "converge", "idempotence", "verify"))


def test_check_mode_installs_nothing(testbed, tmp_path):
    venv = tmp_path / "awscli"
    run = run_playbook(testbed, "provision.yml", {"awscli_venv": str(venv)}, check=True)
    assert run.returncode == 0, run.output[-3000:]
    assert "changed" in [status for _, status in run.statuses()]
    assert run.facts("infrakt_aws_bin")[-1] == f"{venv}/bin/aws"
    assert not venv.exists()


def test_existing_method_exports_the_given_aws(testbed):
    installed = run_playbook(testbed, "provision.yml", {})
    assert installed.returncode == 0, installed.output[-3000:]
    aws_bin = installed.facts("infrakt_aws_bin")[-1]
    run = run_playbook(testbed, "provision.yml", {"awscli_method": "existing", "awscli_existing_bin": aws_bin})
    assert run.returncode == 0, run.output[-3000:]
    assert run.facts("infrakt_aws_bin")[-1] == aws_bin
    assert "changed" not in [status for _, status in run.statuses()]


def test_existing_method_without_an_aws_fails_clearly(testbed):
    variables = {"awscli_method": "existing", "awscli_existing_bin": "/nonexistent/aws"}
    run = run_playbook(testbed, "provision.yml", variables)
    assert run.returncode != 0
    assert "/nonexistent/aws does not exist on the server (awscli_method existing)" in run.stdout
