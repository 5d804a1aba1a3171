"""Background work where the newest request for each slot wins, with results sent to callbacks.

Hovering produces a mouse event every few milliseconds; a queue of decodes would fall behind and
show stale images. Here every request names a *slot* (any hashable: `HOVER`, `("encode", id)`,
...); submitting to a slot whose request is still waiting replaces that request, so the thread
always works on the newest one. Each request carries its own `on_done(value)` and
`on_error(exception)`: results are routed by the callback that asked for them, never by parsing
a key (napari's `_layer_slicer.py` keys its work by the layer object in the same spirit).

`LatestWinsQueue` is the thread, Qt-free: it hands each finished `JobResult` to a `deliver`
function *on its own thread*. A GUI wraps it so that delivery happens on the GUI thread
(`latentlab.gui.latest_wins.LatestWinsWorker`) and then calls `result.dispatch()`, which drops a
result overtaken by a newer submit (or a cancel) of the same slot. `InlineRunner` does the same
work synchronously, for tests and scripts that have no event loop.

The thread is a plain Python thread: it needs no event loop and stopping it is a flag and a join.
It runs PyTorch with one CPU thread: on 2 cores a training thread plus this one use both cores;
more threads oversubscribe them and make hover latency spiky (see the team's qt-notes).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Protocol

OnDone = Callable[[Any], None]
OnError = Callable[[BaseException], None]


class JobRunner(Protocol):
    """What the explorer's work needs from a runner (LatestWinsWorker, InlineRunner, ...)."""

    def submit(self, slot: Hashable, fn: Callable[[], Any], on_done: OnDone, *, priority: int = 10,
               on_error: OnError | None = None) -> int: ...

    def cancel(self, slot: Hashable) -> None: ...


@dataclass(frozen=True)
class Job:
    slot: Hashable
    ticket: int                  # increases with every submit and cancel
    fn: Callable[[], Any]
    on_done: OnDone
    on_error: OnError | None
    priority: int
    submitted_at: float          # time.perf_counter() at submit, for latency measurements


@dataclass(frozen=True)
class JobResult:
    job: Job
    value: Any = None
    error: BaseException | None = None
    queue: "LatestWinsQueue | None" = None

    def is_latest(self) -> bool:
        return self.queue is None or self.queue.is_latest(self)

    def dispatch(self) -> bool:
        """Call the job's on_done / on_error unless it was overtaken; True if a callback ran.
        A job without on_error re-raises its error here, where the caller can see it."""
        if not self.is_latest():
            return False
        if self.error is None:
            self.job.on_done(self.value)
        elif self.job.on_error is not None:
            self.job.on_error(self.error)
        else:
            raise self.error
        return True


def _run_job(fn: Callable[[], Any], torch_module) -> Any:
    if torch_module is None:
        return fn()
    with torch_module.inference_mode():
        return fn()


class LatestWinsQueue:
    """Runs callables on one background thread; per slot, only the newest waiting call runs.
    Lower priority runs first; equal priorities run in the order they were submitted."""

    def __init__(self, name: str, deliver: Callable[[JobResult], None], torch_threads: int = 1):
        self._deliver = deliver
        self._torch_threads = torch_threads
        self._lock = threading.Condition()
        self._pending: dict[Hashable, Job] = {}
        self._tickets: dict[Hashable, int] = {}
        self._counter = 0
        self._busy = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, slot: Hashable, fn: Callable[[], Any], on_done: OnDone, *, priority: int = 10,
               on_error: OnError | None = None) -> int:
        """Queue `fn()` for `slot`, replacing a call still waiting there; returns its ticket."""
        with self._lock:
            self._counter += 1
            self._tickets[slot] = self._counter
            self._pending[slot] = Job(slot, self._counter, fn, on_done, on_error, priority, time.perf_counter())
            self._lock.notify()
            return self._counter

    def cancel(self, slot: Hashable) -> None:
        """Drop a waiting call and make any result still in flight for `slot` stale."""
        with self._lock:
            self._pending.pop(slot, None)
            self._counter += 1
            self._tickets[slot] = self._counter

    def is_latest(self, result: JobResult) -> bool:
        """False for a result overtaken by a newer submit (or a cancel) of the same slot."""
        with self._lock:
            return self._tickets.get(result.job.slot) == result.job.ticket

    def idle(self) -> bool:
        with self._lock:
            return not self._pending and not self._busy

    def is_running(self) -> bool:
        return self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """True once shutdown() was called (results still arriving should be dropped)."""
        return self._stopping

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop after the running call; waiting calls are dropped. Safe to call twice."""
        with self._lock:
            self._stopping = True
            self._pending.clear()
            self._lock.notify()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            import torch

            torch.set_num_threads(self._torch_threads)   # per thread: this one only
        except Exception:  # noqa: BLE001 - a queue without torch still runs plain callables
            torch = None
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                slot = min(self._pending, key=lambda s: (self._pending[s].priority, self._pending[s].ticket))
                job = self._pending.pop(slot)
                self._busy = True
            try:
                result = JobResult(job, _run_job(job.fn, torch), None, self)
            except Exception as e:  # noqa: BLE001 - reported to the callback, never kills the thread
                result = JobResult(job, None, e, self)
            with self._lock:
                self._busy = False
                if self._stopping:
                    return
            try:
                self._deliver(result)
            except RuntimeError:   # the GUI object that delivers was deleted under us: the app is closing
                return


class InlineRunner:
    """A JobRunner that runs each call at once, in the caller's thread, and calls back before
    `submit` returns: deterministic, for tests and scripts (no latest-wins is needed there)."""

    def __init__(self):
        self._counter = 0
        self.submitted: list[Hashable] = []     # slots in the order they ran, for tests

    def submit(self, slot: Hashable, fn: Callable[[], Any], on_done: OnDone, *, priority: int = 10,
               on_error: OnError | None = None) -> int:
        self._counter += 1
        self.submitted.append(slot)
        job = Job(slot, self._counter, fn, on_done, on_error, priority, time.perf_counter())
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a dependency
            torch = None
        try:
            value = _run_job(fn, torch)
        except Exception as e:  # noqa: BLE001 - as the thread does: to on_error
            JobResult(job, None, e).dispatch()
        else:
            JobResult(job, value).dispatch()
        return self._counter

    def cancel(self, slot: Hashable) -> None:
        pass
