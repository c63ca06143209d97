"""The wheel carries the collection: installed into a fresh venv outside the checkout, the CLI
runs the collection's playbooks against the bench with nothing else installed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed_cli(tmp_path_factory):
    """Build the wheel, install it into a new venv in a temp dir; return the CLI's path."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(REPO_ROOT)],
        check=True, capture_output=True,
    )
    wheel = next((work / "dist").glob("infrakt_backup-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    subprocess.run(
        [str(work / "venv" / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True
    )
    return work / "venv" / "bin" / "infrakt-backup", wheel


def run_cli(cli, home, *args, extra_env=None):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "INFRAKT_HOME": str(home / "infrakt"), **(extra_env or {})}
    return subprocess.run([str(cli), *args], cwd=home, env=env, capture_output=True, text=True, timeout=600)


def test_wheel_holds_the_collection_and_no_tests(installed_cli):
    import zipfile

    _, wheel = installed_cli
    members = zipfile.ZipFile(wheel).namelist()
    root = "infrakt_backup/collection/ansible_collections/infrakt/backup/"
    for expected in ("galaxy.yml", "meta/runtime.yml", "playbooks/backup.yml", "plugins/modules/s3_object.py",
                     "plugins/module_utils/names.py", "roles/awscli/tasks/main.yml"):
        assert root + expected in members, expected
    for expected in ("web/templates/database.html", "web/templates/settings.html", "web/static/app.js",
                     "web/static/style.css"):
        assert "infrakt_backup/" + expected in members, expected
    assert not any(name.startswith(("tests/", "bench/")) or "/tests/" in name for name in members)
    assert [name for name in members if "__pycache__" in name or name.endswith(".pyc") or ".hypothesis" in name] == []


def test_installed_cli_runs_playbooks_from_the_wheel(installed_cli, testbed, tmp_path):
    cli, _ = installed_cli
    env = testbed.env
    shown = run_cli(cli, tmp_path, "settings", "s3", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {"configured": False}

    added = run_cli(cli, tmp_path, "server", "add", "bench", "--host", env["SSH_HOST"], "--port", env["SSH_PORT"],
                    "--ssh-key", env["SSH_KEY"])
    assert added.returncode == 0, added.stderr
    provisioned = run_cli(cli, tmp_path, "server", "provision", "bench")
    assert provisioned.returncode == 0, provisioned.stderr
    saved = run_cli(cli, tmp_path, "settings", "s3", "set", "--endpoint-url", env["S3_ENDPOINT_URL"],
                    "--bucket", env["S3_BUCKET"], "--region", env["S3_REGION"], "--access-key", env["S3_ACCESS_KEY"],
                    extra_env={"INFRAKT_S3_SECRET_KEY": env["S3_SECRET_KEY"]})
    assert saved.returncode == 0, saved.stderr
    tested = run_cli(cli, tmp_path, "settings", "s3", "test")
    assert tested.returncode == 0, tested.stderr
    assert "Connection OK (list, write, read, delete)" in tested.stdout
    assert env["S3_SECRET_KEY"] not in tested.stdout + tested.stderr
    assert os.stat(tmp_path / "infrakt").st_mode & 0o777 == 0o700
    # installed without the web extra: `web` says what to install, in one line
    web = run_cli(cli, tmp_path, "web")
    assert web.returncode == 1 and "pip install 'infrakt-backup[web]'" in web.stderr, web.stderr
    assert len(web.stderr.strip().splitlines()) == 1


def test_collection_tarball_holds_the_collection_only(tmp_path):
    import tarfile

    subprocess.run([str(Path(sys.executable).parent / "ansible-galaxy"), "collection", "build", "--output-path",
                    str(tmp_path), str(REPO_ROOT)], check=True, capture_output=True)
    tarball = next(tmp_path.glob("infrakt-backup-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        members = archive.getnames()
    for expected in ("MANIFEST.json", "meta/runtime.yml", "playbooks/backup.yml",
                     "plugins/modules/s3_object.py", "plugins/doc_fragments/db_connection.py",
                     "roles/awscli/tasks/main.yml"):
        assert expected in members, expected
    forbidden = ("wrapper", "tests", "bench", ".venv", "collections", "extensions", "scripts", "dist", ".git")
    assert [name for name in members if name.split("/")[0] in forbidden] == []
    assert [name for name in members if "__pycache__" in name or name.endswith((".pyc", ".tar.gz"))] == []
