# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options db_backup and db_restore share (one argument spec in
module_utils/engines/common.py, one description here)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  engine:
    description: The database engine.
    type: str
    required: true
    choices: [mariadb, mongo, mysql, postgres, redis]
  db_name:
    description:
      - The name the database is registered under; used in backup file names and directories.
      - 1-63 letters, digits, C(_), C(.) or C(-), starting with a letter or digit.
    type: str
    required: true
  database:
    description: The database's name on its server; defaults to O(db_name). Ignored for Redis (the RDB holds all).
    type: str
  host:
    description: Host name or address of the server; the client's default (usually the local socket) when omitted.
    type: str
  port:
    description: TCP port of the server.
    type: int
  socket:
    description:
      - Local socket instead of O(host). PostgreSQL takes the socket directory, the others the socket file.
    type: path
  user:
    description: User to connect as.
    type: str
  password:
    description: Password of O(user). Never put on a command line.
    type: str
  container:
    description:
      - Name of a container on the server that runs the database; clients then run inside it
        through C(docker exec -i).
    type: str
  docker_bin:
    description: The docker CLI (a name looked up on PATH, or a path), used with O(container).
    type: str
    default: docker
  data_dir:
    description:
      - Redis only. The directory Redis keeps its RDB file in, an absolute path; a restore refuses,
        before touching anything, a server whose C(CONFIG GET dir) is another one.
      - Without it the restore writes only into the absolute C(dir) of the server's config file and
        refuses a server whose config file pins none.
    type: path
  allow_secrets_on_disk:
    description:
      - The password file a client reads (C(PGPASSFILE), the MySQL defaults file, the mongo config)
        goes to a 0700 directory on a tmpfs (C(/run/infrakt), C(/run/user/<uid>/infrakt) or
        C(/dev/shm/infrakt)); on a server with none of them the task fails with one line.
      - V(true) writes it to C(/dev/shm/infrakt) even when that is not a tmpfs.
    type: bool
    default: false
  compression:
    description:
      - How backups are compressed, recorded in the filename. V(zstd) (C(zstd -3), the C(zstd)
        program on the server's PATH) gives C(.dump.zst) (PostgreSQL C(pg_dump --compress=0)
        piped through zstd), C(.sql.zst), C(.rdb.zst), C(.archive.zst); V(gzip) gives C(.dump)
        (pg_dump's own compression), C(.sql.gz), C(.rdb.gz), C(.archive.gz) (C(mongodump --gzip));
        V(none) gives C(.dump) (C(--compress=0)), C(.sql), C(.rdb), C(.archive).
      - When omitted, the engine's default, V(gzip) and V(none) for Redis (C(.dump), C(.sql.gz),
        C(.rdb), C(.archive.gz)).
      - A restore ignores it and decodes what the backup's filename says.
    type: str
    choices: [gzip, none, zstd]
  timeout:
    description:
      - Seconds the dump or restore client (C(pg_dump), C(pg_restore), C(mysqldump), C(mysql), C(mongodump),
        C(mongorestore)) may run, and the longest wait for a Redis C(BGSAVE), for each C(redis-cli) call, for
        the Redis O(restart_command) and for a restored Redis to stop, start and load its data.
      - When the time is up the client and the processes it started are killed and the task fails
        saying so; a dump leaves no file behind.
      - This is also what bounds the waits for a lock that O(lock_timeout) cannot reach (see there).
    type: int
    default: 21600
  lock_timeout:
    description:
      - Seconds a statement may wait for a lock held by another session before the client gives up
        and the task fails, given as C(pg_dump --lock-wait-timeout) and as C(lock_wait_timeout) and
        C(innodb_lock_wait_timeout) of the MySQL/MariaDB restore session.
      - C(pg_restore) resets C(lock_timeout) from the archive, C(mysqldump)/C(mariadb-dump) cannot set
        session variables and the MongoDB tools have no such limit; for those O(timeout) bounds the wait.
    type: int
    default: 60
"""
