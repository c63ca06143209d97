# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every engine shares: the connection a module describes, clients run natively or inside
a container (`docker exec -i`), passwords handed to clients through 0600 files on tmpfs or
their environment (never argv), client processes run with every exit code checked, and the
one dump and restore run of the engines whose backup is a client's stdout (run_dump,
run_restore).

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, names, tmpfs
from ansible_collections.infrakt.backup.plugins.module_utils.masking import mask_secrets

GZIP_MAGIC = b"\x1f\x8b"  # first bytes of a gzip stream
MESSAGE_LIMIT = 600  # characters of a client's complaint kept in an error message
OUTPUT_LIMIT = 1024 * 1024  # bytes of a client's stdout/stderr kept in memory
# Password files of runs killed before their `finally` (SIGKILL) are swept after this long;
# clients read them once at start, so a long dump is not disturbed.
STALE_SECRET_AGE = 3600
DEFAULT_TIMEOUT = 6 * 3600  # seconds a whole dump or restore may take (module option timeout)
DEFAULT_LOCK_TIMEOUT = 60  # seconds a statement may wait for a lock, where the engine has such a limit

Connection = collections.namedtuple(
    "Connection",
    "engine db_name database host port user password socket container docker_bin restart_command"
    " timeout lock_timeout data_dir allow_secrets_on_disk compression",
)
Connection.__doc__ = """Where a database is, how to reach it and how long to wait for it (validated by
connection_from_params). `database` is the server-side name, `db_name` the registry name used in
file names; `restart_command` is an argv list (Redis restores) or None, `data_dir` the
registered Redis data dir (an absolute path) or None; `timeout` bounds a whole
dump or restore client run, `lock_timeout` a statement's wait for a lock (seconds);
`compression` is what a dump is compressed with (a key of names.COMPRESSION_SUFFIXES, the
engine's default when none was given), and for a restore what its backup was written with
(the pipeline sets it from the filename)."""

# A client to run: argv, and the extra environment variables (passwords) it gets.
Command = collections.namedtuple("Command", "argv env")


class EngineError(Exception):
    """A database client or an engine step failed; the message is one line without secrets.
    database_touched is False when the step failed before anything on the server changed
    (a restore's checks), which db_restore reports so that nobody goes looking for damage."""

    def __init__(self, message, database_touched=True):
        super().__init__(message)
        self.database_touched = database_touched


def connection_argument_spec():
    """Return the argument_spec options shared by the modules that reach a database
    (db_backup, db_restore): the connection, the Redis restart command and data dir, the timeouts,
    the compression of backups (none given: the engine's default) and backup_dir."""
    return dict(
        engine=dict(type="str", required=True, choices=sorted(names.ENGINE_EXTENSIONS)),
        db_name=dict(type="str", required=True),
        database=dict(type="str"),
        host=dict(type="str"),
        port=dict(type="int"),
        user=dict(type="str"),
        password=dict(type="str", no_log=True),
        socket=dict(type="path"),
        container=dict(type="str"),
        docker_bin=dict(type="str", default="docker"),
        restart_command=dict(type="str"),
        data_dir=dict(type="path"),
        timeout=dict(type="int", default=DEFAULT_TIMEOUT),
        lock_timeout=dict(type="int", default=DEFAULT_LOCK_TIMEOUT),
        allow_secrets_on_disk=dict(type="bool", default=False),
        compression=dict(type="str", choices=sorted(names.COMPRESSION_SUFFIXES)),
        backup_dir=dict(type="path", default=backup_files.DEFAULT_BACKUP_DIR),
    )


def connection_from_params(params):
    """Return the Connection described by module params (connection_argument_spec); raise
    ValueError with a one-line message for a bad value."""
    engine = names.validate_engine(params["engine"])
    db_name = names.validate_name(params["db_name"], "db_name")
    database = names.validate_name(params.get("database") or db_name, "database")
    user = params.get("user") or None
    if user is not None:
        names.validate_name(user, "user")
    container = params.get("container") or None
    if container is not None:
        names.validate_name(container, "container")
    host = params.get("host") or None
    if host is not None:
        names.validate_host(host)
    socket = params.get("socket") or None
    if host is not None and socket is not None:
        raise ValueError("give either host or socket, not both")
    if socket is not None:
        names.validate_absolute_path(socket, "socket")
    port = params.get("port")
    if port is not None:
        names.validate_port(port)
    restart_command = params.get("restart_command") or None
    if restart_command is not None:
        if engine != "redis":
            raise ValueError("restart_command only applies to the redis engine")
        restart_command = shlex.split(restart_command)
    data_dir = params.get("data_dir") or None
    if data_dir is not None:
        if engine != "redis":
            raise ValueError("data_dir only applies to the redis engine")
        data_dir = names.validate_absolute_path(data_dir, "data_dir")
    timeout = _positive_seconds(params.get("timeout"), DEFAULT_TIMEOUT, "timeout")
    lock_timeout = _positive_seconds(params.get("lock_timeout"), DEFAULT_LOCK_TIMEOUT, "lock_timeout")
    compression = names.validate_compression(params.get("compression") or names.DEFAULT_COMPRESSIONS[engine])
    return Connection(
        engine=engine,
        db_name=db_name,
        database=database,
        host=host,
        port=port,
        user=user,
        password=params.get("password") or None,
        socket=socket,
        container=container,
        docker_bin=params.get("docker_bin") or "docker",
        restart_command=restart_command,
        timeout=timeout,
        lock_timeout=lock_timeout,
        data_dir=data_dir,
        allow_secrets_on_disk=bool(params.get("allow_secrets_on_disk")),
        compression=compression,
    )


