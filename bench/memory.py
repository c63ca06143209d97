"""Row P6: peak memory on the server during `backup create` of a ~1 GiB and a ~4 GiB
PostgreSQL database: everything the backup runs below the bench sshd (the module's Python,
pg_dump, zstd, aws, their shells), sampled from /proc every SAMPLE_SECONDS while the backup
runs. The peak is the largest sum of VmRSS over those processes at one sample; each
process's own peak (VmHWM, kept by the kernel) is printed by command as well."""

import threading
import time
from collections import defaultdict
from pathlib import Path

from bench import bigdb
from bench.backup_create import Backups
from bench.harness import Bench
from bench.report import Goal, Report, Row

SAMPLE_SECONDS = 0.05
MB = 1_000_000
LIMIT = Goal(100, on="ours")
FLAT = Goal(1.1)  # the big backup's peak at most 10 % above the small one's


def _status(pid: str) -> dict[str, str]:
    """Return /proc/PID/status as a dict ({} when the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _kib(value: str | None) -> int:
    """Return the kB count of a status value like `  4640 kB` (0 for None) in bytes."""
    return int(value.split()[0]) * 1024 if value else 0


def _label(pid: str, name: str) -> str:
    """Return what a process is, for people: its command, `aws` for the aws CLI's Python."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return name
    if len(argv) > 1 and argv[1].endswith(b"/aws"):
        return "aws"
    return name


class ProcessTreeSampler:
    """Samples the processes below one pid (not itself nor the sshd processes between) in a
    thread, between start() and stop(): peak_bytes, the largest sum of their VmRSS at one
    sample, and peaks, each command's largest VmHWM."""

    def __init__(self, root_pid: int):
        self.root = str(root_pid)
        self.peak_bytes = 0
        self.peaks: dict[str, int] = defaultdict(int)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "ProcessTreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _descendants(self) -> dict[str, dict[str, str]]:
        """Return pid → status of every live process below the root."""
        statuses = {pid.name: _status(pid.name) for pid in Path("/proc").iterdir() if pid.name.isdigit()}
        children = defaultdict(list)
        for pid, status in statuses.items():
            children[status.get("PPid")].append(pid)
        found, queue = {}, list(children[self.root])
        while queue:
            pid = queue.pop()
            found[pid] = statuses[pid]
            queue.extend(children[pid])
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid, status in self._descendants().items():
                name = status.get("Name", "?")
                if name == "sshd":  # the connection, not the backup
                    continue
                total += _kib(status.get("VmRSS"))
                label = _label(pid, name)
                self.peaks[label] = max(self.peaks[label], _kib(status.get("VmHWM")))
            self.peak_bytes = max(self.peak_bytes, total)
            time.sleep(SAMPLE_SECONDS)


def measure(bench: Bench, report: Report, gibs: tuple[float, float]) -> None:
    """Back up the databases of about gibs[0] and gibs[1] GiB once each (zstd, uploaded) while
    sampling; add a row for each (the second against the first) and a note of the peaks."""
    sshd_pid = bench.bed.components["sshd"].pid()
    backups = Backups(bench)
    peaks = []
    for gib in gibs:
        name = f"rss_{gib:g}".replace(".", "_")
        bench.add_postgres(name, bigdb.ensure_database(bench, gib))
        with ProcessTreeSampler(sshd_pid) as sampler:
            backups.create(name)
        backups.clean(name)
        peaks.append(sampler.peak_bytes / MB)
        by_command = ", ".join(f"{label} {peak / MB:.0f}" for label, peak in
                               sorted(sampler.peaks.items(), key=lambda item: -item[1]) if peak >= MB)
        report.note("P6", f"{gib:g} GiB: backup took {backups.median_of(name, 'duration_s'):.0f} s on the server; "
                          f"peak of each process (VmHWM, MB): {by_command}")
    small, big = gibs
    report.add(Row("P6", f"peak RSS on the server, {small:g} GiB backup", [peaks[0]], unit="MB", goals=(LIMIT,)))
    report.add(Row("P6", f"peak RSS on the server, {big:g} GiB backup", [peaks[1]], [peaks[0]], f"({small:g} GiB)",
                   (LIMIT, FLAT), unit="MB"))
