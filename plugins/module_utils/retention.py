# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retention: which backups of a database to keep, locally and in S3, and pruning the others.

The policy follows restic's and borg's `forget`, by the time in the backup's filename (UTC):
keep_last N keeps the N newest; keep_daily / keep_weekly / keep_monthly N keep, walking from
the newest backup to the oldest, the newest backup of each of the N most recent days (ISO
weeks, months) that have one. A backup kept by any rule stays; the newest backup always stays.
A policy with no rule keeps everything (S3's default until a policy is set); a rule of 0 keeps
nothing by itself.

Pruning touches only names of the backup filename grammar of the one database: locally the
files in `<backup_dir>/<db_name>/` (partial files, sidecars and strangers stay), in S3 the
objects directly under `<prefix>/<db_name>/` (a foreign object, one deeper down, a sidecar
without its backup stay). A backup goes with its `.sha256` sidecar, the backup first (a sidecar
left alone by a failure is ignored by every listing). While S3 is configured, a local copy that
S3 does not hold completely (object and sidecar) is never deleted: it may be the only copy.

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import (
    database_dir,
    list_local_backups,
    sidecar_path,
)
from ansible_collections.infrakt.backup.plugins.module_utils.s3 import operations
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import AwsError

DEFAULT_KEEP_LOCAL = 7
RULES = ("last", "daily", "weekly", "monthly")
# what a backup falls into for each calendar rule (UTC)
BUCKETS = {
    "daily": lambda created: created.date(),
    "weekly": lambda created: tuple(created.isocalendar())[:2],  # ISO year and week
    "monthly": lambda created: (created.year, created.month),
}


class RetentionPolicy:
    """How many backups each rule keeps (None: the rule is not set): keep_last, keep_daily,
    keep_weekly, keep_monthly. No rule set keeps everything."""

    def __init__(self, keep_last=None, keep_daily=None, keep_weekly=None, keep_monthly=None):
        for what, value in (("keep_last", keep_last), ("keep_daily", keep_daily), ("keep_weekly", keep_weekly),
                            ("keep_monthly", keep_monthly)):
            validate_count(value, what, optional=True)
        self.keep_last = keep_last
        self.keep_daily = keep_daily
        self.keep_weekly = keep_weekly
        self.keep_monthly = keep_monthly

    def counts(self):
        """Return {rule: count} for the rules that are set, in RULES order."""
        return {rule: getattr(self, "keep_" + rule) for rule in RULES if getattr(self, "keep_" + rule) is not None}

    @property
    def keeps_everything(self):
        """True when no rule is set."""
        return not self.counts()

    def __eq__(self, other):
        return isinstance(other, RetentionPolicy) and self.counts() == other.counts()

    def __repr__(self):
        return "RetentionPolicy(%s)" % ", ".join("keep_%s=%d" % item for item in self.counts().items())


class PruneError(Exception):
    """A prune that failed part way: `code` (the AwsError's, or LocalFileError), `message` (one
    line: what failed, why, and which backups were deleted before), `stderr` (the aws CLI's,
    secrets stripped; empty when it did not run) and `result`, the caller's result shape with
    only what really was deleted: {"deleted", "kept", "failed"} from prune_local/prune_s3, where
    failed is the filename whose deletion failed (None when the S3 listing failed; its object
    may be gone while its sidecar stayed) and the backups after it were not tried; prune()'s
    {"dry_run", "local", "s3"} with such a dict in the side that failed. Bad input raises
    ValueError before anything is deleted."""

    def __init__(self, code, message, stderr="", result=None):
        super(PruneError, self).__init__(message)
        self.code = code
        self.message = message
        self.stderr = stderr
        self.result = result or {}


def validate_count(value, what, optional=False):
    """Return value if it is a whole number, at least 0 (None too when optional); raise
    ValueError otherwise."""
    if value is None and optional:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("%s must be a whole number, at least 0 (not %r)" % (what, value))
    return value


def select(backups, policy):
    """Apply policy (a RetentionPolicy; None keeps everything) to backups, (filename, created) pairs with created an
    aware datetime (names.parse_backup_filename). Return (kept, forgotten): kept maps each kept
    filename, oldest first, to its reasons in RULES order ("last", "daily", "weekly",
    "monthly"; "newest" for the newest backup, which is always kept; "all" when the policy keeps
    everything); forgotten lists the other filenames, oldest first. Backups with the same time
    are ordered by filename."""
    policy = RetentionPolicy() if policy is None else policy
    ordered = sorted(set(backups), key=_by_time)
    reasons = {filename: [] for filename, _created in ordered}
    if policy.keeps_everything:
        return {filename: ["all"] for filename, _created in ordered}, []
    counts = policy.counts()
    seen = {rule: set() for rule in counts}  # the buckets each rule has kept a backup of
    for position, (filename, created) in enumerate(reversed(ordered)):
        for rule, count in counts.items():
            bucket = position if rule == "last" else BUCKETS[rule](created)
            if len(seen[rule]) < count and bucket not in seen[rule]:
                seen[rule].add(bucket)
                reasons[filename].append(rule)
        if position == 0:
            reasons[filename].append("newest")
    kept = {filename: reasons[filename] for filename, _created in ordered if reasons[filename]}
    return kept, [filename for filename, _created in ordered if not reasons[filename]]


def prune_local(backup_dir, db_name, keep_local, uploaded=None, dry_run=False):
    """Delete the local backups of db_name under backup_dir (backup_files.list_local_backups:
    names of the grammar only) but the keep_local newest, each with its sidecar; only backups
    with a readable sidecar count and may go, the newest of them is never deleted, and when
    uploaded is a set of filenames (S3 is configured: the backups S3 holds completely), neither
    is a copy whose filename is not in it. dry_run deletes nothing. Return {"deleted": [...],
    "kept": [...]}, filenames oldest first (what would be deleted when dry_run). A failure
    raises PruneError with what was deleted before it."""
    validate_count(keep_local, "keep_local")
    listed = list_local_backups(backup_dir, db_name)
    paths = {entry["filename"]: entry["path"] for entry in listed}
    present = [(entry["filename"], _created(entry["filename"], db_name)) for entry in listed]
    complete = {entry["filename"] for entry in listed if entry["sha256"] is not None}
    result, forgotten = _plan(present, complete, RetentionPolicy(keep_last=keep_local), uploaded)
    for filename in forgotten:
        if not dry_run:
            try:
                _remove_local(paths[filename])
            except OSError as error:
                raise PruneError(
                    "LocalFileError",
                    "deleting local backup %s failed: %s; %s" % (filename, error.strerror or error,
                                                                 _deleted_before(result["deleted"])),
                    result=dict(result, failed=filename),
                ) from None
        result["deleted"].append(filename)
    return result


def prune_s3(cli, bucket, prefix, db_name, policy, dry_run=False):
    """Delete the S3 backups of db_name that policy (a RetentionPolicy) does not keep: only
    objects directly under `<prefix>/<db_name>/` whose names are backups of db_name count, each
    deleted with its sidecar (operations.delete_backup). cli is an awscli.AwsCli. dry_run deletes
    nothing. Return {"deleted": [...], "kept": [...]}, filenames oldest first (what would be
    deleted when dry_run). A failure raises PruneError with what was deleted before it."""
    return _prune_s3(cli, bucket, prefix, db_name, policy, dry_run)[0]


def prune(backup_dir, db_name, keep_local, policy, s3=None, dry_run=False):
    """Apply retention to the backups of db_name: in S3 first when s3 is (cli, bucket, prefix)
    (prune_s3 with policy), then locally (prune_local with keep_local), where the copies S3 held
    completely before this prune count as uploaded (a copy S3's policy dropped was uploaded; one
    never uploaded stays). dry_run deletes nothing. Return {"dry_run": bool, "local": {"deleted",
    "kept"}, "s3": {"deleted", "kept"} or None}, filenames oldest first. A failure raises
    PruneError whose result has that shape with what was really deleted (a failure in S3 leaves
    the local backups untouched: local None)."""
    validate_count(keep_local, "keep_local")
    database_dir(backup_dir, db_name)  # bad input fails before S3 is touched
    result = {"dry_run": bool(dry_run), "local": None, "s3": None}
    uploaded = None
    if s3 is not None:
        cli, bucket, prefix = s3
        try:
            result["s3"], uploaded = _prune_s3(cli, bucket, prefix, db_name, policy, dry_run)
        except PruneError as error:
            raise PruneError(error.code, error.message, error.stderr, dict(result, s3=error.result)) from None
    try:
        result["local"] = prune_local(backup_dir, db_name, keep_local, uploaded, dry_run)
    except PruneError as error:
        raise PruneError(error.code, error.message, error.stderr, dict(result, local=error.result)) from None
    return result


def _prune_s3(cli, bucket, prefix, db_name, policy, dry_run):
    """Return (prune_s3's result, the set of filenames S3 held completely before it)."""
    db_prefix = names.object_prefix(prefix, db_name)
    try:
        names.validate_bucket(bucket)
        objects, sidecars = operations.split_listing(cli.list_objects(bucket, db_prefix), db_prefix)
    except AwsError as error:
        raise PruneError(error.code, "listing the S3 backups of %s failed: %s; nothing was deleted"
                         % (db_name, error.message), error.stderr,
                         {"deleted": [], "kept": [], "failed": None}) from None
    present = []
    for entry in objects:
        with contextlib.suppress(ValueError):  # not a backup of db_name: a foreign object stays
            present.append((entry["filename"], _created(entry["filename"], db_name)))
    complete = {filename for filename, _created_at in present if filename + names.SIDECAR_SUFFIX in sidecars}
    result, forgotten = _plan(present, complete, policy)
    for filename in forgotten:
        if not dry_run:
            try:
                operations.delete_backup(cli, bucket, prefix, db_name, filename)
            except AwsError as error:
                raise PruneError(
                    error.code,
                    "deleting %s from S3 failed: %s; %s" % (filename, error.message,
                                                            _deleted_before(result["deleted"])),
                    error.stderr, dict(result, failed=filename),
                ) from None
        result["deleted"].append(filename)
    return result, complete


def _plan(present, complete, policy, deletable=None):
    """Return ({"deleted": [], "kept": [...]}, forgotten) for the (filename, created) pairs
    present: policy applies to the complete ones (their sidecar is there: it is written last),
    and what it forgets is deleted unless deletable (a set, when given) leaves it out. kept
    lists every other present filename (an incomplete one too); both lists oldest first."""
    _kept, forgotten = select([backup for backup in present if backup[0] in complete], policy)
    if deletable is not None:
        forgotten = [filename for filename in forgotten if filename in deletable]
    kept = [filename for filename, _created_at in sorted(present, key=_by_time) if filename not in forgotten]
    return {"deleted": [], "kept": kept}, forgotten


def _created(filename, db_name):
    """Return the aware UTC datetime in backup filename of db_name; raise ValueError for
    another name."""
    return names.parse_backup_filename(filename, db_name).created


def _by_time(backup):
    """Sort key of a (filename, created) pair: oldest first, then by filename."""
    return backup[1], backup[0]


def _remove_local(path):
    """Remove local backup path, then its sidecar (either may be gone already)."""
    for name in (path, sidecar_path(path)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _deleted_before(deleted):
    """Return the end of a failure message: what was deleted before it."""
    if not deleted:
        return "nothing was deleted"
    plural = " was" if len(deleted) == 1 else "s were"
    return "%d backup%s deleted before it: %s" % (len(deleted), plural, ", ".join(deleted))
