# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a module on the server ends when its controller goes away: through `finally` clauses
(client processes killed, password files and partial files removed) rather than running on
unseen.

sshd sends no signal to a session without a terminal (pipelining) when the session or the
whole connection ends: the module only finds its standard output without a reader. So
cleanup_on_termination watches that pipe as well as SIGTERM and SIGHUP. A module's process
dies with its session; what must outlive it (the temporary S3 credentials) is tied to the SSH
connection instead, the sshd process found by ssh_connection().

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import select
import signal
import threading

from ansible_collections.infrakt.backup.plugins.module_utils import tmpfs

# Seconds between two looks at whether the session still has a reader (the check is one poll()).
SESSION_CHECK_INTERVAL = 0.5
# Names of the sshd process that serves one SSH connection (OpenSSH 9.8 split it into sshd-session).
SSHD_NAMES = ("sshd", "sshd-session")


class Terminated(SystemExit):
    """The module was ended by a signal or by the end of its SSH session (exit code 128 + signal)."""


def _raise_terminated(signum, frame):
    """Signal handler: end the module through Terminated."""
    raise Terminated(128 + signum)


def session_closed(descriptor=1):
    """Return True if nobody reads file descriptor descriptor any more (the SSH session that
    runs the module, or its controller, has gone): a pipe without reader reports POLLERR, a
    socket or terminal whose peer closed POLLHUP. A file or /dev/null never does."""
    poller = select.poll()
    poller.register(descriptor, 0)  # no events asked for: only errors and hang-ups are reported
    return any(events & (select.POLLERR | select.POLLHUP) for _descriptor, events in poller.poll(0))


def _watch_session(stopping):
    """Until the Event stopping is set, look at the module's standard output; when the session
    is gone, send this process SIGHUP (Python runs the handler in the main thread)."""
    while not stopping.wait(SESSION_CHECK_INTERVAL):
        if session_closed():
            os.kill(os.getpid(), signal.SIGHUP)
            return


@contextlib.contextmanager
def cleanup_on_termination():
    """Turn SIGTERM, SIGHUP and the end of the module's SSH session (its standard output
    without a reader) into Terminated (a SystemExit) inside the block, so that `finally`
    clauses (password files, partial dumps, child processes) run when Ansible, an admin or a
    dropped SSH session ends the module."""
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, _raise_terminated)
    stopping = threading.Event()
    watcher = threading.Thread(target=_watch_session, args=(stopping,), daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stopping.set()
        watcher.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def ssh_connection(start=None):
    """Return the tmpfs.process_identity() of the sshd process serving the SSH connection this
    module runs under: process start (default: this process's parent) or its nearest ancestor
    named like sshd; None when there is none (a local or container connection)."""
    pid = os.getppid() if start is None else start
    while pid > 1:
        status = tmpfs.process_status(pid)
        if status is None:
            return None
        name, parent, _started = status
        if name in SSHD_NAMES:
            return tmpfs.process_identity(pid)
        pid = parent
    return None
