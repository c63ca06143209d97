"""How a module on the server ends (plugins/module_utils/termination.py): the end of its SSH
session (its stdout without a reader) and SIGTERM end it through `finally`; the sshd process
of its connection is found among its ancestors. Real processes and pipes stand in for sshd."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import termination, tmpfs

# A "module": runs a child inside cleanup_on_termination, reports the child's pid, then waits;
# its finally kills the child and writes the marker file named in argv[1].
MODULE = textwrap.dedent("""
    import subprocess, sys, time
    from ansible_collections.infrakt.backup.plugins.module_utils.termination import cleanup_on_termination
    child = subprocess.Popen(["sleep", "60"])
    try:
        with cleanup_on_termination():
            sys.stdout.write("%d\\n" % child.pid)
            sys.stdout.flush()
            time.sleep(60)
    finally:
        child.kill()
        open(sys.argv[1], "w").write("cleaned up")
""")


def start_module(tmp_path):
    """Start MODULE with its stdout on a pipe to us; return (process, child pid, marker path)."""
    collections = os.path.join(os.path.dirname(__file__), *[".."] * 4, "collections")
    marker = tmp_path / "marker"
    process = subprocess.Popen([sys.executable, "-c", MODULE, str(marker)], stdout=subprocess.PIPE,
                               env=dict(os.environ, PYTHONPATH=os.path.abspath(collections)))
    return process, int(process.stdout.readline()), marker


def test_a_pipe_without_reader_is_a_closed_session(tmp_path):
    reader, writer = os.pipe()
    try:
        assert termination.session_closed(writer) is False
        os.close(reader)
        assert termination.session_closed(writer) is True
    finally:
        os.close(writer)
    with open(tmp_path / "file", "w") as regular, open(os.devnull, "w") as null:
        assert termination.session_closed(regular.fileno()) is False
        assert termination.session_closed(null.fileno()) is False


def test_the_end_of_the_session_ends_the_module_through_finally(tmp_path):
    process, child, marker = start_module(tmp_path)
    process.stdout.close()  # the SSH session is gone: nobody reads the module's output any more
    assert process.wait(10) == 128 + signal.SIGHUP
    assert marker.read_text() == "cleaned up"
    assert tmpfs.process_status(child) is None


def test_sigterm_ends_the_module_through_finally(tmp_path):
    process, child, marker = start_module(tmp_path)
    try:
        process.terminate()
        assert process.wait(10) == 128 + signal.SIGTERM
    finally:
        process.stdout.close()
    assert marker.read_text() == "cleaned up"


def test_handlers_are_restored_after_the_block():
    before = signal.getsignal(signal.SIGTERM)
    with termination.cleanup_on_termination():
        assert signal.getsignal(signal.SIGTERM) is not before
        with pytest.raises(termination.Terminated) as ended:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        assert ended.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def children_of(parent):
    """Return the pids of the live children of process parent."""
    return [int(pid) for pid in os.listdir("/proc")
            if pid.isdigit() and (tmpfs.process_status(int(pid)) or ("", 0, 0))[1] == parent]


def test_ssh_connection_is_the_nearest_ancestor_named_sshd(tmp_path):
    # a process named sshd (a copy of python) whose child stands for the module
    sshd = tmp_path / "sshd"
    shutil.copy(sys.executable, sshd)
    with subprocess.Popen([str(sshd), "-c", "import subprocess; subprocess.run(['sleep', '30'])"]) as connection:
        try:
            deadline = time.monotonic() + 10
            while not children_of(connection.pid):
                assert time.monotonic() < deadline, "the module stand-in did not start"
                time.sleep(0.05)
            (module,) = children_of(connection.pid)
            assert termination.ssh_connection(module) == tmpfs.process_identity(connection.pid)
        finally:
            connection.kill()
