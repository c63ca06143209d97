"""runner.py's own parts: the vars file ansible-playbook reads, and the environment
ansible-runner inherits."""

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infrakt_backup import runner
from infrakt_backup.errors import InfraktError

NASTY = ["p{{ 7*7 }}w", "x{#y", "a{%b", "quote\"back\\slash", "new\nline", "ünï", "{{ lookup('pipe', 'id') }}",
         # outside the Basic Multilingual Plane, YAML line breaks, C1 and DEL controls, a tab
         "emoji\U0001f600\U0001f510", "line\u2028sep\u2029", "nel\x85c1\x9f", "del\x7f", "tab\tcr\r",
         # what YAML would read as another type when unquoted: a password "yes" must not become True
         "yes", "off", "null", "~", "123456", "0x1f", "1e3", "*", "&anchor", "!tag", "2026-12-01", ""]


def assert_ansible_reads(tmp_path, variables, conditions):
    """Write variables as the runner's vars file and assert that real ansible-playbook (local
    connection) loads it and finds every one of conditions (Jinja tests) true."""
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(runner.unsafe_vars_yaml(variables))
    playbook = tmp_path / "check.yml"
    checks = "".join(f"\n          - {condition}" for condition in conditions)
    playbook.write_text(f"""- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.assert:
        that:{checks}
""")
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         str(playbook), "-e", f"@{vars_file}"],
        capture_output=True, text=True, env={**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable},
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]


def test_vars_file_strings_reach_ansible_verbatim_and_are_never_templated(tmp_path):
    """Each value's sha1 as Ansible sees it is ours: a templated or mangled value would differ."""
    variables = {f"value_{index}": value for index, value in enumerate(NASTY)}
    variables.update(port=5432, upload=True, unset=None)
    assert_ansible_reads(tmp_path, variables, [
        *(f"value_{index} | hash('sha1') == '{hashlib.sha1(value.encode()).hexdigest()}'"
          for index, value in enumerate(NASTY)),
        "port == 5432", "upload is true", "unset is none",
    ])


def test_vars_file_nested_values_reach_ansible_as_they_are(tmp_path):
    nested = {"bench": {"present": [{"db_name": "shop", "cron": {"minute": "*"}, "keep": 7, "password": "yes"}],
                        "absent": [], "notes": {"t": "{{ 7*7 }}"}}}
    digest = hashlib.sha1(json.dumps(nested).encode()).hexdigest()
    assert_ansible_reads(tmp_path, {"schedules": nested}, [f"schedules | to_json | hash('sha1') == '{digest}'"])


def test_vars_file_refuses_what_yaml_cannot_carry():
    with pytest.raises(TypeError, match="infrakt_hosts holds a set"):
        runner.unsafe_vars_yaml({"infrakt_hosts": {"a"}})


