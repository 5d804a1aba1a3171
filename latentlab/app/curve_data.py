"""The numbers behind the curve plots: growing per-step and per-epoch series, EMA smoothing, CSV,
the position of each step in epochs, and the values the readout shows (latest, or at a step).

No Qt here, so the smoothing and the bookkeeping are tested without a window. The series
themselves are in app/curve_series.py; a model's own curves beside the ELBO's (M2's labelled
bound and validation error) in app/extra_curves.py.
"""

from __future__ import annotations

import csv
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from latentlab.core.events import STEP_BOUND, STEP_K, VAL_BOUND

from .curve_series import GrowingArray, SmoothedSeries, ema_smooth  # noqa: F401 (ema_smooth: public here)
from .extra_curves import ExtraCurves

TRAIN_SERIES = ("neg_elbo", "kl", "recon")
VAL_SERIES = ("val_neg_elbo", "val_kl", "val_recon")


def peak_decimate(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ~max_points points that draw like all of them: the minimum and the maximum of each
    of max_points/2 consecutive buckets, in step order (spikes survive, unlike with striding).

    Drawing cost then stays the same however long the run, which matters because the plot is
    redrawn while training (pyqtgraph's own downsampling costs more than it saves here).
    """
    n = len(y)
    if n <= max_points:
        return x, y
    size = -(-n // (max_points // 2))           # points per bucket
    m = n - n % size                            # whole buckets; the rest is kept as it is
    buckets = y[:m].reshape(-1, size)
    base = np.arange(0, m, size)
    lo, hi = base + np.argmin(buckets, axis=1), base + np.argmax(buckets, axis=1)
    index = np.sort(np.concatenate([lo, hi, np.arange(m, n)]))
    return x[index], y[index]


def mean_decimate(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ~max_points points along the trend: the mean of each of max_points consecutive
    buckets, then the last point itself (so the line ends at the latest value).

    For the smoothed lines: a smoothed series exists to show the trend, and peak decimation
    would draw the spread of its remaining noise (dozens of steps share a pixel column in a
    long run) as a band as wide as the raw points. The raw points keep peak_decimate.
    """
    n = len(y)
    if n <= max_points:
        return x, y
    size = -(-n // max_points)
    m = n - n % size
    return np.append(_bucket_means(x[:m], size), x[-1]), np.append(_bucket_means(y[:m], size), y[-1])


def _bucket_means(v: np.ndarray, size: int) -> np.ndarray:
    buckets = v.reshape(-1, size)
    if np.isfinite(v).all():
        return buckets.mean(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # an all-NaN bucket (a metrics gap) stays NaN
        return np.nanmean(buckets, axis=1)


@dataclass(frozen=True)
class CurveValues:
    """What the readout shows for one step: its smoothed terms and the validation before it.

    NaN stands for "not known" (no step yet, no validation yet, no measured speed)."""

    step: float = math.nan
    epoch: float = math.nan            # the epoch the step belongs to, counted from 1
    neg_elbo: float = math.nan
    recon: float = math.nan
    kl: float = math.nan
    val_neg_elbo: float = math.nan     # of the last validation at or before the step
    val_epoch: float = math.nan
    labelled: float = math.nan         # M2: -L on the labelled batch (smoothed as drawn)
    val_error: float = math.nan        # M2: % of the validation images misclassified, that validation
    neg_iw_bound: float = math.nan     # IWAE: -L_K, the bound the run minimises (smoothed as drawn)
    val_neg_iw_bound: float = math.nan  # IWAE: -L_K of the validation images, that validation
    steps_per_sec: float = math.nan


def epoch_positions(steps, step_epochs, epoch_steps, epochs, last_fraction=None) -> np.ndarray:
    """Where each step lies in epochs: epoch e's steps spread evenly over (e - 1, e].

    A step is placed by the steps its epoch has in all: known when the epoch ended (its
    validation point then lands exactly on x = e), otherwise taken from the last whole epoch, or
    from the trainer's own fraction of the running epoch (`last_fraction` = (step, fraction))
    when no epoch has ended yet, or, with none of these, the steps seen so far.
    """
    steps = np.asarray(steps, dtype=np.float64)
    ep = np.asarray(step_epochs, dtype=np.float64)
    out = np.full(len(steps), math.nan)
    if not len(steps):
        return out
    ends = {int(e): float(s) for e, s in zip(epochs, epoch_steps) if math.isfinite(e) and math.isfinite(s)}
    whole = [ends[e] - ends.get(e - 1, 0.0) for e in sorted(ends) if e - 1 in ends or e == 1]
    per_epoch = whole[-1] if whole else math.nan
    finite = np.isfinite(ep)
    if not finite.any():
        return out
    known = np.flatnonzero(finite)
    starts = known[np.r_[True, np.diff(ep[known]) != 0]]          # first index of each epoch's run
    stops = np.r_[starts[1:], known[-1] + 1]
    for first, stop in zip(starts, stops):
        e = int(ep[first])
        if e - 1 in ends:
            start = ends[e - 1]
        elif e in ends and math.isfinite(per_epoch):
            start = ends[e] - per_epoch
        else:
            start = steps[first] - 1
        if e in ends:
            n = ends[e] - start
        elif math.isfinite(per_epoch):
            n = per_epoch
        elif last_fraction is not None and last_fraction[1] > 0 and stop == len(steps):
            n = (last_fraction[0] - start) / last_fraction[1]
        else:
            n = steps[stop - 1] - start
        sl = slice(first, stop)
        out[sl] = (e - 1) + (steps[sl] - start) / max(n, 1.0)
    return out


class CurveData:
    """All curves of one run: per-step training terms and per-epoch validation terms."""

    def __init__(self, smoothing: float = 0.6):
        self.smoothing = smoothing
        self.steps = GrowingArray()
        self.step_epochs = GrowingArray()
        self.loss = GrowingArray()  # the beta-weighted objective; only exported, not drawn
        self.train = {name: SmoothedSeries(smoothing) for name in TRAIN_SERIES}
        self.epoch_steps = GrowingArray()
        self.epochs = GrowingArray()
        self.val = {name: GrowingArray(64) for name in VAL_SERIES}
        self.active_units = GrowingArray(64)
        self.kl_per_dim = SmoothedKL(smoothing)
        self.extras = ExtraCurves(smoothing)   # a model's own curves (M2: "labelled", "val_error", ...)
        self.steps_per_sec = math.nan   # the live trainer's last measured speed; NaN when not training
        self._last_fraction: tuple[float, float] | None = None   # (step, fraction of its epoch)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last_step(self) -> int:
        return int(self.steps.values[-1]) if len(self.steps) else 0

    def clear(self) -> None:
        for part in (self.steps, self.step_epochs, self.loss, self.epoch_steps, self.epochs, self.active_units,
                     *self.train.values(), *self.val.values()):
            part.clear()
        self.kl_per_dim = SmoothedKL(self.smoothing)
        self.extras.clear()
        self.steps_per_sec = math.nan
        self._last_fraction = None

    def set_smoothing(self, weight: float) -> None:
        self.smoothing = weight
        for series in self.train.values():
            series.set_weight(weight)
        self.kl_per_dim.weight = weight
        self.extras.set_smoothing(weight)

    # -- filling ---------------------------------------------------------------------------
    def add_steps(self, events) -> None:
        """StepEvents from the trainer (any objects with step, neg_elbo, kl, recon, kl_per_dim)."""
        if not events:
            return
        self.steps.extend([e.step for e in events])
        self.step_epochs.extend([e.epoch for e in events])
        self.loss.extend([e.loss for e in events])
        for name in TRAIN_SERIES:
            self.train[name].extend([getattr(e, name) for e in events])
        self.kl_per_dim.extend([e.kl_per_dim for e in events])
        self.extras.add_steps(events)
        last = events[-1]
        self.steps_per_sec = float(getattr(last, "steps_per_sec", math.nan))
        fraction = getattr(last, "epoch_fraction", None)
        self._last_fraction = (float(last.step), float(fraction)) if fraction is not None else None

    def add_epoch(self, event) -> None:
        """An EpochEvent: validation terms at the step where the epoch ended."""
        self.epoch_steps.extend([event.step])
        self.epochs.extend([event.epoch])
        for name in VAL_SERIES:
            self.val[name].extend([getattr(event, name)])
        self.active_units.extend([event.active_units])
        self.extras.add_epoch(event)
        if event.val_kl_per_dim and not len(self.kl_per_dim):
            self.kl_per_dim.extend([event.val_kl_per_dim])

    def load_history(self, history) -> None:
        """Replace everything with a trainer.History (what a checkpoint stores)."""
        from latentlab.core.history import EPOCH_COLUMNS, STEP_COLUMNS

        self.clear()
        s, e = history.steps, history.epochs
        self.steps.extend(s["step"])
        self.step_epochs.extend(s["epoch"])
        self.loss.extend(s["loss"])
        for name in TRAIN_SERIES:
            self.train[name].extend(s[name])
        self.epoch_steps.extend(e["step"])
        self.epochs.extend(e["epoch"])
        for name in VAL_SERIES:
            self.val[name].extend(e[name])
        self.active_units.extend(e["active_units"])
        self.extras.load_history(history, STEP_COLUMNS, EPOCH_COLUMNS)
        if history.epoch_kl_per_dim:
            self.kl_per_dim.extend([history.epoch_kl_per_dim[-1]])

    def add_metrics_rows(self, rows: dict) -> None:
        """Rows from core.metrics.read_metrics_csv: {"train": columns, "val": columns}."""
        train, val = rows["train"], rows["val"]
        if train["step"]:
            self.steps.extend(train["step"])
            self.step_epochs.extend(train["epoch"])
            self.loss.extend(train["loss"])
            for name in TRAIN_SERIES:
                self.train[name].extend(train[name])
            self.extras.add_step_columns({}, len(train["step"]))   # the metrics file has no extras
        if val["step"]:
            self.epoch_steps.extend(val["step"])
            self.epochs.extend(val["epoch"])
            for name in VAL_SERIES:
                self.val[name].extend(val[name[len("val_"):]])
            self.active_units.extend(val["active_units"])
            self.extras.add_epoch_columns({}, len(val["step"]))

    # -- reading ---------------------------------------------------------------------------
    def iw_k(self) -> int | None:
        """The K of a run trained on the IWAE bound (its last step's), None for any other run."""
        series = self.extras.steps.get(STEP_K)
        values = series.raw.values[np.isfinite(series.raw.values)] if series is not None else ()
        return int(values[-1]) if len(values) else None

    def epoch_x(self) -> np.ndarray:
        """Each step's position in epochs (see epoch_positions), for an x axis in epochs."""
        return epoch_positions(self.steps.values, self.step_epochs.values, self.epoch_steps.values,
                               self.epochs.values, self._last_fraction)

    def index_near(self, x: float, in_epochs: bool = False) -> int | None:
        """The index of the step nearest to `x` (a step, or a position in epochs); None without steps."""
        xs = self.epoch_x() if in_epochs else self.steps.values
        if not len(xs) or not math.isfinite(x):
            return None
        i = int(np.searchsorted(xs, x))
        if i >= len(xs):
            return len(xs) - 1
        if i > 0 and x - xs[i - 1] <= xs[i] - x:
            return i - 1
        return i

    def values_at(self, index: int) -> CurveValues:
        """The smoothed terms of step `index` (as drawn) and the last validation at or before it."""
        if not 0 <= index < len(self.steps):
            return CurveValues(steps_per_sec=self.steps_per_sec)
        step = float(self.steps.values[index])
        j = int(np.searchsorted(self.epoch_steps.values, step, side="right")) - 1
        return CurveValues(step=step, epoch=float(self.step_epochs.values[index]),
                           **{n: float(self.train[n].smooth.values[index]) for n in TRAIN_SERIES},
                           val_neg_elbo=float(self.val["val_neg_elbo"].values[j]) if j >= 0 else math.nan,
                           val_epoch=float(self.epochs.values[j]) if j >= 0 else math.nan,
                           labelled=self.extras.smoothed_at("labelled", index),
                           val_error=self.extras.epoch_value("val_error", j),
                           neg_iw_bound=self.extras.smoothed_at(STEP_BOUND, index),
                           val_neg_iw_bound=self.extras.epoch_value(VAL_BOUND, j))

    def latest(self) -> CurveValues:
        """The last step's smoothed terms, the last validation and the trainer's speed."""
        now = replace(self.values_at(len(self.steps) - 1), steps_per_sec=self.steps_per_sec)
        if len(self.epochs):   # a followed metrics file may validate beyond the steps it has shown
            now = replace(now, val_neg_elbo=float(self.val["val_neg_elbo"].values[-1]),
                          val_epoch=float(self.epochs.values[-1]),
                          val_error=self.extras.epoch_value("val_error", len(self.epochs) - 1),
                          val_neg_iw_bound=self.extras.epoch_value(VAL_BOUND, len(self.epochs) - 1))
        return now

    # -- export ----------------------------------------------------------------------------
    def write_csv(self, path) -> Path:
        """The same columns as the metrics.csv of `latentlab train`, so one reader reads both."""
        from latentlab.core.metrics import COLUMNS

        path = Path(path)
        with open(path, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(COLUMNS)
            val_at = {int(s): i for i, s in enumerate(self.epoch_steps.values)}
            for i, step in enumerate(self.steps.values):
                out.writerow(["train", int(step), _fmt_int(self.step_epochs.values[i]), _fmt(self.loss.values[i]),
                              *(_fmt(self.train[n].raw.values[i]) for n in TRAIN_SERIES), ""])
                if int(step) in val_at:
                    self._write_val_row(out, val_at.pop(int(step)))
            for j in sorted(val_at.values()):  # epochs whose steps are not in the per-step curves
                self._write_val_row(out, j)
        return path

    def _write_val_row(self, out, j: int) -> None:
        v = [self.val[n].values[j] for n in VAL_SERIES]
        out.writerow(["val", int(self.epoch_steps.values[j]), int(self.epochs.values[j]), _fmt(v[0]),
                      *(_fmt(x) for x in v), _fmt_int(self.active_units.values[j])])


class SmoothedKL:
    """The per-dimension KL of recent steps, EMA-smoothed like the curves (for the bar chart)."""

    def __init__(self, weight: float = 0.6):
        self.weight = weight
        self.values: np.ndarray | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def extend(self, rows) -> None:
        for row in rows:
            row = np.asarray(row, dtype=np.float64)
            if self.values is None or self.values.shape != row.shape:
                self.values, self._count = row.copy(), 0
            self.values = self.weight * self.values + (1 - self.weight) * row if self._count else row.copy()
            self._count += 1


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.6g}"


def _fmt_int(x: float) -> str:
    return "" if not math.isfinite(x) or x < 0 else str(int(x))
