"""Retention on the bench: playbooks/prune.yml through plain ansible-playbook over SSH (module
backup_prune), against backups planted in the bench S3 (moto) and in a backup dir on the
"server" (this machine). What is deleted and what stays is read back from S3 and the disk."""

import hashlib
import os
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import names
from tests.integration.plays import PlaybookRun, bench_s3_client, bench_s3_variables, plant_backup, run_playbook

pytestmark = pytest.mark.integration

DB = "shop"
SIX = [datetime(2026, 5, day, 2, 0, tzinfo=UTC) for day in range(1, 7)]


@pytest.fixture(scope="module")
def bench(testbed):
    """The bench, a prefix of this module's own and a credentials base dir of our own on tmpfs
    (so that the "nothing left behind" checks see only our runs)."""
    credentials_base = Path(f"/dev/shm/infrakt-prune-{os.getpid()}")
    yield {"testbed": testbed, "env": testbed.env, "credentials_base": credentials_base,
           "s3": bench_s3_client(testbed.env), "prefix": f"prune-{secrets.token_hex(4)}/backups"}
    shutil.rmtree(credentials_base, ignore_errors=True)


@pytest.fixture
def where(bench, tmp_path):
    """A place of one test's own: {bench..., prefix (unique per test), backup_dir}."""
    return dict(bench, prefix=f"{bench['prefix']}/{secrets.token_hex(3)}", backup_dir=tmp_path / "backups")


def prune_run(where, check=False, s3=True, **variables) -> PlaybookRun:
    """Run prune.yml for DB with variables (infrakt_ prefixed), over the bench S3 when s3."""
    s3_variables = bench_s3_variables(where["env"], where["prefix"], infrakt_aws_bin=where["env"]["AWS_BIN"],
                                      infrakt_s3_credentials_base_dir=str(where["credentials_base"])) if s3 else {}
    return run_playbook(where["testbed"], "prune.yml", {
        **s3_variables, "infrakt_db_name": DB, "infrakt_backup_dir": str(where["backup_dir"]),
        **{f"infrakt_{name}": value for name, value in variables.items()},
    }, check=check)


def filename_at(when):
    return names.backup_filename(DB, "postgres", when)


def plant(where, moments, local=True, s3=True, s3_sidecar=True):
    """Plant a backup of DB taken at each moment (distinct bytes, matching sidecars) in the
    backup dir and/or under <prefix>/<DB>/ in S3 (object with sha256 metadata, then sidecar);
    return {filename: bytes}."""
    planted = {}
    for when in moments:
        filename = filename_at(when)
        data = f"backup {filename} ".encode() + os.urandom(512)
        digest = hashlib.sha256(data).hexdigest()
        if local:
            plant_backup(where["backup_dir"] / DB, filename, data)
        if s3:
            key = f"{where['prefix']}/{DB}/{filename}"
            where["s3"].put_object(Bucket=where["env"]["S3_BUCKET"], Key=key, Body=data, Metadata={"sha256": digest})
            if s3_sidecar:
                where["s3"].put_object(Bucket=where["env"]["S3_BUCKET"], Key=key + ".sha256",
                                       Body=f"{digest}  {filename}\n".encode())
        planted[filename] = data
    return planted


def put_foreign(where):
    """Put objects under <prefix>/<DB>/ that are not backups of DB directly there; return their names."""
    foreign = {"notes.txt": b"not a backup", f"sub/{filename_at(SIX[0])}": b"deeper down",
               "shop2_postgres_20260501T020000Z.dump": b"another database",
               "shop_postgres_20200101T000000Z.dump.sha256": b"a sidecar without its backup"}
    for name, body in foreign.items():
        where["s3"].put_object(Bucket=where["env"]["S3_BUCKET"], Key=f"{where['prefix']}/{DB}/{name}", Body=body)
    return foreign


def in_s3(where):
    """Return {name below <prefix>/<DB>/: bytes} of every object there, deeper ones included."""
    bucket, base = where["env"]["S3_BUCKET"], f"{where['prefix']}/{DB}/"
    listed = where["s3"].list_objects_v2(Bucket=bucket, Prefix=base).get("Contents", [])
    return {item["Key"][len(base):]: where["s3"].get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for item in listed}


def on_disk(where):
    """Return {name: bytes} of the files in <backup_dir>/<DB>/."""
    directory = where["backup_dir"] / DB
    return {path.name: path.read_bytes() for path in directory.iterdir()} if directory.exists() else {}


def with_sidecars(filenames):
    """Return the backup filenames and their sidecar names, sorted."""
    return sorted([*filenames, *(filename + ".sha256" for filename in filenames)])


def succeeded(run: PlaybookRun) -> dict:
    """Return the prune task's result after checking that the play passed."""
    assert run.returncode == 0, run.stdout[-4000:]
    return run.result("Prune the backups")


def assert_no_credentials_left(where, run: PlaybookRun) -> None:
    """The run wrote its credentials under the base directory it was given (backup_prune made
    that directory for them) and removed them again."""
    assert where["credentials_base"].is_dir(), "the run did not write credentials"
    assert os.listdir(where["credentials_base"]) == []


