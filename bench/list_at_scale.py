"""Row P4 of `make bench`: `infrakt-backup backup list` of a database with 10,000 backups in
S3 (each with its sidecar) and 100 on the server, against its goal (3 s) and against the bare
`aws s3api list-objects-v2` of the same prefix on the server, which any listing pays at least
(measured in the same run)."""

import subprocess
from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import names
from bench.harness import Bench, timings
from bench.report import Goal, Report, Row
from tests.integration.many_backups import backup_names, put_s3_backups, write_local_backups

IN_S3 = 10_000
LOCAL = 100
GOAL = Goal(3.0, on="ours")
DB_NAME = "benchlist"


def measure(bench: Bench, report: Report, rounds: int) -> None:
    """Seed the backups, time `backup list` and the bare listing `rounds` times each, add the
    row, then remove what was seeded."""
    env = bench.env
    bench.cli("db", "add", DB_NAME, "--server", "bench", "--engine", "postgres", db_password="unused")
    db_prefix = names.object_prefix(bench.prefix, DB_NAME)
    put_s3_backups(env, bench.prefix, DB_NAME, backup_names(DB_NAME, IN_S3))
    write_local_backups(Path(bench.server.backup_dir), DB_NAME, backup_names(DB_NAME, LOCAL, first=IN_S3))
    bare = [bench.server.aws_bin, "--endpoint-url", env["S3_ENDPOINT_URL"], "s3api", "list-objects-v2",
            f"--bucket={env['S3_BUCKET']}", f"--prefix={db_prefix}", "--delimiter=/", "--output=json"]
    try:
        listed = len(bench.cli_json("backup", "list", DB_NAME))
        ours = timings(rounds, lambda: bench.cli("backup", "list", DB_NAME, "--json"))
        baseline = timings(rounds, lambda: subprocess.run(bare, check=True, env=bench.aws_env(),
                                                          stdout=subprocess.DEVNULL))
    finally:
        bench.delete_s3(db_prefix)
    report.add(Row("P4", f"backup list, {IN_S3} in S3 + {LOCAL} local", ours, baseline,
                   "aws s3api list-objects-v2", (GOAL,)))
    report.note("P4", f"backup list showed {listed} backups ({IN_S3 + LOCAL} expected)")
