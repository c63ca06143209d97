"""The web server's jobs: long operations (S3 test, backup, restore, prune, schedule set and
remove, status, S3 settings changes that update scheduled servers) run in the background, one
per database at a time, and are looked up by id while they run and after.

An action that runs a play is called in a child process of its own (`call_isolated`), never in
a thread of the web server: the runner narrows os.environ for the whole of a run (so that
ansible-runner copies no exported secret), which two overlapping runs in one process would
leave narrowed for good. The child opens the same store, calls the action and sends back its
progress lines and its result or error; nothing else (no secret) crosses. A thread per job
waits for its child and keeps the job record up to date.
"""

import multiprocessing
import secrets
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from infrakt_backup.errors import BadInput, InfraktError, NotFound
from infrakt_backup.json_ready import iso_utc

# A fresh interpreter per child: forking a process that runs threads (uvicorn's, other jobs')
# could copy a lock some thread holds.
CHILD_CONTEXT = multiprocessing.get_context("spawn")
# How an error crosses from the child: its class by name, rebuilt in the parent.
ERROR_CLASSES = {"NotFound": NotFound, "BadInput": BadInput, "InfraktError": InfraktError}
FINISHED_JOBS_KEPT = 100


class UnexpectedError(InfraktError):
    """What a child reports for an exception no action should raise (a bug): its type only, the
    traceback goes to the web server's stderr."""


class Busy(InfraktError):
    """A job was asked for a database that already has one running (the API's 409)."""


def _child_main(connection, home: str, action: Callable, arguments: dict) -> None:
    """Run in the child: call action(Store(home), progress=…, **arguments) and send
    ("progress", line)… then ("result", value) or ("error", class name, message, exit code)."""
    from infrakt_backup.store import Store

    # A stop of the web server (SIGTERM to its children) ends the run through every `finally`,
    # as Ctrl-C does: the runner's directory with the secrets vars file must go.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.default_int_handler)
    try:
        result = action(Store(Path(home)), progress=lambda line: connection.send(("progress", line)), **arguments)
        connection.send(("result", result))
    except InfraktError as error:
        kind = next(cls.__name__ for cls in type(error).__mro__ if cls.__name__ in ERROR_CLASSES)  # nearest known
        connection.send(("error", kind, error.message, error.exit_code))
    except KeyboardInterrupt:  # the web server stops (a play under way ends as canceled, above)
        connection.send(("error", "InfraktError", "interrupted: the web server stopped", 1))
    except Exception as error:  # a bug: said in one line
        traceback.print_exc(file=sys.stderr)
        connection.send(("error", "UnexpectedError", f"unexpected {type(error).__name__} (the web server's "
                                                     "output has the traceback)", 1))
    finally:
        connection.close()


def call_isolated(home: Path, action: Callable, arguments: dict, progress: Callable[[str], None]):
    """Return action(Store(home), progress=…, **arguments) as called in a child process
    (module-level action, picklable arguments), passing each progress line to `progress`. Raise
    what the action raised: NotFound, BadInput or InfraktError with the same message,
    UnexpectedError for anything else (also when the child died without an answer)."""
    receiving, sending = CHILD_CONTEXT.Pipe(duplex=False)
    child = CHILD_CONTEXT.Process(target=_child_main, args=(sending, str(home), action, arguments), daemon=True)
    child.start()
    sending.close()
    try:
        while True:
            try:
                message = receiving.recv()
            except EOFError:
                child.join()
                raise UnexpectedError(f"the operation's process ended without an answer (exit code "
                                      f"{child.exitcode})") from None
            if message[0] == "progress":
                progress(message[1])
            elif message[0] == "result":
                return message[1]
            else:
                _, kind, text, exit_code = message
                error_class = ERROR_CLASSES.get(kind, UnexpectedError)
                raise error_class(text) if error_class in (NotFound, BadInput) else error_class(text, exit_code)
    finally:
        receiving.close()
        child.join()


@dataclass
class Job:
    """One long operation: what it is, on which database (None: none), its state
    ("running", "succeeded", "failed"), its progress lines, its result or error (an InfraktError)."""

    id: str
    kind: str
    database: str | None
    state: str = "running"
    progress: list[str] = field(default_factory=list)
    result: object = None
    error: InfraktError | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    # Set once the job has reported progress (its input was accepted and the play runs) or ended.
    under_way: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_dict(self) -> dict:
        """Return the job as JSON: id, kind, database, state, progress (lines), result, error
        (its one-line message or None), started_at, ended_at (ISO-8601 UTC)."""
        return {
            "id": self.id, "kind": self.kind, "database": self.database, "state": self.state,
            "progress": list(self.progress), "result": self.result,
            "error": self.error.message if self.error is not None else None,
            "started_at": iso_utc(self.started_at), "ended_at": iso_utc(self.ended_at),
        }


class JobRegistry:
    """The jobs of one web server, in memory: the running ones and the last FINISHED_JOBS_KEPT
    finished ones."""

    def __init__(self, home: Path):
        self.home = home
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, database: str | None, action: Callable, arguments: dict) -> Job:
        """Start `action` (see call_isolated) as a job of `kind` on `database` and return it once
        it is under way (its input was accepted: it reported progress) or over. Raise Busy when
        `database` already has a running job."""
        with self._lock:
            running = next((job for job in self._jobs.values()
                            if database is not None and job.database == database and job.state == "running"), None)
            if running is not None:
                raise Busy(f"database {database} already has a {running.kind} running (job {running.id})")
            job = Job(id=secrets.token_hex(8), kind=kind, database=database)
            self._jobs[job.id] = job
            self._forget_old_jobs()
        threading.Thread(target=self._run, args=(job, action, arguments), name=f"job-{job.id}", daemon=True).start()
        job.under_way.wait()
        return job

    def get(self, job_id: str) -> Job | None:
        """Return job `job_id`, or None when there is none (or it was forgotten)."""
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job, action: Callable, arguments: dict) -> None:
        """Run job's action to its end, recording its progress and its result or error."""

        def progress(line: str) -> None:
            job.progress.append(line)
            job.under_way.set()

        result, error = None, None
        try:
            result = call_isolated(self.home, action, arguments, progress)
        except InfraktError as failure:
            error = failure
        except Exception as failure:  # a bug on this side: the job still ends, and says so
            traceback.print_exc(file=sys.stderr)
            error = UnexpectedError(f"unexpected {type(failure).__name__} (the web server's output has the traceback)")
        # state last: a job seen ended has its result or error and its end time
        job.result, job.error, job.ended_at = result, error, datetime.now(UTC)
        job.state = "failed" if error is not None else "succeeded"
        job.under_way.set()

    def _forget_old_jobs(self) -> None:
        """Drop the oldest finished jobs beyond FINISHED_JOBS_KEPT (the caller holds the lock)."""
        finished = [job for job in self._jobs.values() if job.state != "running"]
        for job in sorted(finished, key=lambda job: job.started_at)[:max(0, len(finished) - FINISHED_JOBS_KEPT)]:
            del self._jobs[job.id]
