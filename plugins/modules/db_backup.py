#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: db_backup
short_description: Dump a database into the server's local backup directory
description:
  - Dumps one PostgreSQL, MySQL, MariaDB, Redis or MongoDB database, running natively on the
    server or in a container on it, to C(<backup_dir>/<db_name>/<filename>) with the filename
    C(<db_name>_<engine>_<YYYYMMDDTHHMMSSZ>.<format>[.<compression>]) as O(compression) says
    (zstd C(.dump.zst), C(.sql.zst), C(.rdb.zst), C(.archive.zst)); without it C(.dump) for
    PostgreSQL, C(.sql.gz) for MySQL/MariaDB, C(.rdb) for Redis and C(.archive.gz) for MongoDB.
  - The dump is written as C(<filename>.partial) while its sha256 is computed from the same
    stream, renamed when every dump process exited 0, and a C(<filename>.sha256) sidecar in
    C(sha256sum) format is written next to it. A failed dump leaves no file behind.
  - "PostgreSQL: C(pg_dump --format=custom) (C(--compress=0) unless gzip). MySQL/MariaDB:
    C(mysqldump)/C(mariadb-dump) C(--single-transaction --routines --triggers). Redis: C(BGSAVE),
    wait until C(LASTSAVE) moves, copy C(dir)/C(dbfilename). MongoDB: C(mongodump --archive)
    (C(--gzip) for gzip). The rest of the compression is done while the dump streams (zstd by
    the server's C(zstd) program)."
  - Passwords never reach a command line. Natively they go through a 0600 file on tmpfs
    (C(PGPASSFILE), C(--defaults-extra-file), mongo C(--config)) removed after use, or the
    client's environment (C(REDISCLI_AUTH)). In a container they go through
    C(docker exec -e NAME), which forwards NAME from the docker CLI's own environment.
  - Backup directories are created 0700, backup files are 0600.
  - With O(bucket), the backup goes from the server to C(<prefix>/<db_name>/<filename>) in the
    same pass as it is dumped (one aws process streams it while it is written locally), and its
    sidecar follows once the dump succeeded and the object is complete. A dump that fails
    leaves no object (a multipart upload is aborted). A failed upload fails the task and keeps
    the local backup (RV(path) and the other fields are returned).
  - With O(local_copy=false) (and O(bucket)) nothing is written to the server's disk; the
    backup only goes to S3, and a failed upload means no backup.
  - With O(recipients), the backup is encrypted by the server's C(age) program to those public
    keys in the same stream, after the compression and before any byte reaches the disk or S3;
    its filename ends in C(.age) (C(shop_postgres_20261124T210509Z.dump.zst.age)). Only the public
    keys are on the server; M(infrakt.backup.db_restore) needs an identity to restore it.
  - Runs under the database's lock (C(<state_dir>/<db_name>.lock)), the one scheduled runs of
    the infrakt.backup.backup_schedule role take, and records the outcome in the database's status
    file C(<state_dir>/<db_name>.json), which scheduled runs write too.
version_added: 0.1.0
author: infrakt.backup developers (@infrakt)
extends_documentation_fragment:
  - infrakt.backup.db_connection
  - infrakt.backup.s3_target
  - infrakt.backup.s3_keys
options:
  state_dir:
    description: Directory of the databases' lock and status files.
    type: path
    default: /var/lib/infrakt-backup
  local_copy:
    description: Keep the backup on the server too. V(false) needs O(bucket).
    type: bool
    default: true
  lock_wait:
    description:
      - Seconds to wait for another backup of the same database (a scheduled one) to end before
        failing.
    type: int
    default: 300
  restart_command:
    description:
      - Redis only, for restores; accepted here so both modules take the same options.
    type: str
  backup_dir:
    description: Root of the local backups; backups of O(db_name) go to C(<backup_dir>/<db_name>/).
    type: path
    default: /opt/infrakt/backups
  recipients:
    description:
      - age X25519 recipients (C(age1…), as C(age-keygen -y) prints them) the backup is encrypted
        to; any one of their identities decrypts it. Empty or unset, the backup is not encrypted.
    type: list
    elements: str
    default: []
  signing_key:
    description:
      - The installation's signing key (64 hex characters; the wrapper keeps it in its config store).
        When given, the local and the S3 sidecar carry, as a comment line that C(sha256sum -c) skips,
        an HMAC-SHA256 under it over the database name, filename, size, sha256 and whether the backup
        is encrypted, which M(infrakt.backup.db_restore) checks. Without it the backup is unsigned.
    type: str
notes:
  - Supports check mode; it reports the path a backup would get and dumps nothing.
  - A Redis backup reads the RDB file, so Redis must run on the server itself or in a container on it;
    natively this is checked (the process named by C(INFO server) must work in the C(dir) Redis reports).
  - MySQL/MariaDB clients are chosen per engine with a fallback (mariadb-dump then mysqldump for
    C(mariadb), the other way round for C(mysql)).
seealso:
  - module: infrakt.backup.db_restore
  - module: infrakt.backup.backup_info
"""

EXAMPLES = r"""
- name: Dump the shop database
  infrakt.backup.db_backup:
    engine: postgres
    db_name: shop
    host: 127.0.0.1
    user: shop
    password: "{{ shop_db_password }}"
  register: backup

- name: Dump a MariaDB running in a container, zstd-compressed (blog_mariadb_<time>.sql.zst)
  infrakt.backup.db_backup:
    engine: mariadb
    db_name: blog
    database: wordpress
    container: blog-db
    user: root
    password: "{{ blog_db_password }}"
    compression: zstd

- name: Dump the shop database encrypted to an age recipient (shop_postgres_<time>.dump.zst.age)
  infrakt.backup.db_backup:
    engine: postgres
    db_name: shop
    user: shop
    password: "{{ shop_db_password }}"
    compression: zstd
    recipients:
      - age1ttzkade03hcwjvnuphrkrxch845p2mhspefzajqely4qa26qlqsqs0z4ju
"""

RETURN = r"""
path:
  description: Absolute path of the backup on the server.
  returned: always
  type: str
  sample: /opt/infrakt/backups/shop/shop_postgres_20261124T210509Z.dump
filename:
  description: File name of the backup (ending in C(.age) when encrypted).
  returned: always
  type: str
  sample: shop_postgres_20261124T210509Z.dump
size:
  description: Size of the backup in bytes (null in check mode).
  returned: always
  type: int
  sample: 48213
sha256:
  description: Hex sha256 of the backup, also in the C(.sha256) sidecar (null in check mode).
  returned: always
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

engine:
  description: The database engine.
  returned: always
  type: str
  sample: postgres
db_name:
  description: The registered database name.
  returned: always
  type: str
  sample: shop
created:
  description: When the backup was taken, ISO-8601 UTC (the time in the filename).
  returned: always
  type: str
  sample: "2026-11-24T21:05:09Z"
location:
  description: Where the backup is now, V(local), V(both) (uploaded with O(bucket)) or V(s3) (O(local_copy=false)).
  returned: success, not in check mode
  type: str
  sample: both
duration_s:
  description: Seconds the dump (and the upload) took.
  returned: success, not in check mode
  type: float
  sample: 3.2
upload:
  description: The upload's result (C(key), C(url), C(size), C(sha256), C(changed)) with O(bucket).
  returned: success with O(bucket), not in check mode
  type: dict
  sample: {key: prod/shop/shop_postgres_20261124T210509Z.dump, changed: true}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infrakt.backup.plugins.module_utils import run_state, tmpfs
from ansible_collections.infrakt.backup.plugins.module_utils.backup_run import (
    backup_and_record,
    s3_target,
    s3_target_argument_spec,
)
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    EngineError,
    connection_argument_spec,
    connection_from_params,
)
from ansible_collections.infrakt.backup.plugins.module_utils.pipeline import UploadFailed, create_backup
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import AwsError
from ansible_collections.infrakt.backup.plugins.module_utils.termination import Terminated, cleanup_on_termination


