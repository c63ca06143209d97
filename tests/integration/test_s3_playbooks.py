"""The S3 playbooks through plain ansible-playbook over SSH against the test bench (moto with
IAM auth, sshd on loopback; the "server" is this machine): real bytes up and down, listings
beyond one page, every mapped failure, and what is left behind (credentials, partial files,
secrets in -vvv output)."""

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import names
from tests.integration.leaks import CREDENTIAL_BASES
from tests.integration.plays import PlaybookRun, bench_s3_client, bench_s3_variables, run_playbook, sha256_of

pytestmark = pytest.mark.integration

FIRST_BACKUP = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def bench(testbed):
    """The bench plus what every test here shares: a unique S3 prefix, a credentials base dir
    of our own on tmpfs (so that concurrent runs of other tests cannot confuse the "nothing
    left behind" checks) and the aws CLI provisioned by provision.yml."""
    credentials_base = Path(f"/dev/shm/infrakt-itest-{os.getpid()}")
    state = {"testbed": testbed, "credentials_base": credentials_base,
             "prefix": f"itest-{secrets.token_hex(4)}/backups"}
    provision = run_s3_playbook(state, "provision.yml")
    assert provision.returncode == 0, provision.stdout[-3000:]
    state["aws_bin"] = provision.facts("infrakt_aws_bin")[-1]
    assert state["aws_bin"] == "/opt/infrakt/awscli/bin/aws"
    yield state
    shutil.rmtree(credentials_base, ignore_errors=True)


def run_s3_playbook(state: dict, playbook: str, variables: dict | None = None, *, check: bool = False,
                    environment: dict | None = None) -> PlaybookRun:
    """Run playbooks/<playbook> on the bench (see plays.run_playbook) with variables merged over
    the bench S3 ones under our prefix and credentials base dir, and over the provisioned aws
    CLI once known; return the PlaybookRun."""
    aws_bin = {"infrakt_aws_bin": state["aws_bin"]} if "aws_bin" in state else {}
    s3_variables = bench_s3_variables(state["testbed"].env, state["prefix"],
                                      infrakt_s3_credentials_base_dir=str(state["credentials_base"]), **aws_bin)
    return run_playbook(state["testbed"], playbook, {**s3_variables, **(variables or {})}, check=check,
                        environment=environment)


def assert_no_credentials_left(state: dict, run: PlaybookRun) -> None:
    """The run made its credentials directory on tmpfs and removed it (success or failure)."""
    made = run.facts("infrakt_s3_credentials_dir")
    assert made, "the run did not write credentials"
    for path in made:
        assert Path(path).parent == state["credentials_base"]
        assert not os.path.lexists(path)
    assert os.listdir(state["credentials_base"]) == []


def s3_client(state: dict):
    """A boto3 client on the bench S3, to check and tamper with objects behind the playbooks' back."""
    return bench_s3_client(state["testbed"].env)


