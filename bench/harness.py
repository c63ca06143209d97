"""What every row of `make bench` shares: the test bench with a wrapper home set up for it
(server `bench`, S3 settings, aws credentials for the hand-written baselines), the CLI and
hand-written commands, plays through the wrapper's runner, and timing in rounds."""

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from statistics import median

from ansible_collections.infrakt.backup.plugins.module_utils.s3 import presets
from infrakt_backup import runner
from infrakt_backup.playbook_vars import s3_variables, server_variables
from infrakt_backup.store import Store
from tests.integration.many_backups import delete_s3_prefix
from tests.testbed import Testbed

CLI = str(Path(sys.executable).parent / "infrakt-backup")
PLAYBOOKS = Path(__file__).parent / "playbooks"
DEFAULT_CHUNKSIZE = "16MB"  # s3_credentials' default, which every CLI run gets


def timed(action: Callable[[], object]) -> float:
    """Run action; return its wall seconds."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def timings(rounds: int, action: Callable[[], object], after: Callable[[], object] = lambda: None) -> list[float]:
    """Return the wall seconds of `rounds` runs of action, with `after` (not timed) after each."""
    seconds = []
    for _ in range(rounds):
        seconds.append(timed(action))
        after()
    return seconds


def paired(rounds: int, ours: Callable[[], object], baseline: Callable[[], object],
           after: Callable[[], object] = lambda: None) -> tuple[list[float], list[float]]:
    """Time baseline then ours, `rounds` times, with `after` (a clean-up, not timed) after
    each; return (ours seconds, baseline seconds). Alternating keeps a load that other users
    of the machine put on it for a while from landing on one side only."""
    ours_seconds, baseline_seconds = [], []
    for _ in range(rounds):
        baseline_seconds.append(timed(baseline))
        after()
        ours_seconds.append(timed(ours))
        after()
    return ours_seconds, baseline_seconds


class Bench:
    """The test bench plus a wrapper home in `work` set up for it: server `bench` (the bench
    sshd, provisioned), the S3 settings under a prefix of this run, and the aws credentials
    and config files of the hand-written baselines. Their config is the one s3_credentials
    writes for our runs, with the same transfer settings (`multipart_chunksize`), so that a
    row compares our overhead, not two ways of tuning the aws CLI."""

    def __init__(self, work: Path):
        self.bed = Testbed.up()
        self.env = self.bed.env
        self.work = work
        os.environ["INFRAKT_HOME"] = str(work / "home")
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.cli("server", "add", "bench", "--host", self.env["SSH_HOST"], "--port", self.env["SSH_PORT"],
                 "--ssh-key", self.env["SSH_KEY"], "--backup-dir", str(work / "server-backups"))
        self.cli("server", "provision", "bench")
        self.cli("settings", "s3", "set", "--endpoint-url", self.env["S3_ENDPOINT_URL"], "--bucket",
                 self.env["S3_BUCKET"], "--region", self.env["S3_REGION"], "--access-key", self.env["S3_ACCESS_KEY"],
                 "--prefix", self.prefix, secret=True)
        self.store = Store()
        self.server = self.store.server("bench")
        self.credentials = work / "aws-credentials"
        descriptor = os.open(self.credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(f"[default]\naws_access_key_id = {self.env['S3_ACCESS_KEY']}\n"
                         f"aws_secret_access_key = {self.env['S3_SECRET_KEY']}\n")
        self.pgpass = work / "pgpass"
        self.pgpass.write_text(f"{self.env['PG_HOST']}:{self.env['PG_PORT']}:*:{self.env['PG_USER']}:"
                               f"{self.env['PG_PASSWORD']}\n")
        self.pgpass.chmod(0o600)

    def cli(self, *args: str, secret: bool = False, db_password: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        """Run `infrakt-backup ARGS` (the S3 secret or a database password in its environment
        when asked); exit the bench naming the command when it fails and `check`."""
        env = dict(os.environ)
        if secret:
            env["INFRAKT_S3_SECRET_KEY"] = self.env["S3_SECRET_KEY"]
        if db_password is not None:
            env["INFRAKT_DB_PASSWORD"] = db_password
        completed = subprocess.run([CLI, *args], env=env, capture_output=True, text=True)
        if check and completed.returncode != 0:
            raise SystemExit(f"infrakt-backup {' '.join(args)} failed: {completed.stderr.strip()}")
        return completed

    def cli_json(self, *args: str):
        """Run `infrakt-backup ARGS --json`; return what it printed, parsed."""
        return json.loads(self.cli(*args, "--json").stdout)

    def add_postgres(self, name: str, database: str, server: str = "bench", compression: str | None = None) -> None:
        """Register bench PostgreSQL database `database` as `name` on `server`."""
        extra = ("--compression", compression) if compression else ()
        self.cli("db", "add", name, "--server", server, "--engine", "postgres", "--database", database,
                 "--host", self.env["PG_HOST"], "--port", self.env["PG_PORT"], "--user", self.env["PG_USER"], *extra,
                 db_password=self.env["PG_PASSWORD"])

    def psql(self, sql: str, database: str | None = None) -> str:
        """Run sql (on psql's stdin: it may be long) in `database` (default: the sample) as the
        bench role; return its output."""
        return subprocess.run(
            [f"{self.env['PG_BIN_DIR']}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.env["PG_HOST"],
             "-p", self.env["PG_PORT"], "-U", self.env["PG_USER"], "-d", database or self.env["PG_DATABASE"]],
            input=sql, env={**os.environ, "PGPASSWORD": self.env["PG_PASSWORD"]}, capture_output=True, text=True,
            check=True,
        ).stdout.strip()

    def aws_config(self, multipart_chunksize: str = DEFAULT_CHUNKSIZE) -> Path:
        """Return an aws config file as s3_credentials writes it for the bench S3 with this
        multipart_chunksize (made on first use)."""
        path = self.work / f"aws-config-{multipart_chunksize}"
        if not path.exists():
            settings = presets.resolve_provider("custom", self.env["S3_ENDPOINT_URL"], self.env["S3_REGION"])
            path.write_text(presets.render_config(settings, multipart_chunksize=multipart_chunksize))
        return path

    def aws_env(self, multipart_chunksize: str = DEFAULT_CHUNKSIZE) -> dict:
        """The environment of a hand-typed aws command: the bench's keys and config from files."""
        return {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials),
                "AWS_CONFIG_FILE": str(self.aws_config(multipart_chunksize))}

    def bare_aws(self, *args: str, multipart_chunksize: str = DEFAULT_CHUNKSIZE) -> None:
        """`aws s3 cp ARGS` with the aws binary the module uses, as one would type it on the server."""
        subprocess.run([self.server.aws_bin, "s3", "cp", "--only-show-errors", *args,
                        "--endpoint-url", self.env["S3_ENDPOINT_URL"]], check=True,
                       env=self.aws_env(multipart_chunksize))

    def hand_written_backup(self, database: str) -> str:
        """Return the shell line one would type on the server for a backup of `database` to
        S3 without us: pg_dump's custom format (gzip-6 inside) into a file, then aws s3 cp."""
        env, dump = self.env, self.work / f"hand-{database}.dump"
        return (
            f"PGPASSFILE={self.pgpass} {env['PG_BIN_DIR']}/pg_dump -Fc -h {env['PG_HOST']} -p {env['PG_PORT']} "
            f"-U {env['PG_USER']} {shlex.quote(database)} > {dump} && AWS_SHARED_CREDENTIALS_FILE={self.credentials} "
            f"AWS_CONFIG_FILE={self.aws_config()} "
            f"{self.server.aws_bin} s3 cp --only-show-errors {dump} "
            f"s3://{env['S3_BUCKET']}/hand/{shlex.quote(database)}.dump "
            f"--endpoint-url {env['S3_ENDPOINT_URL']} --region {env['S3_REGION']}"
        )

    def ssh(self, command: str) -> None:
        """Run command on the bench server over a fresh ssh connection, as a person would."""
        env = self.env
        subprocess.run(["ssh", "-q", "-i", env["SSH_KEY"], "-p", env["SSH_PORT"],
                        "-o", f"UserKnownHostsFile={env['SSH_KNOWN_HOSTS']}", f"{env['SSH_USER']}@{env['SSH_HOST']}",
                        command], check=True)

    def play(self, playbook: str | Path, **variables) -> runner.PlaybookRun:
        """Run a collection playbook (or one of bench/playbooks, given as a path) on server
        `bench` through the wrapper's runner, with the S3 and server variables; fail on failure."""
        inventory = runner.server_inventory([self.server], self.store.home / "known_hosts")
        all_variables = {**s3_variables(self.store.s3_config()), **server_variables(self.server), **variables}
        # run_playbook joins the name to the collection's playbooks dir: an absolute path stays itself
        run = runner.run_playbook(str(playbook), inventory, all_variables)
        run.raise_for_failure(str(playbook))
        return run

    def delete_s3(self, prefix: str) -> None:
        """Delete every object under prefix in the bench bucket (big objects would fill moto's memory)."""
        delete_s3_prefix(self.env, prefix)


