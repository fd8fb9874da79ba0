"""Signal handling: `EarlyStop`, from a command's first line, with real signals to this process."""

import os
import signal
import threading

import pytest

from simple_worker.adapters.system._signals import EarlyStop

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


@pytest.fixture
def early():
    stop = EarlyStop()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    yield stop
    stop.restore()
    signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def received(early):
    """Wait (bounded) until the Python-level handler has run; return the signal noted."""
    done = threading.Event()
    for _ in range(200):
        if early.signum is not None:
            break
        done.wait(0.005)
    return early.signum


def signal_and_wait(signum):
    """Send ``signum`` to this process, then wait: a handler that raises does so here."""
    os.kill(os.getpid(), signum)
    threading.Event().wait(1)


def test_a_signal_after_install_is_noted_not_fatal_and_forwarded_once_attached(early):
    forwarded = []
    early.install()

    os.kill(os.getpid(), signal.SIGTERM)

    assert received(early) == signal.SIGTERM
    early.forward_to(forwarded.append)
    assert forwarded == [signal.SIGTERM]


def test_a_signal_sent_while_blocked_arrives_at_install(early):
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    # Pending, as for a process started blocked. To this thread: other threads of the
    # test process do not block it, and one of them would take a signal to the process.
    signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)

    early.install()

    assert received(early) == signal.SIGTERM
    assert not STOP_SIGNALS & signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_once_attached_each_signal_is_forwarded_and_a_second_one_ends_at_once(early):
    forwarded = []
    early.install()
    early.forward_to(forwarded.append)

    os.kill(os.getpid(), signal.SIGINT)
    assert received(early) == signal.SIGINT
    assert forwarded == [signal.SIGINT]

    with pytest.raises(SystemExit) as exited:
        signal_and_wait(signal.SIGTERM)
    assert exited.value.code == 128 + signal.SIGTERM


def test_restore_puts_back_the_handlers_and_the_mask_found(early):
    handlers = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

    early.install()
    early.restore()

    assert {signum: signal.getsignal(signum) for signum in STOP_SIGNALS} == handlers
    assert signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, set())
