"""Rows P2 and P3: `infrakt-backup backup create` end to end (CLI, play, dump, compression,
upload, sidecar) against the line one would type without us,
`ssh server 'pg_dump -Fc … > f && aws s3 cp f s3://…'` (sequential; -Fc compresses with
gzip-6 already, so the line has no gzip of its own).

P2 backs up the bench's small sample database: what is left is the fixed cost, printed with
its parts. P3 backs up a ~1 GiB database, where our one pass (dump → zstd → file and S3 at
once) should beat the sequential line; its gzip and none variants are printed next to it."""

import os
import shutil
import subprocess
from pathlib import Path
from statistics import median

from bench import bigdb
from bench.harness import Bench, FixedCosts, paired, play_stages, stages_text, timed, timings
from bench.report import Goal, Report, Row

BY_HAND = "ssh pg_dump -Fc > f && aws s3 cp f"
SAMPLE_GOAL = Goal(2.0)
BIG_GOAL = Goal(0.6)
COMPRESSIONS = ("zstd", "gzip", "none")


class Backups:
    """`backup create` of registered databases, each followed by the removal of what it
    wrote (the local copy and the S3 objects), remembering what the CLI reported."""

    def __init__(self, bench: Bench):
        self.bench = bench
        self.created: dict[str, list[dict]] = {}

    def create(self, db_name: str) -> None:
        """Run `backup create DB --json` and keep what it printed."""
        self.created.setdefault(db_name, []).append(self.bench.cli_json("backup", "create", db_name))

    def clean(self, db_name: str) -> None:
        """Remove every backup of db_name, on the server and in S3, and the hand-written dumps."""
        shutil.rmtree(Path(self.bench.server.backup_dir) / db_name, ignore_errors=True)
        self.bench.delete_s3(f"{self.bench.prefix}/{db_name}/")
        self.bench.delete_s3("hand/")

    def median_of(self, db_name: str, key: str) -> float:
        """Return the median of what the CLI reported under key for db_name's backups."""
        return median(created[key] for created in self.created[db_name])


def measure_sample(bench: Bench, report: Report, rounds: int) -> None:
    """Add row P2 (the sample database) and a note splitting its fixed overhead."""
    database = bench.env["PG_DATABASE"]
    bench.add_postgres("sample", database)
    backups = Backups(bench)
    hand_written = bench.hand_written_backup(database)
    ours, by_hand = paired(rounds, lambda: backups.create("sample"), lambda: bench.ssh(hand_written),
                           after=lambda: backups.clean("sample"))
    row = report.add(Row("P2", "backup create, sample db", ours, by_hand, BY_HAND, (SAMPLE_GOAL,)))
    costs = FixedCosts(bench, rounds)
    report.note("P2", f"fixed overhead (ours - by hand) {row.ours_median - row.baseline_median:.2f} s; "
                      f"db_backup's own run on the server {backups.median_of('sample', 'duration_s'):.2f} s; "
                      f"{costs.text()}")
    report.note("P2", f"one backup.yml through the runner, by stage: {stages_text(play_stages(bench, 'sample'))}")
    backups.clean("sample")


def measure_big(bench: Bench, report: Report, rounds: int, gib: float) -> None:
    """Add row P3 (a ~`gib` GiB database, zstd) and its gzip and none variants, with a
    note of each one's size."""
    database = bigdb.ensure_database(bench, gib)
    for compression in COMPRESSIONS:
        bench.add_postgres(f"big_{compression}", database, compression=compression)
    backups = Backups(bench)
    hand_dump = bench.work / f"hand-{database}.dump"
    hand_sizes = []

    def by_hand() -> None:
        bench.ssh(bench.hand_written_backup(database))
        hand_sizes.append(hand_dump.stat().st_size)

    ours, baseline = paired(rounds, lambda: backups.create("big_zstd"), by_hand,
                            after=lambda: backups.clean("big_zstd"))
    what = f"backup create, {gib:g} GiB db"
    report.add(Row("P3", f"{what}, zstd (default)", ours, baseline, BY_HAND, (BIG_GOAL,)))
    for compression in COMPRESSIONS[1:]:
        name = f"big_{compression}"
        seconds = timings(rounds, lambda name=name: backups.create(name), after=lambda name=name: backups.clean(name))
        report.add(Row("P3", f"{what}, {compression}", seconds, baseline, BY_HAND))
    sizes = ", ".join(f"{compression} {backups.median_of(f'big_{compression}', 'size') / (1 << 20):.0f} MiB"
                      for compression in COMPRESSIONS)
    report.note("P3", f"database {database}: {bigdb.size_text(bench, database)} on disk; backup sizes: {sizes}; "
                      f"by hand (pg_dump -Fc, gzip-6) {median(hand_sizes) / (1 << 20):.0f} MiB")
    hand_dump.unlink(missing_ok=True)
    report.note("P3", f"zstd: db_backup's own run on the server {backups.median_of('big_zstd', 'duration_s'):.1f} s; "
                      f"each stage alone, once: {dump_stages(bench, database)}")


def dump_stages(bench: Bench, database: str) -> str:
    """Time the stages of both backups of `database` one by one, into files of the work dir
    (removed after): pg_dump's custom format without compression (our dump stage) and with
    its gzip-6 (the hand-written dump), zstd -3 of the first, and the upload of zstd's output
    with aws s3 cp; return them as a note."""
    env, raw, packed = bench.env, bench.work / "stage.dump", bench.work / "stage.dump.zst"
    pg_dump = [f"{env['PG_BIN_DIR']}/pg_dump", "-Fc", "-h", env["PG_HOST"], "-p", env["PG_PORT"], "-U", env["PG_USER"],
               database]
    pg_env = {**os.environ, "PGPASSFILE": str(bench.pgpass)}

    def run_into(argv: list[str], target: Path, source: Path | None = None) -> None:
        with open(target, "wb") as out, open(source or os.devnull, "rb") as into:
            subprocess.run(argv, stdin=into, stdout=out, env=pg_env, check=True)

    try:
        seconds = {
            "pg_dump -Fc -Z0": timed(lambda: run_into([*pg_dump, "-Z0"], raw)),
            "pg_dump -Fc (gzip-6)": timed(lambda: run_into(pg_dump, packed)),
            "zstd -3 of the -Z0 dump": timed(lambda: run_into(["zstd", "-q", "-3", "--single-thread", "-c"], packed,
                                                              raw)),
        }
        seconds[f"aws s3 cp of zstd's {packed.stat().st_size / (1 << 20):.0f} MiB"] = timed(
            lambda: bench.bare_aws(str(packed), f"s3://{env['S3_BUCKET']}/hand/stage.dump.zst"))
    finally:
        raw.unlink(missing_ok=True)
        packed.unlink(missing_ok=True)
        bench.delete_s3("hand/")
    return ", ".join(f"{stage} {value:.1f} s" for stage, value in seconds.items())
