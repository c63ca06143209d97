"""SIGTERM and SIGHUP (interrupts.py), with real signals sent to this process: outside a play
they interrupt at once, inside one (during_play) a SIGHUP is only remembered for the runner's
cancel_callback, and the handlers ansible-runner installs for its run are undone afterwards."""

import os
import signal
import time

import pytest

from infrakt_backup import interrupts


@pytest.fixture
def handlers():
    """Save the signal handlers and the remembered signal; restore them after the test."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)
    interrupts._received.clear()


def deliver(signum):
    """Send signum to this process and give Python the moment it needs to run the handler."""
    os.kill(os.getpid(), signum)
    time.sleep(0.05)


def test_a_hangup_outside_a_play_interrupts_and_is_remembered(handlers):
    interrupts.install()
    with pytest.raises(KeyboardInterrupt):
        deliver(signal.SIGHUP)
    assert interrupts.received()


def test_a_hangup_during_a_play_is_only_remembered_and_the_runner_handlers_are_undone(handlers):
    interrupts.install()
    before = signal.getsignal(signal.SIGINT)
    with interrupts.during_play():
        signal.signal(signal.SIGINT, lambda signum, frame: None)  # as ansible-runner's signal_handler does
        deliver(signal.SIGHUP)  # no KeyboardInterrupt here
        assert interrupts.received()
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt):
        deliver(signal.SIGTERM)
