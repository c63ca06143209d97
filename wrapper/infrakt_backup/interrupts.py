"""SIGTERM and SIGHUP (a `kill`, a closed terminal or SSH session) end a command as Ctrl-C does:
KeyboardInterrupt, through every `finally`, so that a run's directory holding the secrets vars
file never outlives it. The signal is also remembered: a KeyboardInterrupt raised while Python
runs a finalizer (`__del__`, ansible-runner's pty objects have one) is printed as "Exception
ignored" and lost, so runner.py also asks received() to cancel a play that goes on."""

import signal
import threading

_received = threading.Event()


def _interrupt(signum, frame) -> None:
    _received.set()
    raise KeyboardInterrupt


def install() -> None:
    """Make SIGTERM and SIGHUP interrupt this process (main thread only, as for any handler)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)


def received() -> bool:
    """Return True once SIGTERM or SIGHUP reached this process."""
    return _received.is_set()
