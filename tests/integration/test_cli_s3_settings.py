"""`infrakt-backup settings s3 test` from the bench server against the bench S3 server: the
probe passes with the right settings, and each wrong setting gives its own one-line message
and exit code 1 — never the secret."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.leaks import credential_dirs, lingering_credential_dirs
from tests.integration.wrapper_cli import CLI, wrapper_with_bench_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wrapper(testbed, tmp_path_factory):
    return wrapper_with_bench_server(testbed, tmp_path_factory.mktemp("home") / "infrakt")


def save_settings(wrapper, env, *, bucket=None, access_key=None, secret=None, endpoint=None):
    wrapper.run("settings", "s3", "set", "--endpoint-url", endpoint or env["S3_ENDPOINT_URL"],
                "--bucket", bucket or env["S3_BUCKET"], "--region", env["S3_REGION"],
                "--access-key", access_key or env["S3_ACCESS_KEY"],
                env={"INFRAKT_S3_SECRET_KEY": secret or env["S3_SECRET_KEY"]})


def test_connection_ok(wrapper, testbed):
    save_settings(wrapper, testbed.env)
    tested = wrapper.run("settings", "s3", "test")
    assert "Connection OK (list, write, read, delete)" in tested.stdout
    assert wrapper.json("settings", "s3", "test")["steps"] == ["list", "put", "get", "delete"]


@pytest.mark.parametrize(
    ("setting", "phrase"),
    [
        ({"secret": "wrong-secret-wrong-secret-wrong-secret-0000"}, "SignatureDoesNotMatch"),
        ({"access_key": "AKIAWRONGWRONGWRONG1"}, "InvalidAccessKeyId"),
        ({"bucket": "no-such-bucket-here"}, "does not exist"),
    ],
)
def test_wrong_settings_are_named(wrapper, testbed, setting, phrase):
    save_settings(wrapper, testbed.env, **setting)
    left_before = credential_dirs()
    failed = wrapper.run("settings", "s3", "test", check=False)
    assert failed.returncode == 1
    keys = (testbed.env["S3_ACCESS_KEY"], setting.get("access_key", testbed.env["S3_ACCESS_KEY"]))
    assert lingering_credential_dirs(left_before, keys) == set(), "the failed probe left its credentials directory"
    lines = failed.stderr.strip().splitlines()
    assert phrase in lines[-1] and lines[-1].startswith("infrakt-backup: error:")
    for value in (testbed.env["S3_SECRET_KEY"], setting.get("secret", testbed.env["S3_SECRET_KEY"])):
        assert value not in failed.stdout + failed.stderr


def test_stopped_s3_server_is_unreachable(wrapper, testbed):
    save_settings(wrapper, testbed.env)
    left_before = credential_dirs()
    testbed.stop_s3()
    try:
        failed = wrapper.run("settings", "s3", "test", check=False)
    finally:
        testbed.start_s3()
    assert failed.returncode == 1
    assert lingering_credential_dirs(left_before, (testbed.env["S3_ACCESS_KEY"],)) == set(), \
        "the failed probe left its credentials directory"
    assert "reach the S3 endpoint" in failed.stderr.splitlines()[-1]


def test_a_hung_up_run_removes_its_secrets_vars_file(wrapper, testbed):
    # SIGHUP (a closed terminal or SSH session); ansible-runner handles SIGTERM itself
    save_settings(wrapper, testbed.env)
    runtime_dir = Path("/dev/shm") / f"infrakt-killtest-{os.getpid()}"  # the runner's tmpfs base
    runtime_dir.mkdir(mode=0o700)
    try:
        probe = subprocess.Popen([CLI, "settings", "s3", "test"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env={**os.environ, "INFRAKT_HOME": str(wrapper.home),
                                                 "XDG_RUNTIME_DIR": str(runtime_dir)})
        deadline = time.monotonic() + 60
        while not any(runtime_dir.glob("infrakt-run-*/vars.yml")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(runtime_dir.glob("infrakt-run-*/vars.yml")), "the run never wrote its vars file"
        probe.send_signal(signal.SIGHUP)
        _, stderr = probe.communicate(timeout=60)
        assert probe.returncode != 0
        assert list(runtime_dir.iterdir()) == [], "the hung-up run left its directory (and secret) behind"
        assert "Traceback" not in stderr
    finally:
        shutil.rmtree(runtime_dir, ignore_errors=True)
