"""What infrakt.backup costs over doing it by hand, measured in one run on the local bench.

    python -m bench.upload_overhead [--size-mib 64] [--rounds 3] [--pg-gib 0]

- upload / download of a random file: the s3_object module (playbook over SSH, temporary
  credentials written and removed, sha256 recorded and verified) vs a bare `aws s3 cp` of the
  same file with the same aws binary on the server;
- `infrakt-backup backup create` of the sample PostgreSQL database end to end vs a
  hand-written `ssh host 'pg_dump -Fc … > f && aws s3 cp f s3://…'` (-Fc compresses already,
  so the hand-written line has no gzip, like ours);
- P4: `backup list` with 10,000 backups in S3 and 100 on the server (bench/list_at_scale.py);
- with --pg-gib N: size and time of `backup create` for a PostgreSQL database of about N GiB.

Prints medians and ratios against the baseline measured in the same run: these machines are
noisy, so nothing here is compared with numbers from another run.
"""

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import names
from bench.list_at_scale import measure_list_at_scale
from infrakt_backup import runner
from infrakt_backup.playbook_vars import s3_variables, server_variables
from infrakt_backup.store import Store
from tests.testbed import Testbed

CLI = str(Path(sys.executable).parent / "infrakt-backup")


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_of(rounds: int, action) -> float:
    return statistics.median(timed(action) for _ in range(rounds))


def report(label: str, ours: float, baseline: float) -> None:
    print(f"{label:<52} ours {ours:6.2f} s   baseline {baseline:6.2f} s   "
          f"ratio {ours / baseline:5.2f}x   overhead {ours - baseline:+.2f} s")


class Bench:
    """The bench plus a wrapper home set up for it (server, S3 settings, sample database)."""

    def __init__(self, work: Path):
        self.bed = Testbed.up()
        self.env = self.bed.env
        self.work = work
        os.environ["INFRAKT_HOME"] = str(work / "home")
        self.cli("server", "add", "bench", "--host", self.env["SSH_HOST"], "--port", self.env["SSH_PORT"],
                 "--ssh-key", self.env["SSH_KEY"], "--backup-dir", str(work / "server-backups"))
        self.cli("server", "provision", "bench")
        self.cli("settings", "s3", "set", "--endpoint-url", self.env["S3_ENDPOINT_URL"], "--bucket",
                 self.env["S3_BUCKET"], "--region", self.env["S3_REGION"], "--access-key", self.env["S3_ACCESS_KEY"],
                 "--prefix", f"bench-{uuid.uuid4().hex[:8]}", secret=True)
        self.store = Store()
        self.server = self.store.server("bench")
        self.credentials = work / "aws-credentials"
        descriptor = os.open(self.credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(f"[default]\naws_access_key_id = {self.env['S3_ACCESS_KEY']}\n"
                         f"aws_secret_access_key = {self.env['S3_SECRET_KEY']}\n")

    def cli(self, *args, secret=False, db_password=None):
        env = dict(os.environ)
        if secret:
            env["INFRAKT_S3_SECRET_KEY"] = self.env["S3_SECRET_KEY"]
        if db_password:
            env["INFRAKT_DB_PASSWORD"] = db_password
        completed = subprocess.run([CLI, *args], env=env, capture_output=True, text=True)
        if completed.returncode != 0:
            raise SystemExit(f"infrakt-backup {' '.join(args)} failed: {completed.stderr.strip()}")

    def bare_aws(self, *args):
        """`aws s3 cp …` with the aws binary the module uses, as one would type it on the server."""
        env = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials),
               "AWS_DEFAULT_REGION": self.env["S3_REGION"]}
        subprocess.run([self.server.aws_bin, "s3", "cp", "--only-show-errors", *args,
                        "--endpoint-url", self.env["S3_ENDPOINT_URL"]], check=True, env=env)

    def play(self, playbook: str, **variables):
        inventory = runner.server_inventory([self.server], self.store.home / "known_hosts")
        all_variables = {**s3_variables(self.store.s3_config()), **server_variables(self.server), **variables}
        runner.run_playbook(playbook, inventory, all_variables).raise_for_failure(playbook)


