"""A model's own curves beside the ELBO's: the named numbers of StepEvent.extras and
EpochEvent.extras (an M2 run's labelled bound -L and classification loss per step, its validation
error per epoch), kept aligned with CurveData's steps and epochs.

Generic on purpose: the names come from the events (or a checkpoint's history columns), so a
VAE run has none and costs nothing, and a new kind of model adds curves without a change here.
A name that starts late (or is missing from some rows) is NaN where it has no value, so index i
of every column is step i (or epoch i) of the run.
"""

from __future__ import annotations

import math

from .curve_series import GrowingArray, SmoothedSeries


class ExtraCurves:
    """steps[name]: smoothed per-step series; epochs[name]: per-epoch values."""

    def __init__(self, smoothing: float = 0.6):
        self.smoothing = smoothing
        self.steps: dict[str, SmoothedSeries] = {}
        self.epochs: dict[str, GrowingArray] = {}
        self._n_steps = 0
        self._n_epochs = 0

    def __bool__(self) -> bool:
        return bool(self.steps or self.epochs)

    def clear(self) -> None:
        self.steps, self.epochs = {}, {}
        self._n_steps = self._n_epochs = 0

    def set_smoothing(self, weight: float) -> None:
        self.smoothing = weight
        for series in self.steps.values():
            series.set_weight(weight)

    # -- filling ---------------------------------------------------------------------------
    def add_steps(self, events) -> None:
        """Events with an `extras` tuple of (name, value) pairs (a VAE's is empty)."""
        rows = [dict(getattr(e, "extras", ()) or ()) for e in events]
        self.add_step_columns({name: [row.get(name, math.nan) for row in rows]
                               for name in {n for row in rows for n in row} | set(self.steps)}, len(rows))

    def add_epoch(self, event) -> None:
        row = dict(getattr(event, "extras", ()) or ())
        self.add_epoch_columns({name: [row.get(name, math.nan)] for name in set(row) | set(self.epochs)}, 1)

    def add_step_columns(self, columns: dict, n: int) -> None:
        """`n` more steps; `columns` maps a name to its n values (a name not given is NaN there)."""
        for name, values in columns.items():
            values = _exactly(values, n)
            series = self.steps.get(name)
            if series is None:
                series = self.steps[name] = SmoothedSeries(self.smoothing)
                series.extend([math.nan] * self._n_steps)
            series.extend(values)
        for name, series in self.steps.items():
            if name not in columns:
                series.extend([math.nan] * n)
        self._n_steps += n

    def add_epoch_columns(self, columns: dict, n: int) -> None:
        for name, values in columns.items():
            values = _exactly(values, n)
            array = self.epochs.get(name)
            if array is None:
                array = self.epochs[name] = GrowingArray(64)
                array.extend([math.nan] * self._n_epochs)
            array.extend(values)
        for name, array in self.epochs.items():
            if name not in columns:
                array.extend([math.nan] * n)
        self._n_epochs += n

    def load_history(self, history, step_columns, epoch_columns) -> None:
        """The columns of a trainer.History beyond the ELBO's own (`step_columns`, `epoch_columns`
        are the ones CurveData reads itself)."""
        self.clear()
        steps = {k: v for k, v in history.steps.items() if k not in step_columns}
        epochs = {k: v for k, v in history.epochs.items() if k not in epoch_columns}
        self.add_step_columns(steps, len(history.steps.get("step", ())))
        self.add_epoch_columns(epochs, len(history.epochs.get("epoch", ())))

    # -- reading ---------------------------------------------------------------------------
    def smoothed_at(self, name: str, index: int) -> float:
        series = self.steps.get(name)
        return float(series.smooth.values[index]) if series is not None and index < len(series.raw) else math.nan

    def epoch_value(self, name: str, index: int) -> float:
        array = self.epochs.get(name)
        return float(array.values[index]) if array is not None and 0 <= index < len(array) else math.nan


def _exactly(values, n: int) -> list[float]:
    """n values: a column cut short (it stopped early) is padded with NaN."""
    values = list(values)[:n]
    return values + [math.nan] * (n - len(values))
