#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_verify
short_description: Verify a backup as it streams, and optionally restore it into scratch space (a restore drill)
description:
  - Reads one backup of O(db_name) as it arrives — from S3 with O(bucket) (C(aws s3 cp … -)), else the
    server's local copy — and keeps nothing of it. Checks, in order, its sidecar's signature (with
    O(signing_key)), then while reading its size and sha256 against the sidecar, the decoding (zstd, gzip)
    and that it starts in the engine's own format.
  - "With O(restore), loads it on this server into scratch space named C(infrakt_drill_<hex>) and counts what
    arrived: PostgreSQL and MySQL/MariaDB a temporary database (the user needs the right to create it,
    CREATEDB or the privileges on C(infrakt\\_drill\\_%)), Redis a C(redis-server) of its own on a unix socket
    in a 0700 directory under C(<backup_dir>/<db_name>/). The scratch space is removed whatever happens.
    MongoDB is not drilled with O(restore) yet."
  - "An encrypted backup (C(.age)) is decrypted in the stream with O(identity), then checked (and restored) like
    any other; without O(identity) it is checked up to its age header: signature, size, sha256 and the header."
  - The outcome is recorded in the database's status file (C(last_verified), C(verify_result),
    C(verify_filename), C(verify_duration_s), C(verify_counts), C(verify_error)), under the database's lock.
version_added: 0.3.0
author: infrakt.backup developers (@infrakt)
extends_documentation_fragment:
  - infrakt.backup.db_connection
  - infrakt.backup.s3_target
  - infrakt.backup.s3_keys
options:
  filename:
    description: The backup to verify, a plain name as the backup list shows it; the newest one when left out.
    type: str
  restore:
    description: Also restore it into scratch space and count its tables and rows, or keys.
    type: bool
    default: false
  signing_key:
    description:
      - The installation's signing key (see M(infrakt.backup.db_backup)); the backup must carry a valid
        signature unless O(allow_unsigned). Without it no signature is checked.
    type: str
  identity:
    description:
      - The text of an age identity file (C(AGE-SECRET-KEY-1…) lines) that decrypts an encrypted backup, for
        this drill alone. It is written into a 0600 file in a 0700 directory on tmpfs, removed whatever happens
        (a signal or a dropped SSH session included). Keep it in Ansible Vault; scheduled drills never have it.
    type: str
  allow_unsigned:
    description: With O(signing_key), verify a backup without a valid signature too.
    type: bool
    default: false
  state_dir:
    description: Directory of the databases' lock and status files.
    type: path
    default: /var/lib/infrakt-backup
  lock_wait:
    description: Seconds to wait for a running backup of the same database before the outcome is recorded.
    type: int
    default: 300
  restart_command:
    description: Not used; accepted so that all database modules take the same options.
    type: str
  backup_dir:
    description: Root of the local backups, and of a Redis drill's scratch directory.
    type: path
    default: /opt/infrakt/backups
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details:
      - In check mode the backup is verified but not restored, and nothing is recorded.
notes:
  - A failed verification fails the task with one line; RV(verify_result) is then V(failed).
seealso:
  - module: infrakt.backup.db_backup
  - module: infrakt.backup.db_restore
"""

EXAMPLES = r"""
- name: Drill the newest backup of shop from S3
  infrakt.backup.backup_verify:
    engine: postgres
    db_name: shop
    user: backup
    password: "{{ shop_db_password }}"
    bucket: acme-backups
    prefix: prod
    credentials_dir: "{{ infrakt_s3_credentials_dir }}"
    restore: true
"""

RETURN = r"""
filename:
  description: The backup verified.
  returned: success
  type: str
  sample: shop_postgres_20261124T210509Z.dump.zst
source:
  description: Where it was read, V(s3) or V(local).
  returned: success
  type: str
  sample: s3
size:
  description: Its size in bytes.
  returned: success
  type: int
  sample: 48213
