"""How many CPU threads the window's training run may use right now: every core while nobody is
using the window, one core fewer from the moment someone hovers, drags, draws or types, until
`hold_s` after they stop (and while any interactive job, such as a posterior or a figure, runs).

Why: torch's CPU threads wait for each other at the end of every operation, so a training run
that has all the cores crawls as soon as anything else wants one (measured on 2 cores: training
on 2 threads while the GUI decodes on hover gave a hover p95 of 12.6 ms and half the steps/s of
1 + 1 threads). A window nobody touches wants almost nothing (its redraws are paced to about 2 %
of the time), so then the run takes every core; the moment the user acts, the run gives one back
at its next step.

Plain Python with no Qt: the window reports interactions (`touch`) from the GUI thread, and the training thread asks `training_threads()` between two steps. Reads and
writes are single attribute operations, atomic under the GIL; no lock is needed for a hint.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

HOLD_S = 1.5   # after the last interaction, the run keeps its core off this long (a pause in a hover)


class CoreShare:
    """See the module docstring. `cores`: the machine's (os.cpu_count() by default)."""

    def __init__(self, cores: int | None = None, hold_s: float = HOLD_S,
                 clock: Callable[[], float] = time.monotonic):
        self.cores = max(1, int(cores or os.cpu_count() or 1))
        self.hold_s = hold_s
        self._clock = clock
        self._last_touch = -float("inf")

    def touch(self) -> None:
        """Someone just used the window (a mouse move, a click, a key)."""
        self._last_touch = self._clock()

    @property
    def interactive(self) -> bool:
        return self._clock() - self._last_touch < self.hold_s

    def cores_while_in_use(self) -> int:
        """One core fewer than the machine's, at least one: the run's threads while the window is in use."""
        return max(1, self.cores - 1)

    def training_threads(self) -> int:
        """Every core while idle; one fewer (at least one) while the window is in use."""
        return self.cores_while_in_use() if self.interactive else self.cores


_shared = CoreShare()


def shared() -> CoreShare:
    """The process's one CoreShare: cores are a resource of the whole process."""
    return _shared
