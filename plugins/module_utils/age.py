# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""age as a stage of the backup pipeline (pipeline.py): the `age` program of the server (Debian's
`age` package, the reference implementation, so that a downloaded backup decrypts with the
stock `age -d -i identity.txt`), run the way process_stream.py runs every such program.

A backup is encrypted while it streams, after the compression and before anything reaches the
server's disk or S3 (AgeWriter: `age --recipient age1…`): only the public recipients are on
the server for it, on age's command line (they are not secret). A restore decrypts in the
stream (decrypted_chunks: `age --decrypt --identity FILE`, the backup file on its stdin), and so
does a drill the CLI brings the identity to (decrypted_stream, the backup as it arrives); the
identity reaches the server for that restore or drill alone, as a 0600 file in a 0700 directory on tmpfs
that the pipeline removes whatever happens.

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import signal

from ansible_collections.infrakt.backup.plugins.module_utils import names, process_stream
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import EngineError

PACKAGE = "age"  # the Debian package (bookworm: 1.1.1) with the age program
IDENTITY_FILE = "age-identity.txt"  # the name of the identity file of a restore in its private directory
# age ends every error with a line asking for bug reports: not part of the reason
REPORT_LINE = re.compile(br"(?m)^age: report unexpected or unhelpful errors at \S+\s*$")
FAILURE = process_stream.program_failure("age", REPORT_LINE)


def age_bin():
    """Return the absolute path of age on PATH; raise EngineError in one line naming the
    package to install when there is none."""
    return process_stream.program_path("age", PACKAGE)


def encrypt_argv(recipients):
    """Return the argv that encrypts stdin to stdout for recipients (age X25519 public keys,
    validated: names.validate_age_recipient); raise ValueError for a bad one or none."""
    if not recipients:
        raise ValueError("encryption needs at least one age recipient")
    argv = [age_bin()]
    for recipient in recipients:
        argv += ["--recipient", names.validate_age_recipient(recipient)]
    return argv


class AgeWriter(process_stream.ProcessWriter):
    """Encrypts the bytes written to it to recipients with `age --recipient …` and passes the
    age file's bytes to sink(chunk) (process_stream.ProcessWriter: write, then close or abort)."""

    def __init__(self, recipients, sink):
        super(AgeWriter, self).__init__(encrypt_argv(recipients), sink, FAILURE)


def decrypt_argv(identity_path):
    """Return the argv that decrypts the age file on stdin to stdout with the identity file at identity_path."""
    return [age_bin(), "--decrypt", "--identity", identity_path]


def decrypted_stream(chunks, identity_path):
    """Yield the plaintext of the age file arriving as byte chunks (a backup read from S3 as it
    arrives, for a drill), decrypted in the stream by `age --decrypt` with the identity file at
    identity_path; raise EngineError when age fails (wrong identity, not an age file, cut short
    or altered: age authenticates every chunk and the end). Closing the generator early kills age."""
    return process_stream.stream_chunks(decrypt_argv(identity_path), chunks, FAILURE)


def decrypted_chunks(path, identity_path, decode):
    """Yield what decode(stream) yields (a pipeline reader: the decompression) for the plaintext
    of the age file at path, decrypted in the stream by `age --decrypt` with the identity file
    at identity_path. Raise EngineError when age fails (wrong identity, not an age file, cut
    short or altered), its reason before the reader's (which then only saw age's output stop).
    Closing the generator early kills age."""
    with open(path, "rb") as source:
        process, stderr = process_stream.start(decrypt_argv(identity_path), source)
    try:
        yield from decode(process.stdout)
        process.wait()  # the reader saw the end of age's output: age ended, or is ending
    except EngineError:
        process.stdout.close()  # an age blocked on a full pipe ends (SIGPIPE)
        process_stream.stop(process, stderr)
        if process.returncode not in (0, -signal.SIGPIPE):
            raise FAILURE(process.returncode, stderr) from None
        raise
    finally:
        process_stream.stop(process, stderr)
    if process.returncode != 0:
        raise FAILURE(process.returncode, stderr)
