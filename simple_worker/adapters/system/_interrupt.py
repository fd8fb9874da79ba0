"""Raising an exception in another thread: how a sync task is stopped at its time limit.

CPython checks for such an exception between bytecodes only (``PyThreadState_SetAsyncExc``),
so it interrupts Python code, loops included, but not a blocking call in C:
``time.sleep``, a socket read without a timeout, a lock wait or a C extension's
own loop raise it only once they return to Python. A thread that catches it and
goes on is not interrupted again; the worker's hard time limit is for those.
"""

from __future__ import annotations

import ctypes
import threading

import attrs

from simple_worker.domain._interrupts import TaskTimeLimitExceeded

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
_set_async_exc.restype = ctypes.c_int


@attrs.frozen
class ThreadInterrupt:
    """Interrupts one thread; made on that thread with `current`."""

    thread_id: int

    @classmethod
    def current(cls) -> ThreadInterrupt:
        """Return the interrupt of the calling thread."""
        return cls(threading.get_ident())

    def send(self, error: type[TaskTimeLimitExceeded]) -> None:
        """Raise ``error`` in the thread at its next bytecode; it must take no argument."""
        _set_async_exc(self.thread_id, error)

    def withdraw(self) -> None:
        """Drop an exception `send` set that the thread has not raised yet."""
        _set_async_exc(self.thread_id, ctypes.py_object())  # NULL clears it
