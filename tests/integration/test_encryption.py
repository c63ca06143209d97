"""Encryption with age on the bench, through the CLI (issue 10): with `settings encryption
init`, PostgreSQL, MariaDB and Redis backups (compression none, so that the plaintext would show)
are encrypted on the server in the stream: the local file and the S3 object hold age's format
and none of the sample data's text, `backup list` marks them, the stock `age -d -i` with the
exported identity gives a normal dump back, and `backup restore` brings the data back exactly.
For PostgreSQL also: a scheduled run encrypts (its config holds the recipient, never the
identity), recipients-only settings restore with `--identity-file` (and without it fail before
the database is touched), and the identity is watched
for while a restore runs: it is never in a command line, an environment, the output, the SQLite
file, or a file but the runner's vars file and the restore's 0600 identity file on tmpfs."""

import json
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from infrakt_backup import age_keys
from tests.integration.leaks import (
    CREDENTIAL_BASES,
    Holder,
    ProcessWatch,
    TreeWatch,
    files_changed_since,
    files_holding,
)
from tests.integration.test_compression import pg_restore_list, registered_database
from tests.integration.test_schedules import run_as_cron, s3_prefix, scheduled, status_file
from tests.integration.test_secret_leaks import SERVER_TREES, SKIPPED_DIRS, unexpected_holders
from tests.integration.wrapper_cli import (
    CONFIG_DIR,
    SERVER_BACKUPS,
    Wrapper,
    registered_scratch_postgres,
    wrapper_with_bench_s3,
)

# touches root's crontab and /etc/infrakt (the scheduled run)
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("server_global")]

AGE_HEADER = b"age-encryption.org/v1\n"
# text of the sample data that an unencrypted, uncompressed backup of each engine holds
MARKERS = {"postgres": b"customer1@example.com", "mariadb": b"customer1@example.com", "redis": b"Ada Lovelace"}


@pytest.fixture(scope="module")
def encrypted(testbed, tmp_path_factory):
    """A wrapper (home of its own, bench server and S3) with `settings encryption init` done and
    the identity exported: yields (wrapper, path of the exported identity file)."""
    home = tmp_path_factory.mktemp("encrypted")
    cli = wrapper_with_bench_s3(testbed, home / "infrakt")
    cli.run("settings", "encryption", "init")
    identity = home / "identity.txt"
    cli.run("settings", "encryption", "export-identity", "--output", str(identity))
    return cli, identity


def s3_object(testbed, cli: Wrapper, db_name: str, filename: str) -> bytes:
    key = f"{s3_prefix(cli)}/{db_name}/{filename}"
    return testbed.s3_client().get_object(Bucket=testbed.env["S3_BUCKET"], Key=key)["Body"].read()


@contextmanager
def encrypted_elsewhere(cli: Wrapper, directory: Path):
    """For the with block, encrypt cli's new backups to a recipient whose identity is kept
    elsewhere (an age-keygen file in directory, not in the store); yields (that file, the
    recipient). Afterwards the stored identity's recipient again, for the other tests."""
    identity_file = directory / "elsewhere.txt"
    subprocess.run(["age-keygen", "-o", str(identity_file)], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", str(identity_file)], capture_output=True, text=True,
                               check=True).stdout.strip()
    cli.run("settings", "encryption", "set", "--recipient", recipient)
    try:
        yield identity_file, recipient
    finally:
        cli.run("settings", "encryption", "init")


def stock_age_decrypt(identity: Path, data: bytes) -> bytes:
    return subprocess.run(["age", "-d", "-i", str(identity)], input=data, capture_output=True, check=True).stdout


@pytest.mark.parametrize("engine", ["postgres", "mariadb", "redis"])
def test_an_encrypted_backup_holds_no_plaintext_opens_with_stock_age_and_restores(encrypted, testbed, tmp_path,
                                                                                 engine):
    cli, identity = encrypted
    with registered_database(cli, testbed, tmp_path, engine, "none") as (name, snapshot, change):
        created = cli.json("backup", "create", name)
        filename = created["filename"]
        assert filename.endswith((".dump.age", ".sql.age", ".rdb.age")[["postgres", "mariadb", "redis"].index(engine)])
        local = (SERVER_BACKUPS / name / filename).read_bytes()
        assert local.startswith(AGE_HEADER) and len(local) == created["size"]
        assert s3_object(testbed, cli, name, filename) == local
        assert MARKERS[engine] not in local
        plain = stock_age_decrypt(identity, local)
        assert MARKERS[engine] in plain  # so the marker would show, were it not encrypted
        assert plain.startswith({"postgres": b"PGDMP", "mariadb": b"/*M!999999", "redis": b"REDIS"}[engine])
        listed = cli.json("backup", "list", name)
        assert [(item["filename"], item["encrypted"]) for item in listed] == [(filename, True)]
        assert "🔒 age" in cli.run("backup", "list", name).stdout
        before = snapshot()
        change()
        cli.run("backup", "restore", name, filename, "--yes")
        assert snapshot() == before


