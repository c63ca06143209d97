# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scheduled backup of one database, as cron runs it on the server: the launcher the
infrakt.backup.backup_schedule role installs calls main([config_path]).

The run uses the very code of the modules (backup_run.backup_and_record: the pipeline and
the S3 upload; retention.prune; run_state's lock and status file); nothing of a dump or an
aws command is written out in a script. Its config is one root-only 0600 JSON file the role
writes (docs/design.md, "Scheduled backups"), the password of the database, the ping URL,
the installation's signing key (its backups' sidecars are signed) and the age recipients its
backups are encrypted to (public keys: the identity never reaches a schedule) in it; the S3
credentials are the server's 0600 pair the config points at.

Every failure is loud: the exit code is non-zero, the status file records the error, the log
has an end line with the error, and the `/fail` ping goes out. A run that finds the previous
one still running logs `skipped`, records it and exits 0. Pure Python with no imports from
Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import subprocess
import sys
import time

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, drill, notify, retention, run_state
from ansible_collections.infrakt.backup.plugins.module_utils.backup_run import backup_and_record, s3_target_from_params
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import connection_from_params
from ansible_collections.infrakt.backup.plugins.module_utils.pipeline import UploadFailed

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2
DEFAULT_LOG_DIR = "/var/log/infrakt-backup"
LOG_MAX_BYTES = 1024 * 1024  # then the log moves to <db>.log.1 (one older generation is kept)
FAIL_BODY_LINES = 20  # log lines sent with a /fail ping
# cron's PATH is /usr/bin:/bin; the database clients and docker live in these
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run_command(args, data=None, binary_data=False, environ_update=None, expand_user_and_vars=False, umask=None,
                before_communicate_callback=None):
    """Run argv args like AnsibleModule.run_command (the subset awscli.AwsCli uses): feed data
    to stdin, return (rc, stdout, stderr) as text. No shell; expand_user_and_vars is accepted
    and never expands."""
    environment = dict(os.environ)
    environment.update(environ_update or {})

    def set_umask():
        if umask is not None:
            os.umask(umask)

    process = subprocess.Popen(
        args, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=environment, preexec_fn=set_umask, close_fds=True,
    )
    if before_communicate_callback is not None:
        before_communicate_callback(process)
    if isinstance(data, str):
        data = data.encode("utf-8")
    stdout, stderr = process.communicate(data)
    return process.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")


