"""Growing, smoothed series: the storage under the curves (app/curve_data.py, app/extra_curves.py).

The arrays grow by doubling, so appending a batch of steps 30 times a second never copies the
whole run; the smoothing is computed in pieces as a series grows.
"""

from __future__ import annotations

import math
from itertools import accumulate

import numpy as np


class GrowingArray:
    """A float64 array with amortised O(1) append; `.values` is a view of the filled part."""

    def __init__(self, capacity: int = 1024):
        self._data = np.empty(max(16, capacity))
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def values(self) -> np.ndarray:
        return self._data[: self._n]

    def extend(self, new) -> None:
        new = np.asarray(new, dtype=np.float64).ravel()
        need = self._n + len(new)
        if need > len(self._data):
            grown = np.empty(max(need, 2 * len(self._data)))
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n:need] = new
        self._n = need

    def clear(self) -> None:
        self._n = 0



def ema_smooth(values, weight: float, state: tuple[float, int] = (0.0, 0)) -> tuple[np.ndarray, tuple[float, int]]:
    """TensorBoard's smoothing: an exponential moving average divided by (1 - weight**n).

    The division removes the pull towards the zero the average starts from, so the first
    smoothed points sit on the data instead of rising from 0. Non-finite values pass through
    unsmoothed. `state` = (running average, count of finite values), so a series can be
    smoothed in pieces as it grows: smoothing [a, b] then [c] gives the same as [a, b, c].
    """
    values = np.asarray(values, dtype=np.float64)
    last, count = state
    if weight <= 0:
        finite = np.isfinite(values)
        if finite.any():
            last, count = float(values[finite][-1]), count + int(finite.sum())
        return values.copy(), (last, count)
    out = np.empty_like(values)
    w = float(weight)
    # accumulate runs the recurrence in C; the lambda is the only Python per point.
    finite = np.isfinite(values)
    if finite.all():
        running = np.fromiter(accumulate(values.tolist(), lambda a, v: a * w + (1 - w) * v, initial=last),
                              dtype=np.float64, count=len(values) + 1)[1:]
        counts = count + np.arange(1, len(values) + 1)
        out[:] = running / (1 - w ** counts) if w < 1 else running
        if len(values):
            last, count = float(running[-1]), int(counts[-1])
        return out, (last, count)
    for i, v in enumerate(values.tolist()):  # rare: a NaN in the data (e.g. a metrics.csv gap)
        if not math.isfinite(v):
            out[i] = v
            continue
        last = last * w + (1 - w) * v
        count += 1
        out[i] = last / (1 - w ** count) if w < 1 else last
    return out, (last, count)



class SmoothedSeries:
    """Raw values plus their smoothed version, kept up to date incrementally."""

    def __init__(self, weight: float = 0.6):
        self.raw = GrowingArray()
        self.smooth = GrowingArray()
        self._weight = weight
        self._state = (0.0, 0)

    def extend(self, values) -> None:
        self.raw.extend(values)
        smoothed, self._state = ema_smooth(values, self._weight, self._state)
        self.smooth.extend(smoothed)

    def set_weight(self, weight: float) -> None:
        self._weight = weight
        smoothed, self._state = ema_smooth(self.raw.values, weight)
        self.smooth.clear()
        self.smooth.extend(smoothed)

    def clear(self) -> None:
        self.raw.clear()
        self.smooth.clear()
        self._state = (0.0, 0)
