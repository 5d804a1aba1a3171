"""What the rate-distortion plane shows, Qt-free: which points, in which colour group, which lines
of constant -ELBO, what a hovered point says, and the live run's path. gui/rd_plane.py draws it.

Axes follow Alemi et al. (2018), Figure 1: rate R (KL) across, distortion D (reconstruction) up.
A line R + D = c (slope -1) joins the models with the same -ELBO = c; it is the trade beta = 1
makes: beta < 1 prices rate lower (towards lower D, more nats in the code), beta > 1 higher
(towards lower R, down to the collapsed R = 0 of an auto-decoder).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from latentlab.core.rate_distortion import RDPoint

COLOUR_BY = ("beta", "latent_dim")
ISO_LINES = 7            # about this many dashed lines of constant -ELBO across the plot


def datasets(points) -> list[str]:
    """The data sets of the points, the most frequent first (a plane mixes no data sets: their nats
    do not compare)."""
    counts = Counter(p.dataset or "unknown" for p in points)
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def on_dataset(points, dataset: str | None) -> list[RDPoint]:
    return [p for p in points if (p.dataset or "unknown") == dataset] if dataset else list(points)


def group_label(by: str, value) -> str:
    if value is None:
        return "β unknown" if by == "beta" else "D unknown"
    return f"β = {value:g}" if by == "beta" else f"D = {value}"


def colour_groups(points, by: str) -> list[tuple[object, list[RDPoint]]]:
    """(value, points) by beta or latent dimension, in increasing order, unknown last."""
    groups: dict = {}
    for p in points:
        groups.setdefault(getattr(p, by), []).append(p)
    return sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] if kv[0] is not None else 0))


def nice_step(span: float, count: int = ISO_LINES) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` steps over `span`."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def iso_levels(neg_elbos, count: int = ISO_LINES) -> list[float]:
    """Round values of -ELBO for the dashed lines: from just below the lowest to just above the highest."""
    values = [v for v in neg_elbos if math.isfinite(v)]
    if not values:
        return []
    lo, hi = min(values), max(values)
    step = nice_step(hi - lo if hi > lo else max(abs(hi) * 0.1, 1.0), count)
    first = math.floor(lo / step) * step
    levels, level = [], first
    while level <= hi + step * 1.0001 and len(levels) < count * 3:
        levels.append(round(level, 10))
        level += step
    return levels


def describe(point: RDPoint) -> str:
    """The hover text of a point: name, beta, latent dimension, R, D, -ELBO and where they came from."""
    beta = f"β {point.beta:g}" if point.beta is not None else "β ?"
    dim = f"{point.latent_dim}-D" if point.latent_dim is not None else "?-D"
    source = {"card": "test set (model card)", "history": "validation", "metrics": "validation (metrics file)"}
    epoch = f", epoch {point.epoch}" if point.epoch is not None else ""
    objective = "" if point.objective == "elbo" else f" · {point.objective.upper()}"
    return (f"{point.name} · {beta} · {dim}{objective} · R {point.rate:.2f} · D {point.distortion:.2f} · "
            f"−ELBO {point.neg_elbo:.2f} nats ({source.get(point.source, point.source)}{epoch})")


@dataclass
class LiveRun:
    """The run training in the window: its settings and its (R, D) after each validation."""

    name: str
    beta: float
    latent_dim: int
    dataset: str | None
    objective: str = "elbo"
    path: list[tuple[int, float, float]] = field(default_factory=list)   # (epoch, rate, distortion)
    training: bool = True

    def add(self, epoch: int, rate: float, distortion: float) -> bool:
        if not (math.isfinite(rate) and math.isfinite(distortion)):
            return False
        self.path.append((int(epoch), float(rate), float(distortion)))
        return True

    def point(self) -> RDPoint | None:
        """Where it is now, as a point (its newest epoch)."""
        if not self.path:
            return None
        epoch, rate, distortion = self.path[-1]
        return RDPoint(path="", name=self.name, rate=rate, distortion=distortion, beta=self.beta,
                       latent_dim=self.latent_dim, objective=self.objective, epoch=epoch, source="history",
                       dataset=self.dataset)
