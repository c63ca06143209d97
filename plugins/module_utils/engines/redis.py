# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis: a backup is the server's RDB file. Back up: BGSAVE, wait until LASTSAVE moves past
its value from before, then copy `<dir>/<dbfilename>` (CONFIG GET) — read directly natively,
through `docker exec -i <container> cat` in a container. A Redis backup therefore needs the
server's file system: the server runs on this machine or in a container on it (checked
natively, before anything is read or stopped: check_runs_here).

Restore (native Redis only): the data dir is checked first (check_data_dir: the registered
data_dir, else the dir of the server's own config file, else refused; a real directory owned by
the user Redis runs as; `CONFIG SET dir` can point a running server anywhere, and the restore
writes there as root); the RDB is copied next to the live one (O_EXCL, O_NOFOLLOW). Then
`SHUTDOWN NOSAVE`, the live RDB kept aside (a hard link in the same directory), the copy
renamed over `<dir>/<dbfilename>` (owner and mode kept), and `restart_command` (an argv, no
shell) starts the server again, which loads it. The kept RDB is removed once the server answers
with the restored data loaded (PING, INFO persistence `loading:0`, the same dir and
dbfilename); when it does not come up, the kept RDB is put back and the server started again
with it. The command must return once the server runs (`systemctl start redis-server`,
`redis-server /etc/redis/redis.conf` with `daemonize yes`). A server with `appendonly yes` would load
its AOF instead, so it is refused before anything is touched. In a container Redis is PID 1, so
stopping it stops the container: restore there by hand (stop the container, replace the file in
its volume, start it).

The password reaches redis-cli (6.2+, for `-e`) through REDISCLI_AUTH in its environment,
forwarded by `docker exec -e REDISCLI_AUTH` in a container.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import time

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files
from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import (
    EngineError,
    client_command,
    failure_message,
    kill_group,
    require_magic,
    run_client,
)

RDB_MAGIC = b"REDIS"  # first bytes of every RDB file
CLIENT_COMPRESSION = None  # the RDB file is copied as the server wrote it
POLL_INTERVAL = 0.1
# The restore's waits, each cut to the connection's timeout when that is shorter (_bounded).
SHUTDOWN_TIMEOUT = 60
START_TIMEOUT = 600  # loading a large RDB takes a while
# A started server listens at once and answers LOADING while it loads; one that does not answer
# for this long after restart_command returned has exited (an RDB it cannot load, a bad config).
LISTEN_TIMEOUT = 30
PREVIOUS_PREFIX = ".infrakt-previous-"  # the live RDB kept aside during a restore


def cli_command(connection, *arguments):
    """Return the Command running `redis-cli -e <connection options> arguments…`: `-e` makes
    an error reply a non-zero exit; the password goes in REDISCLI_AUTH."""
    argv = ["redis-cli", "-e"]
    if connection.socket:
        argv += ["-s", connection.socket]
    else:
        if connection.host:
            argv += ["-h", connection.host]
        if connection.port:
            argv += ["-p", "%d" % connection.port]
    if connection.user:
        argv += ["--user", connection.user]
    env = {"REDISCLI_AUTH": connection.password} if connection.password is not None else {}
    return client_command(connection, argv + list(arguments), env)


def copy_command(connection, path):
    """Return the Command that writes the file at path inside the container to stdout."""
    return client_command(connection, ["cat", path])


def parse_info(text):
    """Return {field: value} of an INFO reply (`field:value` lines; `#` lines are headings)."""
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            name, value = line.split(":", 1)
            fields[name] = value
    return fields


def parse_config(text):
    """Return {parameter: value} of a CONFIG GET reply (parameter and value on alternate lines)."""
    lines = text.splitlines()
    return {lines[index]: lines[index + 1] for index in range(0, len(lines) - 1, 2)}


def _cli(connection, *arguments):
    """Run redis-cli with arguments against the server, within connection.timeout; return its reply as text."""
    command = cli_command(connection, *arguments)
    output = run_client(command, "redis-cli " + arguments[0], connection.password, timeout=connection.timeout)
    return output.decode("utf-8", "replace")


