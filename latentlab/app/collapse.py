"""Posterior collapse over a run: the KL of every latent dimension at every epoch's validation,
how many dimensions are active, and the line that says when dimensions collapse. No Qt.

The numbers come from the run's history (core/history.py: one list of D validation KLs per
epoch, and Burda et al.'s `active_units` column) or from the trainer's EpochEvents as they come.
"Collapsed" is core/traversal.py's notion: a dimension whose mean KL(q(z_u|x) || p(z_u)) is below
COLLAPSE_KL = 0.01 nats carries nothing (its posterior is the prior for every image). Burda's
count (variance of the posterior means above 0.01) is kept beside it, as the history has it:
the two usually agree, and where they differ that is worth seeing.

The dimensions are ordered by their KL at the last epoch, highest first (the order of the
traversal figure), so that the active ones form one band and the collapsed ones another, and a
dimension's row says by its place how much it carries now.

The collapse message is said when the set of collapsed dimensions changes, not at every epoch:
a status line that repeats itself every epoch is a line nobody reads.
"""

from __future__ import annotations

import math

import numpy as np

from latentlab.core.traversal import COLLAPSE_KL

MAX_NAMED = 10        # a message names at most this many dimensions, then "…"


def dimension_name(index: int) -> str:
    """Dimension `index` (counted from 0) as the figures name it: z1, z2, …"""
    return f"z{index + 1}"


def collapse_message(collapsed, dims: int, threshold: float = COLLAPSE_KL, epoch: int | None = None) -> str:
    """"Epoch 12: 7 of 20 dimensions collapsed (KL < 0.01 nats): z1, z4, …" (indices from 0;
    named in index order, at most MAX_NAMED of them). No collapsed dimension: a line saying so."""
    collapsed = sorted(int(i) for i in collapsed)
    where = f"Epoch {epoch}: " if epoch is not None else ""
    if not collapsed:
        return f"{where}no dimension collapsed (all {dims} have KL ≥ {threshold:g} nats)"
    names = ", ".join(dimension_name(i) for i in collapsed[:MAX_NAMED])
    more = ", …" if len(collapsed) > MAX_NAMED else ""
    noun = "dimension" if dims == 1 else "dimensions"
    return f"{where}{len(collapsed)} of {dims} {noun} collapsed (KL < {threshold:g} nats): {names}{more}"


