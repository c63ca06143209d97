#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_status
short_description: Report what the last backups of databases did, from their status files
description:
  - Reads the status file C(<state_dir>/<db_name>.json) of each database in O(db_names), which
    every backup writes, scheduled (role infrakt.backup.backup_schedule) or manual
    (M(infrakt.backup.db_backup)), and says whether the database has a schedule on this server.
  - Reads only; a status file that cannot be read is reported in its entry's C(error).
version_added: 0.2.0
author: infrakt.backup developers (@infrakt)
options:
  db_names:
    description: Databases to report.
    type: list
    elements: str
    required: true
  state_dir:
    description: Directory of the status files.
    type: path
    default: /var/lib/infrakt-backup
  config_dir:
    description: Directory of the schedules' configs (role infrakt.backup.backup_schedule).
    type: path
    default: /etc/infrakt/schedules
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details:
      - It only reads, in check mode as otherwise.
seealso:
  - module: infrakt.backup.db_backup
"""

EXAMPLES = r"""
- name: Read the status of two databases
  infrakt.backup.backup_status:
    db_names: [shop, cache]
  register: status
"""

RETURN = r"""
checked_at:
  description: The server's time when the files were read, ISO-8601 UTC (ages are counted from it).
  returned: always
  type: str
  sample: "2026-12-01T19:00:05Z"
statuses:
  description:
    - One entry per database of O(db_names), in that order, with the fields of its status file
      (null when it has none) plus C(scheduled).
    - "Fields: C(db_name), C(trigger) (schedule or manual), C(result) (running, success or
      failed), C(last_attempt), C(last_success), C(last_skipped), C(filename), C(size),
      C(sha256), C(location) (local or both), C(duration_s), C(error)."
  returned: always
  type: list
  elements: dict
  sample: [{db_name: shop, result: success, last_success: "2026-12-01T03:00:01Z", scheduled: true}]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, run_state
from ansible_collections.infrakt.backup.plugins.module_utils.names import validate_name


def status_of(params, db_name):
    """Return the status entry of db_name."""
    validate_name(db_name, "db_name")
    try:
        status = run_state.read_status(params["state_dir"], db_name)
    except (ValueError, OSError) as error:
        status = {"result": "failed", "error": "cannot read the status file: %s" % error}
    entry = dict((name, None) for name in run_state.STATUS_FIELDS)
    entry.update(status or {}, db_name=db_name)
    entry["scheduled"] = os.path.isfile(os.path.join(params["config_dir"], db_name + ".json"))
    return entry


def main():
    module = AnsibleModule(
        argument_spec=dict(
            db_names=dict(type="list", elements="str", required=True),
            state_dir=dict(type="path", default=run_state.DEFAULT_STATE_DIR),
            config_dir=dict(type="path", default=run_state.DEFAULT_CONFIG_DIR),
        ),
        supports_check_mode=True,
    )
    checked_at = backup_files.now_iso()
    try:
        statuses = [status_of(module.params, db_name) for db_name in module.params["db_names"]]
    except ValueError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, checked_at=checked_at, statuses=statuses)


if __name__ == "__main__":
    main()
