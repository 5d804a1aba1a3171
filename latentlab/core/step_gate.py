"""When the training loop may start its next step: pause, resume, stop, single steps and a speed
limit, asked for from any thread, and the one wait of the training thread between two steps.

Every request changes the state under one condition variable and wakes the training thread, so
a Stop, a Pause or a new limit during a slow-motion wait takes effect at once, never after a
sleep. The pacing is arithmetic on a clock (`seconds_to_wait`), which tests replace.

Single steps ("Step" in the window) are for a paused run: `step()` lets exactly one step through
and the run is paused again after it. While that step is asked for or being taken (until the
loop comes back to wait), further `step()` calls are refused: ten clicks during one step are one
step, never a queue of ten.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

GO, STEP, STOP, PAUSED = "go", "step", "stop", "paused"   # what `next_turn` answers

_NO_STEP, _STEP_ASKED, _STEP_TAKEN = 0, 1, 2


def seconds_to_wait(last_start: float | None, now: float, limit: float | None) -> float:
    """Seconds until the next step may start, so that steps start at most `limit` times a second
    (None: no limit). `last_start` is when the previous step started (None: there was none)."""
    if limit is None or last_start is None:
        return 0.0
    return max(0.0, last_start + 1.0 / limit - now)


def check_speed_limit(steps_per_second: float | None) -> float | None:
    """A speed limit: None (as fast as it goes) or a positive number of steps per second."""
    if steps_per_second is None:
        return None
    if isinstance(steps_per_second, bool) or not isinstance(steps_per_second, (int, float)) \
            or not math.isfinite(steps_per_second) or steps_per_second <= 0:
        raise ValueError(f"speed limit: give a positive number of steps per second or None, got {steps_per_second!r}")
    return float(steps_per_second)


class StepGate:
    """See the module docstring. Requests from any thread; `next_turn` on the training thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._cond = threading.Condition()
        self._stopped = False
        self._paused = False
        self._single = _NO_STEP
        self._pause_reported = False
        self._limit: float | None = None
        self._last_start: float | None = None
        self.waiting = threading.Event()   # set while the training thread waits here (for tests)

    # -- requests, from any thread --------------------------------------------------------------
    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Sticky: kept until `clear`; the loop's next (or current) wait answers STOP."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget a stop, a pause and a single step (a new run of the same trainer); the limit stays."""
        with self._cond:
            self._stopped = self._paused = False
            self._single = _NO_STEP
            self._cond.notify_all()

    def step(self) -> bool:
        """Let one step of a paused run through. False (and nothing changes) when the run is not
        paused, is stopping, or the previous single step is still asked for or being taken."""
        with self._cond:
            if not self._paused or self._stopped or self._single != _NO_STEP:
                return False
            self._single = _STEP_ASKED
            self._cond.notify_all()
            return True

    def set_limit(self, steps_per_second: float | None) -> None:
        """At most this many steps start per second (None: no limit); a waiting loop re-reads it at once."""
        limit = check_speed_limit(steps_per_second)
        with self._cond:
            self._limit = limit
            self._cond.notify_all()

    @property
    def limit(self) -> float | None:
        return self._limit

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def held(self) -> bool:
        """Paused with no single step asked for: no step starts until another request."""
        with self._cond:
            return self._paused and not self._stopped and self._single == _NO_STEP

    def seconds_to_next_step(self) -> float:
        """What the speed limit still makes a running loop wait (0: it may step now)."""
        with self._cond:
            return seconds_to_wait(self._last_start, self._clock(), self._limit)

    # -- the training thread --------------------------------------------------------------------
    def next_turn(self) -> str:
        """Block until the next step may start. Answers GO (a step of a running run), STEP (the
        single step of a paused run), STOP, or PAUSED: the run has just become paused, which the
        caller reports before it calls again (once per pause, and again after each single step)."""
        with self._cond:
            if self._single == _STEP_TAKEN:
                self._single = _NO_STEP   # the single step let through last time is done
            while True:
                if self._stopped:
                    return STOP
                if self._paused:
                    if self._single == _STEP_ASKED:
                        return self._let_through(STEP)
                    if not self._pause_reported:
                        self._pause_reported = True
                        return PAUSED
                    self._wait(None)
                    continue
                delay = seconds_to_wait(self._last_start, self._clock(), self._limit)
                if delay <= 0:
                    return self._let_through(GO)
                self._wait(delay)

    def _let_through(self, turn: str) -> str:
        self._last_start = self._clock()
        self._pause_reported = False
        if turn == STEP:
            self._single = _STEP_TAKEN
        elif self._single == _STEP_ASKED:
            self._single = _NO_STEP   # resumed before the single step came: the run steps anyway
        return turn

    def _wait(self, timeout: float | None) -> None:
        self.waiting.set()
        try:
            self._cond.wait(timeout)
        finally:
            self.waiting.clear()
