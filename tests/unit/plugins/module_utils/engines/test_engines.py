"""The engine contract (engines/__init__.py): every engine of the filename grammar has a file
exposing the same few names, and the shared run (common.run_dump / run_restore) hands the
password files to the command it builds and removes them afterwards."""

import os
import re
import sys
import types

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.module_utils.engines import ENGINES, common, redis

SHARED_RUN_NAMES = ("password_files", "dump_client", "restore_client", "dump_command", "restore_command")


def test_every_engine_of_the_grammar_has_a_file():
    assert sorted(ENGINES) == sorted(names.ENGINE_EXTENSIONS)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_engine_file_exposes_the_contract(engine):
    module = ENGINES[engine]
    assert callable(module.check_backup)
    assert module.CLIENT_COMPRESSION in (None,) + names.COMPRESSIONS
    if module is redis:
        assert callable(module.dump) and callable(module.restore)
    else:
        assert all(callable(getattr(module, name)) for name in SHARED_RUN_NAMES)
        assert not hasattr(module, "dump") and not hasattr(module, "restore")


def python_engine(code):
    """Return a stand-in engine file whose clients run python code with the path of their
    password file as argv[1]."""

    def command(connection, client, password_paths):
        return common.Command([client, "-c", code, password_paths["secret"]], {})

    return types.SimpleNamespace(
        password_files=lambda connection: {"secret": "pw=" + connection.password},
        dump_client=lambda connection: sys.executable,
        restore_client=lambda connection: sys.executable,
        dump_command=command,
        restore_command=command,
    )


def test_run_dump_streams_the_client_output_with_its_password_file(make_connection):
    engine = python_engine("import sys; sys.stdout.write(open(sys.argv[1]).read() + ' ' + sys.argv[1])")
    chunks = []
    common.run_dump(engine, make_connection(password="s3cret"), chunks.append)
    text, path = b"".join(chunks).decode().split(" ")
    assert text == "pw=s3cret"
    assert not os.path.exists(path)


def test_run_restore_feeds_the_chunks_and_masks_the_password(make_connection):
    engine = python_engine("import sys; data = sys.stdin.read(); sys.exit('got %d bytes, s3cret' % len(data))")
    program = os.path.basename(sys.executable)
    with pytest.raises(common.EngineError, match=re.escape(f"{program} failed: got 3000 bytes, ********")):
        common.run_restore(engine, make_connection(password="s3cret"), iter([b"x" * 1000] * 3))