def _bounded(connection, seconds):
    """Return seconds, or connection.timeout when that is shorter: no wait outlasts the timeout."""
    return min(seconds, connection.timeout)


def _rdb_path(connection):
    """Return the path of the server's RDB file (CONFIG GET dir, dbfilename); natively, after
    checking that the server runs on this machine (check_runs_here)."""
    config = parse_config(_cli(connection, "CONFIG", "GET", "dir"))
    config.update(parse_config(_cli(connection, "CONFIG", "GET", "dbfilename")))
    if not config.get("dir") or not config.get("dbfilename"):
        raise EngineError("Redis did not tell its dir and dbfilename (CONFIG GET)")
    if not connection.container:
        check_runs_here(parse_info(_cli(connection, "INFO", "server")).get("process_id"), config["dir"])
    return os.path.join(config["dir"], config["dbfilename"])


def check_runs_here(process_id, rdb_dir):
    """Raise EngineError unless process process_id (INFO server) is a process of this machine
    working in rdb_dir (Redis chdirs into its `dir`): the RDB file is read and replaced through
    this machine's file system, so a server elsewhere (another host, a container reached over
    the network) would get another file backed up, or be shut down for good. A process of
    another user, whose directory cannot be read, is taken as it is."""
    try:
        cwd = os.readlink("/proc/%d/cwd" % int(process_id))
    except PermissionError:
        return
    except (OSError, TypeError, ValueError):
        raise EngineError(
            "Redis (process_id %s) does not run on this machine; a Redis backup reads its RDB file, so "
            "Redis must run on the server itself or in a container on it (give container)" % process_id
        ) from None
    if os.path.realpath(cwd) != os.path.realpath(rdb_dir):
        raise EngineError(
            "Redis process %s works in %s, not in its dir %s: it is not this machine's Redis "
            "(in a container, give container)" % (process_id, cwd, rdb_dir)
        )


def configured_dir(config_file):
    """Return the absolute `dir` the Redis config file at config_file sets (the last one wins;
    its includes are not read), or None when it sets none or a relative one (relative to the
    directory Redis was started in, which is not known here)."""
    directory = None
    with open(config_file, encoding="utf-8", errors="replace") as config:
        for line in config:
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                continue
            if len(words) == 2 and words[0].lower() == "dir":
                directory = words[1]
    if directory is None or not os.path.isabs(directory):
        return None
    return directory


def check_data_dir(server_info, rdb_path, data_dir=None):
    """Raise EngineError unless rdb_path (CONFIG GET dir and dbfilename) lies where the server of
    server_info (INFO server) keeps its data by its registration or its own configuration (a
    client allowed `CONFIG SET dir` can move a running server anywhere): its directory is
    data_dir when given, else the absolute `dir` of the server's config file; with neither it is
    refused. It must be a directory and not a symlink, owned by the user the Redis process runs
    as; the RDB file there, if any, is a regular file. A restore writes there as root."""
    directory = os.path.dirname(rdb_path)
    config_file = server_info.get("config_file")
    if data_dir is not None:
        if os.path.realpath(data_dir) != os.path.realpath(directory):
            raise EngineError(
                "Redis reports dir %s but its registered data dir is %s (changed with CONFIG SET?); "
                "restoring writes only into the registered dir" % (directory, data_dir)
            )
    else:
        configured = configured_dir(config_file) if config_file else None
        if configured is None:
            raise EngineError(
                "Redis reports dir %s but no config file of it sets an absolute dir; register its data dir "
                "(infrakt-backup db add --data-dir DIR, module option data_dir) to restore it" % directory
            )
        if os.path.realpath(configured) != os.path.realpath(directory):
            raise EngineError(
                "Redis reports dir %s but its config file %s sets %s (changed with CONFIG SET?); "
                "restoring writes only into the configured dir" % (directory, config_file, configured)
            )
    directory_status = os.lstat(directory)
    if not stat.S_ISDIR(directory_status.st_mode):
        raise EngineError("Redis dir %s is not a directory (a symlink?)" % directory)
    redis_user = os.stat("/proc/%d" % int(server_info["process_id"])).st_uid
    if directory_status.st_uid != redis_user:
        raise EngineError(
            "Redis dir %s is owned by uid %d, not by uid %d that Redis runs as"
            % (directory, directory_status.st_uid, redis_user)
        )
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(os.lstat(rdb_path).st_mode):
            raise EngineError("Redis RDB file %s is not a regular file" % rdb_path)


