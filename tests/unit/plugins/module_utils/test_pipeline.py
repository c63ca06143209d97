"""The backup and restore pipelines (plugins/module_utils/pipeline.py): the gzip stage, and the
upload and fetch stages driven by small in-test callables. The dump runs a stand-in
mariadb-dump on PATH (the real client is exercised in tests/integration)."""

import gzip
import hashlib
import os
import subprocess
from datetime import UTC, datetime

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, pipeline
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import EngineError

WHEN = datetime(2026, 11, 24, 21, 5, 9, tzinfo=UTC)
SQL = b"INSERT INTO t VALUES (1);\n" * 1000


@pytest.fixture
def fake_mariadb(tmp_path, stand_in):
    """Put stand-ins for mariadb-dump (prints SQL) and mariadb (stores its stdin in
    <tmp_path>/restored.sql) first on PATH; return tmp_path."""
    (tmp_path / "dump.sql").write_bytes(SQL)
    stand_in("mariadb-dump", f"cat {tmp_path}/dump.sql\n")
    stand_in("mariadb", f"cat > {tmp_path}/restored.sql\n")
    return tmp_path


def test_gzip_writer_output_is_standard_gzip():
    compressed = []
    writer = pipeline.GzipWriter(compressed.append)
    data = os.urandom(100000) + b"INSERT INTO t VALUES (1);\n" * 100000
    for start in range(0, len(data), 65536):
        writer.write(data[start:start + 65536])
    writer.close()
    assert gzip.decompress(b"".join(compressed)) == data


def test_gunzip_chunks_stay_small_for_highly_compressed_data(tmp_path):
    path = tmp_path / "zeros.sql.gz"
    path.write_bytes(gzip.compress(b"\0" * (20 * 1024 * 1024)))
    sizes = [len(chunk) for chunk in pipeline.gunzip_chunks(path.open("rb"))]
    assert sum(sizes) == 20 * 1024 * 1024
    assert max(sizes) <= 1024 * 1024


def test_gunzip_chunks_refuses_a_truncated_file(tmp_path):
    path = tmp_path / "cut.sql.gz"
    path.write_bytes(gzip.compress(os.urandom(300000))[:-100])
    with pytest.raises(EngineError, match="ends in the middle"):
        list(pipeline.gunzip_chunks(path.open("rb")))


def test_gunzip_chunks_refuses_damaged_data(tmp_path):
    path = tmp_path / "bad.sql.gz"
    data = bytearray(gzip.compress(b"SELECT 1;\n" * 10000))
    data[20:40] = b"\xff" * 20
    path.write_bytes(bytes(data))
    with pytest.raises(EngineError, match="not valid gzip data"):
        list(pipeline.gunzip_chunks(path.open("rb")))


def test_the_clients_own_compression_is_left_to_them(make_connection):
    assert pipeline.pipeline_compression(make_connection(engine="mariadb"), "gz") == "gz"
    assert pipeline.pipeline_compression(make_connection(engine="mongo"), "gz") is None
    assert pipeline.pipeline_compression(make_connection(engine="mongo"), "zst") == "zst"
    assert pipeline.pipeline_compression(make_connection(engine="postgres"), None) is None
    assert pipeline.pipeline_compression(make_connection(engine="postgres"), "zst") == "zst"


class RecordingStream:
    """The upload stage's contract (backup_run.S3Upload talks to S3): the bytes written, then
    finish(size, sha256) or abort(); `fail_after` chunks makes it fail the way a dead aws CLI does."""

    def __init__(self, filename, fail_after=None, fail_finish=False):
        self.filename, self.data, self.chunks = filename, b"", 0
        self.fail_after, self.fail_finish = fail_after, fail_finish
        self.failed, self.finished, self.aborted = None, None, False

    def write(self, chunk):
        if self.failed is None and self.fail_after is not None and self.chunks >= self.fail_after:
            self.failed = EngineError("aws s3 cp failed: connection reset")
        if self.failed is None:
            self.data += chunk
            self.chunks += 1

    def finish(self, size, sha256, signature=None):
        if self.failed is not None:
            raise self.failed
        if self.fail_finish:
            raise EngineError("aws s3 cp failed: access denied")
        self.finished = (size, sha256)
        return {"key": "prod/blog/" + self.filename}

    def abort(self):
        self.aborted = True


