"""Progress while a play runs: the lines actions send (`… <task>` from runner.py, the count of a
fleet run from fleet_count) and, for cli.py on a terminal, one status line rewritten every
second with the running task's elapsed time (Ticker). Elsewhere (a pipe, a log, the web page)
the same lines are plain lines, one each, and nothing is rewritten."""

import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from typing import TextIO

TASK_PREFIX = "… "  # how runner.py's task lines begin
FLEET_COUNT = re.compile(r"^\d+/\d+ done, \d+ failed, \d+ running$")
CLEAR_LINE = "\r\x1b[K"  # to the start of the line, erase it


def fleet_count(done: int, failed: int, total: int) -> str:
    """Return the live count of a run over `total` databases: `3/16 done, 1 failed, 12 running`
    (done counts those that succeeded; running, those not ended yet)."""
    return f"{done}/{total} done, {failed} failed, {total - done - failed} running"


def elapsed_text(seconds: float) -> str:
    """Return whole elapsed seconds as `12 s`, from a minute on as `2 min 05 s`."""
    whole = int(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


def status_line(task: str | None, seconds: float, count: str | None, width: int) -> str:
    """Return the terminal's status line: the running task with its elapsed time and the
    fleet count, cut to `width` characters (a line that wraps cannot be rewritten)."""
    parts = [f"{task} ({elapsed_text(seconds)})" if task else None, count]
    line = " · ".join(part for part in parts if part)
    return line if len(line) <= width else line[:max(width - 1, 0)] + "…"


class Ticker:
    """The progress callback cli.py gives actions when stderr is a terminal: task lines and the
    count go into one status line, redrawn every `interval` seconds with the elapsed time; when
    the next task starts, the finished one stays as a line with its time. Any other message
    (Ansible's output at -v) is printed above the status line. close() ends the status line;
    call it before the command prints its answer."""

    def __init__(self, stream: TextIO, *, interval: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.task: str | None = None
        self.started = 0.0
        self.count: str | None = None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def __call__(self, message: str) -> None:
        with self.lock:
            if FLEET_COUNT.match(message):
                self.count = message
            elif message.startswith(TASK_PREFIX):
                self._end_task()
                self.task, self.started = message, self.clock()
            else:
                self.stream.write(CLEAR_LINE + message + "\n")
            self._draw()
        if self.thread is None:  # drawn only once something runs: prompts come before
            self.thread = threading.Thread(target=self._tick, name="infrakt-progress", daemon=True)
            self.thread.start()

    def close(self) -> None:
        """Stop redrawing and leave the last task, with its time and the count, as a line."""
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()
        with self.lock:
            self._end_task()

    def _tick(self) -> None:
        while not self.stopped.wait(self.interval):
            with self.lock:
                self._draw()

    def _draw(self) -> None:
        if self.task is None and self.count is None:
            return
        try:  # the terminal stderr is on: stdout may be a pipe (--json | jq)
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError):
            columns = shutil.get_terminal_size().columns
        width = (columns or 80) - 1
        self.stream.write(CLEAR_LINE + status_line(self.task, self.clock() - self.started, self.count, width))
        self.stream.flush()

    def _end_task(self) -> None:
        """Rewrite the status line once more and end it, so that it stays (the lock held)."""
        if self.task is None and self.count is None:
            return
        self._draw()
        self.stream.write("\n")
        self.stream.flush()
        self.task = None
