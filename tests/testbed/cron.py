"""The real Debian cron daemon for the bench's scheduled backups. There is one per machine
(it runs root's crontab and /etc/cron.d, as on a server, and has no port or state of ours), so
the bench starts it when none runs and leaves it running on `down`: other benches' schedules
may be using it."""

import subprocess
from pathlib import Path

CRON = "/usr/sbin/cron"


def running() -> bool:
    """True when a cron daemon runs on this machine."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv0 = cmdline.read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if argv0 in (CRON.encode(), b"cron", b"/usr/sbin/crond"):
            return True
    return False


def ensure_running() -> bool:
    """Start the cron daemon (it detaches itself) unless one runs; return True when started."""
    if running():
        return False
    subprocess.run([CRON], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True
