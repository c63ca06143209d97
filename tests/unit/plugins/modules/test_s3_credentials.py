"""s3_credentials: a base directory it must not use fails with a reason naming it and no
secret, before anything in it is swept; a written directory gets a watchdog that ends with it."""

import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import tmpfs
from ansible_collections.infrakt.backup.plugins.modules import s3_credentials

SECRET = "s3cr3t-Key-that-must-never-show"


@pytest.fixture
def shm_path():
    """A fresh directory on the tmpfs /dev/shm (tmp_path is on a disk), removed afterwards."""
    path = tempfile.mkdtemp(prefix="infrakt-unit-", dir="/dev/shm")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def test_a_base_dir_of_another_user_is_refused_untouched(run_module, shm_path):
    base = shm_path / "infrakt"
    stale = base / "run-stale"
    stale.mkdir(parents=True)
    os.utime(stale, (0, 0))
    nobody = pwd.getpwnam("nobody")
    os.chown(base, nobody.pw_uid, nobody.pw_gid)
    result = run_module(s3_credentials, dict(access_key="AK", secret_key=SECRET, base_dir=str(base)))
    assert result["failed"]
    assert result["msg"] == (
        f"cannot write the temporary S3 credentials: {base} belongs to another user (uid {nobody.pw_uid}); "
        "refusing to write secrets there"
    )
    assert SECRET not in str(result)
    assert stale.is_dir()  # nothing swept in a directory that is not ours


def test_the_watchdog_of_a_written_directory_ends_with_it(run_module, shm_path):
    result = run_module(s3_credentials, dict(access_key="AK", secret_key=SECRET, base_dir=str(shm_path / "infrakt")))
    assert not result.get("failed") and os.path.isdir(result["path"])
    with open(f"/proc/{result['watchdog']}/cmdline", "rb") as cmdline:
        assert SECRET.encode() not in cmdline.read()
    removed = run_module(s3_credentials, dict(state="absent", path=result["path"]))
    assert removed["changed"] is True
    deadline = time.monotonic() + 10
    while tmpfs.process_status(result["watchdog"]) is not None:
        assert time.monotonic() < deadline, "the watchdog outlived its directory"
        time.sleep(0.05)


def test_no_credentials_are_left_when_the_watchdog_cannot_start(run_module, shm_path, monkeypatch):
    monkeypatch.setattr("sys.executable", str(shm_path / "no-python"))
    base = shm_path / "infrakt"
    result = run_module(s3_credentials, dict(access_key="AK", secret_key=SECRET, base_dir=str(base)))
    assert result["failed"] and result["msg"].startswith("cannot write the temporary S3 credentials: ")
    assert os.listdir(base) == []


def test_a_base_dir_on_a_disk_is_refused_unless_allowed(run_module):
    base = tempfile.mkdtemp(prefix="infrakt-unit-", dir="/var/tmp")
    try:
        refused = run_module(s3_credentials, dict(access_key="AK", secret_key=SECRET, base_dir=base + "/infrakt"))
        assert refused["failed"]
        assert refused["msg"] == (
            f"cannot write the temporary S3 credentials: {base}/infrakt is not on a tmpfs; refusing to write"
            " secrets to a disk (allow_secrets_on_disk, playbook variable infrakt_allow_secrets_on_disk: true,"
            " allows it)"
        )
        assert os.listdir(base) == [] and SECRET not in str(refused)
        allowed = run_module(s3_credentials, dict(access_key="AK", secret_key=SECRET, base_dir=base + "/infrakt",
                                                  allow_secrets_on_disk=True))
        assert not allowed.get("failed") and os.path.dirname(allowed["path"]) == base + "/infrakt"
        assert run_module(s3_credentials, dict(state="absent", path=allowed["path"]))["changed"] is True
    finally:
        shutil.rmtree(base)