def make_backup(directory: Path, db_name: str, size: int, when=None) -> tuple[Path, str]:
    """Write a file of size random bytes named like a backup of db_name; return (path, sha256)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / names.backup_filename(db_name, "postgres", when)
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for offset in range(0, size, 1 << 20):
            chunk = os.urandom(min(1 << 20, size - offset))
            digest.update(chunk)
            handle.write(chunk)
    return path, digest.hexdigest()


def test_upload_list_download_delete_64_mib(bench, tmp_path):
    db_name = "roundtrip"
    src, digest = make_backup(tmp_path / "src", db_name, 64 << 20)
    before = src.stat()
    key = f"{bench['prefix']}/{db_name}/{src.name}"

    upload = run_s3_playbook(bench, "s3_upload.yml", {"infrakt_db_name": db_name, "infrakt_upload_src": str(src)})
    assert upload.returncode == 0, upload.stdout[-3000:]
    assert upload.result("Upload") == {
        "changed": True, "key": key, "url": f"s3://{bench['testbed'].env['S3_BUCKET']}/{key}",
        "size": 64 << 20, "sha256": digest,
    }
    assert_no_credentials_left(bench, upload)
    head = s3_client(bench).head_object(Bucket=bench["testbed"].env["S3_BUCKET"], Key=key)
    assert (head["ContentLength"], head["Metadata"]) == (64 << 20, {"sha256": digest})
    sidecar = s3_client(bench).get_object(Bucket=bench["testbed"].env["S3_BUCKET"], Key=key + ".sha256")
    assert sidecar["Body"].read().decode() == f"{digest}  {src.name}\n"
    assert (src.stat().st_size, src.stat().st_mtime_ns, sha256_of(src)) == (before.st_size, before.st_mtime_ns, digest)

    again = run_s3_playbook(bench, "s3_upload.yml", {"infrakt_db_name": db_name, "infrakt_upload_src": str(src)})
    assert again.returncode == 0 and again.result("Upload")["changed"] is False

    listing = run_s3_playbook(bench, "s3_list.yml", {"infrakt_db_name": db_name})
    assert listing.returncode == 0, listing.stdout[-3000:]
    objects = listing.result("List the backups")["objects"]
    assert [(o["filename"], o["size"], o["sidecar"]) for o in objects] == [(src.name, 64 << 20, True)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", objects[0]["last_modified"])
    assert_no_credentials_left(bench, listing)

    backup_dir = tmp_path / "restore"
    download_vars = {"infrakt_db_name": db_name, "infrakt_download_filename": src.name,
                     "infrakt_backup_dir": str(backup_dir)}
    download = run_s3_playbook(bench, "s3_download.yml", download_vars)
    assert download.returncode == 0, download.stdout[-3000:]
    local = backup_dir / db_name / src.name
    assert download.result("Download")["changed"] is True
    assert download.result("Download")["verified"] is True
    assert sha256_of(local) == digest
    assert (backup_dir / db_name / f"{src.name}.sha256").read_text() == f"{digest}  {src.name}\n"
    assert sorted(os.listdir(backup_dir / db_name)) == [src.name, f"{src.name}.sha256"]
    assert_no_credentials_left(bench, download)

    again = run_s3_playbook(bench, "s3_download.yml", download_vars)
    assert again.returncode == 0 and again.result("Download")["changed"] is False

    delete = run_s3_playbook(bench, "s3_delete.yml", {"infrakt_db_name": db_name, "infrakt_delete_filename": src.name})
    assert delete.returncode == 0, delete.stdout[-3000:]
    assert delete.result("Delete")["deleted"] == [key, key + ".sha256"]
    assert_no_credentials_left(bench, delete)
    after = run_s3_playbook(bench, "s3_list.yml", {"infrakt_db_name": db_name})
    assert after.result("List the backups")["objects"] == []


def test_upload_refuses_a_local_backup_that_differs_from_its_sidecar(bench, tmp_path):
    db_name = "corrupted"
    src, digest = make_backup(tmp_path / "src", db_name, 1 << 20)
    (tmp_path / "src" / f"{src.name}.sha256").write_text(f"{digest}  {src.name}\n")
    with open(src, "r+b") as handle:  # one byte flipped after the dump: disk or copy damage
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    key = f"{bench['prefix']}/{db_name}/{src.name}"

    upload = run_s3_playbook(bench, "s3_upload.yml", {"infrakt_db_name": db_name, "infrakt_upload_src": str(src)})
    assert upload.returncode != 0
    status, failure = upload.status_and_result("Upload ")
    assert status == "fatal"
    assert failure["error_code"] == "ChecksumMismatch"
    assert failure["msg"] == (
        f"S3 upload of {src} failed: checksum mismatch: {src} has sha256 {sha256_of(src)} but its sidecar records "
        f"{digest}; nothing was uploaded"
    )
    listed = s3_client(bench).list_objects_v2(Bucket=bench["testbed"].env["S3_BUCKET"], Prefix=key)
    assert listed.get("Contents", []) == []
    assert_no_credentials_left(bench, upload)


def test_listing_1500_backups_says_which_have_a_sidecar(bench, tmp_path):
    """More than one page of list-objects-v2; every tenth backup has no sidecar."""
    db_name = "many"
    upload_dir = tmp_path / "many"
    upload_dir.mkdir()
    expected = {}
    for number in range(1500):
        filename = names.backup_filename(db_name, "postgres", FIRST_BACKUP + timedelta(minutes=number))
        content = f"backup {number}\n".encode()
        (upload_dir / filename).write_bytes(content)
        digest = hashlib.sha256(content).hexdigest()
        if number % 10:
            (upload_dir / f"{filename}.sha256").write_text(f"{digest}  {filename}\n")
        expected[filename] = (len(content), bool(number % 10))
    assert len(expected) == 1500
    env = bench["testbed"].env
    aws_env = {**os.environ, "AWS_ACCESS_KEY_ID": env["S3_ACCESS_KEY"], "AWS_SECRET_ACCESS_KEY": env["S3_SECRET_KEY"],
               "AWS_DEFAULT_REGION": env["S3_REGION"]}
    destination = f"s3://{env['S3_BUCKET']}/{bench['prefix']}/{db_name}/"
    subprocess.run([env["AWS_BIN"], "--endpoint-url", env["S3_ENDPOINT_URL"], "s3", "sync", "--only-show-errors",
                    str(upload_dir), destination], check=True, env=aws_env, timeout=300)

    listing = run_s3_playbook(bench, "s3_list.yml", {"infrakt_db_name": db_name})
    assert listing.returncode == 0, listing.stdout[-3000:]
    result = listing.result("List the backups")
    assert result["count"] == 1500
    assert {o["filename"]: (o["size"], o["sidecar"]) for o in result["objects"]} == expected
    assert_no_credentials_left(bench, listing)


def test_probe_leaves_nothing_in_the_bucket_and_sweeps_crashed_runs(bench):
    # what a run killed before its always: section leaves, two hours ago
    crashed = bench["credentials_base"] / "run-crashed"
    crashed.mkdir(mode=0o700, parents=True)
    (crashed / "credentials").write_text("[default]\n")
    two_hours_ago = time.time() - 7200
    os.utime(crashed, (two_hours_ago, two_hours_ago))

    probe = run_s3_playbook(bench, "s3_test.yml")
    assert probe.returncode == 0, probe.stdout[-3000:]
    result = probe.result("Probe the bucket")
    assert result["steps"] == ["list", "put", "get", "delete"]
    assert result["key"].startswith(bench["prefix"] + "/.infrakt-probe-")
    listed = s3_client(bench).list_objects_v2(Bucket=bench["testbed"].env["S3_BUCKET"], Prefix=result["key"])
    assert listed.get("KeyCount") == 0
    assert not crashed.exists()
    assert_no_credentials_left(bench, probe)


def test_check_mode_uploads_nothing(bench, tmp_path):
    src, _ = make_backup(tmp_path, "checkmode", 1000)
    run = run_s3_playbook(bench, "s3_upload.yml", {"infrakt_db_name": "checkmode", "infrakt_upload_src": str(src)},
                          check=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.result("Upload")["changed"] is True
    listed = s3_client(bench).list_objects_v2(Bucket=bench["testbed"].env["S3_BUCKET"],
                                              Prefix=f"{bench['prefix']}/checkmode/")
    assert listed.get("KeyCount") == 0
    assert_no_credentials_left(bench, run)


def test_corrupted_object_is_refused_and_nothing_lands(bench, tmp_path):
    db_name = "corrupt"
    src, digest = make_backup(tmp_path / "src", db_name, 3 << 20)
    upload = run_s3_playbook(bench, "s3_upload.yml", {"infrakt_db_name": db_name, "infrakt_upload_src": str(src)})
    assert upload.returncode == 0
    key = f"{bench['prefix']}/{db_name}/{src.name}"
    tampered = os.urandom(3 << 20)
    s3_client(bench).put_object(Bucket=bench["testbed"].env["S3_BUCKET"], Key=key, Body=tampered)

    backup_dir = tmp_path / "restore"
    download = run_s3_playbook(bench, "s3_download.yml", {
        "infrakt_db_name": db_name, "infrakt_download_filename": src.name, "infrakt_backup_dir": str(backup_dir),
    })
    assert download.returncode != 0
    failure = download.result("Download")
    assert failure["error_code"] == "ChecksumMismatch"
    assert f"checksum mismatch: expected {digest} got {hashlib.sha256(tampered).hexdigest()}" in failure["msg"]
    assert os.listdir(backup_dir / db_name) == []  # neither the final name nor a partial file
    assert_no_credentials_left(bench, download)


def test_backup_without_recorded_checksum_needs_verify_false(bench, tmp_path):
    db_name = "nosum"
    filename = names.backup_filename(db_name, "redis")
    body = os.urandom(1000)
    s3_client(bench).put_object(Bucket=bench["testbed"].env["S3_BUCKET"], Key=f"{bench['prefix']}/{db_name}/{filename}",
                                Body=body)
    variables = {"infrakt_db_name": db_name, "infrakt_download_filename": filename,
                 "infrakt_backup_dir": str(tmp_path)}
    refused = run_s3_playbook(bench, "s3_download.yml", variables)
    assert refused.returncode != 0
    assert refused.result("Download")["error_code"] == "ChecksumMissing"
    assert not (tmp_path / db_name / filename).exists()

    accepted = run_s3_playbook(bench, "s3_download.yml", {**variables, "infrakt_download_verify": False})
    assert accepted.returncode == 0, accepted.stdout[-3000:]
    assert accepted.result("Download")["verified"] is False
    assert (tmp_path / db_name / filename).read_bytes() == body
    # nothing vouches for bytes nobody verified: no sidecar, so a restore refuses them untouched
    assert accepted.result("Download")["sidecar_path"] is None
    assert os.listdir(tmp_path / db_name) == [filename]
    restore = run_s3_playbook(bench, "restore.yml", {
        "infrakt_db_name": db_name, "infrakt_db_engine": "redis", "infrakt_restore_filename": filename,
        "infrakt_backup_dir": str(tmp_path), "infrakt_db_restart_command": "/bin/false"})
    assert restore.returncode != 0
    status, refused_restore = restore.status_and_result("Restore the database")
    assert status == "fatal" and refused_restore["database_touched"] is False
    assert refused_restore["msg"] == f"backup {filename} has no checksum file {filename}.sha256"


@pytest.mark.parametrize(
    ("override", "code", "phrase"),
    [
        ({"infrakt_s3_secret_key": "wrong-secret-AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "SignatureDoesNotMatch",
         "the secret key does not match the access key"),
        ({"infrakt_s3_access_key": "AKIANOSUCHKEY0000000"}, "InvalidAccessKeyId",
         "the S3 endpoint does not know the access key"),
        ({"infrakt_s3_bucket": "no-such-bucket-infrakt"}, "NoSuchBucket",
         "bucket no-such-bucket-infrakt does not exist"),
    ],
    ids=["wrong-secret", "wrong-access-key", "missing-bucket"],
)
def test_bad_settings_fail_with_one_clear_sentence(bench, override, code, phrase):
    run = run_s3_playbook(bench, "s3_test.yml", override)
    assert run.returncode != 0
    failure = run.result("Probe the bucket")
    assert failure["error_code"] == code
    assert failure["msg"].startswith("S3 probe of bucket ")
    assert f"failed: at the list step, {phrase}" in failure["msg"] and "\n" not in failure["msg"]
    assert failure["steps"] == []
    assert failure["stderr"]
    for secret in {bench["testbed"].env["S3_SECRET_KEY"], override.get("infrakt_s3_secret_key")} - {None}:
        assert secret not in run.stdout and secret not in run.stderr
    assert_no_credentials_left(bench, run)


def test_success_with_vvv_shows_no_secret_and_sends_no_module_file(bench):
    # pipelining off in the configuration: the playbook's own ansible_pipelining must win
    run = run_s3_playbook(bench, "s3_test.yml", environment={"ANSIBLE_PIPELINING": "false"})
    assert run.returncode == 0, run.stdout[-3000:]
    secret = bench["testbed"].env["S3_SECRET_KEY"]
    assert secret not in run.stdout and secret not in run.stderr
    assert "ESTABLISH SSH CONNECTION" in run.stdout
    assert not re.search(r"SSH: EXEC (?:sftp|scp)|PUT .*AnsiballZ", run.stdout)


def test_default_credentials_dir_is_on_tmpfs_and_removed(bench):
    run = run_s3_playbook(bench, "s3_test.yml", {"infrakt_s3_credentials_base_dir": ""})
    assert run.returncode == 0, run.stdout[-3000:]
    (made,) = run.facts("infrakt_s3_credentials_dir")
    base = Path(made).parent
    assert base in CREDENTIAL_BASES
    fs_type = subprocess.run(["stat", "-f", "-c", "%T", str(base)], capture_output=True, text=True, check=True)
    assert fs_type.stdout.strip() == "tmpfs"
    assert not os.path.lexists(made)


def test_credentials_base_dir_on_a_disk_is_refused_unless_allowed(bench):
    base = Path(f"/var/tmp/infrakt-itest-{secrets.token_hex(4)}")
    try:
        refused = run_s3_playbook(bench, "s3_test.yml", {"infrakt_s3_credentials_base_dir": str(base)})
        assert refused.returncode != 0
        failed = [result for _task, status, result in refused.tasks if status == "fatal"]
        assert [result["msg"] for result in failed] == [
            f"cannot write the temporary S3 credentials: {base} is not on a tmpfs; refusing to write secrets to a"
            " disk (allow_secrets_on_disk, playbook variable infrakt_allow_secrets_on_disk: true, allows it)"
        ]
        assert "Probe the bucket" not in refused.stdout and not base.exists()

        allowed = run_s3_playbook(bench, "s3_test.yml", {"infrakt_s3_credentials_base_dir": str(base),
                                                         "infrakt_allow_secrets_on_disk": True})
        assert allowed.returncode == 0, allowed.stdout[-3000:]
        (made,) = allowed.facts("infrakt_s3_credentials_dir")
        assert Path(made).parent == base and not os.path.lexists(made)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_s3_outage_is_reported_as_unreachable(bench):
    bench["testbed"].stop_s3()
    try:
        run = run_s3_playbook(bench, "s3_list.yml", {"infrakt_db_name": "outage"})
    finally:
        bench["testbed"].start_s3()
    assert run.returncode != 0
    failure = run.result("List the backups")
    assert failure["error_code"] == "EndpointUnreachable"
    assert failure["msg"].startswith("S3 listing of the backups of outage failed: cannot reach the S3 endpoint http://")
    assert_no_credentials_left(bench, run)
