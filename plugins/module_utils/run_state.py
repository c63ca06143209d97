# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What scheduled and manual backups of one database share on the server, so that both paths
tell one truth: a lock (`<state_dir>/<db_name>.lock`, flock) that keeps two backups of the
same database from running at once, and a JSON status file (`<state_dir>/<db_name>.json`,
written atomically) that records the last attempt, the last success and the last error.

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import json
import os
import time

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, names

DEFAULT_STATE_DIR = "/var/lib/infrakt-backup"
# where the infrakt.backup.backup_schedule role puts a database's schedule config: a
# database has a schedule on a server when <DEFAULT_CONFIG_DIR>/<db_name>.json is there
DEFAULT_CONFIG_DIR = "/etc/infrakt/schedules"
LOCK_POLL_INTERVAL = 0.2
# The fields of a status file (docs/design.md, "Status files"); a reader takes these and
# ignores what a later version may add.
STATUS_FIELDS = (
    "db_name", "trigger", "result", "last_attempt", "last_success", "last_skipped", "filename", "size",
    "sha256", "location", "duration_s", "error",
    # the last restore drill (drill.py): when, passed/failed, which backup, how long, what it held
    "last_verified", "verify_result", "verify_filename", "verify_duration_s", "verify_counts", "verify_error",
)


class Locked(Exception):
    """Another backup of the same database holds its lock."""


def _state_file(state_dir, db_name, suffix):
    """Return `<state_dir>/<db_name><suffix>` after checking both; raise ValueError."""
    names.validate_name(db_name, "db_name")
    names.validate_absolute_path(state_dir, "state_dir")
    return os.path.join(os.path.normpath(state_dir), db_name + suffix)


def status_path(state_dir, db_name):
    """Return the path of the status file of db_name."""
    return _state_file(state_dir, db_name, ".json")


def lock_path(state_dir, db_name):
    """Return the path of the lock file of db_name."""
    return _state_file(state_dir, db_name, ".lock")


@contextlib.contextmanager
def database_lock(state_dir, db_name, wait=0):
    """Hold the exclusive lock of db_name for the block; wait up to `wait` seconds for a run
    that holds it, then raise Locked with one sentence. The kernel releases the lock when the
    holder dies, so a killed run never blocks the next one."""
    path = lock_path(state_dir, db_name)
    backup_files.ensure_private_dirs(os.path.dirname(path))
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise Locked(
                    "another backup of %s is still running (it holds %s)%s"
                    % (db_name, path, "; gave up after %d s" % wait if wait else "")
                )
            time.sleep(LOCK_POLL_INTERVAL)
        yield path
    finally:
        os.close(descriptor)  # releases the lock


def read_status(state_dir, db_name):
    """Return the status of db_name as a dict of STATUS_FIELDS (missing ones None), or None when
    no backup of it ever recorded one; a file that is not a JSON object raises ValueError."""
    path = status_path(state_dir, db_name)
    try:
        with open(path) as handle:
            recorded = json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        raise ValueError("the status file %s is not valid JSON" % path) from None
    if not isinstance(recorded, dict):
        raise ValueError("the status file %s does not hold a JSON object" % path)
    return dict((name, recorded.get(name)) for name in STATUS_FIELDS)


def record_status(state_dir, db_name, **changes):
    """Update the status file of db_name with changes (names of STATUS_FIELDS), atomically;
    return the new status. A status file that cannot be read is replaced."""
    unknown = set(changes) - set(STATUS_FIELDS)
    if unknown:
        raise ValueError("unknown status fields: %s" % ", ".join(sorted(unknown)))
    try:
        status = read_status(state_dir, db_name) or {}
    except ValueError:
        status = {}
    status = dict((name, status.get(name)) for name in STATUS_FIELDS)
    status.update(changes, db_name=db_name)
    path = status_path(state_dir, db_name)
    backup_files.ensure_private_dirs(os.path.dirname(path))
    backup_files.write_private_atomically(path, json.dumps(status, indent=2, sort_keys=True) + "\n")
    return status
