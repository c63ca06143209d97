"""zstd as a pipeline stage (plugins/module_utils/zstd.py), with the real zstd program (and a
stand-in where zstd has to misbehave on demand)."""

import os
import subprocess

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, zstd
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import EngineError

DATA = os.urandom(300000) + b"INSERT INTO t VALUES (1);\n" * 200000


def compressed(data, sink=None):
    """Return the bytes ZstdWriter passes on for data, written in 64 KiB chunks."""
    out = []
    writer = zstd.ZstdWriter(sink or out.append)
    for start in range(0, len(data), 65536):
        writer.write(data[start:start + 65536])
    writer.close()
    return b"".join(out)


def test_the_writer_output_is_what_zstd_decompresses():
    stored = compressed(DATA)
    assert stored.startswith(b"\x28\xb5\x2f\xfd") and len(stored) < len(DATA) / 2
    assert subprocess.run(["zstd", "-dc"], input=stored, capture_output=True, check=True).stdout == DATA


def test_a_failing_sink_raises_in_the_callers_thread():
    failure = OSError("no space left on device")

    def sink(chunk):
        raise failure

    writer = zstd.ZstdWriter(sink)
    with pytest.raises(OSError) as raised:
        for _ in range(200):  # zstd's first output reaches sink while we write
            writer.write(DATA)
        writer.close()
    assert raised.value is failure
    assert writer._process.poll() is not None  # zstd is gone


def test_zstd_failing_is_an_engine_error(stand_in):
    stand_in("zstd", "head -c 1000 >/dev/null; echo 'zstd: error 70 : Write error : No space left' >&2; exit 70\n")
    with pytest.raises(EngineError, match="^zstd failed: error 70 : Write error : No space left$"):
        compressed(DATA * 5)


def test_abort_kills_zstd(stand_in, tmp_path):
    stand_in("zstd", f"echo $$ > {tmp_path}/pid; exec sleep 60\n")
    writer = zstd.ZstdWriter(lambda chunk: None)
    writer.write(b"x" * 1000)
    while not (tmp_path / "pid").exists() or not (tmp_path / "pid").read_text().strip():
        pass
    pid = int((tmp_path / "pid").read_text())
    writer.abort()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_missing_zstd_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    message = "^zstd was not found on PATH; install the zstd package \\(infrakt-backup server provision does\\)$"
    with pytest.raises(EngineError, match=message):
        zstd.ZstdWriter(lambda chunk: None)
    with pytest.raises(EngineError, match=message):
        list(zstd.zstd_chunks(None))


def test_chunks_stay_small_for_highly_compressed_data(tmp_path):
    path = tmp_path / "zeros.rdb.zst"
    path.write_bytes(compressed(b"\0" * (20 << 20)))
    sizes = [len(chunk) for chunk in zstd.zstd_chunks(path.open("rb"))]
    assert sum(sizes) == 20 << 20
    assert max(sizes) <= backup_files.CHUNK_SIZE


@pytest.mark.parametrize(("damage", "complaint"), [
    (lambda stored: stored[:-1000], "premature end"),
    (lambda stored: b"SELECT 1;\n" * 100, "unsupported format"),
])
def test_chunks_of_a_file_zstd_cannot_decode_raise(tmp_path, damage, complaint):
    path = tmp_path / "bad.sql.zst"
    path.write_bytes(damage(compressed(DATA)))
    with pytest.raises(EngineError, match=f"^zstd failed: [^/]*{complaint}$"):
        list(zstd.zstd_chunks(path.open("rb")))


def test_closing_the_chunks_early_stops_zstd(stand_in, tmp_path):
    path = tmp_path / "big.sql.zst"
    path.write_bytes(DATA * 20)
    stand_in("zstd", f"echo $$ > {tmp_path}/pid; exec cat\n")  # a zstd whose output outlasts the reading
    chunks = zstd.zstd_chunks(path.open("rb"))
    next(chunks)
    pid = int((tmp_path / "pid").read_text())
    chunks.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