def measure_transfer(bench: Bench, size_mib: int, rounds: int) -> None:
    directory = Path(bench.server.backup_dir) / "benchfile"
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / names.backup_filename("benchfile", "postgres")
    with open(source, "wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(1 << 20))
    bucket = bench.env["S3_BUCKET"]
    try:
        baseline_up = median_of(rounds, lambda: bench.bare_aws(str(source), f"s3://{bucket}/bare/{uuid.uuid4().hex}"))
        # a fresh prefix each round: the module skips an upload whose sidecar already matches
        ours_up = median_of(rounds, lambda: bench.play("s3_upload.yml", infrakt_db_name="benchfile",
                                                       infrakt_upload_src=str(source),
                                                       infrakt_s3_prefix=f"up-{uuid.uuid4().hex[:8]}"))
        bench.play("s3_upload.yml", infrakt_db_name="benchfile", infrakt_upload_src=str(source),
                   infrakt_s3_prefix="down")
        key = names.object_key("down", "benchfile", source.name)
        target = bench.work / "bare-download"
        baseline_down = median_of(rounds, lambda: bench.bare_aws(f"s3://{bucket}/{key}", str(target)))

        def module_download():
            # a fresh backup dir each round: the module skips a download whose local copy matches
            destination = tempfile.mkdtemp(dir=bench.work)
            bench.play("s3_download.yml", infrakt_db_name="benchfile", infrakt_s3_prefix="down",
                       infrakt_download_filename=source.name, infrakt_backup_dir=destination)

        ours_down = median_of(rounds, module_download)
    finally:
        source.unlink(missing_ok=True)
    report(f"upload {size_mib} MiB (s3_object vs aws s3 cp)", ours_up, baseline_up)
    report(f"download {size_mib} MiB (s3_object vs aws s3 cp)", ours_down, baseline_down)


def measure_backup_create(bench: Bench, rounds: int, database: str, label: str) -> None:
    env = bench.env
    bench.cli("db", "add", database, "--server", "bench", "--engine", "postgres", "--database", database,
              "--host", env["PG_HOST"], "--port", env["PG_PORT"], "--user", env["PG_USER"],
              db_password=env["PG_PASSWORD"])
    passfile = bench.work / "pgpass"
    passfile.write_text(f"{env['PG_HOST']}:{env['PG_PORT']}:*:{env['PG_USER']}:{env['PG_PASSWORD']}\n")
    passfile.chmod(0o600)
    dump = bench.work / "hand.dump"
    hand_written = (
        f"PGPASSFILE={passfile} {env['PG_BIN_DIR']}/pg_dump -Fc -h {env['PG_HOST']} -p {env['PG_PORT']} "
        f"-U {env['PG_USER']} {database} > {dump} && AWS_SHARED_CREDENTIALS_FILE={bench.credentials} "
        f"{bench.server.aws_bin} s3 cp --only-show-errors {dump} s3://{env['S3_BUCKET']}/hand/{database}.dump "
        f"--endpoint-url {env['S3_ENDPOINT_URL']} --region {env['S3_REGION']}"
    )
    ssh = ["ssh", "-q", "-i", env["SSH_KEY"], "-p", env["SSH_PORT"],
           "-o", f"UserKnownHostsFile={env['SSH_KNOWN_HOSTS']}", f"{env['SSH_USER']}@{env['SSH_HOST']}", hand_written]
    baseline = median_of(rounds, lambda: subprocess.run(ssh, check=True))
    ours = median_of(rounds, lambda: bench.cli("backup", "create", database))
    report(f"backup create {label} (vs ssh pg_dump && aws s3 cp)", ours, baseline)
    print(f"{'':<52} dump size {dump.stat().st_size / (1 << 20):.1f} MiB")


def make_big_database(env, gib: float) -> str:
    """Create (once) a PostgreSQL database of about `gib` GiB on the bench; return its name."""
    name = f"bench_big_{str(gib).replace('.', '_')}"
    psql = [f"{env['PG_BIN_DIR']}/psql", "-X", "-q", "-At", "-h", env["PG_HOST"], "-p", env["PG_PORT"],
            "-U", env["PG_USER"]]
    pg_env = {**os.environ, "PGPASSWORD": env["PG_PASSWORD"]}
    exists = subprocess.run([*psql, "-d", env["PG_DATABASE"], "-c",
                             f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                            env=pg_env, capture_output=True, text=True, check=True).stdout.strip()
    if not exists:
        subprocess.run([*psql, "-d", env["PG_DATABASE"], "-c", f'CREATE DATABASE "{name}"'], env=pg_env, check=True)
        rows = int(gib * (1 << 30) / 260)
        subprocess.run([*psql, "-d", name, "-c",
                        "CREATE TABLE events AS SELECT g AS id, now() - g * interval '1 second' AS at, "
                        "md5(g::text) || repeat(md5((g * 7)::text), 6) AS payload "
                        f"FROM generate_series(1, {rows}) AS g"], env=pg_env, check=True)
    size = subprocess.run([*psql, "-d", name, "-c", f"SELECT pg_size_pretty(pg_database_size('{name}'))"],
                          env=pg_env, capture_output=True, text=True, check=True).stdout.strip()
    print(f"PostgreSQL database {shlex.quote(name)}: {size} on disk")
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-gib", type=float, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="infrakt-bench-") as work:
        bench = Bench(Path(work))
        measure_transfer(bench, args.size_mib, args.rounds)
        measure_backup_create(bench, args.rounds, bench.env["PG_DATABASE"], "sample db")
        measure_list_at_scale(bench, args.rounds)
        if args.pg_gib:
            big = make_big_database(bench.env, args.pg_gib)
            measure_backup_create(bench, 1, big, f"{args.pg_gib:g} GiB db")


if __name__ == "__main__":
    main()
