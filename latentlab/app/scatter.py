"""The encoded test set a checkpoint carries (its posterior means), as plain arrays. No Qt here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scatter:
    """Posterior means of a test set, with labels (None when it has none) and label names."""

    means: np.ndarray                   # (N, D) float64
    labels: np.ndarray | None = None    # (N,) int64, or None
    names: list[str] | None = None

    @property
    def latent_dim(self) -> int:
        return self.means.shape[1]

    def label_name(self, i: int) -> str:
        """The name of point i's label ('' when there is none)."""
        if self.labels is None:
            return ""
        label = int(self.labels[i])
        return self.names[label] if self.names and 0 <= label < len(self.names) else ""

    @classmethod
    def from_extras(cls, extras: dict | None) -> "Scatter | None":
        """From a checkpoint's extras {"scatter_means", "scatter_labels", "label_names"}; None
        when there is no usable scatter (missing, or not a 2-D array)."""
        means, labels, names = scatter_arrays(extras)
        return None if means is None else cls(means, labels, names)


def scatter_arrays(scatter: dict | None) -> tuple[np.ndarray | None, np.ndarray | None, list[str] | None]:
    """(means (N, D) float64, labels (N,) or None, label names or None) from a checkpoint's extras."""
    if not scatter or scatter.get("scatter_means") is None:
        return None, None, None

    def as_numpy(value):
        detach = getattr(value, "detach", None)
        return np.asarray(detach().cpu() if detach else value)

    means = as_numpy(scatter["scatter_means"]).astype(np.float64)
    if means.ndim != 2:
        return None, None, None
    labels = scatter.get("scatter_labels")
    labels = None if labels is None else as_numpy(labels).astype(np.int64).reshape(-1)
    if labels is not None and (len(labels) != len(means) or labels.max(initial=-1) < 0):
        labels = None        # no labels at all (Frey Face stores -1 for every image)
    names = scatter.get("label_names")
    return means, labels, list(names) if names else None
