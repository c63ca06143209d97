# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database engines, one file each (adding an engine is adding a file and a line to ENGINES).

Every engine file exposes the same few names (borgmatic's hooks/data_source is the model):
- `CLIENT_COMPRESSION`: the filename compression its clients write and read themselves
  (mongodump `--gzip`: "gz"), which the backup pipeline leaves alone; None when the pipeline
  applies whatever compression its filename says (names.backup_extension). The commands
  follow `connection.compression` (pg_dump `--compress=0`, mongodump `--gzip`);
- `check_backup(first_bytes, filename)`: raise ValueError unless first_bytes, the start of
  backup filename as its clients get it (decoded by the pipeline), are in the format the engine
  writes (run before anything touches the database, in check mode too: restore restores only
  what the engine itself produced);
and, when its backup is what one client writes to stdout (PostgreSQL, MySQL/MariaDB, MongoDB),
the pure pieces that common.run_dump / common.run_restore put together:
- `password_files(connection)`: {name: text} of the 0600 files its clients read the password
  from (written on tmpfs for the run);
- `dump_client(connection)`, `restore_client(connection)`: the program to run (a name or path);
- `dump_command(connection, client, password_paths)`, `restore_command(connection, client,
  password_paths)`: the Command (argv, env) to run, password_paths being {name: path} of the
  password files; no password in any argv.
An engine whose backup is not a client's stdout (Redis: snapshot and copy; stop, swap, start)
exposes `dump(connection, sink)` and `restore(connection, chunks)` itself instead.
For restore drills (drill.py), an engine whose backups load into a database of the same server
(PostgreSQL, MySQL/MariaDB) has `create_scratch(connection, name)`, `scratch_counts(connection,
name)` -> {tables, rows} and `drop_scratch(connection, name)`; Redis has `drill(connection,
chunks, scratch)` (a redis-server of its own).
Both raise common.EngineError (one line, no secrets) when a client fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from ansible_collections.infrakt.backup.plugins.module_utils.engines import common, mongo, mysql, postgres, redis

# engine name (names.ENGINE_EXTENSIONS) -> the file that handles it
ENGINES = {
    "postgres": postgres,
    "mysql": mysql,
    "mariadb": mysql,
    "redis": redis,
    "mongo": mongo,
}


def dump(connection, sink):
    """Dump the database of connection, passing the bytes its engine writes to sink(chunk)."""
    engine = ENGINES[connection.engine]
    if hasattr(engine, "dump"):
        engine.dump(connection, sink)
    else:
        common.run_dump(engine, connection, sink)


Scratch = collections.namedtuple("Scratch", "name parent")
Scratch.__doc__ = """Where a restore drill loads a backup: name (`infrakt_drill_<hex>`, a database name or
a directory prefix) and parent, the directory under which an engine that needs files (Redis) makes
its 0700 directory."""


def drill(connection, chunks, scratch):
    """Restore the backup whose byte chunks (decoded, as the engine wrote them) are given into
    scratch space (a Scratch) beside the database of connection, never into it; count what
    arrived and remove the scratch space whatever happened. Return the counts ({tables, rows},
    {keys} or {documents})."""
    engine = ENGINES[connection.engine]
    if hasattr(engine, "drill"):
        return engine.drill(connection, chunks, scratch)
    engine.create_scratch(connection, scratch.name)
    try:
        restore(connection._replace(database=scratch.name), chunks)
        return engine.scratch_counts(connection, scratch.name)
    finally:
        engine.drop_scratch(connection, scratch.name)


def restore(connection, chunks):
    """Load the backup whose byte chunks (an iterable, as the engine wrote them) are given into
    the database of connection."""
    engine = ENGINES[connection.engine]
    if hasattr(engine, "restore"):
        engine.restore(connection, chunks)
    else:
        common.run_restore(engine, connection, chunks)
