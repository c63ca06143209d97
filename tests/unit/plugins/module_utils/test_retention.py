"""Retention (plugins/module_utils/retention.py): restic-style selection against hand-worked
expectations, local pruning on real files, S3 pruning through a stand-in for the aws CLI."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.infrakt.backup.plugins.module_utils import names, retention
from ansible_collections.infrakt.backup.plugins.module_utils.retention import (
    PruneError,
    RetentionPolicy,
    prune,
    prune_local,
    prune_s3,
    select,
)
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import AwsError

DB = "shop"


def backup(when):
    """Return the (filename, created) pair of a backup of DB taken at when."""
    return names.backup_filename(DB, "postgres", when), when


def day(text, hour=2):
    """Return 2026-style `YYYY-MM-DD` at hour:00 UTC."""
    return datetime.fromisoformat(text).replace(hour=hour, tzinfo=UTC)


def kept_days(kept):
    """Return the dates (YYYY-MM-DD) of the kept filenames, oldest first."""
    return [names.backup_created_at(DB, filename).strftime("%Y-%m-%d") for filename in kept]


# --- the policy -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 1.5, "3", True])
def test_a_rule_is_a_whole_number_of_at_least_zero(value):
    with pytest.raises(ValueError, match="keep_daily must be a whole number, at least 0"):
        RetentionPolicy(keep_daily=value)


def test_a_policy_without_rules_keeps_everything():
    assert RetentionPolicy().keeps_everything
    assert not RetentionPolicy(keep_last=0).keeps_everything
    assert RetentionPolicy(keep_weekly=2, keep_last=1).counts() == {"last": 1, "weekly": 2}
    assert RetentionPolicy(keep_last=1) == RetentionPolicy(keep_last=1) != RetentionPolicy(keep_last=2)


# --- select: hand-worked cases ----------------------------------------------------------------


def test_restic_docs_example_twelve_sundays_keep_daily_4():
    # restic's forget documentation: one backup every Sunday for 12 weeks, --keep-daily 4 keeps
    # the last four Sundays and removes the other eight
    sundays = [backup(datetime(2019, 9, 1, 11, tzinfo=UTC) + timedelta(weeks=week)) for week in range(12)]
    kept, forgotten = select(sundays, RetentionPolicy(keep_daily=4))
    assert kept_days(kept) == ["2019-10-27", "2019-11-03", "2019-11-10", "2019-11-17"]
    assert forgotten == [filename for filename, _ in sundays[:8]]
    assert kept[sundays[-1][0]] == ["daily", "newest"]
    assert kept[sundays[-2][0]] == ["daily"]


def test_gfs_over_a_quarter_of_daily_backups():
    # one backup a day at 02:00 from 2026-01-01 (a Thursday) to 2026-03-31 (a Tuesday).
    # daily 7: 03-25 .. 03-31. weekly 4, newest of each ISO week: 03-31 (W14), 03-29 (Sunday,
    # W13, already daily), 03-22 (W12), 03-15 (W11). monthly 3: 03-31, 02-28, 01-31.
    backups = [backup(day("2026-01-01") + timedelta(days=offset)) for offset in range(90)]
    assert backups[-1][1] == day("2026-03-31")
    kept, forgotten = select(backups, RetentionPolicy(keep_daily=7, keep_weekly=4, keep_monthly=3))
    assert kept_days(kept) == [
        "2026-01-31", "2026-02-28", "2026-03-15", "2026-03-22",
        "2026-03-25", "2026-03-26", "2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31",
    ]
    assert len(forgotten) == 90 - 11
    by_day = dict(zip(kept_days(kept), kept.values(), strict=True))
    assert by_day["2026-03-31"] == ["daily", "weekly", "monthly", "newest"]
    assert by_day["2026-03-29"] == ["daily", "weekly"]
    assert by_day["2026-03-22"] == ["weekly"]
    assert by_day["2026-02-28"] == ["monthly"]
    assert by_day["2026-03-30"] == ["daily"]


def test_several_backups_a_day_keep_the_newest_of_each_day():
    backups = [backup(day(date, hour)) for date in ("2026-05-01", "2026-05-02", "2026-05-03") for hour in (1, 9, 17)]
    kept, forgotten = select(backups, RetentionPolicy(keep_daily=2))
    assert list(kept) == [names.backup_filename(DB, "postgres", day("2026-05-02", 17)),
                          names.backup_filename(DB, "postgres", day("2026-05-03", 17))]
    assert len(forgotten) == 7


def test_days_without_a_backup_do_not_count():
    # the N most recent days that HAVE a backup, not the last N calendar days
    backups = [backup(day(date)) for date in ("2026-05-01", "2026-05-05", "2026-05-20", "2026-05-21")]
    kept, forgotten = select(backups, RetentionPolicy(keep_daily=3))
    assert kept_days(kept) == ["2026-05-05", "2026-05-20", "2026-05-21"]
    assert kept_days(forgotten) == ["2026-05-01"]


def test_weeks_are_iso_weeks_across_the_year_end():
    # 2020-12-31 (Thursday) and 2021-01-03 (Sunday) are both in ISO week 2020-W53; 2021-01-04 is 2021-W01
    backups = [backup(day(date)) for date in ("2020-12-31", "2021-01-03", "2021-01-04")]
    kept, forgotten = select(backups, RetentionPolicy(keep_weekly=2))
    assert kept_days(kept) == ["2021-01-03", "2021-01-04"]
    assert kept_days(forgotten) == ["2020-12-31"]


def test_months_and_last_together():
    backups = [backup(day(date)) for date in
               ("2025-11-30", "2025-12-15", "2025-12-31", "2026-01-10", "2026-01-20", "2026-02-01")]
    kept, _forgotten = select(backups, RetentionPolicy(keep_last=2, keep_monthly=3))
    assert kept_days(kept) == ["2025-12-31", "2026-01-20", "2026-02-01"]
    assert list(kept.values()) == [["monthly"], ["last", "monthly"], ["last", "monthly", "newest"]]


def test_keep_last_zero_still_keeps_the_newest():
    backups = [backup(day("2026-05-01") + timedelta(hours=hour)) for hour in range(6)]
    kept, forgotten = select(backups, RetentionPolicy(keep_last=0))
    assert kept == {backups[-1][0]: ["newest"]}
    assert forgotten == [filename for filename, _ in backups[:-1]]
    kept, _forgotten = select(backups, RetentionPolicy(keep_last=0, keep_daily=0, keep_weekly=0, keep_monthly=0))
    assert list(kept) == [backups[-1][0]]


def test_keep_last_keeps_the_n_newest():
    backups = [backup(day("2026-05-01") + timedelta(hours=hour)) for hour in range(6)]
    kept, forgotten = select(list(reversed(backups)), RetentionPolicy(keep_last=3))  # any input order
    assert list(kept) == [filename for filename, _ in backups[3:]]
    assert list(kept.values()) == [["last"], ["last"], ["last", "newest"]]
    assert forgotten == [filename for filename, _ in backups[:3]]


def test_empty_and_keep_everything():
    assert select([], RetentionPolicy(keep_last=3)) == ({}, [])
    assert select([], RetentionPolicy()) == ({}, [])
    backups = [backup(day("2026-05-01") + timedelta(days=offset)) for offset in range(3)]
    assert select(backups, RetentionPolicy()) == ({filename: ["all"] for filename, _ in backups}, [])


def test_backups_of_the_same_second_are_ordered_by_filename():
    when = day("2026-05-01")
    pair = [("shop_postgres_20260501T020000Z.dump.zst", when), ("shop_postgres_20260501T020000Z.dump", when)]
    kept, forgotten = select(pair, RetentionPolicy(keep_last=1))
    assert list(kept) == ["shop_postgres_20260501T020000Z.dump.zst"]
    assert forgotten == ["shop_postgres_20260501T020000Z.dump"]


# --- select: properties -----------------------------------------------------------------------

times = st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31)).map(
    lambda when: when.replace(microsecond=0, tzinfo=UTC))
counts = st.none() | st.integers(0, 10)


@given(st.lists(times, max_size=40, unique=True), counts, counts, counts, counts)
def test_selection_properties(moments, keep_last, keep_daily, keep_weekly, keep_monthly):
    backups = [backup(when) for when in moments]
    policy = RetentionPolicy(keep_last, keep_daily, keep_weekly, keep_monthly)
    kept, forgotten = select(backups, policy)
    ordered = [filename for filename, _ in sorted(backups, key=lambda pair: pair[1])]
    assert sorted([*kept, *forgotten]) == sorted(ordered)
    assert not set(kept) & set(forgotten)
    assert list(kept) == [filename for filename in ordered if filename in kept]
    if backups:
        assert ordered[-1] in kept  # the newest is always kept
    if policy.keeps_everything:
        assert forgotten == []
        return
    by_last = [filename for filename in ordered if "last" in kept.get(filename, [])]
    assert by_last == (ordered[-keep_last:] if keep_last else [])
    for rule, count, bucket in (("daily", keep_daily, lambda when: when.date()),
                                ("weekly", keep_weekly, lambda when: when.isocalendar()[:2]),
                                ("monthly", keep_monthly, lambda when: (when.year, when.month))):
        by_rule = [when for filename, when in backups if rule in kept.get(filename, [])]
        distinct = sorted({bucket(when) for when in moments}, reverse=True)
        assert sorted(bucket(when) for when in by_rule) == sorted(distinct[:count or 0])
        for when in by_rule:  # the newest of its bucket
            assert when == max(other for other in moments if bucket(other) == bucket(when))


# --- prune_local --------------------------------------------------------------------------------


def plant_local(directory, when, sidecar=True):
    """Write a backup of DB taken at when (and its sidecar) into directory; return its filename."""
    filename = names.backup_filename(DB, "postgres", when)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / filename).write_bytes(b"backup " + filename.encode())
    if sidecar:
        (directory / (filename + ".sha256")).write_text(f"{'0' * 64}  {filename}\n")
    return filename


STRANGERS = ("notes.txt", "shop_postgres_20200101T000000Z.dump.partial", "shop_postgres_20200101T000000Z.dump.sha256",
             "shop2_postgres_20200101T000000Z.dump", "shop_postgres_20201301T000000Z.dump")


@pytest.fixture
def local(tmp_path):
    """Six local backups of DB (one a day, with sidecars) among strangers; return (backup_dir, filenames)."""
    directory = tmp_path / "backups" / DB
    filenames = [plant_local(directory, day("2026-05-01") + timedelta(days=offset)) for offset in range(6)]
    for stranger in STRANGERS:
        (directory / stranger).write_text("not ours")
    (directory / "sub").mkdir()
    (directory / "sub" / filenames[0]).write_text("deeper")
    return tmp_path / "backups", filenames


def left(backup_dir):
    """Return the names left in <backup_dir>/<DB>/, sorted."""
    return sorted(path.name for path in (backup_dir / DB).iterdir())


def with_sidecars(filenames):
    return sorted([*filenames, *(filename + ".sha256" for filename in filenames)])


def test_prune_local_keeps_the_newest_and_leaves_strangers(local):
    backup_dir, filenames = local
    result = prune_local(str(backup_dir), DB, 2)
    assert result == {"deleted": filenames[:4], "kept": filenames[4:]}
    assert left(backup_dir) == sorted([*with_sidecars(filenames[4:]), *STRANGERS, "sub"])
    assert (backup_dir / DB / "sub" / filenames[0]).exists()


def test_prune_local_zero_keeps_the_newest(local):
    backup_dir, filenames = local
    assert prune_local(str(backup_dir), DB, 0)["kept"] == filenames[-1:]
    assert left(backup_dir) == sorted([*with_sidecars(filenames[-1:]), *STRANGERS, "sub"])


def test_prune_local_dry_run_deletes_nothing_and_reports_the_same(local):
    backup_dir, filenames = local
    before = left(backup_dir)
    dry = prune_local(str(backup_dir), DB, 1, dry_run=True)
    assert left(backup_dir) == before
    assert dry == prune_local(str(backup_dir), DB, 1) == {"deleted": filenames[:5], "kept": filenames[5:]}


def test_prune_local_never_deletes_a_copy_s3_does_not_hold(local):
    backup_dir, filenames = local
    uploaded = set(filenames) - {filenames[1], filenames[3]}  # two uploads failed
    result = prune_local(str(backup_dir), DB, 1, uploaded=uploaded)
    assert result == {"deleted": [filenames[0], filenames[2], filenames[4]],
                      "kept": [filenames[1], filenames[3], filenames[5]]}
    # the newest stays even when S3 has it, and with nothing uploaded nothing goes
    assert prune_local(str(backup_dir), DB, 0, uploaded=set())["deleted"] == []


def test_prune_local_leaves_a_backup_without_its_sidecar(tmp_path):
    directory = tmp_path / DB
    unverified = plant_local(directory, day("2026-05-01"), sidecar=False)  # e.g. an unverified download
    verified = [plant_local(directory, day("2026-05-02")), plant_local(directory, day("2026-05-03"))]
    result = prune_local(str(tmp_path), DB, 1)
    assert result == {"deleted": verified[:1], "kept": [unverified, verified[1]]}


def test_prune_local_of_a_missing_directory_is_empty(tmp_path):
    assert prune_local(str(tmp_path), DB, 1) == {"deleted": [], "kept": []}


@pytest.mark.parametrize("keep_local", [-1, None, "2"])
def test_prune_local_refuses_a_bad_count(tmp_path, keep_local):
    with pytest.raises(ValueError, match="keep_local"):
        prune_local(str(tmp_path), DB, keep_local)


def test_a_local_failure_reports_only_what_was_deleted(local, monkeypatch):
    backup_dir, filenames = local
    real_unlink = retention.os.unlink

    def unlink(path):
        if path.endswith(filenames[2]):
            raise PermissionError(13, "Permission denied", path)
        real_unlink(path)

    monkeypatch.setattr(retention.os, "unlink", unlink)
    with pytest.raises(PruneError) as raised:
        prune_local(str(backup_dir), DB, 1)
    error = raised.value
    assert error.code == "LocalFileError"
    assert error.message == (f"deleting local backup {filenames[2]} failed: Permission denied; 2 backups were "
                             f"deleted before it: {filenames[0]}, {filenames[1]}")
    assert error.result == {"deleted": filenames[:2], "kept": filenames[5:], "failed": filenames[2]}
    assert left(backup_dir) == sorted([*with_sidecars(filenames[2:]), *STRANGERS, "sub"])


# --- prune_s3 and prune, the aws CLI stood in for -----------------------------------------------


class Bucket:
    """Stands in for awscli.AwsCli on one bucket: the listing, size and delete calls retention
    and operations.delete_backup make, on a dict of key -> size. fail_on: a key whose deletion
    fails (as an unreachable endpoint does)."""

    def __init__(self, keys, fail_on=None, fail_listing=False):
        self.objects = dict.fromkeys(keys, 1)
        self.fail_on = fail_on
        self.fail_listing = fail_listing
        self.deleted = []

    def list_objects(self, bucket, prefix, delimiter=True, max_items=None):
        if self.fail_listing:
            raise AwsError("EndpointUnreachable", "cannot reach the S3 endpoint http://127.0.0.1:9", "stderr")
        return [{"Key": key, "Size": size, "LastModified": "2026-05-06T00:00:00Z"}
                for key, size in sorted(self.objects.items())
                if key.startswith(prefix) and not (delimiter and "/" in key[len(prefix):])]

    def object_sizes(self, bucket, key):
        return {name: size for name, size in self.objects.items() if name.startswith(key)}

    def delete_object(self, bucket, key):
        if key == self.fail_on:
            raise AwsError("AccessDenied", "access to bucket bench was denied (403)", "An error occurred (403)")
        del self.objects[key]
        self.deleted.append(key)


PREFIX = "p/"


def s3_keys(filenames, sidecars=True):
    return [PREFIX + DB + "/" + name for filename in filenames
            for name in ([filename, filename + ".sha256"] if sidecars else [filename])]


FOREIGN = [PREFIX + DB + "/notes.txt", PREFIX + DB + "/sub/" + names.backup_filename(DB, "postgres", day("2020-01-01")),
           PREFIX + DB + "/shop2_postgres_20200101T000000Z.dump", PREFIX + DB + "/orphan.dump.sha256",
           PREFIX + DB + "/shop_postgres_20200101T000000Z.dump.sha256", PREFIX + "other/x.dump"]


@pytest.fixture
def six():
    """Filenames of six backups of DB, one a day, oldest first."""
    return [names.backup_filename(DB, "postgres", day("2026-05-01") + timedelta(days=offset)) for offset in range(6)]


def test_prune_s3_deletes_objects_with_their_sidecars_and_leaves_foreign_ones(six):
    bucket = Bucket(s3_keys(six) + FOREIGN)
    result = prune_s3(bucket, "bench", "p", DB, RetentionPolicy(keep_last=3))
    assert result == {"deleted": six[:3], "kept": six[3:]}
    assert sorted(bucket.objects) == sorted(s3_keys(six[3:]) + FOREIGN)
    assert bucket.deleted == s3_keys(six[:3])  # each backup before its sidecar


def test_prune_s3_dry_run_and_keep_everything_delete_nothing(six):
    bucket = Bucket(s3_keys(six))
    assert prune_s3(bucket, "bench", "p", DB, RetentionPolicy(keep_last=0), dry_run=True) == {
        "deleted": six[:5], "kept": six[5:]}
    assert prune_s3(bucket, "bench", "p", DB, RetentionPolicy()) == {"deleted": [], "kept": six}
    assert bucket.deleted == []


def test_an_s3_object_without_its_sidecar_neither_counts_nor_goes(six):
    # the newest upload did not finish (its sidecar goes last): the newest complete one stays too
    bucket = Bucket(s3_keys(six[:5]) + s3_keys(six[5:], sidecars=False))
    result = prune_s3(bucket, "bench", "p", DB, RetentionPolicy(keep_last=1))
    assert result == {"deleted": six[:4], "kept": six[4:]}


def test_an_s3_failure_reports_only_what_was_deleted(six):
    bucket = Bucket(s3_keys(six), fail_on=s3_keys(six[1:2])[0])
    with pytest.raises(PruneError) as raised:
        prune_s3(bucket, "bench", "p", DB, RetentionPolicy(keep_last=2))
    error = raised.value
    assert (error.code, error.stderr) == ("AccessDenied", "An error occurred (403)")
    assert error.message == (f"deleting {six[1]} from S3 failed: access to bucket bench was denied (403); "
                             f"1 backup was deleted before it: {six[0]}")
    assert error.result == {"deleted": six[:1], "kept": six[4:], "failed": six[1]}
    assert sorted(bucket.objects) == sorted(s3_keys(six[1:]))


def test_prune_goes_to_s3_first_and_protects_local_copies_s3_does_not_hold(tmp_path, six):
    directory = tmp_path / DB
    local_copies = [plant_local(directory, names.backup_created_at(DB, filename)) for filename in six]
    never_uploaded = plant_local(directory, day("2026-05-03", 12))  # its upload failed
    bucket = Bucket(s3_keys(six) + FOREIGN)
    result = prune(str(tmp_path), DB, 1, RetentionPolicy(keep_last=2), s3=(bucket, "bench", "p"))
    assert result == {
        "dry_run": False,
        "s3": {"deleted": six[:4], "kept": six[4:]},
        # what S3's policy dropped was uploaded: it goes locally too; the one never uploaded stays
        "local": {"deleted": [*local_copies[:3], *local_copies[3:5]], "kept": [never_uploaded, local_copies[5]]},
    }
    assert sorted(path.name for path in directory.iterdir()) == with_sidecars([never_uploaded, local_copies[5]])


def test_prune_dry_run_reports_what_a_real_run_deletes(tmp_path, six):
    for filename in six:
        plant_local(tmp_path / DB, names.backup_created_at(DB, filename))
    bucket = Bucket(s3_keys(six))
    policy = RetentionPolicy(keep_last=3)
    dry = prune(str(tmp_path), DB, 2, policy, s3=(bucket, "bench", "p"), dry_run=True)
    assert bucket.deleted == [] and len(list((tmp_path / DB).iterdir())) == 12
    real = prune(str(tmp_path), DB, 2, policy, s3=(bucket, "bench", "p"))
    assert dict(dry, dry_run=False) == real
    assert real["s3"]["deleted"] == six[:3] and real["local"]["deleted"] == six[:4]


def test_prune_without_s3_is_local_only(tmp_path, six):
    for filename in six:
        plant_local(tmp_path / DB, names.backup_created_at(DB, filename))
    assert prune(str(tmp_path), DB, 4, RetentionPolicy(keep_last=1)) == {
        "dry_run": False, "local": {"deleted": six[:2], "kept": six[2:]}, "s3": None}


def test_an_s3_failure_leaves_the_local_backups_untouched(tmp_path, six):
    for filename in six:
        plant_local(tmp_path / DB, names.backup_created_at(DB, filename))
    with pytest.raises(PruneError) as raised:
        prune(str(tmp_path), DB, 1, RetentionPolicy(keep_last=1), s3=(Bucket([], fail_listing=True), "bench", "p"))
    assert raised.value.code == "EndpointUnreachable"
    assert raised.value.message == ("listing the S3 backups of shop failed: cannot reach the S3 endpoint "
                                    "http://127.0.0.1:9; nothing was deleted")
    assert raised.value.result == {"dry_run": False, "local": None,
                                   "s3": {"deleted": [], "kept": [], "failed": None}}
    assert len(list((tmp_path / DB).iterdir())) == 12


def test_a_local_failure_after_s3_reports_both(tmp_path, six, monkeypatch):
    for filename in six:
        plant_local(tmp_path / DB, names.backup_created_at(DB, filename))
    monkeypatch.setattr(retention, "_remove_local", lambda path: (_ for _ in ()).throw(OSError(30, "Read-only")))
    with pytest.raises(PruneError) as raised:
        prune(str(tmp_path), DB, 1, RetentionPolicy(keep_last=5), s3=(Bucket(s3_keys(six)), "bench", "p"))
    assert raised.value.result == {"dry_run": False, "s3": {"deleted": six[:1], "kept": six[1:]},
                                   "local": {"deleted": [], "kept": six[5:], "failed": six[0]}}


def test_bad_local_input_fails_before_s3_is_touched(six):
    bucket = Bucket(s3_keys(six))
    with pytest.raises(ValueError, match="backup_dir 'relative' must be an absolute path"):
        prune("relative", DB, 1, RetentionPolicy(keep_last=1), s3=(bucket, "bench", "p"))
    assert bucket.deleted == []
