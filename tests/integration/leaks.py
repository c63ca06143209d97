"""Looking for secrets where they must never be: every process's command line (and
environment) sampled while something runs, and the files under a directory."""

import threading
import time
from pathlib import Path

# Where the s3_credentials role writes its temporary directories on the server (tmpfs).
CREDENTIAL_BASES = (Path("/run/infrakt"), Path("/dev/shm/infrakt"))


def credential_dirs() -> set[Path]:
    """The run directories now under CREDENTIAL_BASES; compare the sets before and after an
    operation (a parallel session on the same machine may hold its own meanwhile)."""
    return {path for base in CREDENTIAL_BASES if base.exists() for path in base.iterdir()}


def lingering_credential_dirs(before: set[Path], grace: float = 10.0) -> set[Path]:
    """Return the credential directories that appeared since `before` and are still there
    after up to grace seconds: a parallel session's run removes its own meanwhile, a leak stays."""
    deadline = time.monotonic() + grace
    while (new := credential_dirs() - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    return new


def pids_running(*parts: str) -> list[int]:
    """Return the pids whose command line holds every one of parts (as separate arguments or
    inside one)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
        except OSError:
            continue
        if cmdline and all(part.encode() in cmdline for part in parts):
            pids.append(int(proc.name))
    return pids


class ProcessWatch(threading.Thread):
    """Samples /proc/<pid>/<part> of every process (parts: "cmdline", "environ") until
    stopped; hits are the processes that showed one of the secrets, samples how many rounds
    were taken. Use as a context manager, or start() and stop()."""

    def __init__(self, secrets: list[str], parts: tuple[str, ...] = ("cmdline", "environ")):
        super().__init__(daemon=True)
        self.secrets = [secret.encode() for secret in secrets if secret]
        self.parts = parts
        self.hits: list[str] = []
        self.samples = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit():
                    continue
                for part in self.parts:
                    try:
                        data = (proc / part).read_bytes()
                    except OSError:
                        continue
                    if any(secret in data for secret in self.secrets):
                        self.hits.append(f"{proc.name}/{part}: {data[:200]!r}")
            self.samples += 1
            time.sleep(0.005)

    def stop(self):
        """Stop sampling and wait for the sampler to finish its round."""
        self.stopping.set()
        self.join()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()


def files_containing(root: Path, needle: bytes) -> list[str]:
    """Return the files under root (links not followed) whose bytes contain needle."""
    hits = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                hits.append(str(path))
        except OSError:
            continue
    return hits
