"""Looking for secrets where they must never be: every process's command line (and
environment) sampled while something runs, the files of directory trees watched while
something runs, and the files under a directory (or changed since a moment) afterwards."""

import os
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Where the s3_credentials role writes its temporary directories on the server (tmpfs).
CREDENTIAL_BASES = (Path("/run/infrakt"), Path("/dev/shm/infrakt"))


def credential_dirs() -> set[Path]:
    """The run directories now under CREDENTIAL_BASES; compare the sets before and after an
    operation (a parallel session on the same machine may hold its own meanwhile)."""
    return {path for base in CREDENTIAL_BASES if base.exists() for path in base.iterdir()}


def lingering_credential_dirs(before: set[Path], access_keys: tuple[str, ...], grace: float = 10.0) -> set[Path]:
    """Return the credential directories that appeared since `before`, hold one of access_keys
    (those of the runs in question: a parallel session's runs, and their leaks, use others)
    and are still there after up to grace seconds."""
    def new_of_ours() -> set[Path]:
        return {path for path in credential_dirs() - before if files_holding(
            [str(path / "credentials")], list(access_keys))}

    deadline = time.monotonic() + grace
    while (new := new_of_ours()) and time.monotonic() < deadline:
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


@dataclass(frozen=True)
class Holder:
    """A file seen holding a secret: its path, permission bits and owner's uid."""

    path: str
    mode: int
    uid: int

    @classmethod
    def of(cls, path: str) -> "Holder":
        """Return the Holder for the file at path as it is now (lstat: a link is not followed)."""
        info = os.lstat(path)
        return cls(path, stat.S_IMODE(info.st_mode), info.st_uid)


class TreeWatch(threading.Thread):
    """Reads every file under roots (and the roots' own new subdirectories) about every 20 ms
    until stopped; holders are the files that showed one of the secrets, dirs every
    directory seen directly under a root. Use as a context manager."""

    def __init__(self, roots: list[Path], secrets: list[str]):
        super().__init__(daemon=True)
        self.roots = roots
        self.secrets = [secret.encode() for secret in secrets if secret]
        self.holders: set[Holder] = set()
        self.dirs: set[Path] = set()
        self.samples = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            for root in self.roots:
                for directory, _, files in os.walk(root):
                    if Path(directory).parent == root:
                        self.dirs.add(Path(directory))
                    for name in files:
                        path = os.path.join(directory, name)
                        try:
                            data = Path(path).read_bytes() if not os.path.islink(path) else b""
                            if any(secret in data for secret in self.secrets):
                                self.holders.add(Holder.of(path))
                        except OSError:
                            continue
            self.samples += 1
            time.sleep(0.02)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.join()


def files_changed_since(marker: Path, roots: list[Path], skip_dirs: tuple[str, ...] = ()) -> list[str]:
    """Return the regular files under roots (links not followed, one file system each) whose
    inode changed after marker's (ctime, which no tool sets back), except under directories
    named like one of the skip_dirs globs."""
    names = [arg for pattern in skip_dirs for arg in ("-o", "-name", pattern)][1:]
    prune = ["(", "-type", "d", "(", *names, ")", "-prune", ")", "-o"] if names else []
    existing = [str(root) for root in roots if root.exists()]
    if not existing:
        return []
    found = subprocess.run(["find", *existing, "-xdev", *prune, "-type", "f", "-cnewer", str(marker), "-print0"],
                           capture_output=True, check=False)
    return [os.fsdecode(name) for name in found.stdout.split(b"\0") if name]


def files_holding(paths: list[str], secrets: list[str]) -> list[str]:
    """Return those of paths (files) whose bytes contain one of secrets (grep -F, binary files too)."""
    holding = []
    for start in range(0, len(paths), 500):
        patterns = [arg for secret in secrets if secret for arg in ("-e", secret)]
        found = subprocess.run(["grep", "-lsaF", *patterns, "--", *paths[start:start + 500]],
                               capture_output=True, text=True, check=False)
        holding += found.stdout.splitlines()
    return holding
