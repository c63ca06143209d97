"""Playbooks of the repository run the way a user runs them: plain ansible-playbook over the
bench inventory at -vvv, the variables (secrets included) in a 0600 vars file on tmpfs like a
vault file, removed afterwards. Also the bench S3 variables those playbooks take, a client on the
bench S3, and the digest tests compare their results with."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from infrakt_backup.runner import unsafe_vars_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
TASK_LINE = re.compile(r"^TASK \[(?P<task>.+?)\] \*+$")
# a task's result, or one loop item's (`changed: [bench] => (item=db) => {…}`, `failed: [bench] (item=db) => {…}`)
RESULT_LINE = re.compile(r"^(?P<status>ok|changed|fatal|failed|skipping): \[[^\]]+\](?:: FAILED!)?"
                         r"(?: =>)?(?: \(item=[^)]*\))? => (?P<result>\{.*\})$")


@dataclass
class PlaybookRun:
    """What one ansible-playbook run returned and printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Return stdout followed by stderr."""
        return self.stdout + self.stderr

    @cached_property
    def tasks(self) -> list[tuple[str, str, dict]]:
        """Return (task name, status, result) of every task result printed, in order; a loop's
        items count as results of their task (a failed item as `fatal`, as the task is)."""
        found, task = [], None
        for line in self.stdout.splitlines():
            if match := TASK_LINE.match(line):
                task = match.group("task")
            elif (match := RESULT_LINE.match(line)) and task is not None:
                status = "fatal" if match.group("status") == "failed" else match.group("status")
                found.append((task, status, json.loads(match.group("result"))))
        return found

    def status_and_result(self, task_prefix: str) -> tuple[str, dict]:
        """Return (status, result) of the last task whose name, with or without its role,
        starts with task_prefix. The result is what the task returned: the module arguments
        that -vvv adds as "invocation" are left out (see module_args)."""
        status, printed = self._last_task(task_prefix)
        return status, {key: value for key, value in printed.items() if key != "invocation"}

    def result(self, task_prefix: str) -> dict:
        """Return the result of the last task whose name starts with task_prefix (see status_and_result)."""
        return self.status_and_result(task_prefix)[1]

    def module_args(self, task_prefix: str) -> dict:
        """Return the module arguments (as -vvv prints them, secrets censored) of the last task
        whose name starts with task_prefix."""
        return self._last_task(task_prefix)[1]["invocation"]["module_args"]

    def _last_task(self, task_prefix: str) -> tuple[str, dict]:
        """Return (status, printed result) of the last task whose name, with or without its
        role, starts with task_prefix; fail the test when there is none."""
        for task, status, printed in reversed(self.tasks):
            if task.split(" : ", 1)[-1].startswith(task_prefix):
                return status, printed
        raise AssertionError(f"no result of a task {task_prefix!r} in:\n{self.output[-3000:]}")

    def statuses(self) -> list[tuple[str, str]]:
        """Return (task name, status) of every task result, in order."""
        return [(task, status) for task, status, _ in self.tasks]

    def facts(self, name: str) -> list:
        """Return every value the run set for fact name, in order."""
        return [result["ansible_facts"][name] for _, _, result in self.tasks if name in result.get("ansible_facts", {})]


@contextmanager
def private_vars_file(variables: dict):
    """Yield the path of a new 0600 vars file on tmpfs holding variables (secrets included) in
    the wrapper's own format (strings !unsafe), as a careful user writes one too; remove it
    afterwards."""
    vars_dir = tempfile.mkdtemp(prefix="infrakt-test-vars-", dir="/dev/shm")
    try:
        vars_file = os.path.join(vars_dir, "vars.yml")
        descriptor = os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(unsafe_vars_yaml(variables))
        yield vars_file
    finally:
        shutil.rmtree(vars_dir, ignore_errors=True)


def run_playbook(testbed, playbook: str, variables: dict, *, check: bool = False,
                 environment: dict | None = None) -> PlaybookRun:
    """Run playbooks/<playbook> at -vvv on the bench (testbed) inventory with variables in a
    0600 vars file on tmpfs (removed afterwards), in check mode when check, with environment
    added to ours; return the PlaybookRun."""
    with private_vars_file(variables) as vars_file:
        command = [str(VENV_BIN / "ansible-playbook"), "-vvv", "-i", str(testbed.inventory_path),
                   str(REPO_ROOT / "playbooks" / playbook), "-e", f"@{vars_file}", *(["--check"] if check else [])]
        env = {
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "collections"),
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
            "ANSIBLE_CALLBACK_FORMAT_PRETTY": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            **(environment or {}),
        }
        completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300,
                                   check=False)
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr)


def run_molecule(scenario: str, inventory: str | Path, steps: tuple[str, ...]) -> None:
    """Run `molecule test -s scenario` (extensions/molecule/<scenario>) with the inventory at
    inventory; assert that it passed and that each of steps ran successfully."""
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "collections"),
        "INFRAKT_MOLECULE_INVENTORY": str(inventory),
        "NO_COLOR": "1",
    }
    run = subprocess.run([str(VENV_BIN / "molecule"), "test", "-s", scenario], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    for step in steps:
        # molecule draws the arrow as ➜ on a terminal and as > otherwise
        assert re.search(rf"{scenario} (?:➜|>) {step}: Executed: Successful", output), output[-5000:]


def bench_s3_variables(env: dict, prefix: str, **extra) -> dict:
    """Return the infrakt_s3_* playbook variables of docs/design.md for the bench S3 of env
    (the bench settings, secret included) under prefix, with extra added over them."""
    return {
        "infrakt_s3_provider": "custom",
        "infrakt_s3_endpoint_url": env["S3_ENDPOINT_URL"],
        "infrakt_s3_bucket": env["S3_BUCKET"],
        "infrakt_s3_region": env["S3_REGION"],
        "infrakt_s3_access_key": env["S3_ACCESS_KEY"],
        "infrakt_s3_secret_key": env["S3_SECRET_KEY"],
        "infrakt_s3_prefix": prefix,
        **extra,
    }


def bench_s3_client(env: dict):
    """Return a boto3 client on the bench S3 of env, to check and tamper with objects behind
    the playbooks' back (boto3 imported here: it is slow to load)."""
    import boto3

    return boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name=env["S3_REGION"],
                        aws_access_key_id=env["S3_ACCESS_KEY"], aws_secret_access_key=env["S3_SECRET_KEY"])


def sha256_of(path: str | Path) -> str:
    """Return the hex sha256 of the file at path."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def plant_backup(directory, filename, data):
    """Write backup filename with data and a matching sidecar into directory, as someone who can
    write to the bucket (or the backup dir) can; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_bytes(data)
    (directory / (filename + ".sha256")).write_text(f"{sha256_of(path)}  {filename}\n")
    return path
