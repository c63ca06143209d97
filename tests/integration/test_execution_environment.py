"""execution-environment.yml (ansible-builder schema 3) for AWX / Automation Controller:
`ansible-builder create` writes a build context (no image is built here) whose Containerfile
installs the pinned ansible-core and ansible-runner, the aws CLI and this checkout's collection,
whole; the collection in the context installs with ansible-galaxy, offline."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COLLECTION_PARTS = ("galaxy.yml", "meta", "plugins", "roles", "playbooks")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    """Run `ansible-builder create` on the checkout's execution-environment.yml; return the context."""
    context = tmp_path_factory.mktemp("ee") / "context"
    subprocess.run(
        [str(VENV_BIN / "ansible-builder"), "create", "-f", str(REPO_ROOT / "execution-environment.yml"),
         "-c", str(context), "--output-filename", "Containerfile"],
        check=True, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )
    return context


def shipped_files(root: Path) -> set[str]:
    """Return the files of the collection's parts under root (a checkout or the context copy)."""
    files = set()
    for part in COLLECTION_PARTS:
        path = root / part
        files |= {str(f.relative_to(root)) for f in ([path] if path.is_file() else path.rglob("*"))
                  if f.is_file() and "__pycache__" not in f.parts}
    return files


def test_the_containerfile_installs_ansible_the_aws_cli_and_the_collection(context):
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner>=2.4,<2.5"' in containerfile
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "COPY _build /build" in containerfile
    assert "awscli>=1.37" in (context / "_build" / "requirements.txt").read_text().split()
    assert "openssh-clients" in (context / "_build" / "bindep.txt").read_text()


def test_the_context_holds_the_checkouts_collection_whole(context):
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    [collection] = requirements["collections"]
    assert collection["type"] == "dir"
    copy = context / "_build" / collection["name"]
    tracked = set(subprocess.run(["git", "ls-files", *COLLECTION_PARTS], cwd=REPO_ROOT, capture_output=True,
                                 text=True, check=True).stdout.split())
    assert shipped_files(copy) == tracked
    for name in tracked:
        assert (copy / name).read_bytes() == (REPO_ROOT / name).read_bytes(), name


def test_the_collection_in_the_context_installs_offline(context, tmp_path):
    build = context / "_build"
    target = tmp_path / "collections"
    subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml",
         "--collections-path", str(target)],
        check=True, capture_output=True, text=True, cwd=build, timeout=120,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(target), "ANSIBLE_GALAXY_DISABLE_GPG_VERIFY": "1"},
    )
    installed = target / "ansible_collections" / "infrakt" / "backup"
    manifest = json.loads((installed / "MANIFEST.json").read_text())["collection_info"]
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == (
        galaxy["namespace"], galaxy["name"], galaxy["version"])
    assert (installed / "playbooks" / "backups_list.yml").is_file()
    assert (installed / "plugins" / "modules" / "s3_object.py").is_file()
