"""What a training run reports: immutable events the trainer hands to its listeners (the
metrics writer, the CLI's progress bar, the window's training thread). Plain values only, so they
cross threads safely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# The extras of a run trained on the IWAE bound (core/iwae.py): -L_K of every step (its loss) and
# the K it was computed with, so that a run's curves say which bound they show, and -L_K of the
# validation images with the same K after every epoch.
STEP_BOUND, STEP_K, VAL_BOUND = "neg_iw_bound", "iw_k", "val_neg_iw_bound"


@dataclass(frozen=True)
class StepEvent:
    step: int                 # global step, counted from 1
    epoch: int                # the epoch this step belongs to, counted from 1
    epoch_fraction: float     # how far through the current epoch (0..1]
    loss: float               # the minimised objective (beta-weighted); equals neg_elbo when beta = 1
    neg_elbo: float           # nats per image
    kl: float
    recon: float
    kl_per_dim: tuple[float, ...]
    kl_weight: float
    steps_per_sec: float
    # A model's own numbers beside the ELBO's, as (name, value) pairs: M2's labelled bound and
    # classification loss, say. Empty for a VAE.
    extras: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class EpochEvent:
    epoch: int
    step: int
    train_neg_elbo: float     # mean of the epoch's step losses
    val_neg_elbo: float
    val_kl: float
    val_recon: float
    val_kl_per_dim: tuple[float, ...]
    active_units: int
    seconds: float
    extras: tuple[tuple[str, float], ...] = ()   # e.g. (("val_error", 12.3),) for M2


@dataclass(frozen=True)
class StatusEvent:
    status: str               # "running", "paused", "resumed", "stopped", "finished", "diverged"
    message: str = ""


Listener = Callable[[object], None]
