"""The backup_schedule role: its Molecule scenario (extensions/molecule/backup_schedule: prepare,
converge, idempotence, verify, cleanup against the bench sshd, with an inventory made from the
bench's plus the bench S3 settings), and playbooks/schedule.yml in check mode (nothing written)
and with a schedule its argument spec refuses."""

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from infrakt_backup.runner import unsafe_vars_yaml
from tests.integration.plays import bench_s3_variables, run_molecule, run_playbook
from tests.integration.scratch import unique

# root's crontab, /etc/infrakt and the status files are this machine's: one xdist worker runs these
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("server_global")]

DIR_VARIABLES = ("runtime", "script", "config", "s3", "state", "log", "backup")
PASSWORD = "not-a-real-Pa55word-4e1b"


@contextmanager
def molecule_inventory(testbed):
    """Yield a new 0700 inventory directory on tmpfs: the bench inventory, and as group vars of
    infrakt_servers (a 0600 file, strings !unsafe) the bench S3 settings under a prefix of the
    scenario's own, the bench aws and the bench PostgreSQL's address; remove it afterwards."""
    env = testbed.env
    directory = Path(tempfile.mkdtemp(prefix="infrakt-molecule-", dir="/dev/shm"))
    try:
        shutil.copyfile(testbed.inventory_path, directory / "hosts.yml")
        (directory / "group_vars").mkdir(mode=0o700)
        variables = bench_s3_variables(
            env, unique("molecule"), infrakt_aws_bin=env["AWS_BIN"], infrakt_molecule_pg_host=env["PG_HOST"],
            infrakt_molecule_pg_port=env["PG_PORT"], infrakt_molecule_pg_user=env["PG_USER"],
        )
        descriptor = os.open(directory / "group_vars" / "infrakt_servers.yml", os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(unsafe_vars_yaml(variables))
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.molecule
def test_molecule_backup_schedule_scenario(testbed):
    with molecule_inventory(testbed) as inventory:
        run_molecule("backup_schedule", inventory, ("prepare", "converge", "idempotence", "verify", "cleanup"))
    assert "infrakt-backup molecule_sched" not in root_crontab()


def root_crontab() -> str:
    """Return root's crontab on the bench server (this machine), empty when it has none."""
    return subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False).stdout


def schedule_variables(db_name: str, directory: Path, **item) -> dict:
    """Return the variables of playbooks/schedule.yml installing on the bench one schedule of
    db_name shaped as the wrapper sends it (schedule._schedule_item), with item's keys over it,
    and every directory of the role under directory."""
    schedule = {
        "db_name": db_name,
        "cron": {"minute": "17", "hour": "3", "day": "*", "month": "*", "weekday": "*"},
        "keep_local": 7,
        "retention": {"keep_last": 3},
        "notify_url": None,
        "connection": {"engine": "postgres", "host": "127.0.0.1", "port": 5432, "user": "infrakt",
                       "password": PASSWORD},
        **item,
    }
    return {
        "infrakt_schedules": {"bench": {"present": [schedule], "absent": [], "aws_bin": None, "backup_dir": None,
                                        "python": None}},
        **{f"backup_schedule_{name}_dir": str(directory / name) for name in DIR_VARIABLES},
    }


def test_check_mode_writes_nothing(testbed, tmp_path):
    db_name = unique("sched_check")
    variables = {**schedule_variables(db_name, tmp_path / "server"), **bench_s3_variables(testbed.env, "sched-check")}
    run = run_playbook(testbed, "schedule.yml", variables, check=True)
    assert run.returncode == 0, run.output[-3000:]
    assert "changed" in [status for _, status in run.statuses()]
    assert not (tmp_path / "server").exists()
    assert f"infrakt-backup {db_name}" not in root_crontab()
    assert PASSWORD not in run.output and testbed.env["S3_SECRET_KEY"] not in run.output


def test_a_schedule_the_argument_spec_refuses_changes_nothing(testbed, tmp_path):
    db_name = unique("sched_bad")
    variables = {
        **schedule_variables(db_name, tmp_path / "server", keep_local="seven", cron={"special_time": "reboot"}),
        **bench_s3_variables(testbed.env, "sched-bad"),
    }
    run = run_playbook(testbed, "schedule.yml", variables)
    assert run.returncode != 0
    assert "Validating arguments against arg spec 'main'" in run.stdout
    assert "'seven'\" cannot be converted to an int" in run.stdout
    assert "value of special_time must be one of: annually, daily, hourly, monthly, weekly, yearly" in run.stdout
    assert not (tmp_path / "server").exists()
    assert f"infrakt-backup {db_name}" not in root_crontab()
    assert PASSWORD not in run.output and testbed.env["S3_SECRET_KEY"] not in run.output
