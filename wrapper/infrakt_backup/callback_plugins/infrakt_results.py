"""An Ansible callback plugin that runner.py enables for its runs: every task result, whole,
as one JSON line ({task_uuid, host, result}) appended to the 0600 file named by
$INFRAKT_RESULTS_FILE, in the run's private_data_dir.

ansible-runner's own event callback replaces a result larger than MAX_EVENT_RES (700,000
characters) with `{}`; a listing of 10,000 backups is larger, so runner.py reads results from
here. Ansible hands callbacks the result already censored where a task is `no_log`, as it
does to ansible-runner's events, which land in the same directory.
"""

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: infrakt_results
type: aggregate
short_description: Writes every task result whole to $INFRAKT_RESULTS_FILE (for infrakt-backup)
description:
  - One JSON line per task result, with the task's uuid and the host's name.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "infrakt_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.path = os.environ.get("INFRAKT_RESULTS_FILE")

    def _write(self, result) -> None:
        """Append the line of one task result (nothing without $INFRAKT_RESULTS_FILE)."""
        if not self.path:
            return
        line = json.dumps({"task_uuid": str(result.task._uuid), "host": result.host.get_name(),
                           "result": result.result}, ensure_ascii=False, default=str)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def v2_runner_on_ok(self, result) -> None:
        self._write(result)

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        if not ignore_errors:  # runner.py drops those too
            self._write(result)

    def v2_runner_on_unreachable(self, result) -> None:
        self._write(result)
