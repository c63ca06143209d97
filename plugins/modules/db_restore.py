#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: db_restore
short_description: Restore a database from a backup in the server's local backup directory
description:
  - Restores one PostgreSQL, MySQL, MariaDB, Redis or MongoDB database from
    C(<backup_dir>/<db_name>/<filename>), a backup made by M(infrakt.backup.db_backup) (or
    downloaded by M(infrakt.backup.s3_object)).
  - Before the database is touched, the file's sha256 is checked against its C(.sha256)
    sidecar; a missing sidecar or a mismatch fails the task and leaves the database as it was.
  - Only a file in the format the engine's backups are written in is restored (checked before
    the database is touched, in check mode too); anything else fails the task.
  - "PostgreSQL: C(pg_restore --clean --if-exists --no-owner --single-transaction); a failure rolls
    everything back. Only pg_dump custom-format archives are restored: plain SQL is refused,
    because C(psql) would run its C(\\!) shell escapes on the server.
    MySQL/MariaDB: the decompressed SQL through C(mysql)/C(mariadb) with C(--binary-mode), which
    keeps the client's own commands (C(\\!), C(system)) from running; not atomic.
    MongoDB: C(mongorestore --archive --drop) (C(--gzip) for a C(.archive.gz))."
  - The backup is decoded by its filename (C(.zst) through the server's C(zstd -dc), C(.gz)
    unless the engine's clients read it themselves); O(compression) is not used.
  - An encrypted backup (C(.age)) is decrypted in the stream by the server's C(age --decrypt)
    with O(identity), written for the restore alone into a 0600 file in a 0700 directory on
    tmpfs and removed whatever happens (a signal or a dropped SSH session included). Without
    O(identity), or with one that does not open the backup, the task fails before the database
    is touched.
  - "Redis (native only): the RDB is staged next to the live one, the server is stopped with
    C(SHUTDOWN NOSAVE), the file swapped in (owner and mode kept) and O(restart_command) starts it
    again. The previous RDB is kept aside in the same directory until the server answers with the
    restored one loaded; when it does not come up, the previous RDB is put back and the server
    started again with it, and the task fails saying so. A server with C(appendonly yes) is refused
    untouched, and so is a data dir (C(CONFIG GET dir)) that is not the C(dir) of the server's config
    file, is a symlink or is not owned by the user Redis runs as. Redis in a container is refused:
    stopping it stops the container."
  - Passwords never reach a command line (see M(infrakt.backup.db_backup)).
version_added: 0.1.0
author: infrakt.backup developers (@infrakt)
extends_documentation_fragment:
  - infrakt.backup.db_connection
options:
  restart_command:
    description:
      - Redis only. The command that starts Redis again after its RDB file was replaced, run without a
        shell (split like a shell would) in its own session. It must return once the server runs,
        e.g. C(systemctl start redis-server) or C(redis-server /etc/redis/redis.conf) with C(daemonize yes).
      - Required to restore Redis.
    type: str
  backup_dir:
    description: Root of the local backups; the backup is read from C(<backup_dir>/<db_name>/<filename>).
    type: path
    default: /opt/infrakt/backups
  filename:
    description:
      - The backup to restore, a plain file name as O(db_name)'s backup list shows it; paths,
        C(..) and other databases' backups are refused.
      - Any name of the backup filename grammar
        C(<db_name>_<engine>_<YYYYMMDDTHHMMSSZ>.<format>[.<compression>][.age]) is accepted;
        one this version cannot decode fails the task before the database is touched.
    type: str
    required: true
  identity:
    description:
      - The text of an age identity file (C(AGE-SECRET-KEY-1…) lines, C(#) comments allowed) that
        decrypts O(filename) when it ends in C(.age); not used for other backups.
      - Keep it in Ansible Vault; it is never logged.
    type: str
  signing_key:
    description:
      - The installation's signing key (see M(infrakt.backup.db_backup)). When given, the backup's
        sidecar must carry a valid signature of this database, filename, size and sha256 (checked
        before the database is touched or anything is decrypted), unless O(allow_unsigned).
        Without it no signature is checked.
    type: str
  allow_unsigned:
    description:
      - With O(signing_key), restore a backup that is unsigned (made before signed manifests or by
        hand) or whose signature does not match (it was signed with another key, or it is not the
        backup signed under that name). Stripping the signature line would make any such backup
        unsigned, so the option accepts both.
    type: bool
    default: false
notes:
  - Supports check mode; it verifies the checksum and restores nothing.
  - The target database must exist.
seealso:
  - module: infrakt.backup.db_backup
  - module: infrakt.backup.backup_info
"""

EXAMPLES = r"""
- name: Restore the shop database from one of its backups
  infrakt.backup.db_restore:
    engine: postgres
    db_name: shop
    host: 127.0.0.1
    user: shop
    password: "{{ shop_db_password }}"
    filename: shop_postgres_20261124T210509Z.dump

- name: Restore a MariaDB from an encrypted backup (the identity from Ansible Vault)
  infrakt.backup.db_restore:
    engine: mariadb
    db_name: blog
    socket: /run/mysqld/mysqld.sock
    filename: blog_mariadb_20261124T210509Z.sql.zst.age
    identity: "{{ blog_age_identity }}"

- name: Restore a native Redis
  infrakt.backup.db_restore:
    engine: redis
    db_name: cache
    port: 6379
    password: "{{ cache_password }}"
    restart_command: systemctl start redis-server
    filename: cache_redis_20261124T210509Z.rdb
"""

RETURN = r"""
path:
  description: Absolute path of the backup that was restored.
  returned: always
  type: str
  sample: /opt/infrakt/backups/shop/shop_postgres_20261124T210509Z.dump
filename:
  description: File name of the backup that was restored.
  returned: always
  type: str
  sample: shop_postgres_20261124T210509Z.dump
engine:
  description: The database engine.
  returned: always
  type: str
  sample: postgres
sha256:
  description: Hex sha256 of the backup, verified against its sidecar before the restore.
  returned: always
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
signature:
  description:
    - The signature check, V(verified), V(unsigned) or V(bad signature) (the last two accepted with
      O(allow_unsigned)); null without O(signing_key).
  returned: success
  type: str
  sample: verified
database_touched:
  description:
    - Whether the failed restore had started changing the database. V(false) for a refused
      filename, a checksum mismatch, or a Redis restore that failed before stopping the
      server. A PostgreSQL restore runs in one transaction, so even
      V(true) there means the database was rolled back.
  returned: failure
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    EngineError,
    connection_argument_spec,
    connection_from_params,
)
from ansible_collections.infrakt.backup.plugins.module_utils.pipeline import restore_backup


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        filename=dict(type="str", required=True),
        identity=dict(type="str", no_log=True),
        signing_key=dict(type="str", no_log=True),
        allow_unsigned=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        connection = connection_from_params(params)
        result = restore_backup(connection, params["backup_dir"], params["filename"], check_mode=module.check_mode,
                                identity=params["identity"], signing_key=params["signing_key"],
                                allow_unsigned=params["allow_unsigned"])
    except ValueError as error:
        # a bad filename, a wrong engine or a checksum mismatch: found before the database is touched
        module.fail_json(msg=str(error), database_touched=False)
    except EngineError as error:
        module.fail_json(msg=str(error), database_touched=error.database_touched)
    except OSError as error:
        module.fail_json(msg="restore of %s failed: %s" % (params["db_name"], error), database_touched=True)
    module.exit_json(changed=True, **result)


if __name__ == "__main__":
    main()
