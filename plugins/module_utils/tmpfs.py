# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private directories on tmpfs for short-lived secret files (S3 credentials, password files).

Secrets written here never reach a disk: the base directory is `/run/infrakt` when `/run` is
a tmpfs, else `/dev/shm/infrakt` (per-user variants for non-root users, so that nobody else
owns the directory we write into); a base directory that is not on a tmpfs is refused unless
the caller allows a disk (choose_base_dir). Each run gets its own `run-*` directory (0700) holding
0600 files created with O_EXCL; leftovers of crashed runs are swept by age. A run directory
in use is share-locked (flock on the directory) and touched when its user is done, so that a
sweep never pulls it from under a long transfer of another run. A run directory can be tied
to a process (the SSH connection of the run that wrote it): a watchdog removes it once that
process has ended or the directory has been idle too long, whichever comes first.
Pure Python with no imports from Ansible: the wrapper uses the same private-file writer, mount
lookup and lock for its own run directories on the controller. No imports from the collection
either: the watchdog is this file's source run by a fresh interpreter (start_watchdog).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import inspect
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress

RUN_DIR_PREFIX = "run-"
BASE_DIR_NAME = "infrakt"
OCTAL_ESCAPE_RE = re.compile(r"\\([0-7]{3})")
WATCHDOG_INTERVAL = 1.0  # seconds between two looks of a watchdog at its process and directory


def mounts(mounts_text):
    """Return (mount point, file system type) of each mount listed in mounts_text
    (/proc/mounts format), in mount order."""
    listed = []
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            # /proc/mounts writes spaces and the like as octal escapes (\040)
            listed.append((OCTAL_ESCAPE_RE.sub(lambda match: chr(int(match.group(1), 8)), fields[1]), fields[2]))
    return listed


def is_on_tmpfs(path, mounts_text):
    """Return True if the (absolute, symlink-free) path lies on a tmpfs according to mounts_text:
    the mount that holds it is the last one mounted on its longest matching mount point (a
    later mount hides an earlier one on the same point, as a disk bind-mounted over /dev/shm)."""
    holder = None
    for point, file_system in mounts(mounts_text):
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (holder is None or len(point) >= len(holder[0])):
            holder = (point, file_system)
    return holder is not None and holder[1] == "tmpfs"


def read_mounts():
    """Return the text of /proc/mounts, or "" where there is none."""
    try:
        with open("/proc/mounts") as mounts_file:
            return mounts_file.read()
    except OSError:
        return ""


def base_dir_candidates(euid):
    """Return the default base directories for private run directories of user euid, in the
    order they are tried: `/run/infrakt` and `/dev/shm/infrakt` (root), else
    `/run/user/<uid>/infrakt` and `/dev/shm/infrakt-<uid>` (private to the user)."""
    if euid == 0:
        return ["/run/" + BASE_DIR_NAME, "/dev/shm/" + BASE_DIR_NAME]
    return ["/run/user/%d/%s" % (euid, BASE_DIR_NAME), "/dev/shm/%s-%d" % (BASE_DIR_NAME, euid)]


def choose_base_dir(mounts_text, euid, base_dir=None, allow_disk=False):
    """Return the base directory for private run directories of user euid, given the mounts in
    mounts_text (/proc/mounts format): base_dir when it is on a tmpfs, else (none given) the
    first of base_dir_candidates(euid) whose parent is a tmpfs mount point (a runtime dir that is
    no mount of its own may not exist). Raise ValueError (one line) when there is none, unless
    allow_disk, which takes base_dir or else the last candidate on a disk."""
    if base_dir:
        candidates = [base_dir]
        usable = [base_dir] if is_on_tmpfs(os.path.realpath(base_dir), mounts_text) else []
    else:
        candidates = base_dir_candidates(euid)
        points = [point for point, _file_system in mounts(mounts_text)]
        parents = [(candidate, os.path.realpath(os.path.dirname(candidate))) for candidate in candidates]
        usable = [candidate for candidate, parent in parents
                  if parent in points and is_on_tmpfs(parent, mounts_text)]
    if usable:
        return usable[0]
    if allow_disk:
        return candidates[-1]
    raise ValueError(
        "%s %s not on a tmpfs; refusing to write secrets to a disk"
        " (allow_secrets_on_disk, playbook variable infrakt_allow_secrets_on_disk: true, allows it)"
        % (" and ".join(candidates), "is" if len(candidates) == 1 else "are")
    )


def default_base_dir(base_dir=None, allow_disk=False):
    """Return choose_base_dir() for this machine's mounts and the current user."""
    return choose_base_dir(read_mounts(), os.geteuid(), base_dir, allow_disk)