def back_up(module, connection):
    """Back up under the database's lock, uploading when module.params name a bucket; return
    backup_and_record's result."""
    params = module.params
    try:
        # Terminated (a signal, a dropped SSH session) also ends the block: its credentials go
        with cleanup_on_termination(), s3_target(module.run_command, params) as s3, \
                run_state.database_lock(params["state_dir"], connection.db_name, wait=params["lock_wait"]):
            if s3 is None:
                if not params["local_copy"]:
                    raise ValueError("local_copy=false needs a bucket: a backup must be kept somewhere")
                return backup_and_record(connection, params["backup_dir"], params["state_dir"], "manual",
                                         recipients=params["recipients"], signing_key=params["signing_key"])
            # Ansible masks it in everything the module returns (the aws CLI's errors are masked too)
            module.no_log_values.add(s3.cli.credentials.get("aws_secret_access_key", ""))
            return backup_and_record(connection, params["backup_dir"], params["state_dir"], "manual", s3=s3,
                                     keep_local=params["local_copy"], recipients=params["recipients"],
                                     signing_key=params["signing_key"])
    except Terminated:
        # ended by a signal or a dropped SSH session: the run that wrote the credentials
        # cannot go on, so they go now rather than later (those of access_key are gone already)
        if params["credentials_dir"]:
            tmpfs.remove_run_dir_unless_in_use(params["credentials_dir"])
        raise


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(s3_target_argument_spec())
    argument_spec.update(
        state_dir=dict(type="path", default=run_state.DEFAULT_STATE_DIR),
        lock_wait=dict(type="int", default=300),
        local_copy=dict(type="bool", default=True),
        recipients=dict(type="list", elements="str", default=[]),
        signing_key=dict(type="str", no_log=True),
    )
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True
    )
    try:
        connection = connection_from_params(module.params)
        if module.check_mode:
            module.exit_json(changed=True, **create_backup(connection, module.params["backup_dir"], check_mode=True,
                                                           keep_local=module.params["local_copy"],
                                                           recipients=module.params["recipients"]))
        result = back_up(module, connection)
    except UploadFailed as failure:
        reason = getattr(failure.error, "message", None) or str(failure.error)
        code = getattr(failure.error, "code", "UploadFailed")
        if failure.backup is None:
            module.fail_json(msg="S3 upload of the backup of %s failed: %s; no backup was made (no local copy is kept)"
                             % (module.params["db_name"], reason), upload_error=reason, error_code=code)
        module.fail_json(
            msg="S3 upload of %s failed: %s; the local backup is intact at %s"
            % (failure.backup["filename"], reason, failure.backup["path"]),
            upload_error=reason, error_code=code, location="local", **failure.backup
        )
    except AwsError as error:
        module.fail_json(msg="backup of %s not started: %s" % (module.params["db_name"], error.message),
                         error_code=error.code)
    except (EngineError, ValueError, run_state.Locked) as error:
        module.fail_json(msg=str(error))
    except OSError as error:
        module.fail_json(msg="backup of %s failed: %s" % (module.params["db_name"], error))
    module.exit_json(changed=True, **result)


if __name__ == "__main__":
    main()
