"""The infrakt-backup CLI as a user runs it, for integration tests: a subprocess with its own
INFRAKT_HOME; a home with the bench server registered and provisioned (and the bench S3
server set); the main job through it, the S3 round trip of one registered database; and
where scheduled backups are installed on the server (this machine)."""

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from tests.integration.plays import sha256_of
from tests.integration.scratch import Postgres, scratch_database, unique

CLI = str(Path(sys.executable).parent / "infrakt-backup")
# The default backup_dir of `server add`; the bench server is this machine.
SERVER_BACKUPS = Path("/opt/infrakt/backups")
# Where `schedule set` puts a database's script and its 0600 config on the server.
SCRIPT_DIR = Path("/opt/infrakt/schedules")
CONFIG_DIR = Path("/etc/infrakt/schedules")


class Wrapper:
    """The CLI with its own INFRAKT_HOME, set up for the bench server and S3 server. Keeps what
    every run printed (transcript), for tests that look for secrets in it."""

    def __init__(self, home: Path, testbed):
        self.home = home
        self.testbed = testbed
        self.transcript: list[str] = []
        self.env: dict[str, str] = {}  # added to every run's environment (e.g. its own XDG_RUNTIME_DIR)

    def environment(self, env=None) -> dict:
        """Return the environment a run gets: ours, INFRAKT_HOME, self.env, then env."""
        return {**os.environ, "INFRAKT_HOME": str(self.home), **self.env, **(env or {})}

    def run(self, *args, env=None, check=True):
        """Run the CLI with args; return the CompletedProcess (text). With check, assert exit 0."""
        completed = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600,
                                   env=self.environment(env))
        self.transcript += [completed.stdout, completed.stderr]
        if check:
            assert completed.returncode == 0, f"{args}: {completed.stderr}"
        return completed

    def json(self, *args):
        return json.loads(self.run(*args, "--json").stdout)

    def said(self, text: str) -> bool:
        """Return True when text is in the stdout or stderr of any run so far."""
        return any(text in output for output in self.transcript)


def wrapper_with_bench_server(testbed, home: Path) -> Wrapper:
    """Return a Wrapper whose home has the bench server registered as `bench` and provisioned."""
    env = testbed.env
    cli = Wrapper(home, testbed)
    cli.run("server", "add", "bench", "--host", env["SSH_HOST"], "--port", env["SSH_PORT"], "--ssh-key", env["SSH_KEY"])
    cli.run("server", "provision", "bench")
    return cli


def wrapper_with_bench_s3(testbed, home: Path) -> Wrapper:
    """Return a wrapper_with_bench_server whose S3 settings are the bench S3 server's, under a
    prefix of its own (`cli_<random>`), so that its listings see only its own backups."""
    env = testbed.env
    cli = wrapper_with_bench_server(testbed, home)
    cli.run("settings", "s3", "set", "--endpoint-url", env["S3_ENDPOINT_URL"], "--bucket", env["S3_BUCKET"],
            "--region", env["S3_REGION"], "--access-key", env["S3_ACCESS_KEY"], "--prefix", unique("cli"),
            env={"INFRAKT_S3_SECRET_KEY": env["S3_SECRET_KEY"]})
    return cli


@contextmanager
def registered_scratch_postgres(cli: Wrapper, prefix: str):
    """Yield a scratch PostgreSQL database (sample data, the bench role) named prefix_<random>,
    registered in cli under its own name for the with block; drop both after."""
    env = cli.testbed.env
    with (scratch_database(Postgres(env, unique(prefix))) as scratch,
          registered(cli, scratch.name, env["PG_PASSWORD"], "--engine", "postgres", "--database", scratch.name,
                     "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", env["PG_USER"])):
        yield scratch


@contextmanager
def registered(cli: Wrapper, db_name: str, password: str, *db_add_options: str):
    """Register database db_name on the bench server for the with block (`db add` options, the
    password through INFRAKT_DB_PASSWORD); afterwards forget it and delete its backups on the
    server."""
    cli.run("db", "add", db_name, "--server", "bench", *db_add_options, env={"INFRAKT_DB_PASSWORD": password})
    try:
        yield
    finally:
        cli.run("db", "remove", db_name, check=False)
        shutil.rmtree(SERVER_BACKUPS / db_name, ignore_errors=True)


def remove_local_copy(db_name: str, filename: str) -> None:
    """Delete backup filename of db_name and its .sha256 sidecar from the server (this machine)."""
    for path in (SERVER_BACKUPS / db_name / filename, SERVER_BACKUPS / db_name / (filename + ".sha256")):
        path.unlink()


def s3_round_trip(cli: Wrapper, db_name: str, snapshot, change) -> dict:
    """Run the main job through the CLI for registered database db_name and check each step:
    `backup create` keeps the backup on the server and in S3; `backup list` says `both`, then,
    with the server's copy deleted, `s3` / "S3 only"; change() alters the data (it may drop
    what snapshot() reads, such as a view); `-vvv backup restore --yes` downloads the backup from
    S3, verifies its sha256 and restores it, after which snapshot() equals its value from before
    and the server holds the backup again. Return the `backup create --json` result."""
    created = cli.json("backup", "create", db_name)
    filename = created["filename"]
    assert created["location"] == "local+s3"
    assert created["s3_key"].endswith(f"/{db_name}/{filename}")
    local = SERVER_BACKUPS / db_name / filename
    assert local.stat().st_size == created["size"]

    listed = cli.json("backup", "list", db_name)
    assert [(item["filename"], item["location"], item["sha256"]) for item in listed] == [
        (filename, "both", created["sha256"])
    ]

    remove_local_copy(db_name, filename)
    human = cli.run("backup", "list", db_name).stdout
    assert filename in human and "S3 only" in human
    assert cli.json("backup", "list", db_name)[0]["location"] == "s3"

    before = snapshot()
    change()
    restored = cli.run("-vvv", "backup", "restore", db_name, filename, "--yes")
    assert f"from {filename} (downloaded from S3, sha256 verified, signature verified)." in restored.stdout
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in restored.stderr  # module arguments were shown, censored
    assert snapshot() == before
    assert sha256_of(local) == created["sha256"]
    return created


def crontab_entries(db_name: str) -> list[str]:
    """Return the lines of root's crontab (on the server, this machine) that run db_name's script."""
    listed = subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout
    return [line for line in listed.splitlines() if f"{SCRIPT_DIR}/{db_name}.sh" in line]
