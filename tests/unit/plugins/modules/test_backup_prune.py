"""backup_prune's arguments and results (module backup_prune): a local prune run in-process,
check mode as a dry run, and what it refuses before any aws command runs."""

from datetime import UTC, datetime, timedelta

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.modules import backup_prune

DB = "shop"


@pytest.fixture
def backups(tmp_path):
    """Four local backups of DB with sidecars under <tmp_path>/backups; return their filenames, oldest first."""
    directory = tmp_path / "backups" / DB
    directory.mkdir(parents=True)
    filenames = []
    for offset in range(4):
        filename = names.backup_filename(DB, "postgres", datetime(2026, 5, 1, 2, tzinfo=UTC) + timedelta(days=offset))
        (directory / filename).write_bytes(b"x")
        (directory / (filename + ".sha256")).write_text(f"{'0' * 64}  {filename}\n")
        filenames.append(filename)
    return filenames


def left(tmp_path):
    return sorted(path.name for path in (tmp_path / "backups" / DB).iterdir() if not path.name.endswith(".sha256"))


def test_a_local_prune_keeps_keep_local(run_module, tmp_path, backups):
    result = run_module(backup_prune, dict(db_name=DB, backup_dir=str(tmp_path / "backups"), keep_local=1))
    assert result["changed"] is True
    assert (result["dry_run"], result["local"], result["s3"]) == (
        False, {"deleted": backups[:3], "kept": backups[3:]}, None)
    assert left(tmp_path) == backups[3:]
    again = run_module(backup_prune, dict(db_name=DB, backup_dir=str(tmp_path / "backups"), keep_local=1))
    assert again["changed"] is False and again["local"] == {"deleted": [], "kept": backups[3:]}


def test_check_mode_is_a_dry_run(run_module, tmp_path, backups):
    result = run_module(backup_prune, dict(db_name=DB, backup_dir=str(tmp_path / "backups"), keep_local=2),
                        check_mode=True)
    assert (result["changed"], result["dry_run"], result["local"]) == (
        True, True, {"deleted": backups[:2], "kept": backups[2:]})
    assert left(tmp_path) == backups


def test_keep_local_defaults_to_seven(run_module, tmp_path, backups):
    result = run_module(backup_prune, dict(db_name=DB, backup_dir=str(tmp_path / "backups")))
    assert result["changed"] is False and result["local"]["kept"] == backups


def test_a_bucket_needs_credentials(run_module, tmp_path):
    result = run_module(backup_prune, dict(db_name=DB, backup_dir=str(tmp_path), bucket="bench"))
    assert result["failed"] and "credentials_dir" in result["msg"]


def test_a_missing_aws_cli_is_one_sentence(run_module, tmp_path, backups):
    result = run_module(backup_prune, dict(db_name=DB, backup_dir=str(tmp_path / "backups"), bucket="bench",
                                           aws_bin=str(tmp_path / "aws"), credentials_dir=str(tmp_path)))
    assert result["error_code"] == "AwsCliMissing"
    assert result["msg"].startswith(
        f"Pruning the backups of shop failed: the aws CLI is not installed at {tmp_path}/aws")
    assert left(tmp_path) == backups


@pytest.mark.parametrize(("args", "message"), [
    (dict(keep_local=-1), "keep_local must be a whole number, at least 0"),
    (dict(keep_weekly=-2), "keep_weekly must be a whole number, at least 0"),
    (dict(db_name="../etc"), "is not valid"),
])
def test_bad_input_is_one_line(run_module, tmp_path, args, message):
    result = run_module(backup_prune, dict(dict(db_name=DB, backup_dir=str(tmp_path)), **args))
    assert result["failed"] and result["error_code"] == "InvalidInput"
    assert message in result["msg"] and "\n" not in result["msg"]
