# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zstd as a stage of the backup pipeline (pipeline.py): the `zstd` program of the server,
compressing while a dump streams (ZstdWriter) and decompressing a backup for a restore
(zstd_chunks) or a drill (zstd_stream: a backup read as it arrives), all run the way
process_stream.py runs every such program.

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.infrakt.backup.plugins.module_utils import process_stream

PACKAGE = "zstd"  # the Debian package (and most distributions') with the zstd program
LEVEL = 3  # zstd's default: faster than gzip -6 and smaller (docs: FACTS.md)
# I/O and compression in one thread: zstd 1.5's asynchronous I/O keeps ~35 MB of buffers for
# a stream from a pipe, 6 MB without, at the same CPU time (bench row P6)
SINGLE_THREAD = "--single-thread"
STDIN_NAME = re.compile(br"/\*stdin\*\\\s*:\s*")  # how zstd names its stdin in messages: `/*stdin*\ :`
FAILURE = process_stream.program_failure("zstd", STDIN_NAME)


def zstd_bin():
    """Return the absolute path of zstd on PATH; raise EngineError in one line naming the
    package to install when there is none."""
    return process_stream.program_path("zstd", PACKAGE)


class ZstdWriter(process_stream.ProcessWriter):
    """Compresses the bytes written to it with `zstd -q -<LEVEL> --single-thread -c` and passes
    the compressed bytes to sink(chunk) (process_stream.ProcessWriter: write, then close or abort)."""

    def __init__(self, sink):
        super(ZstdWriter, self).__init__([zstd_bin(), "-q", "-%d" % LEVEL, SINGLE_THREAD, "-c"], sink, FAILURE)


def zstd_chunks(source):
    """Yield the decompressed bytes of the zstd data read from source (a binary file object:
    `zstd -dc`), at most CHUNK_SIZE at a time; raise EngineError when zstd exits non-zero (not
    zstd data, cut short). Closing the generator early kills zstd."""
    yield from process_stream.process_chunks([zstd_bin(), "-q", "-d", "-c"], source, FAILURE)


def zstd_stream(chunks):
    """Yield the decompressed bytes of the zstd stream whose byte chunks (an iterable) are given
    (process_stream.stream_chunks of `zstd -dc`), at most CHUNK_SIZE at a time; raise what
    iterating chunks raised, or EngineError when zstd exits non-zero."""
    return process_stream.stream_chunks([zstd_bin(), "-q", "-d", "-c"], chunks, FAILURE)
