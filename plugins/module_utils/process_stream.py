# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A program of the server as a stage of the backup pipeline (pipeline.py), the same way for
every such stage (zstd.py compresses, age.py encrypts): while a dump streams, the bytes written
go to the program's stdin and its output is passed on from a thread of its own
(ProcessWriter); for a restore, the program reads a source (the backup file, or the output of
the stage before) and its output is read back in chunks (process_chunks). Output is read in
backup_files.CHUNK_SIZE pieces, so memory stays flat; each process runs in a session of its own
and is killed (with whatever it started) when the pipeline stops early, a signal or a dropped
SSH session included (termination.py).

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import shutil
import subprocess
import threading

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    EngineError,
    TailReader,
    failure_message,
    kill_group,
)

# seconds to wait for the thread passing a program's output on after the program was killed
# (its sink may be stuck on an upload that the pipeline aborts next)
STOP_WAIT = 5


def program_path(program, package):
    """Return the absolute path of program on PATH; raise EngineError in one line naming the
    package to install when there is none."""
    path = shutil.which(program)
    if path is None:
        raise EngineError(
            "%s was not found on PATH; install the %s package (infrakt-backup server provision does)"
            % (program, package)
        )
    return path


def start(argv, stdin):
    """Start argv with stdin (subprocess.PIPE or a file), stdout and stderr piped, in a session
    of its own; return (the Popen, a started TailReader of its stderr)."""
    try:
        process = subprocess.Popen(
            argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except OSError as error:
        raise EngineError("cannot run %s: %s" % (argv[0], error.strerror)) from None
    stderr = TailReader(process.stderr)
    stderr.start()
    return process, stderr


def stop(process, stderr):
    """Kill process (and its group) unless it ended; wait for it and its stderr reader; close its pipes."""
    if process.poll() is None:
        kill_group(process)
    process.wait()
    stderr.join()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):  # stdin of a program that died: nothing to flush to
                pipe.close()


class ProcessWriter(object):
    """Runs argv on the bytes written to it and passes its output to sink(chunk) from a thread
    of its own: write, then close at the end, or abort when the dump failed (the program is
    killed). Whatever fails raises in the caller's thread: what sink raised (the same
    exception), or failure(returncode, stderr) -> EngineError for the program."""

    def __init__(self, argv, sink, failure):
        self.sink = sink
        self._failure = failure
        self._process, self._stderr = start(argv, subprocess.PIPE)
        self._error = None  # what sink raised in the thread
        self._thread = threading.Thread(target=self._pass_on, daemon=True)
        self._thread.start()

    def _pass_on(self):
        """The thread: the program's output to sink, chunk by chunk. When sink raises, the error
        is kept and the program killed, so that the next write raises it."""
        try:
            for chunk in iter(lambda: self._process.stdout.read(backup_files.CHUNK_SIZE), b""):
                self.sink(chunk)
        except BaseException as error:  # anything: the caller's thread raises it
            self._error = error
            kill_group(self._process)

    def write(self, chunk):
        """Pass chunk (bytes) to the program."""
        if self._error is not None:
            raise self._error
        try:
            self._process.stdin.write(chunk)
        except BrokenPipeError:  # the program died, or was killed because sink failed
            self._thread.join()
            self._raise_failure()

    def close(self):
        """End the program's input: the rest of its output goes to sink, and its exit status is checked."""
        with contextlib.suppress(BrokenPipeError):  # it died: its exit status says why
            self._process.stdin.close()
        self._thread.join()
        self._process.wait()
        self._raise_failure()
        stop(self._process, self._stderr)

    def _raise_failure(self):
        """Raise what sink raised, or the program's EngineError when it exited non-zero."""
        if self._error is not None:
            stop(self._process, self._stderr)
            raise self._error
        returncode = self._process.wait()
        if returncode != 0:
            stop(self._process, self._stderr)
            raise self._failure(returncode, self._stderr)

    def abort(self):
        """The pipeline stops early: kill the program; what it made is dropped."""
        if self._process.poll() is None:
            kill_group(self._process)
        self._thread.join(STOP_WAIT)
        stop(self._process, self._stderr)


def process_chunks(argv, source, failure):
    """Yield the output of argv run on source (a binary file object with a descriptor: the
    backup file, or the stdout of a stage before), at most CHUNK_SIZE at a time; raise
    failure(returncode, stderr) -> EngineError when it exits non-zero. Closing the generator
    early kills the program."""
    process, stderr = start(argv, source)
    try:
        yield from iter(lambda: process.stdout.read(backup_files.CHUNK_SIZE), b"")
        returncode = process.wait()
    finally:
        stop(process, stderr)
    if returncode != 0:
        raise failure(returncode, stderr)


def stream_chunks(argv, chunks, failure):
    """Yield the output of argv run on the byte chunks given (an iterable: a backup read from S3
    as it arrives, or the output of a stage before), fed to its stdin from a thread of its own,
    at most CHUNK_SIZE at a time. Raise what iterating chunks raised (the program is killed
    then), or failure(returncode, stderr) -> EngineError when it exits non-zero. Closing the
    generator early kills the program."""
    process, stderr = start(argv, subprocess.PIPE)
    failures = []

    def feed():
        try:
            for chunk in chunks:
                process.stdin.write(chunk)
        except BrokenPipeError:
            pass  # the program died or was killed: its exit status says why
        except BaseException as error:  # the source failed: the caller's thread raises it
            failures.append(error)
            kill_group(process)
        finally:
            with contextlib.suppress(OSError):
                process.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        yield from iter(lambda: process.stdout.read(backup_files.CHUNK_SIZE), b"")
        returncode = process.wait()
    finally:
        if process.poll() is None:
            kill_group(process)
        feeder.join(STOP_WAIT)  # before the pipes close under it
        stop(process, stderr)
    if failures:
        raise failures[0]
    if returncode != 0:
        raise failure(returncode, stderr)


def program_failure(what, strip=None):
    """Return the failure function (returncode, stderr TailReader) -> EngineError of program
    what: one line (engines.common.failure_message), with strip (a compiled bytes pattern, the
    program's name for its stdin) taken out of its complaint."""
    def failure(returncode, stderr):
        complaint = stderr.data if strip is None else strip.sub(b"", stderr.data)
        return EngineError(failure_message(what, returncode, complaint.strip()))
    return failure
