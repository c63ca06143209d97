"""Row P4 of `make bench`: `infrakt-backup backup list` of a database with 10,000 backups in
S3 (each with its sidecar) and 100 on the server, against its goal (3 s) and against the bare
`aws s3api list-objects-v2` of the same prefix on the server, which any listing pays at least
(measured in the same run)."""

import os
import statistics
import subprocess
import time
from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import names
from tests.integration.many_backups import backup_names, delete_s3_prefix, put_s3_backups, write_local_backups

IN_S3 = 10_000
LOCAL = 100
GOAL_SECONDS = 3.0
DB_NAME = "benchlist"


def timings(rounds: int, action) -> list[float]:
    """Return the wall seconds of `rounds` runs of action."""
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def measure_list_at_scale(bench, rounds: int) -> None:
    """Seed the backups, time `backup list` and the bare listing `rounds` times each, print the
    row (median, min–max, ratio, goal), then remove what was seeded."""
    env = bench.env
    prefix = bench.store.s3_config().prefix
    bench.cli("db", "add", DB_NAME, "--server", "bench", "--engine", "postgres", db_password="unused")
    db_prefix = names.object_prefix(prefix, DB_NAME)
    put_s3_backups(env, prefix, DB_NAME, backup_names(DB_NAME, IN_S3))
    write_local_backups(Path(bench.server.backup_dir), DB_NAME, backup_names(DB_NAME, LOCAL, first=IN_S3))
    aws_env = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(bench.credentials),
               "AWS_DEFAULT_REGION": env["S3_REGION"]}
    bare = [bench.server.aws_bin, "--endpoint-url", env["S3_ENDPOINT_URL"], "s3api", "list-objects-v2",
            f"--bucket={env['S3_BUCKET']}", f"--prefix={db_prefix}", "--delimiter=/", "--output=json"]
    try:
        ours = timings(rounds, lambda: bench.cli("backup", "list", DB_NAME, "--json"))
        baseline = timings(rounds, lambda: subprocess.run(bare, check=True, env=aws_env, stdout=subprocess.DEVNULL))
    finally:
        delete_s3_prefix(env, db_prefix)
    median, base = statistics.median(ours), statistics.median(baseline)
    verdict = "met" if median <= GOAL_SECONDS else "missed"
    print(f"{f'P4 backup list {IN_S3} in S3 + {LOCAL} local':<52} ours {median:6.2f} s "
          f"({min(ours):.2f}-{max(ours):.2f})   baseline {base:6.2f} s ({min(baseline):.2f}-{max(baseline):.2f}, "
          f"bare list-objects-v2)   ratio {median / base:5.2f}x   goal <= {GOAL_SECONDS:g} s: {verdict}")
