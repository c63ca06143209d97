"""Process plumbing for the test bench: pid files, ports, readiness polling, stopping and
running setup commands. Processes are only ever found through their pid files, never by name."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class TestbedError(Exception):
    """A bench component could not be set up; the message names the component and its log."""

    __test__ = False  # not a pytest test class, despite the name


def read_pid(pid_file: Path) -> int | None:
    """Return the pid written in pid_file, or None when the file is missing or garbled."""
    try:
        text = pid_file.read_text().split()
    except OSError:
        return None
    if not text or not text[0].isdigit():
        return None
    return int(text[0])


def _reap(pid: int) -> None:
    """Collect pid's exit status when it is our own child, so that it stops being a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _proc_state(pid: int) -> str | None:
    """The state letter of pid from /proc (R, S, Z, ...), or None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def pid_alive(pid: int | None, cmdline_needle: str) -> bool:
    """True when pid runs (not a zombie) and its command line contains cmdline_needle.

    The needle guards against a pid file that points at an unrelated process that got
    the same pid after ours died."""
    if not pid:
        return False
    state = _proc_state(pid)
    if state is None:
        return False
    if state == "Z":
        _reap(pid)
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return cmdline_needle in cmdline


def port_open(port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _port_free(port: int) -> bool:
    """True when 127.0.0.1:port can be bound right now by a server (which sets SO_REUSEADDR,
    so a port whose old connections linger in TIME_WAIT after a restart still counts as free)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(previous: str | None, taken: set[int]) -> int:
    """Return previous (a port number as text) when it is still free, else a fresh free port;
    the result is added to taken so that two components never get the same one."""
    if previous and previous.isdigit() and int(previous) not in taken and _port_free(int(previous)):
        port = int(previous)
    else:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            if port not in taken:
                break
    taken.add(port)
    return port


def log_tail(log_file: Path, lines: int = 15) -> str:
    """Return the last lines of log_file (or a note that it is missing), for error messages."""
    try:
        text = log_file.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"(no log at {log_file})"
    return "\n".join("    " + line for line in text)


def wait_until(ready: Callable[[], bool], *, what: str, log_file: Path, timeout: float = 30.0) -> None:
    """Poll ready() every 50 ms until it is true; raise TestbedError naming what and its log."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TestbedError(
                f"{what} was not ready after {timeout:.0f} s; see {log_file}:\n{log_tail(log_file)}"
            )
        time.sleep(0.05)


def stop_pid(pid: int | None, cmdline_needle: str, sig: signal.Signals, timeout: float = 20.0) -> bool:
    """Send sig to pid (when it is alive and matches cmdline_needle) and wait for it to exit,
    with SIGKILL after timeout. Return whether there was a process to stop."""
    if not pid_alive(pid, cmdline_needle):
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while pid_alive(pid, cmdline_needle):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.05)
    _wait_exit_finished(pid)
    return True


def _wait_exit_finished(pid: int, timeout: float = 2.0) -> None:
    """Wait until pid has finished exiting (gone, or a zombie). A dying process loses its
    command line before the kernel closes its files, so without this wait its port could
    still be bound when the caller picks ports again. Bounded, and never signals: after
    that short time the pid may belong to someone else."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _proc_state(pid)
        if state is None:
            return
        if state in ("Z", "X"):
            _reap(pid)
            return
        time.sleep(0.02)


def run(
    argv: list[str],
    *,
    what: str,
    log_file: Path,
    stdin: str | bytes | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
    timeout: float = 120.0,
) -> str:
    """Run argv (secrets only through stdin or env, never argv), appending its output to
    log_file; return its stdout. Raise TestbedError naming what on failure."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    try:
        result = subprocess.run(
            argv,
            input=data,
            capture_output=True,
            env=env,
            user=user,
            group=user,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TestbedError(f"{what}: could not run {argv[0]}: {error}") from error
    with log_file.open("ab") as log:
        log.write(f"--- {what}: {argv[0]} exited {result.returncode}\n".encode())
        log.write(result.stderr)
    if result.returncode != 0:
        raise TestbedError(f"{what} failed ({argv[0]} exited {result.returncode}); see {log_file}:\n"
                           f"{log_tail(log_file)}")
    return result.stdout.decode(errors="replace")


def spawn(argv: list[str], *, log_file: Path, pid_file: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> int:
    """Start argv in the background (own session, output appended to log_file) for servers
    that do not daemonize themselves; write its pid to pid_file and return it."""
    with log_file.open("ab") as log:
        child = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, cwd=cwd, start_new_session=True,
        )
    # The server outlives this Popen object. Marking it finished keeps Popen.__del__ from
    # warning about a running child; pid_alive() reaps the server should it die while we
    # are still its parent.
    child.returncode = 0
    pid_file.write_text(f"{child.pid}\n")
    return child.pid