def _persistence(connection):
    """Return the INFO persistence fields of the server."""
    return parse_info(_cli(connection, "INFO", "persistence"))


def save_snapshot(connection, timeout):
    """Make the server write a fresh RDB file: BGSAVE, then wait until LASTSAVE (INFO's
    rdb_last_save_time) has moved past its value from before. Raise EngineError when the save
    fails or takes longer than timeout seconds."""
    before = int(_persistence(connection)["rdb_last_save_time"])
    # LASTSAVE counts seconds: when the last save happened in the current second, a new save
    # finishing within that second would not move it, so start in the next second.
    while int(_cli(connection, "TIME").split()[0]) <= before:
        time.sleep(POLL_INTERVAL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            _cli(connection, "BGSAVE", "SCHEDULE")  # SCHEDULE: wait for a running AOF rewrite
            break
        except EngineError as error:
            # another save is running; ours must start after it to hold the current data
            if "already in progress" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(POLL_INTERVAL)
    while True:
        fields = _persistence(connection)
        if int(fields["rdb_last_save_time"]) > before:
            return
        if fields.get("rdb_bgsave_in_progress") == "0" and fields.get("rdb_last_bgsave_status") == "err":
            raise EngineError("Redis BGSAVE failed (rdb_last_bgsave_status:err; see the Redis log)")
        if time.monotonic() > deadline:
            raise EngineError("Redis BGSAVE did not finish within %d seconds" % timeout)
        time.sleep(POLL_INTERVAL)


def _check_rdb(first_bytes, where):
    """Raise EngineError unless first_bytes start an RDB file."""
    if not first_bytes.startswith(RDB_MAGIC):
        raise EngineError("%s is not a Redis RDB file" % where)


def dump(connection, sink):
    """Snapshot the server (save_snapshot) and pass the bytes of its RDB file to sink(chunk)."""
    path = _rdb_path(connection)
    save_snapshot(connection, connection.timeout)
    first = []

    def checked_sink(chunk):
        if not first:
            first.append(chunk)
            _check_rdb(chunk, path)
        sink(chunk)

    if connection.container:
        run_client(copy_command(connection, path), "cat " + path, stdout_sink=checked_sink)
    else:
        # an open file keeps its content even when the next save renames a new one over it
        for chunk in backup_files.file_chunks(path):
            checked_sink(chunk)
    if not first:
        raise EngineError("%s is empty" % path)


def _wait_until(condition, timeout, what):
    """Call condition() every POLL_INTERVAL seconds until it returns True; raise EngineError
    naming what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise EngineError("%s did not happen within %d seconds" % (what, timeout))
        time.sleep(POLL_INTERVAL)


def _answers(connection):
    """Return True when the server answers PING with PONG (not while it loads its data)."""
    return _state(connection) == "up"


def _state(connection):
    """Return "up" when the server answers PING with PONG, "loading" while it answers LOADING
    (it loads its data), "down" otherwise."""
    try:
        return "up" if _cli(connection, "PING").strip() == "PONG" else "down"
    except EngineError as error:
        return "loading" if "LOADING" in str(error) else "down"


def run_restart_command(argv, timeout):
    """Run restart_command argv (no shell) in its own session, so the server it starts outlives
    this module; its output goes to temporary files rather than pipes, because a server that
    keeps them open would make us wait forever. Raise EngineError when it exits non-zero or
    runs longer than timeout seconds (it is killed then)."""
    with tempfile.TemporaryFile() as output:
        try:
            returncode = subprocess.call(
                argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise EngineError("restart_command did not finish within %d seconds (timeout)" % timeout) from None
        except OSError as error:
            raise EngineError("cannot run restart_command %s: %s" % (argv[0], error.strerror)) from None
        output.seek(0)
        complaint = output.read(backup_files.CHUNK_SIZE)
    if returncode != 0:
        raise EngineError(failure_message("restart_command", returncode, complaint.strip()))


def check_backup(first_bytes, filename):
    """Raise ValueError unless first_bytes (of backup filename, decoded) start a Redis RDB file."""
    require_magic(first_bytes, RDB_MAGIC, "a Redis RDB file", filename)


def restore(connection, chunks):
    """Replace the server's data with the RDB file whose byte chunks (an iterable) are given:
    stop, replace, start, and the previous RDB back when the restored one does not come up (see
    the module docstring). Raise EngineError saying in which state the server is left,
    ValueError for a server it refuses before touching it (db_restore reports
    database_touched: false)."""
    if connection.container:
        raise ValueError(
            "restoring Redis in a container is not supported: stopping Redis stops its container; "
            "stop the container, put the backup in place of its dump file, start it"
        )
    if not connection.restart_command:
        raise ValueError("restart_command is required to restore Redis (the server is stopped and started)")
    try:
        live_path = _rdb_path(connection)
        check_data_dir(parse_info(_cli(connection, "INFO", "server")), live_path, connection.data_dir)
        appendonly = parse_config(_cli(connection, "CONFIG", "GET", "appendonly")).get("appendonly")
        if appendonly == "yes":
            raise ValueError("Redis runs with appendonly yes and would load its AOF, not the restored RDB; "
                             "the server was not touched")
        staged_path = _stage(chunks, live_path)
    except (EngineError, OSError) as error:  # nothing is stopped or replaced before SHUTDOWN below
        raise EngineError("%s; the server was not touched" % error, database_touched=False) from None
    try:
        _cli(connection, "SHUTDOWN", "NOSAVE")
        try:
            _wait_until(lambda: not _answers(connection), _bounded(connection, SHUTDOWN_TIMEOUT), "Redis stopping")
            previous_path = _keep_previous(live_path)
        except BaseException:
            _start(connection, live_path)  # nothing replaced: the server comes back with its previous data
            raise
        try:
            os.replace(staged_path, live_path)
            _start(connection, live_path)
        except (EngineError, OSError) as error:
            _bring_back_previous(connection, live_path, previous_path, error)
        if previous_path is not None:
            os.unlink(previous_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged_path)


def _keep_previous(live_path):
    """Keep the stopped server's RDB file at live_path aside as a hard link in its directory
    (never following a symlink); return the link's path, or None when there is no RDB file."""
    previous_path = os.path.join(
        os.path.dirname(live_path), "%s%d-%s" % (PREVIOUS_PREFIX, os.getpid(), os.path.basename(live_path))
    )
    try:
        os.link(live_path, previous_path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return previous_path


def _bring_back_previous(connection, live_path, previous_path, error):
    """The restored RDB did not come up (error): stop whatever runs, put the previous RDB file
    (previous_path; None: there was none) back at live_path and start the server again. Raise
    EngineError saying what happened, in one line."""
    with contextlib.suppress(EngineError):  # a server that does not answer is stopped already
        _cli(connection, "SHUTDOWN", "NOSAVE")
    try:
        _wait_until(lambda: _state(connection) == "down", _bounded(connection, SHUTDOWN_TIMEOUT), "Redis stopping")
        if previous_path is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(live_path)
        else:
            os.replace(previous_path, live_path)
        _start(connection, live_path)
    except (EngineError, OSError) as again:
        raise EngineError(
            "the restore failed (%s) and putting the previous RDB file back failed too (%s)" % (error, again)
        ) from None
    raise EngineError(
        "the restore failed (%s); the previous RDB file was put back and Redis runs with it again" % error
    )


def _start(connection, live_path):
    """Run restart_command and wait until the server answers with its RDB file at live_path
    loaded (wait_until_loaded); raise EngineError saying that Redis is stopped when it does not
    come back."""
    try:
        run_restart_command(connection.restart_command, connection.timeout)
        wait_until_loaded(
            connection, live_path, _bounded(connection, LISTEN_TIMEOUT), _bounded(connection, START_TIMEOUT)
        )
    except EngineError as error:
        raise EngineError("%s; Redis is stopped (its RDB file: %s)" % (error, live_path)) from None


def wait_until_loaded(connection, live_path, listen_timeout, load_timeout):
    """Wait until the started server answers PING, has loaded its data (INFO persistence
    loading:0) and works with the RDB file at live_path. Raise EngineError when it does not
    answer for listen_timeout seconds in a row (it exited: see its log), is still loading after
    load_timeout seconds, or runs with another RDB file."""
    load_deadline = time.monotonic() + load_timeout
    listen_deadline = time.monotonic() + listen_timeout
    while True:
        state = _state(connection)
        if state == "up":
            break
        now = time.monotonic()
        if state == "loading":
            listen_deadline = now + listen_timeout
        elif now > listen_deadline:
            raise EngineError(
                "Redis did not answer within %d seconds of restart_command (see its log)" % listen_timeout
            )
        if now > load_deadline:
            raise EngineError("Redis did not finish loading within %d seconds" % load_timeout)
        time.sleep(POLL_INTERVAL)
    if _persistence(connection).get("loading") != "0":
        raise EngineError("Redis answers but reports that it is still loading (INFO persistence)")
    served_path = _rdb_path(connection)
    if served_path != live_path:
        raise EngineError("Redis came back with RDB file %s, not %s (another config?)" % (served_path, live_path))


def _stage(chunks, live_path):
    """Copy the backup (its byte chunks) next to the live RDB file at live_path (same file
    system, so the swap is one rename), with the live file's owner and mode (or its directory's
    owner and 0600 when there is none yet) so the server can read it. Return the copy's path.
    The copy is created with O_EXCL and O_NOFOLLOW (tempfile), so no planted file or symlink
    is written through."""
    directory = os.path.dirname(live_path)
    try:
        reference = os.stat(live_path)
        mode = reference.st_mode & 0o777
    except FileNotFoundError:
        reference = os.stat(directory)
        mode = 0o600
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".infrakt-restore-", delete=False) as staged:
        try:
            for chunk in chunks:
                staged.write(chunk)
            staged.flush()
            os.fsync(staged.fileno())
            os.chown(staged.name, reference.st_uid, reference.st_gid)
            os.chmod(staged.name, mode)
        except BaseException:
            os.unlink(staged.name)
            raise
    return staged.name


def drill(connection, chunks, scratch):
    """Load the RDB file whose byte chunks are given into a redis-server of its own (the
    server's redis-server program, no TCP port, a unix socket in a fresh 0700 directory
    <scratch.parent>/<scratch.name>), count its keys and stop it; the directory and the process
    go whatever happened. Return {keys}. Raise EngineError when it does not load."""
    if connection.container:
        raise ValueError("a restore drill of Redis runs redis-server on the server itself; Redis in a container is "
                         "not supported")
    program = shutil.which("redis-server")
    if program is None:
        raise EngineError("redis-server was not found on PATH: a restore drill of Redis loads the backup into one")
    backup_files.ensure_private_dirs(scratch.parent)
    directory = tempfile.mkdtemp(prefix=scratch.name + "-", dir=scratch.parent)
    socket = os.path.join(directory, "redis.sock")
    log = os.path.join(directory, "redis.log")
    process = None
    try:
        descriptor = os.open(os.path.join(directory, "dump.rdb"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as staged:
            for chunk in chunks:
                staged.write(chunk)
        argv = [program, "--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--dir", directory,
                "--dbfilename", "dump.rdb", "--appendonly", "no", "--save", "", "--daemonize", "no",
                "--logfile", log]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        scratch_connection = connection._replace(socket=socket, host=None, port=None, user=None, password=None)

        def loaded():
            if process.poll() is not None:
                raise EngineError("redis-server could not load the backup: %s" % _log_tail(log))
            return _state(scratch_connection) == "up"

        _wait_until(loaded, _bounded(connection, START_TIMEOUT), "the scratch redis-server loading the backup")
        keyspace = parse_info(_cli(scratch_connection, "INFO", "keyspace"))
        keys = sum(int(dict(item.split("=", 1) for item in value.split(",")).get("keys", 0))
                   for value in keyspace.values())
        return {"keys": keys}
    finally:
        if process is not None:
            kill_group(process)
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _log_tail(path):
    """Return the last line of the scratch redis-server's log at path (why it stopped)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            lines = [line.strip() for line in log if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no log"