def test_only_allowed_environment_is_inherited(monkeypatch):
    monkeypatch.setenv("INFRAKT_S3_SECRET_KEY", "exported-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    with runner._inherited_environment_only():
        assert "INFRAKT_S3_SECRET_KEY" not in os.environ and "AWS_SECRET_ACCESS_KEY" not in os.environ
        assert os.environ["LC_ALL"] == "C.UTF-8" and "PATH" in os.environ
    assert os.environ["INFRAKT_S3_SECRET_KEY"] == "exported-secret"


def test_no_variables_is_still_a_vars_file():
    assert runner.unsafe_vars_yaml({}) == "--- !unsafe  #infrakt-run-vars\n{}\n"


def test_vars_file_is_printable_ascii():
    text = runner.unsafe_vars_yaml({"password": "\U0001f600\u2028\x85\x7f\n\"\\"})
    assert text == ('--- !unsafe  #infrakt-run-vars\n'
                    '"password": "\\U0001f600\\u2028\\x85\\x7f\\x0a\\"\\\\"  #infrakt-run-vars\n')


VARS = Path("/dev/shm/infrakt-run-7-abc/vars.yml")
YAML_ERROR = f"""[ERROR]: YAML parsing failed: While parsing a quoted scalar found invalid Unicode escape code.
Origin: {VARS}:6:41
4 infrakt_db_port: 44389
5 infrakt_db_user: !unsafe "nobody"

6 infrakt_db_password: !unsafe "pw-\\ud83d\\ude00"
                                          ^ column 41
[WARNING]: No inventory was parsed"""


def test_vars_file_lines_are_hidden_where_ansible_quotes_them():
    redacted = runner.VarsFileRedactor(VARS).redact(YAML_ERROR)
    assert redacted.splitlines() == [
        "[ERROR]: YAML parsing failed: While parsing a quoted scalar found invalid Unicode escape code.",
        f"Origin: {VARS}:6:41", runner.VARS_FILE_LINES_HIDDEN, "[WARNING]: No inventory was parsed",
    ]


def test_vars_file_lines_are_hidden_across_pieces_of_output():
    """Before the play starts, ansible-runner hands over its output one line per event."""
    redactor = runner.VarsFileRedactor(VARS)
    shown = [redactor.redact(line) for line in YAML_ERROR.splitlines()]
    assert "infrakt_db" not in "\n".join(shown)
    assert shown[-1] == "[WARNING]: No inventory was parsed"


def test_other_files_source_context_is_kept_and_vars_lines_hidden_anywhere():
    playbook_context = "Origin: /collection/playbooks/backup.yml:18:7\n\n18     - name: Dump {{ infrakt_db_name }}"
    redactor = runner.VarsFileRedactor(VARS)
    assert redactor.redact(playbook_context) == playbook_context
    assert redactor.redact('  x "infrakt_db_password": "pw"  #infrakt-run-vars') == runner.VARS_FILE_LINES_HIDDEN


def test_failure_message_hides_vars_file_lines():
    message = runner._failure_message({"res": {"msg": f"Bad value.\nOrigin: {VARS}:2:3\n2 p: !unsafe \"pw\""}}, VARS)
    assert "pw" not in message and message.startswith(f"Bad value. Origin: {VARS}:2:3")


def test_ansible_environment_pins_what_keeps_module_arguments_off_the_server(tmp_path):
    environment = runner._ansible_environment(tmp_path, tmp_path / "ssh")
    assert environment["ANSIBLE_SSH_CONTROL_PATH_DIR"] == str(tmp_path / "ssh")  # no master of another run
    assert "StrictHostKeyChecking" not in environment["ANSIBLE_SSH_ARGS"]  # ansible.cfg's ssh_args replaced
    assert environment["ANSIBLE_PIPELINING"] == "True"
    assert environment["ANSIBLE_KEEP_REMOTE_FILES"] == "False"
    assert environment["ANSIBLE_BECOME_METHOD"] == "sudo"


def dead_pid() -> int:
    """Return the pid of a process that has ended."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_sweep_removes_only_dead_runs_directories(tmp_path):
    dead = tmp_path / f"infrakt-run-{dead_pid()}-abc"
    live = tmp_path / f"infrakt-run-{os.getpid()}-def"
    older_layout = tmp_path / "infrakt-run-x1y2z3"
    for directory in (dead, live, older_layout):
        directory.mkdir()
    (dead / "vars.yml").write_text("secret")
    assert runner.sweep_dead_run_dirs([str(tmp_path), str(tmp_path)]) == [dead]
    assert sorted(tmp_path.iterdir()) == sorted([live, older_layout])


def test_sweep_leaves_a_locked_directory_whatever_its_pid(tmp_path):
    """A run in another pid namespace (its pid looks dead from here) holds its directory locked."""
    locked = tmp_path / f"infrakt-run-{dead_pid()}-abc"
    locked.mkdir()
    descriptor = os.open(locked, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        assert runner.sweep_dead_run_dirs([str(tmp_path)]) == []
    finally:
        os.close(descriptor)
    assert runner.sweep_dead_run_dirs([str(tmp_path)]) == [locked]


def test_run_dir_is_named_after_this_process_on_tmpfs(monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    run_dir = runner._new_run_dir()
    try:
        assert run_dir.parent == Path("/dev/shm") and run_dir.name.startswith(f"infrakt-run-{os.getpid()}-")
    finally:
        run_dir.rmdir()


def test_no_tmpfs_is_refused_unless_disk_is_allowed(monkeypatch, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    monkeypatch.setattr(runner, "TMPFS_CANDIDATES", ("XDG_RUNTIME_DIR",))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # on disk here, like the system temp dir
    monkeypatch.setattr(runner.tempfile, "tempdir", str(disk))
    monkeypatch.delenv(runner.SECRETS_ON_DISK_OPT_IN, raising=False)
    with pytest.raises(InfraktError, match=f"no tmpfs.*{runner.SECRETS_ON_DISK_OPT_IN}=1") as refused:
        runner._new_run_dir()
    assert refused.value.exit_code == 1 and list(disk.iterdir()) == []
    monkeypatch.setenv(runner.SECRETS_ON_DISK_OPT_IN, "1")
    assert runner._new_run_dir().parent == disk


def test_control_sockets_go_where_their_path_fits(tmp_path):
    short = tmp_path / "run"
    short.mkdir()
    assert runner._new_control_dir(short) == short / "ssh" and (short / "ssh").stat().st_mode & 0o777 == 0o700
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    elsewhere = runner._new_control_dir(deep)
    try:
        assert elsewhere.parent == Path("/tmp") and elsewhere.stat().st_mode & 0o777 == 0o700
        assert len(os.fsencode(elsewhere / "9999")) + runner.SSH_SOCKET_SUFFIX <= runner.SOCKET_PATH_MAX
    finally:
        elsewhere.rmdir()
