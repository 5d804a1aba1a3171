"""The curves of a run: per-step and per-epoch columns as plain lists (a checkpoint stores them
as float64 tensors). Written by the trainer, read by checkpoints' validation and the app's curves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .events import EpochEvent, StepEvent

STEP_COLUMNS = ("step", "epoch", "loss", "neg_elbo", "kl", "recon")
EPOCH_COLUMNS = ("epoch", "step", "train_neg_elbo", "val_neg_elbo", "val_kl", "val_recon", "active_units",
                 "seconds")


@dataclass
class History:
    """Per-step and per-epoch curves as plain lists (checkpoints store them as tensors)."""

    steps: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in STEP_COLUMNS})
    epochs: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in EPOCH_COLUMNS})
    epoch_kl_per_dim: list[list[float]] = field(default_factory=list)

    def add_step(self, e: StepEvent) -> None:
        for c in STEP_COLUMNS:
            self.steps[c].append(getattr(e, c))
        _add_extras(self.steps, e.extras, len(self.steps["step"]))

    def add_epoch(self, e: EpochEvent) -> None:
        for c in EPOCH_COLUMNS:
            self.epochs[c].append(getattr(e, c))
        self.epoch_kl_per_dim.append(list(e.val_kl_per_dim))
        _add_extras(self.epochs, e.extras, len(self.epochs["epoch"]))

    def to_dict(self) -> dict:
        return {
            "steps": {c: torch.tensor(v, dtype=torch.float64) for c, v in self.steps.items()},
            "epochs": {c: torch.tensor(v, dtype=torch.float64) for c, v in self.epochs.items()},
            "epoch_kl_per_dim": torch.tensor(self.epoch_kl_per_dim, dtype=torch.float64),
        }

    @classmethod
    def from_dict(cls, d: dict | None) -> "History":
        h = cls()
        if not d:
            return h
        for c in [*STEP_COLUMNS, *(c for c in d.get("steps", {}) if c not in STEP_COLUMNS)]:
            if c in d.get("steps", {}):
                h.steps[c] = [float(v) for v in torch.as_tensor(d["steps"][c]).tolist()]
        n_epochs = len(torch.as_tensor(d.get("epochs", {}).get("epoch", [])))
        for c in [*EPOCH_COLUMNS, *(c for c in d.get("epochs", {}) if c not in EPOCH_COLUMNS)]:
            if c in d.get("epochs", {}):
                h.epochs[c] = [float(v) for v in torch.as_tensor(d["epochs"][c]).tolist()]
            else:  # a column added after the file was written: keep the columns aligned
                h.epochs[c] = [math.nan] * n_epochs
        kl = d.get("epoch_kl_per_dim")
        if kl is not None and torch.as_tensor(kl).numel():
            h.epoch_kl_per_dim = torch.as_tensor(kl).tolist()
        return h


def _add_extras(columns: dict[str, list[float]], extras, n_rows: int) -> None:
    """A model's own columns (StepEvent.extras): a column that starts late is NaN before it."""
    for name, value in extras:
        column = columns.setdefault(name, [])
        column.extend([math.nan] * (n_rows - 1 - len(column)))
        column.append(float(value))
