# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zstd as a stage of the backup pipeline (pipeline.py): the `zstd` program of the server,
compressing while a dump streams (ZstdWriter) and decompressing a backup for a restore
(zstd_chunks). Its output is read in backup_files.CHUNK_SIZE pieces, so memory stays flat; the
process runs in a session of its own and is killed (with whatever it started) when the
pipeline stops early, a signal or a dropped SSH session included (termination.py).

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import re
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

PACKAGE = "zstd"  # the Debian package (and most distributions') with the zstd program
LEVEL = 3  # zstd's default: faster than gzip -6 and smaller (docs: FACTS.md)
# seconds to wait for the thread passing zstd's output on after zstd was killed (its sink may
# be stuck on an upload that the pipeline aborts next)
STOP_WAIT = 5
STDIN_NAME = re.compile(br"/\*stdin\*\\\s*:\s*")  # how zstd names its stdin in messages: `/*stdin*\ :`


def zstd_bin():
    """Return the absolute path of zstd on PATH; raise EngineError in one line naming the
    package to install when there is none."""
    path = shutil.which("zstd")
    if path is None:
        raise EngineError(
            "zstd was not found on PATH; install the %s package (infrakt-backup server provision does)" % PACKAGE
        )
    return path


def _start(argv, stdin):
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


def _stop(process, stderr):
    """Kill process (and its group) unless it ended; wait for it and its stderr reader; close its pipes."""
    if process.poll() is None:
        kill_group(process)
    process.wait()
    stderr.join()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):  # stdin of a zstd that died: nothing to flush to
                pipe.close()


class ZstdWriter(object):
    """Compresses the bytes written to it with `zstd -q -<LEVEL> -c` and passes the compressed
    bytes to sink(chunk) from a thread of its own: write, then close at the end, or abort when
    the dump failed (zstd is killed). Whatever fails raises in the caller's thread: what sink
    raised (the same exception), or EngineError for zstd."""

    def __init__(self, sink):
        self.sink = sink
        self._process, self._stderr = _start([zstd_bin(), "-q", "-%d" % LEVEL, "-c"], subprocess.PIPE)
        self._error = None  # what sink raised in the thread
        self._thread = threading.Thread(target=self._pass_on, daemon=True)
        self._thread.start()

    def _pass_on(self):
        """The thread: zstd's output to sink, chunk by chunk. When sink raises, the error is kept
        and zstd killed, so that the next write raises it."""
        try:
            for chunk in iter(lambda: self._process.stdout.read(backup_files.CHUNK_SIZE), b""):
                self.sink(chunk)
        except BaseException as error:  # anything: the caller's thread raises it
            self._error = error
            kill_group(self._process)

    def write(self, chunk):
        """Compress chunk (bytes)."""
        if self._error is not None:
            raise self._error
        try:
            self._process.stdin.write(chunk)
        except BrokenPipeError:  # zstd died, or was killed because sink failed
            self._thread.join()
            self._raise_failure()

    def close(self):
        """Finish the zstd stream: its end goes to sink, and zstd's exit status is checked."""
        with contextlib.suppress(BrokenPipeError):  # zstd died: its exit status says why
            self._process.stdin.close()
        self._thread.join()
        self._process.wait()
        self._raise_failure()
        _stop(self._process, self._stderr)

    def _raise_failure(self):
        """Raise what sink raised, or EngineError when zstd ended with a non-zero exit code."""
        if self._error is not None:
            _stop(self._process, self._stderr)
            raise self._error
        returncode = self._process.wait()
        if returncode != 0:
            _stop(self._process, self._stderr)
            raise _failure(returncode, self._stderr)

    def abort(self):
        """The pipeline stops early: kill zstd; what was compressed is dropped."""
        if self._process.poll() is None:
            kill_group(self._process)
        self._thread.join(STOP_WAIT)
        _stop(self._process, self._stderr)


def _decode_argv():
    """Return the argv of zstd decompressing stdin to stdout."""
    return [zstd_bin(), "-q", "-d", "-c"]


def zstd_chunks(path):
    """Yield the decompressed bytes of the zstd file at path (`zstd -dc`), at most CHUNK_SIZE at
    a time; raise EngineError when zstd exits non-zero (not zstd data, cut short). Closing the
    generator early kills zstd."""
    argv = _decode_argv()  # a missing zstd fails before the file is opened
    with open(path, "rb") as source:
        process, stderr = _start(argv, source)
    try:
        yield from iter(lambda: process.stdout.read(backup_files.CHUNK_SIZE), b"")
        returncode = process.wait()
    finally:
        _stop(process, stderr)
    if returncode != 0:
        raise _failure(returncode, stderr)


def zstd_stream(chunks):
    """Yield the decompressed bytes of the zstd stream whose byte chunks (an iterable) are given,
    fed to `zstd -dc` from a thread of its own, at most CHUNK_SIZE at a time. Raise what
    iterating chunks raised (zstd is killed then), or EngineError when zstd exits non-zero.
    Closing the generator early kills zstd."""
    process, stderr = _start(_decode_argv(), subprocess.PIPE)
    failures = []

    def feed():
        try:
            for chunk in chunks:
                process.stdin.write(chunk)
        except BrokenPipeError:
            pass  # zstd died or was killed: its exit status says why
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
        _stop(process, stderr)
    if failures:
        raise failures[0]
    if returncode != 0:
        raise _failure(returncode, stderr)


def _failure(returncode, stderr):
    """Return the EngineError for a zstd that exited with returncode, complaining on stderr (a
    TailReader): one line, without zstd's name for its stdin."""
    return EngineError(failure_message("zstd", returncode, STDIN_NAME.sub(b"", stderr.data).strip()))
