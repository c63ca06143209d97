"""How module results reach the wrapper: whole, through the infrakt_results callback plugin
(real ansible-playbook, local connection), even where ansible-runner's events carry `{}`
(a result over MAX_EVENT_RES); and a result that did not arrive fails the run loudly."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infrakt_backup import runner
from infrakt_backup.errors import InfraktError

S3_OBJECT = "infrakt.backup.s3_object"
# ansible-runner replaces a result longer than this (as str()) with {} in its events
MAX_EVENT_RES = 700_000


def recorded_event(task_uuid: str, host: str = "web1") -> dict:
    """Return a successful result event as ansible-runner hands it over, its `res` cut to {}
    (what it does to a result over MAX_EVENT_RES)."""
    return {"event": "runner_on_ok", "event_data": {"host": host, "task": "List the S3 backups of shop",
                                                    "resolved_action": S3_OBJECT, "task_uuid": task_uuid, "res": {}}}


def recorded_run(tmp_path: Path, *events: dict) -> runner.PlaybookRun:
    """Return a successful PlaybookRun that has seen events."""
    run = runner.PlaybookRun(status="successful", rc=0)
    redactor = runner.VarsFileRedactor(tmp_path / "vars.yml")
    for event in events:
        runner._record_event(run, event, None, 0, redactor)
    return run


def test_a_result_over_the_event_limit_arrives_whole(tmp_path):
    """ansible-playbook with the wrapper's environment for the callback writes the whole
    result of a task too large for an event; attached, it replaces the event's {}."""
    objects = [{"filename": f"shop_postgres_2026{number:08d}.dump", "size": number} for number in range(20_000)]
    assert len(str(objects)) > MAX_EVENT_RES
    (tmp_path / "objects.json").write_text(json.dumps(objects))
    playbook = tmp_path / "big.yml"
    playbook.write_text("""- hosts: localhost
  gather_facts: false
  tasks:
    - name: Return a big result
      ansible.builtin.debug:
        msg: "{{ lookup('file', 'objects.json') | from_json }}"
""")
    environment = runner._ansible_environment(tmp_path, tmp_path / "ssh")
    env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
           **{name: environment[name] for name in ("ANSIBLE_CALLBACK_PLUGINS", "ANSIBLE_CALLBACKS_ENABLED",
                                                   runner.RESULTS_FILE_ENV)}}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    results_file = tmp_path / runner.RESULTS_FILE
    assert oct(results_file.stat().st_mode & 0o777) == "0o600"
    [record] = [json.loads(line) for line in results_file.read_text().splitlines()]
    assert record["host"] == "localhost" and record["result"]["msg"] == objects

    run = recorded_run(tmp_path, recorded_event(record["task_uuid"], "localhost"))
    runner._attach_results(run, results_file)
    assert run.ok
    assert run.result_of(S3_OBJECT)["msg"] == objects


def test_a_result_that_did_not_arrive_fails_the_run_and_is_never_empty(tmp_path):
    """The event says the task succeeded, carrying {} as ansible-runner makes it for a result
    over its limit; the results file has nothing for it."""
    run = recorded_run(tmp_path, recorded_event("5e4c-0001"))
    runner._attach_results(run, tmp_path / runner.RESULTS_FILE)
    assert not run.ok
    assert "List the S3 backups of shop" in run.failure and "did not arrive whole" in run.failure
    with pytest.raises(InfraktError, match="did not arrive whole"):
        run.result_of(S3_OBJECT)
    with pytest.raises(InfraktError, match="did not arrive whole"):
        run.required_result(S3_OBJECT, "objects")
    with pytest.raises(InfraktError, match="failed: the result of task"):
        run.raise_for_failure("Listing the backups of shop")


def test_results_pair_with_their_events_by_task_and_host_in_order(tmp_path):
    """Two runs of the same task (an included role twice) and a line cut short: each event gets
    its own result, the one whose line was cut gets none."""
    results_file = tmp_path / runner.RESULTS_FILE
    lines = [json.dumps({"task_uuid": "t1", "host": "web1", "result": {"objects": [1]}}),
             json.dumps({"task_uuid": "t1", "host": "web1", "result": {"objects": [2]}}),
             '{"task_uuid": "t2", "host": "web1", "result": {"obj']
    results_file.write_text("\n".join(lines) + "\n")
    run = recorded_run(tmp_path, recorded_event("t1"), recorded_event("t1"), recorded_event("t2"))
    runner._attach_results(run, results_file)
    assert [(result.result, result.complete) for result in run.results] == [
        ({"objects": [1]}, True), ({"objects": [2]}, True), ({}, False)]
    assert not run.ok


def test_a_required_answer_missing_from_a_result_is_an_error(tmp_path):
    results_file = tmp_path / runner.RESULTS_FILE
    results_file.write_text(json.dumps({"task_uuid": "t1", "host": "web1", "result": {"changed": False}}) + "\n")
    run = recorded_run(tmp_path, recorded_event("t1"))
    runner._attach_results(run, results_file)
    assert run.ok
    with pytest.raises(InfraktError, match="returned no objects"):
        run.required_result(S3_OBJECT, "objects")
    with pytest.raises(InfraktError, match="returned no backups"):
        run.required_result("infrakt.backup.backup_info", "backups")
