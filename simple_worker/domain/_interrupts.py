"""Interrupts: raised into a running handler from outside it. Pure: no I/O.

Not errors of the library (those derive from `SimpleWorkerError`, an
`Exception`): an interrupt derives from `BaseException`, as `KeyboardInterrupt`
does, so that a handler's ``except Exception:`` (a retry loop, a "log and go
on") does not swallow it and run on past its limit. A handler that must clean
up uses ``finally`` or ``except BaseException`` and re-raises.
"""

from __future__ import annotations


class TaskTimeLimitExceeded(BaseException):
    """Raised inside a task's handler when the task has run past its time limit.

    The worker raises it in the handler's thread (see ``time_limit`` in
    ``App.register_task_handler``); the task counts as failed whatever the
    handler does next, and its message is not deleted.
    """

    def __init__(self, task_name: str, time_limit: float) -> None:
        self.task_name = task_name
        self.time_limit = time_limit
        super().__init__(
            f"Task {task_name} ran past its time limit of {time_limit:g} s: it counts as "
            "failed and its message is not deleted. Make the task quicker, split it, or raise "
            "its time_limit."
        )

    @classmethod
    def raised_for(cls, task_name: str, time_limit: float) -> type[TaskTimeLimitExceeded]:
        """Return a subclass whose instances, made without arguments, name this task.

        A thread is interrupted with an exception class, which it instantiates
        without arguments; this one still says which task and which limit.
        """

        def init(self: TaskTimeLimitExceeded) -> None:
            TaskTimeLimitExceeded.__init__(self, task_name, time_limit)

        return type(cls.__name__, (cls,), {"__init__": init, "__module__": cls.__module__})
