"""Rows T1 and T2: what trust costs (issue 10). T1 backs up a ~1 GiB database encrypted (zstd,
then age to the stored identity's recipient, on the server in the one pass) against the same
backup unencrypted, round for round in the same run. T2 drills the sample database's newest
backup (`backup verify --latest --restore`: streamed from S3, signature and sha256 checked,
restored into a scratch database, counted, dropped) against the restore one would type by hand,
`createdb x && aws s3 cp s3://… - | zstd -dc | pg_restore -d x; dropdb x`; and the same drill of
an encrypted backup, which the CLI brings the identity to."""

import shlex

from bench import bigdb
from bench.backup_create import Backups
from bench.harness import Bench, timed
from bench.report import Report, Row

UNENCRYPTED = "the same, unencrypted"
DRILL_BY_HAND = "createdb && aws s3 cp - | zstd -dc | pg_restore; dropdb"


def measure_encryption(bench: Bench, report: Report, rounds: int, gib: float) -> None:
    """Add row T1: `backup create` of a ~gib GiB database with encryption on against off."""
    database = bigdb.ensure_database(bench, gib)
    bench.add_postgres("big_age", database)
    backups = Backups(bench)
    encrypted, plain = [], []
    try:
        for _ in range(rounds):
            bench.cli("settings", "encryption", "disable")
            plain.append(timed(lambda: backups.create("big_age")))
            backups.clean("big_age")
            bench.cli("settings", "encryption", "init")  # the first makes the identity, the others turn it on
            encrypted.append(timed(lambda: backups.create("big_age")))
            backups.clean("big_age")
    finally:
        bench.cli("settings", "encryption", "disable")
    report.add(Row("T1", f"backup create, {gib:g} GiB db, zstd + age", encrypted, plain, UNENCRYPTED))
    sizes = [created["size"] for created in backups.created["big_age"]]
    report.note("T1", f"sizes: unencrypted {sizes[0] / (1 << 20):.1f} MiB, encrypted {sizes[1] / (1 << 20):.1f} MiB; "
                      f"db_backup's own run on the server, unencrypted then encrypted: "
                      f"{', '.join(str(created['duration_s']) + ' s' for created in backups.created['big_age'][:2])}")


def measure_drill(bench: Bench, report: Report, rounds: int) -> None:
    """Add row T2: a restore drill of the sample database's newest backup, unencrypted and
    encrypted, against the hand-typed restore of the same object into a scratch database."""
    bench.add_postgres("drill", bench.env["PG_DATABASE"])
    try:
        for encrypted in (False, True):
            bench.cli("settings", "encryption", "init" if encrypted else "disable")
            report.add(drill_row(bench, rounds, encrypted))
    finally:
        bench.cli("settings", "encryption", "disable")


def drill_row(bench: Bench, rounds: int, encrypted: bool) -> Row:
    """Back up the sample database once (encrypted as the settings say), then time `rounds`
    drills of it against the hand-typed restore; return the row."""
    backups = Backups(bench)
    backups.create("drill")
    created = backups.created["drill"][-1]
    hand_written = hand_written_drill(bench, created["s3_key"], encrypted)
    ours, by_hand = [], []
    try:
        for _ in range(rounds):
            by_hand.append(timed(lambda: bench.ssh(hand_written)))
            ours.append(timed(lambda: bench.cli("backup", "verify", "drill", "--latest", "--restore")))
    finally:
        backups.clean("drill")
    return Row("T2", "backup verify --restore, sample db" + (", encrypted" if encrypted else ""), ours, by_hand,
               DRILL_BY_HAND + (" (age -d first)" if encrypted else ""))


def hand_written_drill(bench: Bench, s3_key: str, encrypted: bool) -> str:
    """Return the shell line one would type on the server to restore the object at s3_key (a
    zstd custom-format dump, age-encrypted when encrypted: the identity exported to a file)
    into a fresh database and drop it after."""
    env, scratch = bench.env, "bench_hand_drill"
    decrypt = ""
    if encrypted:
        identity = bench.work / "identity.txt"
        if not identity.exists():
            bench.cli("settings", "encryption", "export-identity", "--output", str(identity))
        decrypt = f"age -d -i {identity} | "
    pg = f"PGPASSFILE={bench.pgpass} {env['PG_BIN_DIR']}/%s -h {env['PG_HOST']} -p {env['PG_PORT']} -U {env['PG_USER']}"
    return (
        f"set -o pipefail; {pg % 'createdb'} {scratch} && AWS_SHARED_CREDENTIALS_FILE={bench.credentials} "
        f"AWS_CONFIG_FILE={bench.aws_config()} {bench.server.aws_bin} s3 cp --only-show-errors "
        f"s3://{env['S3_BUCKET']}/{shlex.quote(s3_key)} - --endpoint-url {env['S3_ENDPOINT_URL']} | {decrypt}"
        f"zstd -dc | {pg % 'pg_restore'} -d {scratch}; status=$?; {pg % 'dropdb'} {scratch}; exit $status"
    )