class CollapseData:
    """The per-epoch KL of each dimension of one run, growing with its epochs.

    `add_epoch(event)` takes an EpochEvent (or anything with epoch, val_kl_per_dim, active_units)
    and returns the collapse message when the set of collapsed dimensions changed at that epoch,
    else None. `load_history(history)` replaces everything with a checkpoint's history; the set it
    ends with counts as said (a continued run speaks up only when something changes)."""

    def __init__(self, threshold: float = COLLAPSE_KL):
        self.threshold = threshold
        self.epochs: list[int] = []
        self._rows: list[list[float]] = []          # as given; a row of another length is NaN
        self._burda: list[float] = []
        self._said: frozenset[int] | None = None    # the collapsed set last announced (None: none yet)

    def __len__(self) -> int:
        return len(self.epochs)

    def clear(self) -> None:
        self.epochs, self._rows, self._burda, self._said = [], [], [], None

    # -- filling ---------------------------------------------------------------------------------
    def add_epoch(self, event) -> str | None:
        self._append(int(event.epoch), list(event.val_kl_per_dim or ()), event.active_units)
        return self._announce()

    def load_history(self, history) -> None:
        self.clear()
        epochs = history.epochs.get("epoch") or []
        units = history.epochs.get("active_units") or []
        rows = history.epoch_kl_per_dim or []
        for i, epoch in enumerate(epochs):
            if not math.isfinite(epoch):
                continue
            self._append(int(epoch), list(rows[i]) if i < len(rows) else [], units[i] if i < len(units) else math.nan)
        collapsed = self.collapsed()
        self._said = frozenset(collapsed) if collapsed is not None else None

    def reload_history(self, history) -> str | None:
        """The history of a run followed from its files, read again: load it, and return the
        collapse message when its last collapsed set differs from the last one said."""
        said = self._said
        self.load_history(history)
        self._said = said
        return self._announce()

    def _append(self, epoch: int, row: list[float], burda) -> None:
        self.epochs.append(epoch)
        self._rows.append([float(v) for v in row])
        burda = float(burda) if burda is not None else math.nan
        self._burda.append(burda if math.isfinite(burda) and burda >= 0 else math.nan)   # -1: not measured

    def _announce(self) -> str | None:
        collapsed = self.collapsed()
        if collapsed is None:
            return None
        now = frozenset(collapsed)
        before, self._said = self._said, now
        if now == (before if before is not None else frozenset()):
            return None       # unchanged (and a run that starts with none collapsed says nothing)
        return collapse_message(now, self.dims, self.threshold, self.epochs[-1])

    # -- reading ---------------------------------------------------------------------------------
    @property
    def dims(self) -> int:
        """The number of latent dimensions: the length of the last epoch's KL (0 when none has one)."""
        return next((len(r) for r in reversed(self._rows) if r), 0)

    def matrix(self) -> np.ndarray:
        """The KL in nats, (epochs, dims): row e is epoch self.epochs[e]; NaN where an epoch has no
        KL per dimension (no validation), or one of another width."""
        out = np.full((len(self._rows), self.dims), np.nan)
        for e, row in enumerate(self._rows):
            if len(row) == self.dims:
                out[e] = row
        return out

    def _last_index(self) -> int | None:
        """The last epoch (row) that has a whole KL per dimension; None without one."""
        m = self.matrix()
        if not m.size:
            return None
        whole = np.flatnonzero(np.isfinite(m).all(axis=1))
        return int(whole[-1]) if len(whole) else None

    def _last_row(self) -> np.ndarray | None:
        last = self._last_index()
        return None if last is None else self.matrix()[last]

    def order(self) -> np.ndarray:
        """Dimension indices by their KL at the last epoch that has one, highest first (stable:
        equal KLs keep index order); the index order when no epoch has a KL per dimension."""
        last = self._last_row()
        if last is None:
            return np.arange(self.dims)
        return np.argsort(-last, kind="stable")

    def collapsed(self) -> list[int] | None:
        """Indices of the dimensions below the threshold at the last epoch with a KL per dimension;
        None without one."""
        last = self._last_row()
        return None if last is None else [int(i) for i in np.flatnonzero(last < self.threshold)]

    def active_by_kl(self) -> np.ndarray:
        """Per epoch, how many dimensions have KL >= the threshold (NaN where it is not known)."""
        m = self.matrix()
        counts = (m >= self.threshold).sum(axis=1).astype(np.float64)
        counts[~np.isfinite(m).all(axis=1) | (m.shape[1] == 0)] = np.nan
        return counts

    def active_burda(self) -> np.ndarray:
        """Per epoch, Burda et al.'s active units as the history has them (NaN: not measured)."""
        return np.asarray(self._burda, dtype=np.float64)

    def has_burda(self) -> bool:
        return bool(np.isfinite(self.active_burda()).any())

    def summary(self) -> str:
        """One line for the last epoch with a KL per dimension: "Epoch 130: 11 of 20 active,
        9 collapsed (KL < 0.01 nats): z1, z4, …" (the count first: a narrow view cuts the end)."""
        last = self._last_index()
        if last is None:
            return ""
        collapsed = self.collapsed()
        head = f"Epoch {self.epochs[last]}: {self.dims - len(collapsed)} of {self.dims} active"
        if not collapsed:
            return f"{head}, none collapsed (KL ≥ {self.threshold:g} nats)"
        names = collapse_message(collapsed, self.dims, self.threshold).split(": ", 1)[1]
        return f"{head}, {len(collapsed)} collapsed (KL < {self.threshold:g} nats): {names}"
