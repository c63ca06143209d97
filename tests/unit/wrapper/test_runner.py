"""runner.py's own parts: the vars file ansible-playbook reads, and the environment
ansible-runner inherits."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infrakt_backup import runner

NASTY = ["p{{ 7*7 }}w", "x{#y", "a{%b", "quote\"back\\slash", "new\nline", "ünï", "{{ lookup('pipe', 'id') }}"]


def test_vars_file_strings_reach_ansible_verbatim_and_are_never_templated(tmp_path):
    """Real ansible-playbook (local connection) reads the vars file and compares each value's
    sha1 with ours: a templated or mangled value would differ."""
    variables = {f"value_{index}": value for index, value in enumerate(NASTY)}
    variables.update(port=5432, upload=True, unset=None)
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(runner.unsafe_vars_yaml(variables))
    checks = "\n".join(
        f"          - value_{index} | hash('sha1') == '{hashlib.sha1(value.encode()).hexdigest()}'"
        for index, value in enumerate(NASTY)
    )
    playbook = tmp_path / "check.yml"
    playbook.write_text(f"""- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.assert:
        that:
{checks}
          - port == 5432
          - upload is true
          - unset is none
""")
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         str(playbook), "-e", f"@{vars_file}"],
        capture_output=True, text=True, env={**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable},
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]


def test_vars_file_refuses_nested_values():
    with pytest.raises(TypeError, match="scalar"):
        runner.unsafe_vars_yaml({"infrakt_hosts": ["a"]})


def test_only_allowed_environment_is_inherited(monkeypatch):
    monkeypatch.setenv("INFRAKT_S3_SECRET_KEY", "exported-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    with runner._inherited_environment_only():
        assert "INFRAKT_S3_SECRET_KEY" not in os.environ and "AWS_SECRET_ACCESS_KEY" not in os.environ
        assert os.environ["LC_ALL"] == "C.UTF-8" and "PATH" in os.environ
    assert os.environ["INFRAKT_S3_SECRET_KEY"] == "exported-secret"


def test_no_variables_is_still_a_vars_file():
    assert runner.unsafe_vars_yaml({}) == "{}\n"