class FixedCosts:
    """What every `infrakt-backup` operation pays before its work (median seconds of a few
    rounds, measured once per run): the CLI's start with the store open, a play with no
    task through the wrapper's runner, and a play of one module on the server."""

    def __init__(self, bench: Bench, rounds: int):
        self.cli = median(timings(rounds, lambda: bench.cli("db", "list", "--json")))
        self.empty_play = median(timings(rounds, lambda: bench.play(PLAYBOOKS / "empty.yml")))
        self.one_module_play = median(timings(rounds, lambda: bench.play(PLAYBOOKS / "ping.yml")))

    def text(self) -> str:
        """Return the costs as a note."""
        return (f"CLI start with the store {self.cli:.2f} s; empty play through the runner {self.empty_play:.2f} s; "
                f"one-module play (ssh + one Python start on the server) {self.one_module_play:.2f} s")


def play_stages(bench: Bench, db_name: str) -> list[tuple[str, float]]:
    """Run playbooks/backup.yml for database db_name through the wrapper's runner as
    `backup create` does, and return where its wall time went: ("start", seconds until
    the first task began: ansible-runner and ansible-playbook starting, the playbook
    parsed), then (task name, seconds from its start to its result) for each task that ran
    on the server or took 0.05 s or more, then ("end", seconds after the last result)."""
    from infrakt_backup.playbook_vars import database_variables

    database = bench.store.database(db_name)
    server = bench.store.server(database.server)
    variables = {**database_variables(database), **server_variables(server), **s3_variables(bench.store.s3_config())}
    moments: list[tuple[str, str, float]] = []  # (event, task name, when)

    def on_event(event: dict, _private_data_dir: Path) -> None:
        moments.append((event.get("event", ""), (event.get("event_data") or {}).get("task", ""), time.perf_counter()))

    started = time.perf_counter()
    runner.run_playbook("backup.yml", runner.server_inventory([server], bench.store.home / "known_hosts"), variables,
                        on_event=on_event).raise_for_failure("backup.yml")
    ended = time.perf_counter()
    stages, task_started = [], None
    for kind, task, when in moments:
        if kind == "playbook_on_task_start":
            if task_started is None:
                stages.append(("start", when - started))
            task_started = when
        elif kind in ("runner_on_ok", "runner_on_failed", "runner_on_skipped") and task_started is not None:
            stages.append((task, when - task_started))
    stages.append(("end", ended - moments[-1][2] if moments else 0.0))
    return [(name, seconds) for name, seconds in stages if seconds >= 0.05 or name in ("start", "end")]


def stages_text(stages: list[tuple[str, float]]) -> str:
    """Return play_stages' list as a note: `start 1.20 s, Dump sample 2.10 s, …`."""
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in stages)
