"""metrics.csv: the curves of a run as plain text, written while training and read by the app.

One row per training step (split "train") and one per epoch (split "val"). The file is written
by the process that trains and may be read, while it grows, by the app on another machine
(`read_metrics_csv` skips a half-written last line).
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

from .trainer import EpochEvent, StepEvent

COLUMNS = ("split", "step", "epoch", "loss", "neg_elbo", "kl", "recon", "active_units")


def metrics_path_for(checkpoint_path) -> Path:
    return Path(checkpoint_path).with_name("metrics.csv")


class MetricsWriter:
    """A trainer listener that appends rows, flushing at most once a second and at each epoch."""

    def __init__(self, path, append: bool = False, flush_every: float = 1.0):
        self.path = Path(path)
        fresh = not (append and self.path.exists() and self.path.stat().st_size > 0)
        self._file = open(self.path, "w" if fresh else "a", newline="")
        self._writer = csv.writer(self._file)
        if fresh:
            self._writer.writerow(COLUMNS)
        self._flush_every = flush_every
        self._last_flush = time.monotonic()

    def __call__(self, event) -> None:
        if isinstance(event, StepEvent):
            self._writer.writerow(["train", event.step, event.epoch, f"{event.loss:.6g}", f"{event.neg_elbo:.6g}",
                                   f"{event.kl:.6g}", f"{event.recon:.6g}", ""])
            if time.monotonic() - self._last_flush > self._flush_every:
                self.flush()
        elif isinstance(event, EpochEvent):
            self._writer.writerow(["val", event.step, event.epoch, f"{event.val_neg_elbo:.6g}",
                                   f"{event.val_neg_elbo:.6g}", f"{event.val_kl:.6g}", f"{event.val_recon:.6g}",
                                   event.active_units])
            self.flush()

    def flush(self) -> None:
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()


def read_metrics_csv(path, start: int = 0) -> tuple[dict[str, dict[str, list[float]]], int]:
    """Rows from byte offset `start` on: ({"train": cols, "val": cols}, offset after the last full line).

    Reading from the returned offset next time gives only the new rows, so a growing file can be
    followed cheaply.
    """
    out = {"train": {c: [] for c in COLUMNS[1:]}, "val": {c: [] for c in COLUMNS[1:]}}
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    end = data.rfind(b"\n") + 1  # ignore a last line still being written
    text = data[:end].decode("utf-8", errors="replace")
    for row in csv.reader(text.splitlines()):
        if not row or row[0] not in out or len(row) != len(COLUMNS):
            continue  # the header, or garbage
        cols = out[row[0]]
        for name, value in zip(COLUMNS[1:], row[1:]):
            try:
                cols[name].append(float(value) if value != "" else math.nan)
            except ValueError:
                cols[name].append(math.nan)
    return out, start + end