def _positive_seconds(value, default, what):
    """Return value (seconds, an int), default when it is None; raise ValueError unless it is at least 1."""
    return default if value is None else names.validate_seconds(value, what)


def client_command(connection, argv, env=None):
    """Return the Command that runs client argv for connection with the extra environment env
    ({name: value}, passwords): as given natively; in a container as
    `docker exec -i -e NAME… <container> argv`, where `-e NAME` without `=value` makes the docker
    CLI forward NAME from its own environment, so a password never appears in an argv."""
    env = dict(env or {})
    if not connection.container:
        return Command(list(argv), env)
    docker = [connection.docker_bin, "exec", "-i"]
    for name in sorted(env):
        docker += ["-e", name]
    return Command(docker + [connection.container] + list(argv), env)


@contextlib.contextmanager
def private_files(files, allow_disk=False, base_dir=None):
    """Yield {name: path} for files ({name: text}, password files) written 0600 into a fresh
    0700 directory on tmpfs (tmpfs.py: under base_dir, default the user's tmpfs base; a disk
    only with allow_disk); remove the directory on exit, whatever happens."""
    if not files:
        yield {}
        return
    base_dir = tmpfs.default_base_dir(base_dir, allow_disk)
    tmpfs.sweep_stale_dirs(base_dir, STALE_SECRET_AGE)
    directory = tmpfs.create_private_dir(base_dir, files)
    try:
        yield {name: os.path.join(directory, name) for name in files}
    finally:
        tmpfs.remove_private_dir(directory)


def require_magic(first_bytes, magic, what, filename):
    """Raise ValueError (the database was not touched) unless first_bytes (the start of backup
    filename, decoded) begin with the bytes magic; what names the format for the message ("a
    Redis RDB file")."""
    if not first_bytes.startswith(magic):
        refuse_backup(filename, what)


def refuse_backup(filename, what):
    """Raise the ValueError saying that backup filename is not what ("a Redis RDB file") and
    that the database was not touched."""
    raise ValueError("%s is not %s; the database was not touched" % (filename, what))


def failure_message(what, returncode, complaint, secret=None):
    """Return the one-line message for client `what` that ended with returncode, given its
    complaint (stderr, or stdout when stderr is empty; bytes): lines joined, `what: error:`
    prefixes dropped, secret masked, cut at MESSAGE_LIMIT characters."""
    text = mask_secrets(complaint.decode("utf-8", "replace"), [secret])
    prefix = re.compile(r"^%s:\s*(error:\s*)?" % re.escape(what), re.IGNORECASE)
    lines = [prefix.sub("", " ".join(line.split())) for line in text.splitlines()]
    summary = " ".join(line for line in lines if line)
    if not summary:
        return "%s failed with exit code %d" % (what, returncode)
    if len(summary) > MESSAGE_LIMIT:
        summary = summary[:MESSAGE_LIMIT] + " …"
    return "%s failed: %s" % (what, summary)


class TailReader(threading.Thread):
    """Reads a pipe to its end in the background, keeping the last OUTPUT_LIMIT bytes."""

    def __init__(self, pipe):
        super(TailReader, self).__init__(daemon=True)
        self.pipe = pipe
        self.data = b""

    def run(self):
        for chunk in iter(lambda: self.pipe.read(backup_files.CHUNK_SIZE), b""):
            self.data = (self.data + chunk)[-OUTPUT_LIMIT:]