def test_scheduled_recipients_only_and_the_identity_never_leaks(encrypted, testbed, tmp_path):
    cli, identity_file = encrypted
    identity = age_keys.read_identity_file(identity_file.read_text(), "exported")[0]
    with registered_database(cli, testbed, tmp_path, "postgres", "zstd") as (name, snapshot, change):
        # a scheduled run encrypts too; its config holds the recipient, never the identity
        with scheduled(cli, name, "--cron", "0 3 1 1 *"):
            config = (CONFIG_DIR / f"{name}.json").read_text()
            assert json.loads(config)["recipients"] == [identity.recipient]
            assert identity.identity not in config
            ran = run_as_cron(name)
            assert ran.returncode == 0, ran.stderr
            status = status_file(name)
        filename = status["filename"]
        assert status["result"] == "success" and filename.endswith(".dump.zst.age")
        downloaded = tmp_path / filename
        downloaded.write_bytes(s3_object(testbed, cli, name, filename))
        listing = pg_restore_list(testbed, f"age -d -i {identity_file} {downloaded} | zstd -dc | pg_restore -l")
        assert "TABLE public customers" in listing

        # the identity watched for while the scheduled backup is restored at -vvv
        started = tmp_path / "started"
        started.touch()
        time.sleep(0.01)
        runtime_dir = Path(tempfile.mkdtemp(prefix="infrakt-age-leaks-", dir="/dev/shm"))
        cli.env["XDG_RUNTIME_DIR"] = str(runtime_dir)
        secret = identity.identity
        try:
            before = snapshot()
            change()
            with TreeWatch([runtime_dir, *CREDENTIAL_BASES], [secret]) as trees, ProcessWatch([secret]) as processes:
                cli.run("-vvv", "backup", "restore", name, filename, "--yes")
            assert snapshot() == before
        finally:
            del cli.env["XDG_RUNTIME_DIR"]
            shutil.rmtree(runtime_dir, ignore_errors=True)
        allowed = [f"{runtime_dir}/infrakt-run-*/vars.yml", *(f"{base}/run-*/age-identity.txt" for base in
                                                             CREDENTIAL_BASES)]
        assert any(holder.path.endswith("/age-identity.txt") for holder in trees.holders), "never saw the file"
        assert unexpected_holders(trees.holders, allowed) == []
        assert processes.samples > 10 and processes.hits == []
        assert not any(secret in output for output in cli.transcript)
        changed = files_changed_since(started, SERVER_TREES, SKIPPED_DIRS)
        assert [Holder.of(path) for path in files_holding(changed, [secret])] == []  # none left on the server
        assert files_holding([str(path) for path in cli.home.iterdir()], [secret]) == []  # the store: encrypted

        # recipients whose identity is kept elsewhere: the restore needs --identity-file
        with encrypted_elsewhere(cli, tmp_path) as (elsewhere, recipient):
            assert cli.json("settings", "encryption", "show")["recipients"] == [recipient]
            made = cli.json("backup", "create", name)["filename"]
            refused = cli.run("backup", "restore", name, made, "--yes", check=False)
            assert refused.returncode == 1 and "no identity matched any of the recipients" in refused.stderr
            assert "before the database was touched" in refused.stderr
            cli.run("backup", "restore", name, made, "--yes", "--identity-file", str(elsewhere))
            assert snapshot() == before


def test_a_full_drill_of_an_encrypted_backup_decrypts_with_the_identity_the_cli_brings(encrypted, testbed, tmp_path):
    """`backup verify --restore` of an `.age` backup: the CLI sends the stored identity for the
    drill alone, the server decrypts in the stream and restores the plaintext into a scratch
    database (counted, then dropped); the identity file exists on tmpfs while the drill runs and
    is gone after. With recipients whose identity is kept elsewhere, the stored identity does
    not open the backup (the drill fails, naming age's reason) and `--identity-file` does."""
    cli, identity_file = encrypted
    secret = age_keys.read_identity_file(identity_file.read_text(), "exported")[0].identity
    with registered_scratch_postgres(cli, "encdrill") as db:
        rows = int(db.psql("SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders)"))
        created = cli.json("backup", "create", db.name)
        assert created["filename"].endswith(".dump.zst.age")
        with TreeWatch(list(CREDENTIAL_BASES), [secret]) as trees, ProcessWatch([secret]) as processes:
            answer = cli.json("backup", "verify", db.name, "--restore")
        assert (answer["filename"], answer["encrypted"], answer["decrypted"], answer["signature"]) == (
            created["filename"], True, True, "verified")
        assert answer["format"] == "ok" and answer["counts"] == {"tables": 2, "rows": rows}
        assert any(holder.path.endswith("/age-identity.txt") for holder in trees.holders), "never saw the file"
        assert unexpected_holders(trees.holders, [f"{base}/run-*/age-identity.txt" for base in CREDENTIAL_BASES]) == []
        assert processes.samples > 10 and processes.hits == []
        assert files_holding([str(path) for base in CREDENTIAL_BASES if base.exists()
                              for path in base.rglob("*") if path.is_file()], [secret]) == []
        assert not any(secret in output for output in cli.transcript)
        assert [name for name in db.psql("SELECT datname FROM pg_database", database=testbed.env["PG_DATABASE"])
                .split() if name.startswith("infrakt_drill_")] == []
        shown = cli.run("backup", "verify", db.name, created["filename"]).stdout
        assert "Encryption: age, decrypted" in " ".join(shown.split())

        with encrypted_elsewhere(cli, tmp_path) as (elsewhere, _recipient):
            made = cli.json("backup", "create", db.name)["filename"]
            refused = cli.run("backup", "verify", db.name, made, "--restore", check=False)
            assert refused.returncode == 1 and "no identity matched any of the recipients" in refused.stderr
            answer = cli.json("backup", "verify", db.name, made, "--restore", "--identity-file", str(elsewhere))
            assert answer["decrypted"] and answer["counts"] == {"tables": 2, "rows": rows}
