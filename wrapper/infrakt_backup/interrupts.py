"""SIGTERM and SIGHUP (a `kill`, a closed terminal or SSH session) end a command as Ctrl-C does:
KeyboardInterrupt, through every `finally`, so that a run's directory holding the secrets vars
file never outlives it. The signal is also remembered (received()).

While a play runs (during_play()), they are only remembered: runner.py's cancel_callback asks
received() twice a second, ansible-runner stops the play, and runner.py raises the
KeyboardInterrupt after it. Raised inside ansible-runner's loop instead, it could land in a
finalizer (ansible-runner's pty objects have a `__del__`) or in logging's lock release, where
Python prints "Exception ignored … Traceback" and drops it."""

import contextlib
import signal
import threading

_received = threading.Event()


def _interrupt(signum, frame) -> None:
    _received.set()
    raise KeyboardInterrupt


def _remember(signum, frame) -> None:
    _received.set()


def install() -> None:
    """Make SIGTERM and SIGHUP interrupt this process (main thread only, as for any handler)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)


def received() -> bool:
    """Return True once SIGTERM or SIGHUP reached this process."""
    return _received.is_set()


@contextlib.contextmanager
def during_play():
    """For the block (a play run by ansible-runner): SIGHUP is only remembered, and the SIGINT
    and SIGTERM handlers ansible-runner installs for its run (signal_handler) are undone at the
    end, so that Ctrl-C after a play interrupts the command again. Outside the main thread (the
    web page's jobs) nothing changes: only the main thread handles signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGHUP, _remember)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
