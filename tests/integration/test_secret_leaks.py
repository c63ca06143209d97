"""Where a secret could leak while the wrapper drives a real upload over SSH, checked while it
happens, with the secret exported in the caller's environment too: the runner's
private_data_dir (scanned from an event handler on every event), the -vvv output, every
process's command line and environment (sampled during a 64 MiB upload), and what is left on
the server afterwards. The same object then makes the rest of the round trip through the
wrapper's runner: list, download, sha256 compare, delete."""

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup import runner
from tests.integration.leaks import ProcessWatch, credential_dirs, files_containing
from tests.integration.plays import bench_s3_variables, sha256_of

pytestmark = pytest.mark.integration


@pytest.fixture
def backup_file(tmp_path):
    """A 64 MiB random file on the server (this machine), named like a backup of db `leakcheck`."""
    directory = Path("/opt/infrakt/backups/leakcheck")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / names.backup_filename("leakcheck", "postgres")
    with open(path, "wb") as handle:
        for _ in range(64):
            handle.write(os.urandom(1 << 20))
    yield path
    path.unlink(missing_ok=True)


def test_no_secret_anywhere_during_a_large_upload_then_the_round_trip(testbed, backup_file, monkeypatch, tmp_path):
    env = testbed.env
    # as after `export INFRAKT_S3_SECRET_KEY=…` for `settings s3 set`, the README's way
    monkeypatch.setenv("INFRAKT_S3_SECRET_KEY", env["S3_SECRET_KEY"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", env["S3_SECRET_KEY"])
    secret = env["S3_SECRET_KEY"].encode()
    server = SimpleNamespace(name="bench", host=env["SSH_HOST"], port=int(env["SSH_PORT"]), user=env["SSH_USER"],
                             python_interpreter="/usr/bin/python3", ssh_key_path=env["SSH_KEY"])
    inventory = runner.server_inventory([server], Path(env["SSH_KNOWN_HOSTS"]))
    variables = bench_s3_variables(env, "leakcheck-run", infrakt_aws_bin=env["AWS_BIN"],
                                   infrakt_db_name="leakcheck", infrakt_upload_src=str(backup_file))
    output_lines: list[str] = []
    dir_hits: list[str] = []
    scanned = []

    run_dirs = set()

    def scan_private_data_dir(event, private_data_dir):
        scanned.append(event.get("event"))
        dir_hits.extend(files_containing(private_data_dir, secret))
        run_dir = private_data_dir.parent  # the runner's tmpfs dir: private_data_dir and the vars file
        run_dirs.add(run_dir)
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((run_dir / "vars.yml").stat().st_mode) == 0o600

    left_before = credential_dirs()
    with ProcessWatch([env["S3_SECRET_KEY"]]) as watch:
        run = runner.run_playbook("s3_upload.yml", inventory, variables, verbosity=3,
                                  progress=output_lines.append, on_event=scan_private_data_dir)

    assert run.ok, run.failure
    assert run.result_of("infrakt.backup.s3_object")["size"] == 64 << 20
    assert len(scanned) > 10 and watch.samples > 10
    assert dir_hits == []
    assert watch.hits == []
    joined = "\n".join(output_lines)
    assert "infrakt.backup.s3_object" in joined or "Upload" in joined  # -vvv output was really captured
    assert secret.decode() not in joined
    assert credential_dirs() - left_before == set(), "this run left its credentials directory behind"
    assert len(run_dirs) == 1 and not run_dirs.pop().exists(), "the runner's directory outlived the run"
    ansible_tmp = Path("/root/.ansible/tmp")
    if ansible_tmp.exists():
        assert files_containing(ansible_tmp, secret) == []

    # the rest of the round trip through the wrapper's runner: list, download, compare, delete
    filename = backup_file.name
    listed = runner.run_playbook("s3_list.yml", inventory, variables)
    assert listed.ok, listed.failure
    objects = {o["filename"]: o for o in listed.result_of("infrakt.backup.s3_object")["objects"]}
    assert (objects[filename]["size"], objects[filename]["sha256"]) == (64 << 20, sha256_of(backup_file))
    downloaded = runner.run_playbook("s3_download.yml", inventory, {
        **variables, "infrakt_download_filename": filename, "infrakt_backup_dir": str(tmp_path / "downloads")})
    assert downloaded.ok, downloaded.failure
    assert sha256_of(tmp_path / "downloads" / "leakcheck" / filename) == sha256_of(backup_file)
    deleted = runner.run_playbook("s3_delete.yml", inventory, {**variables, "infrakt_delete_filename": filename})
    assert deleted.ok, deleted.failure
    relisted = runner.run_playbook("s3_list.yml", inventory, variables)
    assert filename not in {o["filename"] for o in relisted.result_of("infrakt.backup.s3_object")["objects"]}
