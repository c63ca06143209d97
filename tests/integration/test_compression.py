"""Compression per database (`db add --compression zstd|gzip|none`) on the bench, through the
CLI: for PostgreSQL, MariaDB and Redis and each compression, `backup create` writes the name
that says it (and bytes that are it), `backup list` shows it, and `backup restore` brings the
data back exactly; a zstd backup goes through S3 (local copy deleted, the restore downloads
it); a human restores a `.dump.zst` with one line (`zstd -dc f | pg_restore`). MongoDB has no
server on the bench (its commands are unit-tested). Provisioning zstd: test_server_tools_role.py."""

import os
import re
import shlex
import subprocess
from contextlib import contextmanager

import pytest

from tests.integration.scratch import MariaDb, Postgres, Redis, scratch_database, unique
from tests.integration.wrapper_cli import SERVER_BACKUPS, registered, registered_scratch_postgres, s3_round_trip

pytestmark = pytest.mark.integration

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
# (engine, compression) -> (extension, first bytes of the file)
WRITTEN = {
    ("postgres", "zstd"): (".dump.zst", ZSTD_MAGIC),
    ("postgres", "gzip"): (".dump", b"PGDMP"),  # pg_dump's own compression, inside the archive
    ("postgres", "none"): (".dump", b"PGDMP"),
    ("mariadb", "zstd"): (".sql.zst", ZSTD_MAGIC),
    ("mariadb", "gzip"): (".sql.gz", GZIP_MAGIC),
    ("mariadb", "none"): (".sql", b"/*M!999999\\- enable the sandbox mode */"),  # how MariaDB 10.11.8+ dumps start
    ("redis", "zstd"): (".rdb.zst", ZSTD_MAGIC),
    ("redis", "gzip"): (".rdb.gz", GZIP_MAGIC),
    ("redis", "none"): (".rdb", b"REDIS"),
}


@contextmanager
def registered_database(wrapper, testbed, tmp_path, engine, compression):
    """Yield (name, snapshot, change) of a scratch database of engine registered with
    `--compression compression`: snapshot() reads the data, change() alters it."""
    env = testbed.env
    option = ("--compression", compression)
    if engine == "postgres":
        with (scratch_database(Postgres(env, unique("zpg"))) as scratch,
              registered(wrapper, scratch.name, env["PG_PASSWORD"], "--engine", "postgres", "--database",
                         scratch.name, "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", env["PG_USER"],
                         *option)):
            yield scratch.name, scratch.fingerprint, scratch.damage
    elif engine == "mariadb":
        with (scratch_database(MariaDb(env, unique("sample_z"))) as scratch,
              registered(wrapper, scratch.name, env["MYSQL_PASSWORD"], "--engine", "mariadb", "--database",
                         scratch.name, "--host", env["MYSQL_HOST"], "--port", env["MYSQL_PORT"], "--user",
                         env["MYSQL_USER"], *option)):
            yield scratch.name, scratch.fingerprint, scratch.damage
    else:
        server = Redis(tmp_path)
        server.start()
        name = unique("zcache")
        try:
            with registered(wrapper, name, server.password, "--engine", "redis", "--host", "127.0.0.1", "--port",
                            str(server.port), "--restart-command", shlex.join(server.start_command), "--data-dir",
                            str(server.directory / "data"), *option):
                yield name, server.contents, server.change
        finally:
            server.stop()


@pytest.mark.parametrize("compression", ["zstd", "gzip", "none"])
@pytest.mark.parametrize("engine", ["postgres", "mariadb", "redis"])
def test_each_compression_is_in_the_name_and_restores(wrapper, testbed, tmp_path, engine, compression):
    extension, magic = WRITTEN[engine, compression]
    with registered_database(wrapper, testbed, tmp_path, engine, compression) as (name, snapshot, change):
        assert [entry["compression"] for entry in wrapper.json("db", "list") if entry["name"] == name] == [compression]
        created = wrapper.json("backup", "create", name)
        filename = created["filename"]
        assert filename.startswith(f"{name}_{engine}_") and filename.endswith(extension)
        assert filename.count(".") == extension.count(".")
        stored = (SERVER_BACKUPS / name / filename).read_bytes()
        assert stored.startswith(magic) and len(stored) == created["size"]
        listed = wrapper.json("backup", "list", name)
        assert [(item["filename"], item["location"]) for item in listed] == [(filename, "both")]
        before = snapshot()
        change()  # may drop what snapshot() reads (a view)
        wrapper.run("backup", "restore", name, filename, "--yes")
        assert snapshot() == before


def pg_restore_list(testbed, line: str) -> str:
    """Run the shell line a human would type, pg_restore from the bench; return its stdout."""
    env = dict(os.environ, PATH=f"{testbed.env['PG_BIN_DIR']}:{os.environ['PATH']}")
    return subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True, env=env).stdout


def test_a_zstd_backup_goes_through_s3_and_restores_by_hand_in_one_line(wrapper, testbed):
    with registered_scratch_postgres(wrapper, "zs3") as scratch:  # db add without --compression: zstd
        created = s3_round_trip(wrapper, scratch.name, scratch.fingerprint, scratch.damage)
        assert created["filename"].endswith(".dump.zst") and created["s3_key"].endswith(".dump.zst")
        path = shlex.quote(str(SERVER_BACKUPS / scratch.name / created["filename"]))  # downloaded again
        listing = pg_restore_list(testbed, f"zstd -dc {path} | pg_restore --list")
        assert "TABLE public customers" in listing
        assert re.search(r"^;\s+Compression: (0|none)$", listing, re.MULTILINE)  # zstd's alone: -Z0 inside
        # and the whole restore, the README's line
        original = scratch.fingerprint()
        scratch.damage()
        env = testbed.env
        pg_restore_list(testbed, f"zstd -dc {path} | PGPASSWORD={shlex.quote(env['PG_PASSWORD'])} pg_restore"
                                 f" --clean --if-exists --no-owner -h {env['PG_HOST']} -p {env['PG_PORT']}"
                                 f" -U {env['PG_USER']} -d {scratch.name}")
        assert scratch.fingerprint() == original
