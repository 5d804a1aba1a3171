"""The latest-wins background thread, with its results delivered on the GUI thread.

`latentlab.app.job_queue.LatestWinsQueue` runs the work (newest request per slot wins, one torch
thread); this QObject only moves each finished result onto the thread it lives in (the GUI
thread) through a queued signal, then calls the job's own `on_done` / `on_error` there, unless a
newer request for the same slot overtook it. So a view can touch widgets in its callbacks.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

from PySide6.QtCore import QObject, Signal, Slot

from latentlab.app.job_queue import JobResult, LatestWinsQueue, OnDone, OnError


class LatestWinsWorker(QObject):
    """A JobRunner (see app/job_queue.py) whose callbacks run on the GUI thread."""

    _arrived = Signal(object)   # JobResult, emitted on the worker thread, received on this object's

    def __init__(self, name: str = "latentlab-model", torch_threads: int = 1, parent: QObject | None = None):
        super().__init__(parent)
        # Connected to a slot of this QObject, which lives in the GUI thread: a queued connection.
        self._arrived.connect(self._deliver)
        self._queue = LatestWinsQueue(name, self._arrived.emit, torch_threads)

    def submit(self, slot: Hashable, fn: Callable[[], Any], on_done: OnDone, *, priority: int = 10,
               on_error: OnError | None = None) -> int:
        """Run `fn()` on the thread; `on_done(value)` (or `on_error(exc)`) follows on the GUI thread."""
        return self._queue.submit(slot, fn, on_done, priority=priority, on_error=on_error)

    def cancel(self, slot: Hashable) -> None:
        self._queue.cancel(slot)

    def idle(self) -> bool:
        return self._queue.idle()

    def is_running(self) -> bool:
        return self._queue.is_running()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop after the running call; waiting calls and undelivered results are dropped."""
        self._queue.shutdown(timeout)

    @Slot(object)
    def _deliver(self, result: JobResult) -> None:
        if not self._queue.stopping:      # after shutdown() nothing more reaches the views
            result.dispatch()