def run_client(command, what, secret=None, stdin_chunks=None, stdout_sink=None, timeout=None):
    """Run Command command (client `what`) and wait for it, at most timeout seconds when given.
    stdin gets the byte chunks of the iterable stdin_chunks (or nothing); stdout goes chunk by
    chunk to stdout_sink(bytes) when given, else it is returned (bytes). Raise EngineError
    (failure_message, secret masked) when the client cannot start, exits non-zero or runs out of
    time; the client and what it started (its process group) are killed when anything goes wrong."""
    if stdin_chunks is not None and stdout_sink is not None:
        raise ValueError("run_client streams one way: stdin_chunks or stdout_sink, not both")
    env = dict(os.environ)
    env.update(command.env)
    try:
        process = subprocess.Popen(
            command.argv,
            stdin=subprocess.DEVNULL if stdin_chunks is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: a kill reaches docker exec's and sh's children
        )
    except OSError as error:
        raise EngineError("cannot run %s: %s" % (command.argv[0], error.strerror)) from None
    expired = threading.Event()
    deadline = None
    if timeout is not None:
        deadline = threading.Timer(timeout, _expire, (process, expired))
        deadline.daemon = True
        deadline.start()
    stderr = TailReader(process.stderr)
    stderr.start()
    stdout = None
    try:
        if stdout_sink is not None:
            for chunk in iter(lambda: process.stdout.read(backup_files.CHUNK_SIZE), b""):
                stdout_sink(chunk)
        else:
            stdout = TailReader(process.stdout)
            stdout.start()
            if stdin_chunks is not None:
                _feed(process, stdin_chunks)
        returncode = process.wait()
    finally:
        if deadline is not None:
            deadline.cancel()
        if process.poll() is None:
            kill_group(process)
            process.wait()
        stderr.join()
        if stdout is not None:
            stdout.join()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):  # stdin of a client that died: nothing to flush to
                    pipe.close()
    output = stdout.data if stdout is not None else b""
    if expired.is_set():
        raise EngineError(
            "%s did not finish within %d seconds (timeout) and was stopped; is a table locked by another session?"
            % (what, timeout)
        )
    if returncode != 0:
        raise EngineError(failure_message(what, returncode, stderr.data.strip() or output, secret))
    return output


def kill_group(process):
    """SIGKILL the process group of process (a client started in a session of its own)."""
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.killpg(process.pid, signal.SIGKILL)


def _expire(process, expired):
    """Timer callback of run_client: the client ran out of time; note it in expired (an Event) and kill it."""
    expired.set()
    if process.poll() is None:
        kill_group(process)


def _feed(process, chunks):
    """Write the byte chunks to process's stdin and close it; stop early when the client has
    gone away (its exit code and stderr then tell why)."""
    try:
        for chunk in chunks:
            process.stdin.write(chunk)
        process.stdin.close()
    except BrokenPipeError:
        pass


def find_client(connection, candidates, secret=None):
    """Return the first program of candidates (names, preferred first) that exists where the
    database is: its path on PATH natively, its name inside the container (probed with
    `<name> --version`). Raise EngineError naming them all when none does."""
    if not connection.container:
        for name in candidates:
            path = shutil.which(name)
            if path:
                return path
        raise EngineError("none of %s was found on PATH" % ", ".join(candidates))
    complaint = ""
    for name in candidates:
        try:
            run_client(client_command(connection, [name, "--version"]), name, secret)
            return name
        except EngineError as error:
            complaint = str(error)
    raise EngineError(
        "none of %s was found in container %s (%s)" % (", ".join(candidates), connection.container, complaint)
    )


def program_name(client):
    """Return the program name of client (a path or a name), for messages."""
    return client.rsplit("/", 1)[-1]


def run_dump(engine, connection, sink):
    """Dump the database of connection with engine (an engine file, see engines/__init__.py):
    its password files written on tmpfs for the run, its dump client's stdout passed to
    sink(chunk) as it comes, within connection.timeout. Raise EngineError when the client fails."""
    client = engine.dump_client(connection)
    with private_files(engine.password_files(connection), connection.allow_secrets_on_disk) as paths:
        command = engine.dump_command(connection, client, paths)
        run_client(command, program_name(client), connection.password, stdout_sink=sink, timeout=connection.timeout)


def run_restore(engine, connection, chunks):
    """Restore the database of connection with engine (an engine file): its restore client gets
    the byte chunks of the backup (an iterable) on stdin, its password files written on tmpfs
    for the run, within connection.timeout. Raise EngineError when the client fails."""
    client = engine.restore_client(connection)
    with private_files(engine.password_files(connection), connection.allow_secrets_on_disk) as paths:
        command = engine.restore_command(connection, client, paths)
        run_client(
            command, program_name(client), connection.password, stdin_chunks=chunks, timeout=connection.timeout
        )
