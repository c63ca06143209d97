"""The server_tools role (zstd and age on the server): its Molecule scenario
(extensions/molecule/server_tools: converge, idempotence, and a verify that runs zstd and an age
round trip, against the bench sshd), and playbooks/provision.yml in check mode: a server that has
both programs is left alone, and a program missing from the PATH sends its package to apt.
Neither program can be taken off this shared machine to watch the role install it for real."""

import pytest

from tests.integration.plays import run_molecule, run_playbook

# Molecule installs the collection into root's ~/.ansible/collections and the scenarios use
# fixed paths under /opt/infrakt: one xdist worker runs every scenario, one after another
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("server_global")]

INSTALL = "infrakt.backup.server_tools : Install the packages of the missing programs"


@pytest.mark.molecule
def test_molecule_server_tools_scenario(testbed):
    run_molecule("server_tools", testbed.env["INVENTORY"], ("converge", "idempotence", "verify"))


def test_provision_leaves_a_server_with_zstd_and_age_alone(testbed):
    run = run_playbook(testbed, "provision.yml", {}, check=True)
    assert run.returncode == 0, run.output[-3000:]
    assert dict(run.statuses())[INSTALL] == "skipping"


def test_a_missing_program_sends_its_package_to_apt_in_check_mode(testbed):
    programs = [{"program": "zstd", "package": "zstd"}, {"program": "infrakt-no-such-program", "package": "age"}]
    run = run_playbook(testbed, "provision.yml", {"server_tools_programs": programs}, check=True)
    assert run.returncode == 0, run.output[-3000:]
    assert dict(run.statuses())[INSTALL] == "ok"  # apt ran (age is installed here, so it changes nothing)
    assert '"name": ["age"]' in run.stdout.split(f"TASK [{INSTALL}]")[1]  # the missing program's package only
