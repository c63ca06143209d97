"""`make bench` (python -m bench): what infrakt.backup costs against doing the same by hand,
measured on the local test bench (started here when it is not running), as one table.

    python -m bench [--rows P1,P2,...] [--rounds 3] [--big-rounds 1] [--file-mib 1024]
                    [--big-gib 1] [--huge-gib 4] [--keep-databases]

Every row's baseline is measured in the same run, round for round next to ours: the machine
is shared and noisy, so nothing is compared with numbers from another run. Small rows (P2,
P4) run --rounds rounds, the long ones (P1's 1 GiB file, P3's 1 GiB database, P5's 16
backups one after another, T1's encrypted 1 GiB backup) --big-rounds, P6 one backup of each
size; T2's drills --rounds. The big databases are made once per run (or
found from an earlier run with --keep-databases) and dropped at the end.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import backup_create, bigdb, fleet, list_at_scale, memory, transfer, trust
from bench.harness import Bench
from bench.report import Report

ROWS = ("P1", "P2", "P3", "P4", "P5", "P6", "T1", "T2")


def run_rows(bench: Bench, report: Report, args: argparse.Namespace) -> list[str]:
    """Measure the chosen rows into report; return the failures (`P3: …`), one per row that
    could not be measured, after trying every row."""
    rows = {
        "P1": lambda: transfer.measure(bench, report, args.big_rounds, args.file_mib),
        "P2": lambda: backup_create.measure_sample(bench, report, args.rounds),
        "P3": lambda: backup_create.measure_big(bench, report, args.big_rounds, args.big_gib),
        "P4": lambda: list_at_scale.measure(bench, report, args.rounds),
        "P5": lambda: fleet.measure(bench, report, args.big_rounds),
        "P6": lambda: memory.measure(bench, report, (args.big_gib, args.huge_gib)),
        "T1": lambda: trust.measure_encryption(bench, report, args.big_rounds, args.big_gib),
        "T2": lambda: trust.measure_drill(bench, report, args.rounds),
    }
    failures = []
    for key in args.rows:
        started = time.monotonic()
        try:
            rows[key]()
        except (Exception, SystemExit) as error:  # the other rows still run; the table says which failed
            failures.append(f"{key}: {error}")
        print(f"bench: {key} done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return failures


def main() -> int:
    """Parse the options, run the rows, print the table; return 1 when a row failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda text: text.upper().split(","), default=list(ROWS),
                        help="comma-separated rows to run (default: all)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the small rows")
    parser.add_argument("--big-rounds", type=int, default=1, help="rounds of the long rows (P1, P3, P5)")
    parser.add_argument("--file-mib", type=int, default=1024, help="P1's file size")
    parser.add_argument("--big-gib", type=float, default=1, help="P3's (and P6's small) database size")
    parser.add_argument("--huge-gib", type=float, default=4, help="P6's big database size")
    parser.add_argument("--keep-databases", action="store_true", help="leave the big databases for the next run")
    args = parser.parse_args()
    unknown = sorted(set(args.rows) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    started = time.monotonic()
    report = Report()
    with tempfile.TemporaryDirectory(prefix="infrakt-bench-") as work:
        bench = Bench(Path(work))
        try:
            failures = run_rows(bench, report, args)
        finally:
            if not args.keep_databases:
                for gib in (args.big_gib, args.huge_gib):
                    bigdb.drop_database(bench, gib)
            bench.delete_s3(f"{bench.prefix}")
    print(report.render())
    print(f"\n{len(report.rows)} rows in {time.monotonic() - started:.0f} s; rounds: {args.rounds} for P2, P4 and T2, "
          f"{args.big_rounds} for P1 ({args.file_mib} MiB file), P3 and T1 ({args.big_gib:g} GiB database) and P5, "
          f"one backup of each size for P6.")
    for failure in failures:
        print(f"bench: row {failure}", file=sys.stderr)
    return 1 if failures else 0


sys.exit(main())
