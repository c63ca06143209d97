"""What every bench component shares: where its state, pid file and log live, how to tell
that it runs, and how to stop it. Each component module subclasses Component."""

import os
import secrets
import shutil
import signal
import string
from pathlib import Path

from tests.testbed.process import TestbedError, pid_alive, port_open, read_pid, stop_pid

PASSWORD_ALPHABET = string.ascii_letters + string.digits


def new_password() -> str:
    """Return a random 32-character alphanumeric password."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(32))


def write_private(path: Path, text: str) -> None:
    """Write text to path with mode 0600 (replacing it atomically, never readable by others)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


class Component:
    """One server process of the bench. Subclasses set the class attributes and implement
    start(); env is the bench's shared settings dict (ports, passwords) they read and fill."""

    name = ""
    port_key = ""
    cmdline_needle = ""  # text /proc/PID/cmdline must contain for the pid file to count
    stop_signal = signal.SIGTERM
    # True when a restart by someone else must count as "not ours" (state lives only in
    # the process we provisioned, e.g. moto's memory). Redis may be restarted by restores.
    ready_needs_same_pid = True

    def __init__(self, bench_dir: Path, env: dict[str, str]):
        self.bench_dir = bench_dir
        self.env = env
        self.dir = bench_dir / self.name
        self.log_file = bench_dir / "logs" / f"{self.name}.log"
        self.ready_file = self.dir / "ready.pid"

    @property
    def pid_file(self) -> Path:
        """The file the server (or the bench, for servers that do not write one) keeps its pid in."""
        return self.dir / f"{self.name}.pid"

    @property
    def port(self) -> int:
        """The TCP port this component listens on."""
        return int(self.env[self.port_key])

    def pid(self) -> int | None:
        """The pid from the pid file when that process is ours and alive, else None."""
        pid = read_pid(self.pid_file)
        return pid if pid_alive(pid, self.cmdline_needle) else None

    def running(self) -> bool:
        """True when our process is alive, accepts connections and was fully provisioned."""
        pid = self.pid()
        if pid is None or self.port_key not in self.env or not port_open(self.port):
            return False
        return not self.ready_needs_same_pid or read_pid(self.ready_file) == pid

    def launch(self) -> None:
        """Start the component (stopped before, its port chosen) and mark it provisioned."""
        self.dir.mkdir(mode=0o700, exist_ok=True)
        self.start()
        pid = self.pid()
        if pid is None:
            raise TestbedError(f"{self.name} started, but its pid file {self.pid_file} names no live process; "
                               f"see {self.log_file}")
        self.ready_file.write_text(f"{pid}\n")

    def start(self) -> None:
        """Start the server on self.port, wait until it serves and provision it."""
        raise NotImplementedError

    def stop(self) -> bool:
        """Stop our process (found through the pid file) and drop the pid file; return whether
        a process was running."""
        stopped = stop_pid(read_pid(self.pid_file), self.cmdline_needle, self.stop_signal)
        self.pid_file.unlink(missing_ok=True)
        self.ready_file.unlink(missing_ok=True)
        return stopped

    def reset_dir(self, path: Path) -> None:
        """Remove a half-made state directory left by an interrupted first start."""
        if path.exists():
            shutil.rmtree(path)