def ensure_private_base_dir(base_dir):
    """Create base_dir (0700) if needed and return it; raise ValueError when it is not an
    absolute path, is a symlink, or belongs to another user (someone else could read or swap
    what we put there)."""
    if not os.path.isabs(base_dir):
        raise ValueError("the private directory base %r must be an absolute path" % base_dir)
    try:
        os.mkdir(base_dir, 0o700)
    except OSError as error:
        if error.errno != errno.EEXIST:
            raise ValueError(
                "cannot create the private directory base %s: %s" % (base_dir, error.strerror)
            ) from None
    info = os.lstat(base_dir)
    if not stat.S_ISDIR(info.st_mode):
        raise ValueError("%s is not a directory (a symlink or a file is in the way)" % base_dir)
    if info.st_uid != os.geteuid():
        raise ValueError(
            "%s belongs to another user (uid %d); refusing to write secrets there" % (base_dir, info.st_uid)
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(base_dir, 0o700)
    return base_dir


def write_private_file(path, text):
    """Create the new file path readable by its owner only (0600) and write text into it;
    raise OSError if it already exists (O_EXCL) or is a symlink."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def create_private_dir(base_dir, files):
    """Create a new unique 0700 `run-*` directory under base_dir and write each
    {name: text} of files into it as a 0600 file. Return the directory path; on failure
    nothing is left behind."""
    ensure_private_base_dir(base_dir)
    path = tempfile.mkdtemp(prefix=RUN_DIR_PREFIX, dir=base_dir)
    try:
        for name, text in files.items():
            write_private_file(os.path.join(path, name), text)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def sweep_stale_dirs(base_dir, max_age, now=None):
    """Remove the `run-*` directories under base_dir last modified more than max_age seconds
    before now (default: the current time) and not in use; return the removed paths, sorted."""
    if not os.path.isdir(base_dir):
        return []
    now = time.time() if now is None else now
    removed = []
    for name in sorted(os.listdir(base_dir)):
        path = os.path.join(base_dir, name)
        if not name.startswith(RUN_DIR_PREFIX):
            continue
        try:
            info = os.lstat(path)
        except OSError:
            continue  # removed meanwhile by a concurrent run
        if stat.S_ISDIR(info.st_mode) and now - info.st_mtime > max_age and remove_unless_in_use(path):
            removed.append(path)
    return removed


def remove_unless_in_use(path):
    """Remove run directory path unless someone holds a lock on it; return True if removed."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return False  # in use by a running step (using_private_dir)
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        os.close(descriptor)
    return True


def remove_run_dir_unless_in_use(path):
    """Remove path if it is a run directory of infrakt.backup.s3_credentials that nobody else
    uses (a directory of another kind is the user's and stays): what a module ended by a signal
    or a dropped SSH session does with the credentials its run wrote."""
    if is_private_run_dir(path):
        remove_unless_in_use(path)


@contextmanager
def using_private_dir(path):
    """Hold a shared lock on run directory path for the duration of the block (sweeps leave
    it alone) and mark it as just used when the block ends."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        yield path
    finally:
        with suppress(OSError):  # removed meanwhile: nothing left to mark
            os.utime(path)
        os.close(descriptor)


def is_private_run_dir(path):
    """Return True if path has the shape create_private_dir() gives: an absolute
    `.../<infrakt base>/run-*` path without '..' parts."""
    if not isinstance(path, str) or not os.path.isabs(path) or ".." in path.split("/"):
        return False
    parent, name = os.path.split(os.path.normpath(path))
    return name.startswith(RUN_DIR_PREFIX) and os.path.basename(parent).startswith(BASE_DIR_NAME)


def remove_private_dir(path):
    """Remove the run directory path made by create_private_dir(); return True if it existed.
    Raise ValueError for a path of another shape (we only ever delete our own directories)."""
    if not is_private_run_dir(path):
        raise ValueError("%r is not a private run directory made by infrakt.backup" % (path,))
    if not os.path.lexists(path):
        return False
    shutil.rmtree(path)
    return True


def process_status(pid):
    """Return (name, parent pid, start time) of process pid from /proc/<pid>/stat (the start
    time in clock ticks after boot, field 22), or None when there is no such live process
    (a zombie counts as ended)."""
    try:
        with open("/proc/%d/stat" % pid) as stat_file:
            text = stat_file.read()
    except OSError:
        return None
    # the name is in parentheses and may itself hold spaces and parentheses
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None
    return name, int(fields[1]), int(fields[19])


def process_identity(pid):
    """Return (pid, start time) of live process pid, which names that one process whatever
    pid reuse does later; None when it does not exist."""
    status = process_status(pid)
    return None if status is None else (pid, status[2])


def process_alive(identity):
    """Return True if the process of identity (process_identity()) is still running."""
    status = process_status(identity[0])
    return status is not None and status[2] == identity[1]


def watch_run_dir(path, owner, max_age, interval=WATCHDOG_INTERVAL):
    """Remove run directory path once process owner (a process_identity(); None: none) has
    ended or the directory has been idle for more than max_age seconds, whichever comes first,
    and nobody uses it (using_private_dir); return when path is gone, whoever removed it."""
    while True:
        try:
            idle = time.time() - os.lstat(path).st_mtime
        except OSError:
            return  # removed: by its run's cleanup, a sweep, or the operation that was ended
        owner_gone = owner is not None and not process_alive(owner)
        if (owner_gone or idle > max_age) and remove_unless_in_use(path):
            return
        time.sleep(interval)


def start_watchdog(path, owner, max_age):
    """Start watch_run_dir(path, owner, max_age) in a detached process and return its pid: this
    interpreter reading this file's source on its stdin (a fresh process: nothing of the
    caller's memory, secrets included, and only the path and numbers in its argv), in a
    session of its own, without the caller's standard streams (an SSH session it held open
    would never end)."""
    program = inspect.getsource(sys.modules[__name__]) + (
        "\nwatch_run_dir(sys.argv[1], (int(sys.argv[2]), int(sys.argv[3])) if sys.argv[2] else None, "
        "int(sys.argv[4]))\n"
    )
    argv = [sys.executable, "-", path] + (["%d" % part for part in owner] if owner else ["", ""]) + ["%d" % max_age]
    watchdog = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
        close_fds=True, start_new_session=True,
    )
    watchdog.stdin.write(program.encode("utf-8"))
    watchdog.stdin.close()
    return watchdog.pid