def test_backup_is_compressed_and_streamed_in_one_pass(make_connection, fake_mariadb):
    streams = []

    def upload(filename):
        streams.append(RecordingStream(filename))
        return streams[-1]

    backup_dir = str(fake_mariadb / "b")
    result = pipeline.create_backup(make_connection(engine="mariadb", db_name="blog"), backup_dir, now=WHEN,
                                    upload=upload)
    filename = "blog_mariadb_20261124T210509Z.sql.gz"
    path = os.path.join(backup_dir, "blog", filename)
    data = (fake_mariadb / "b" / "blog" / filename).read_bytes()
    assert gzip.decompress(data) == SQL
    assert result == {
        "path": path, "filename": filename, "engine": "mariadb", "db_name": "blog", "created": "2026-11-24T21:05:09Z",
        "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "upload": {"key": "prod/blog/" + filename},
    }
    (stream,) = streams
    assert stream.data == data and stream.finished == (len(data), result["sha256"]) and not stream.aborted


@pytest.mark.parametrize("keep_local", [True, False])
def test_a_zstd_backup_is_streamed_and_restored(make_connection, fake_mariadb, keep_local):
    streams = []
    connection = make_connection(engine="mariadb", db_name="blog", compression="zstd")
    backup_dir = str(fake_mariadb / "b")
    result = pipeline.create_backup(connection, backup_dir, now=WHEN, keep_local=keep_local,
                                    upload=lambda name: streams.append(RecordingStream(name)) or streams[-1])
    filename = "blog_mariadb_20261124T210509Z.sql.zst"
    (stream,) = streams
    assert result["filename"] == stream.filename == filename and stream.finished == (result["size"], result["sha256"])
    assert subprocess.run(["zstd", "-dc"], input=stream.data, capture_output=True, check=True).stdout == SQL
    assert hashlib.sha256(stream.data).hexdigest() == result["sha256"]
    if keep_local:
        assert (fake_mariadb / "b" / "blog" / filename).read_bytes() == stream.data
        pipeline.restore_backup(connection, backup_dir, filename)
        assert (fake_mariadb / "restored.sql").read_bytes() == SQL


def test_an_upload_failing_behind_zstd_ends_a_backup_without_local_copy(make_connection, fake_mariadb):
    (fake_mariadb / "dump.sql").write_bytes(os.urandom(8 << 20))  # zstd passes on several chunks
    streams = []
    with pytest.raises(pipeline.UploadFailed) as failure:
        pipeline.create_backup(make_connection(engine="mariadb", db_name="blog", compression="zstd"),
                               str(fake_mariadb / "b"), now=WHEN, keep_local=False,
                               upload=lambda name: streams.append(RecordingStream(name, fail_after=1)) or streams[-1])
    assert failure.value.backup is None and failure.value.error is streams[0].failed and streams[0].aborted


def test_a_failing_dump_stops_zstd_and_leaves_nothing(make_connection, fake_mariadb, stand_in):
    stand_in("mariadb-dump",
             "head -c 300000 /dev/urandom; echo 'mariadb-dump: Got error: 2013: Lost connection' >&2; exit 2\n")
    streams = []
    with pytest.raises(EngineError, match="Lost connection"):
        pipeline.create_backup(make_connection(engine="mariadb", db_name="blog", compression="zstd"),
                               str(fake_mariadb / "b"), now=WHEN,
                               upload=lambda name: streams.append(RecordingStream(name)) or streams[-1])
    assert streams[0].aborted and streams[0].finished is None
    assert os.listdir(fake_mariadb / "b" / "blog") == []


def test_no_local_copy_streams_only(make_connection, fake_mariadb):
    streams = []
    result = pipeline.create_backup(make_connection(engine="mariadb", db_name="blog"), str(fake_mariadb / "b"),
                                    now=WHEN, upload=lambda name: streams.append(RecordingStream(name)) or streams[-1],
                                    keep_local=False)
    assert result["path"] is None and gzip.decompress(streams[0].data) == SQL
    assert result["sha256"] == hashlib.sha256(streams[0].data).hexdigest()
    assert not (fake_mariadb / "b").exists()


