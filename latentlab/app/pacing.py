"""Keeping costly GUI updates to a small share of the time, so training keeps its speed.

Training runs on a thread of the same Python process, so every millisecond the GUI thread
spends in Python holds the GIL that the training loop needs between its torch calls, and
pyqtgraph builds and paints its items in Python. Measured on 2 cores: one redraw of the curves
costs 30-80 ms including the repaints it causes, one refresh of the explorer with new weights
about 130 ms. Done 30 times a second that halves the training speed.

An UpdatePacer measures what each kind of update ("channel") really costs — the call plus the
window repaints that follow it, which the window reports — and spaces updates of a channel so
that they take at most `share` of wall time, but never come more often than `min_interval`
nor less often than `max_interval` (so the picture never looks frozen).
"""

from __future__ import annotations

import time


class UpdatePacer:
    def __init__(self, share: float = 0.02, min_interval: float = 1 / 30, max_interval: float = 2.0,
                 limits: dict[str, tuple[float, float]] | None = None):
        self.share, self.min_interval, self.max_interval = share, min_interval, max_interval
        self.limits = dict(limits or {})         # channel -> (min_interval, max_interval)
        self.costs: dict[str, float] = {}        # seconds per update, smoothed, per channel
        self._last_start: dict[str, float] = {}
        self._spent: dict[str, float] = {}       # measured so far for the channel's latest update
        self._owner: str | None = None           # the channel the next repaint is charged to

    def begin(self, channel: str) -> float:
        """An update of `channel` starts; returns a start time for `end`."""
        self._fold(channel)
        self._last_start[channel] = time.monotonic()
        self._owner = channel
        return time.perf_counter()

    def end(self, channel: str, started: float) -> None:
        self._spent[channel] = self._spent.get(channel, 0.0) + time.perf_counter() - started

    def add_paint(self, seconds: float) -> None:
        """A repaint of the window took `seconds`: charged to the latest update."""
        if self._owner is not None:
            self._spent[self._owner] = self._spent.get(self._owner, 0.0) + seconds

    def _fold(self, channel: str) -> None:
        spent = self._spent.pop(channel, 0.0)
        if spent:
            old = self.costs.get(channel)
            self.costs[channel] = spent if old is None else 0.5 * old + 0.5 * spent

    def interval(self, channel: str) -> float:
        lo, hi = self.limits.get(channel, (self.min_interval, self.max_interval))
        wanted = self.costs.get(channel, 0.0) / self.share if self.share > 0 else 0.0
        return min(hi, max(lo, wanted))

    def wait_time(self, channel: str) -> float:
        """Seconds until the channel may update again (0: now)."""
        last = self._last_start.get(channel)
        if last is None:
            return 0.0
        return max(0.0, last + self.interval(channel) - time.monotonic())