sha256:
  description: Its sha256, as recorded and as read.
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
signature:
  description:
    - V(verified), V(unsigned) or V(bad signature) (the last two only with O(allow_unsigned)); null without
      O(signing_key).
  returned: success
  type: str
  sample: verified
encrypted:
  description: Whether it is an age-encrypted backup.
  returned: success
  type: bool
  sample: false
decrypted:
  description: Whether it was decrypted (an encrypted backup given O(identity)).
  returned: success
  type: bool
  sample: false
format:
  description: What the format check found.
  returned: success
  type: str
  sample: ok
restored:
  description: Whether it was restored into scratch space.
  returned: success
  type: bool
  sample: true
counts:
  description: What the scratch restore held, C(tables) and C(rows), or C(keys); null without a restore.
  returned: success
  type: dict
  sample: {tables: 2, rows: 1250}
scratch:
  description: The name of the scratch space used (and removed).
  returned: success
  type: str
  sample: infrakt_drill_5c0ffee1
duration_s:
  description: Seconds the drill took.
  returned: always
  type: float
  sample: 4.2
verify_result:
  description: V(passed) or V(failed).
  returned: always
  type: str
  sample: passed
recorded:
  description: Whether the outcome was recorded in the status file (not when a backup held the lock past O(lock_wait)).
  returned: always
  type: bool
  sample: true
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, drill, run_state
from ansible_collections.infrakt.backup.plugins.module_utils.backup_run import (
    s3_target,
    s3_target_argument_spec,
)
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    EngineError,
    connection_argument_spec,
    connection_from_params,
)
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import AwsError
from ansible_collections.infrakt.backup.plugins.module_utils.termination import cleanup_on_termination


def run_drill(module, connection, seen):
    """Verify (and with restore, drill) the backup module.params name, the newest without a
    filename; return drill.drill's result. seen["filename"] is set once the backup is known."""
    params = module.params
    restore = params["restore"] and not module.check_mode
    arguments = (params["signing_key"], params["allow_unsigned"], restore, params["backup_dir"], params["identity"])
    # Terminated (a signal, a dropped SSH session) ends the block too: credentials it wrote go
    with cleanup_on_termination(), s3_target(module.run_command, params) as target:
        if target is None:
            source = drill.local_source(params["backup_dir"], connection.db_name, params["filename"])
        else:
            # Ansible masks it in everything the module returns (the aws CLI's errors are masked too)
            module.no_log_values.add(target.cli.credentials.get("aws_secret_access_key", ""))
            source = drill.s3_source(target, connection.db_name, params["filename"])
        seen["filename"] = source.filename
        return drill.drill(connection, source, *arguments)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(s3_target_argument_spec())
    argument_spec.update(
        filename=dict(type="str"),
        restore=dict(type="bool", default=False),
        signing_key=dict(type="str", no_log=True),
        identity=dict(type="str", no_log=True),
        allow_unsigned=dict(type="bool", default=False),
        state_dir=dict(type="path", default=run_state.DEFAULT_STATE_DIR),
        lock_wait=dict(type="int", default=300),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    started = time.monotonic()
    verified_at = backup_files.now_iso()
    result, error, seen = {}, None, {"filename": params["filename"]}
    try:
        connection = connection_from_params(params)
        result = run_drill(module, connection, seen)
    except AwsError as failure:
        error = failure.message
    except (EngineError, ValueError, OSError, run_state.Locked) as failure:
        error = str(failure)
    outcome = dict(result, filename=seen["filename"], verified_at=verified_at,
                   duration_s=round(time.monotonic() - started, 1), error=error)
    recorded = False
    if not module.check_mode:
        recorded = drill.record_drill(params["state_dir"], params["db_name"], outcome, params["lock_wait"])
    outcome.update(verify_result="failed" if error else "passed", recorded=recorded)
    if error:
        module.fail_json(msg="%s did not pass: %s" % (
            seen["filename"] or "the newest backup of " + params["db_name"], error), **outcome)
    module.exit_json(changed=False, **outcome)


if __name__ == "__main__":
    main()