def test_no_local_copy_needs_an_upload(make_connection, fake_mariadb):
    with pytest.raises(ValueError, match="needs an upload"):
        pipeline.create_backup(make_connection(engine="mariadb", db_name="blog"), str(fake_mariadb / "b"),
                               keep_local=False)


@pytest.mark.parametrize(("timeout", "hours_silent", "swept"), [
    (None, 5, False),  # a dump may run (and wait for a lock) up to the default 6 hours
    (None, 8, True),
    (60, 5, False),  # another run may have the default timeout
    (24 * 3600, 20, False),
    (24 * 3600, 26, True),
])
def test_a_backup_sweeps_only_partials_older_than_any_run_may_take(make_connection, fake_mariadb, timeout,
                                                                    hours_silent, swept):
    directory = fake_mariadb / "b" / "blog"
    directory.mkdir(parents=True)
    other = directory / "blog_mariadb_20261124T150000Z.sql.gz.partial"  # a concurrent run, silent meanwhile
    other.write_bytes(b"\x1f\x8b")
    then = datetime.now(UTC).timestamp() - hours_silent * 3600
    os.utime(other, (then, then))
    pipeline.create_backup(make_connection(engine="mariadb", db_name="blog", timeout=timeout), str(fake_mariadb / "b"),
                           now=WHEN)
    assert other.exists() is not swept


def test_check_mode_neither_dumps_nor_uploads(make_connection, tmp_path):
    def upload(path, filename, sha256):
        raise AssertionError("nothing to upload in check mode")

    result = pipeline.create_backup(make_connection(engine="mariadb", db_name="blog"), str(tmp_path / "b"),
                                    check_mode=True, now=WHEN, upload=upload)
    assert result["size"] is None and "upload" not in result
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("how", ["mid-stream", "at-the-end"])
def test_a_failed_upload_keeps_the_committed_backup(make_connection, fake_mariadb, how):
    def upload(filename):
        return RecordingStream(filename, fail_after=0 if how == "mid-stream" else None, fail_finish=how == "at-the-end")

    with pytest.raises(pipeline.UploadFailed, match="connection reset|access denied") as failed:
        pipeline.create_backup(make_connection(engine="mariadb", db_name="blog"), str(fake_mariadb / "b"), now=WHEN,
                               upload=upload)
    assert failed.value.backup["filename"] == "blog_mariadb_20261124T210509Z.sql.gz"
    assert failed.value.backup["sha256"] == backup_files.sha256_of_file(failed.value.backup["path"])
    assert gzip.decompress((fake_mariadb / "b" / "blog" / failed.value.backup["filename"]).read_bytes()) == SQL
    assert sorted(os.listdir(fake_mariadb / "b" / "blog")) == [
        "blog_mariadb_20261124T210509Z.sql.gz", "blog_mariadb_20261124T210509Z.sql.gz.sha256",
    ]


def test_a_failed_upload_without_a_local_copy_is_no_backup(make_connection, fake_mariadb):
    with pytest.raises(pipeline.UploadFailed) as failed:
        pipeline.create_backup(make_connection(engine="mariadb", db_name="blog"), str(fake_mariadb / "b"), now=WHEN,
                               upload=lambda name: RecordingStream(name, fail_after=0), keep_local=False)
    assert failed.value.backup is None and not (fake_mariadb / "b").exists()


def test_restore_fetches_verifies_decodes_and_restores(make_connection, fake_mariadb):
    filename = "blog_mariadb_20261124T210509Z.sql.gz"
    data = gzip.compress(SQL)

    def fetch(path, fetched):
        # a stand-in for a download: the backup and its sidecar land at path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as backup:
            backup.write(data)
        backup_files.write_sidecar(path, hashlib.sha256(data).hexdigest())
        return {"downloaded": fetched}

    backup_dir = str(fake_mariadb / "b")
    result = pipeline.restore_backup(make_connection(engine="mariadb", db_name="blog"), backup_dir, filename,
                                     fetch=fetch)
    assert result == {"path": os.path.join(backup_dir, "blog", filename), "filename": filename, "engine": "mariadb",
                      "sha256": hashlib.sha256(data).hexdigest(), "fetch": {"downloaded": filename},
                      "signature": None}
    assert (fake_mariadb / "restored.sql").read_bytes() == SQL


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("blog_mariadb_20261124T210509Z.sql.gz.age", "is encrypted and no age identity was given to decrypt it"),
        ("blog_mariadb_20261124T210509Z.sql.zst", "cannot be decoded: zstd failed: unknown header"),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True])
