# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database engines, one file each, and the two operations the modules run with them.

Every engine file exposes the same three functions (adding an engine is adding a file and a
line to ENGINES):
- `dump(connection, sink)`: dump the database, passing the backup file's bytes to sink(chunk);
- `check_backup(path)`: raise ValueError unless the file at path is in the format dump writes
  (run before anything touches the database, in check mode too: restore restores only what
  the engine itself produced);
- `restore(connection, path)`: load the backup file at path into the database.
Both raise common.EngineError (one line, no secrets) when a client fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from datetime import datetime, timezone

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, names
from ansible_collections.infrakt.backup.plugins.module_utils.engines import mongo, mysql, postgres, redis
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import cleanup_on_termination

# engine name (names.ENGINE_EXTENSIONS) -> the file that handles it
ENGINES = {
    "postgres": postgres,
    "mysql": mysql,
    "mariadb": mysql,
    "redis": redis,
    "mongo": mongo,
}


def create_backup(connection, backup_dir, check_mode=False, now=None):
    """Dump the database of connection into `<backup_dir>/<db_name>/<filename>` (names.
    backup_filename at now, default the current time) through PartialBackup: sha256 computed
    while writing, renamed and given its sidecar only when the dump succeeded.

    Return {path, filename, engine, db_name, created, size, sha256}; in check mode nothing is
    dumped and the result says what would be (size and sha256 None). Raise EngineError or
    ValueError; a failed dump leaves no file behind."""
    when = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    filename = names.backup_filename(connection.db_name, connection.engine, when)
    directory = backup_files.database_dir(backup_dir, connection.db_name)
    path = os.path.join(directory, filename)
    result = dict(
        path=path,
        filename=filename,
        engine=connection.engine,
        db_name=connection.db_name,
        created=backup_files.iso_utc(when),
        size=None,
        sha256=None,
    )
    if check_mode:
        result["msg"] = "would dump %s database %s to %s" % (connection.engine, connection.database, path)
        return result
    backup_files.ensure_private_dirs(directory)
    backup_files.sweep_stale_partials(directory)
    with cleanup_on_termination(), backup_files.PartialBackup(path) as backup:
        ENGINES[connection.engine].dump(connection, backup.write)
        result["size"], result["sha256"] = backup.commit()
    return result


def restore_backup(connection, backup_dir, filename, check_mode=False):
    """Restore the database of connection from backup filename (a plain name of this database's
    backups) in `<backup_dir>/<db_name>/`, after checking its sha256 against the sidecar: a
    mismatch, or a file that is not in the engine's own format, raises ValueError before the
    database is touched.

    Return {path, filename, engine, sha256}; in check mode only the checksum is verified."""
    names.validate_backup_filename(connection.db_name, filename)
    backup_engine = names.backup_filename_re(connection.db_name).match(filename).group("engine")
    if ENGINES[backup_engine] is not ENGINES[connection.engine]:
        raise ValueError(
            "%s is a %s backup; it cannot be restored into a %s database" % (filename, backup_engine, connection.engine)
        )
    path = os.path.join(backup_files.database_dir(backup_dir, connection.db_name), filename)
    sha256 = backup_files.verify_backup(path)
    ENGINES[connection.engine].check_backup(path)
    result = dict(path=path, filename=filename, engine=connection.engine, sha256=sha256)
    if check_mode:
        result["msg"] = "checksum verified; would restore %s database %s from %s" % (
            connection.engine,
            connection.database,
            path,
        )
        return result
    with cleanup_on_termination():
        ENGINES[connection.engine].restore(connection, path)
    return result