def test_keep_last_3_leaves_the_three_newest_in_s3_and_check_mode_deletes_nothing(where):
    planted = plant(where, SIX)
    foreign = put_foreign(where)
    names_before, disk_before = in_s3(where), on_disk(where)
    newest = sorted(planted)[3:]

    dry = prune_run(where, check=True, keep_last=3)
    dry_result = succeeded(dry)
    assert in_s3(where) == names_before and on_disk(where) == disk_before
    assert_no_credentials_left(where, dry)

    real = prune_run(where, keep_last=3)
    result = succeeded(real)
    assert result["changed"] is True and result["dry_run"] is False
    assert result["s3"] == {"deleted": sorted(planted)[:3], "kept": newest}
    assert result["local"] == {"deleted": [], "kept": sorted(planted)}  # keep_local 7 by default
    assert dict(dry_result, dry_run=False) == result
    left = in_s3(where)
    assert sorted(set(left) - set(foreign)) == with_sidecars(newest)
    for filename in newest:  # the same bytes, the sidecars still matching
        assert left[filename] == planted[filename]
        assert left[filename + ".sha256"].decode() == f"{hashlib.sha256(planted[filename]).hexdigest()}  {filename}\n"
    assert {name: left[name] for name in foreign} == foreign
    assert on_disk(where) == disk_before
    assert_no_credentials_left(where, real)

    again = succeeded(prune_run(where, keep_last=3))
    assert again["changed"] is False and again["s3"] == {"deleted": [], "kept": newest}


def test_gfs_over_older_backups(where):
    # daily 2: 12-10, 12-09; weekly 2 (ISO weeks): 12-10 (W50), 12-03 (W49: newer than 12-01);
    # monthly 3: 12-10 (Dec), 11-28 (Nov), 10-25 (Oct). Everything else goes.
    dates = ["2025-09-10", "2025-10-05", "2025-10-25", "2025-11-15", "2025-11-28", "2025-12-01", "2025-12-03",
             "2025-12-08", "2025-12-09", "2025-12-10"]
    moments = [datetime.fromisoformat(date).replace(hour=2, tzinfo=UTC) for date in dates]
    planted = plant(where, moments)
    expected = [filename_at(moments[index]) for index in (2, 4, 6, 8, 9)]

    rules = dict(keep_local=2, keep_daily=2, keep_weekly=2, keep_monthly=3)
    dry = succeeded(prune_run(where, dry_run=True, **rules))  # the CLI's --dry-run: no --check
    assert dry["dry_run"] is True and dry["changed"] is True
    assert sorted(in_s3(where)) == with_sidecars(sorted(planted)) and len(on_disk(where)) == 20

    result = succeeded(prune_run(where, **rules))
    assert dict(dry, dry_run=False) == result
    assert result["s3"] == {"deleted": [name for name in sorted(planted) if name not in expected], "kept": expected}
    assert sorted(in_s3(where)) == with_sidecars(expected)
    # locally the two newest stay; the others were all in S3 before this prune
    assert result["local"] == {"deleted": sorted(planted)[:-2], "kept": sorted(planted)[-2:]}
    assert sorted(on_disk(where)) == with_sidecars(sorted(planted)[-2:])


def test_keep_last_0_keeps_the_newest_in_both_places(where):
    planted = plant(where, SIX)
    newest = sorted(planted)[-1]
    result = succeeded(prune_run(where, keep_local=0, keep_last=0))
    assert result["s3"] == {"deleted": sorted(planted)[:-1], "kept": [newest]}
    assert result["local"] == {"deleted": sorted(planted)[:-1], "kept": [newest]}
    assert in_s3(where) == {newest: planted[newest], newest + ".sha256": on_disk(where)[newest + ".sha256"]}
    assert on_disk(where)[newest] == planted[newest] and len(on_disk(where)) == 2


def test_a_local_copy_missing_from_s3_survives_local_pruning(where):
    planted = plant(where, SIX, s3=False)
    ordered = sorted(planted)
    missing, unfinished = ordered[2], ordered[3]  # one upload failed, one never got its sidecar
    plant(where, [SIX[index] for index in (0, 1, 4, 5)], local=False)
    where["s3"].put_object(Bucket=where["env"]["S3_BUCKET"], Key=f"{where['prefix']}/{DB}/{unfinished}",
                           Body=planted[unfinished])

    result = succeeded(prune_run(where, keep_local=1))  # no S3 rule: S3 keeps everything
    assert result["s3"] == {"deleted": [], "kept": [name for name in ordered if name != missing]}
    assert result["local"] == {"deleted": [ordered[0], ordered[1], ordered[4]],
                               "kept": [missing, unfinished, ordered[5]]}
    assert sorted(on_disk(where)) == with_sidecars([missing, unfinished, ordered[5]])
    assert on_disk(where)[missing] == planted[missing]


def test_without_s3_only_local_backups_are_pruned(where):
    planted = plant(where, SIX, s3=False)
    run = prune_run(where, s3=False, keep_local=2, keep_last=1)
    result = succeeded(run)
    assert result["s3"] is None and result["local"] == {"deleted": sorted(planted)[:4], "kept": sorted(planted)[4:]}
    assert run.facts("infrakt_s3_credentials_dir") == []
    assert sorted(on_disk(where)) == with_sidecars(sorted(planted)[4:])


def test_a_failing_s3_is_one_line_and_leaves_everything(where):
    plant(where, SIX)
    names_before, disk_before = in_s3(where), on_disk(where)
    run = prune_run(where, keep_local=1, keep_last=1, s3_secret_key="wrong" + where["env"]["S3_SECRET_KEY"])
    assert run.returncode != 0
    status, result = run.status_and_result("Prune the backups")
    assert status == "fatal"
    assert result["msg"] == ("Pruning the backups of shop failed: listing the S3 backups of shop failed: the secret "
                             "key does not match the access key (SignatureDoesNotMatch): check the secret key; "
                             "nothing was deleted")
    assert result["error_code"] == "SignatureDoesNotMatch"
    assert (result["local"], result["s3"]) == (None, {"deleted": [], "kept": [], "failed": None})
    assert in_s3(where) == names_before and on_disk(where) == disk_before
    assert where["env"]["S3_SECRET_KEY"] not in run.output
    assert_no_credentials_left(where, run)