def load_config(path):
    """Return the run config in the JSON file at path; raise ValueError when it is not a
    regular file owned by this user and readable by nobody else (it holds the database
    password), or not a JSON object naming a valid database."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise ValueError("%s must be a regular file owned by uid %d with mode 0600" % (path, os.geteuid()))
    with open(path) as handle:
        config = json.load(handle)
    if not isinstance(config, dict) or not isinstance(config.get("connection"), dict):
        raise ValueError("%s is not an infrakt.backup schedule config" % path)
    return config


class RunLog(object):
    """The database's log, `<log_dir>/<db_name>.log` (0600): one line per start and end, kept
    under LOG_MAX_BYTES by moving the full file to `.log.1`."""

    def __init__(self, directory, db_name):
        backup_files.ensure_private_dirs(directory)
        self.path = os.path.join(directory, db_name + ".log")
        self.lines = []

    def write(self, text):
        """Append one line (text, a timestamp first) and keep it for the failure ping."""
        line = "%s %s\n" % (backup_files.now_iso(), text)
        self.lines.append(line)
        try:
            if os.path.getsize(self.path) > LOG_MAX_BYTES:
                os.replace(self.path, self.path + ".1")
        except FileNotFoundError:
            pass
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "a") as handle:
            handle.write(line)

    def tail(self):
        """Return the last FAIL_BODY_LINES lines of the log (this run's and before)."""
        try:
            with open(self.path) as handle:
                return "".join(handle.readlines()[-FAIL_BODY_LINES:])
        except OSError:
            return "".join(self.lines[-FAIL_BODY_LINES:])


def apply_retention(config, target):
    """Apply config's retention to its database (local copies; S3 ones when target is given);
    return retention.prune's result."""
    policy = retention.RetentionPolicy(**(config.get("retention") or {}))
    s3 = (target.cli, target.bucket, target.prefix) if target is not None else None
    keep_local = config.get("keep_local", retention.DEFAULT_KEEP_LOCAL)
    return retention.prune(config["backup_dir"], config["db_name"], keep_local, policy, s3=s3)


def describe(result):
    """Return the end line's fields for a backup result."""
    return "file=%s size=%s sha256=%s uploaded=%s duration=%ss" % (
        result["filename"], result["size"], result["sha256"], "yes" if result["location"] in ("both", "s3") else "no",
        result["duration_s"],
    )


def run(config):
    """Run the scheduled backup config describes; return the exit code."""
    db_name, state_dir, log, ping = _run_context(config)
    try:
        with run_state.database_lock(state_dir, db_name, wait=0):
            log.write("start %s" % db_name)
            ping("start")
            try:
                connection = connection_from_params(config["connection"])
                target = s3_target_from_params(run_command, config.get("s3") or {})
                result = backup_and_record(connection, config["backup_dir"], state_dir, "schedule", s3=target,
                                           keep_local=config.get("local_copy", True),
                                           recipients=config.get("recipients") or None,
                                           signing_key=config.get("signing_key"))
            except UploadFailed as failure:
                if failure.backup is None:
                    log.write("end %s FAILED duration=%ss error=upload failed, no backup was made: %s" % (
                        db_name, _status_duration(state_dir, db_name), _one_line(failure)))
                    ping("fail", log.tail())
                    return EXIT_FAILED
                kept = dict(failure.backup, location="local", duration_s=_status_duration(state_dir, db_name))
                log.write("end %s FAILED %s error=upload failed: %s" % (db_name, describe(kept), _one_line(failure)))
                ping("fail", log.tail())
                return EXIT_FAILED
            except Exception as error:
                log.write("end %s FAILED duration=%ss error=%s" % (
                    db_name, _status_duration(state_dir, db_name), _one_line(error)))
                ping("fail", log.tail())
                return EXIT_FAILED
            try:
                pruned = apply_retention(config, target)
            except Exception as error:
                message = "retention failed: %s" % _one_line(error)
                run_state.record_status(state_dir, db_name, result="failed", error=message)
                log.write("end %s FAILED %s error=%s" % (db_name, describe(result), message))
                ping("fail", log.tail())
                return EXIT_FAILED
            log.write("end %s ok %s pruned=%s" % (db_name, describe(result), _pruned_count(pruned)))
            ping("success", log.tail())
            return EXIT_OK
    except run_state.Locked as locked:
        log.write("skipped: previous run still running (%s)" % locked)
        run_state.record_status(
            state_dir, db_name, last_skipped=backup_files.now_iso()
        )
        return EXIT_OK


def run_drill(config):
    """Run a restore drill of the newest backup of config's database (drill.py: from S3 when the
    config has S3, else the local copy; restored into scratch space) under the same lock, log,
    status file and pings as a backup; return the exit code. A drill that finds a backup or
    another drill running logs `skipped` and exits 0."""
    db_name, state_dir, log, ping = _run_context(config)
    try:
        with run_state.database_lock(state_dir, db_name, wait=0):
            log.write("start drill %s" % db_name)
            ping("start")
            started, verified_at = time.monotonic(), backup_files.now_iso()
            result, error = {}, None
            try:
                connection = connection_from_params(config["connection"])
                target = s3_target_from_params(run_command, config.get("s3") or {})
                source = (drill.s3_source(target, db_name) if target is not None
                          else drill.local_source(config["backup_dir"], db_name))
                result = drill.drill(connection, source, config.get("signing_key"), False, True,
                                     config["backup_dir"])
            except Exception as failure:
                error = getattr(failure, "message", None) or _one_line(failure)
            outcome = dict(result, verified_at=verified_at, duration_s=round(time.monotonic() - started, 1),
                           error=error)
            drill.record_drill(state_dir, db_name, outcome, locked=True)
            if error:
                log.write("end drill %s FAILED duration=%ss error=%s" % (db_name, outcome["duration_s"], error))
                ping("fail", log.tail())
                return EXIT_FAILED
            log.write("end drill %s ok file=%s signature=%s counts=%s duration=%ss" % (
                db_name, result["filename"], result["signature"], json.dumps(result["counts"], sort_keys=True),
                outcome["duration_s"]))
            ping("success", log.tail())
            return EXIT_OK
    except run_state.Locked as locked:
        log.write("skipped drill: a backup or drill is still running (%s)" % locked)
        return EXIT_OK


def _run_context(config):
    """Give this process cron-proof PATH; return (db_name, state_dir, log, ping) of config's run."""
    os.environ["PATH"] = SAFE_PATH
    log = RunLog(log_dir(config), config["db_name"])
    return config["db_name"], config.get("state_dir") or run_state.DEFAULT_STATE_DIR, log, _pinger(config, log)


def _pinger(config, log):
    """Return ping(kind, body="") sending config's pings (none without a ping URL), a failed
    ping logged as a warning."""
    notify_url = config.get("notify_url")

    def ping(kind, body=""):
        if notify_url:
            trouble = notify.ping(notify_url, kind, body)
            if trouble:
                log.write("warning: %s" % trouble)
    return ping


def log_dir(config):
    """Return the directory of config's log."""
    return config.get("log_dir") or DEFAULT_LOG_DIR


def _status_duration(state_dir, db_name):
    """Return the duration of the run the status file of db_name last recorded."""
    return (run_state.read_status(state_dir, db_name) or {}).get("duration_s")


def _one_line(error):
    """Return the first line of what error says (its class name when it says nothing)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _pruned_count(pruned):
    """Return how many backups retention deleted, local and in S3."""
    return sum(len(side["deleted"]) for side in (pruned.get("local"), pruned.get("s3")) if side)


def main(argv):
    """Entry point of the launcher: argv is [config_path] for a backup, ["--verify",
    config_path] for a restore drill; return the exit code."""
    verify = argv[:1] == ["--verify"]
    argv = argv[1:] if verify else argv
    if len(argv) != 1:
        sys.stderr.write("usage: launcher.py [--verify] CONFIG.json\n")
        return EXIT_BAD_CONFIG
    try:
        config = load_config(argv[0])
    except (OSError, ValueError) as error:
        sys.stderr.write("infrakt-backup scheduled run: %s\n" % _one_line(error))
        return EXIT_BAD_CONFIG
    try:
        code = run_drill(config) if verify else run(config)
    except Exception as error:  # the log or the state dir itself failed: cron still hears of it
        sys.stderr.write("infrakt-backup scheduled run of %s failed: %s\n" % (config.get("db_name"), _one_line(error)))
        return EXIT_FAILED
    if code != EXIT_OK:
        sys.stderr.write("infrakt-backup scheduled run of %s failed: see %s\n" % (
            config["db_name"], os.path.join(log_dir(config), config["db_name"] + ".log")))
    return code