def test_a_backup_the_pipeline_cannot_decode_is_refused_before_the_database(make_connection, tmp_path, filename,
                                                                            message, check_mode):
    path = tmp_path / "blog" / filename
    path.parent.mkdir()
    path.write_bytes(b"\x1f\x8b")
    backup_files.write_sidecar(str(path), hashlib.sha256(b"\x1f\x8b").hexdigest())
    connection = make_connection(engine="mariadb", db_name="blog", container="db", docker_bin="/nonexistent/docker")
    with pytest.raises(ValueError, match=f"^{filename} {message}; the database was not touched$"):
        pipeline.restore_backup(connection, str(tmp_path), filename, check_mode=check_mode)


BODY = bytes(range(256)) * 12000  # several CHUNK_SIZE pieces once decoded


def planted(backup_dir, filename, decoded):
    """Put backup filename of database shop under backup_dir, with its sidecar: the bytes decoded,
    gzip-compressed when the name ends in .gz. Return the stored bytes."""
    stored = gzip.compress(decoded) if filename.endswith(".gz") else decoded
    path = backup_dir / "shop" / filename
    path.parent.mkdir()
    path.write_bytes(stored)
    backup_files.write_sidecar(str(path), hashlib.sha256(stored).hexdigest())
    return stored


@pytest.mark.parametrize(
    ("engine", "filename", "decoded"),
    [
        ("mariadb", "shop_mariadb_20261124T210509Z.sql", SQL * 200),  # uncompressed
        ("postgres", "shop_postgres_20261124T210509Z.dump.gz", b"PGDMP\x01\x0e\x00" + BODY),
        ("redis", "shop_redis_20261124T210509Z.rdb.gz", b"REDIS0011" + BODY),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True])
def test_the_format_check_looks_at_the_decoded_backup(make_connection, tmp_path, monkeypatch, engine, filename,
                                                      decoded, check_mode):
    stored = planted(tmp_path, filename, decoded)
    restored = []
    # a stand-in for the engine's restore: what its client would get on stdin
    monkeypatch.setattr(pipeline.engines, "restore", lambda connection, chunks: restored.append(b"".join(chunks)))
    result = pipeline.restore_backup(make_connection(engine=engine), str(tmp_path), filename, check_mode=check_mode)
    assert result["sha256"] == hashlib.sha256(stored).hexdigest()
    assert restored == ([] if check_mode else [decoded])


@pytest.mark.parametrize(
    ("engine", "filename", "decoded", "what"),
    [
        ("postgres", "shop_postgres_20261124T210509Z.dump", b"\\! touch /tmp/owned\nSELECT 1;\n",
         "a pg_dump custom-format archive"),
        ("postgres", "shop_postgres_20261124T210509Z.dump.gz", b"\\! touch /tmp/owned\nSELECT 1;\n",
         "a pg_dump custom-format archive"),
        ("mariadb", "shop_mariadb_20261124T210509Z.sql.gz", b"PGDMP\x01\x0e\x00" + BODY, "SQL text"),
        ("redis", "shop_redis_20261124T210509Z.rdb.gz", SQL, "a Redis RDB file"),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True])
def test_a_decoded_backup_not_in_the_engines_format_is_refused(make_connection, tmp_path, monkeypatch, engine,
                                                               filename, decoded, what, check_mode):
    planted(tmp_path, filename, decoded)
    monkeypatch.setattr(pipeline.engines, "restore", pytest.fail)
    with pytest.raises(ValueError, match=f"^{filename} is not {what}; the database was not touched$"):
        pipeline.restore_backup(make_connection(engine=engine), str(tmp_path), filename, check_mode=check_mode)
