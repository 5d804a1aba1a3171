"""Latent traversals: decode an anchor point with one dimension swept at a time, and the KL of
each dimension, which orders the rows and tells the active dimensions from the collapsed. No Qt.

Two notions of "active" are in latentlab, on purpose:
* here (`dimension_kl`), a dimension is active when its mean KL(q(z_u|x) || p(z_u)) over the data
  is at least `COLLAPSE_KL` = 0.01 nats: a collapsed dimension's posterior is the prior for every
  image, so it costs (almost) nothing and carries nothing;
* `core/evaluation.active_units` is Burda et al.'s count: Cov_x(E_q[z_u]) > 0.01, the variance of
  the posterior means over the data.
Both thresholds are 0.01 and they usually agree; they can differ for a dimension whose means
barely move but whose variances shrink (KL without signal), or the other way round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .objectives import kl_per_dim

COLLAPSE_KL = 0.01    # nats: below it a dimension counts as collapsed


@dataclass(frozen=True)
class DimensionKL:
    """Mean KL per dimension in nats (D,), the order by KL (highest first), and the active flags."""

    kl: torch.Tensor          # (D,) float64
    order: torch.Tensor       # (D,) int64: dimension indices, highest KL first
    active: torch.Tensor      # (D,) bool: kl >= threshold
    threshold: float = COLLAPSE_KL

    @property
    def n_active(self) -> int:
        return int(self.active.sum())


def dimension_kl(mu: torch.Tensor, logvar: torch.Tensor, threshold: float = COLLAPSE_KL) -> DimensionKL:
    """Mean over the data of KL(q(z_u|x) || N(0, 1)) for each dimension u, from (N, D) posteriors."""
    if mu.dim() != 2 or mu.shape != logvar.shape or len(mu) == 0:
        raise ValueError(f"mu and logvar must both be (N, D) with N >= 1, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    kl = kl_per_dim(mu.double(), logvar.double()).mean(0)
    order = torch.argsort(kl, descending=True, stable=True)
    return DimensionKL(kl, order, kl >= threshold, threshold)


@dataclass(frozen=True)
class Traversal:
    """images[r, s] decodes the anchor with dimension dims[r] set to values[r, s]."""

    images: torch.Tensor      # (len(dims), steps, C, H, W), decoder means in [0, 1]
    dims: list[int]
    values: torch.Tensor      # (len(dims), steps) the swept coordinate


@torch.no_grad()
def traversal(model, anchor, dims=None, span: float | str = 3.0, steps: int = 9, anchor_logvar=None,
              kl: DimensionKL | None = None) -> Traversal:
    """Decode `anchor` (D,) with each dimension of `dims` swept, one row per dimension.

    dims None: every dimension, ordered by `kl` (highest first) when given, else 0..D-1.
    span a number s: the coordinate takes `steps` values from -s to +s (the prior's +-s sigma);
    span "posterior": from anchor - 3 sigma to anchor + 3 sigma of the anchor's posterior, whose
    log-variance `anchor_logvar` (D,) is then needed.
    """
    d = model.latent_dim
    z0 = torch.as_tensor(anchor, dtype=torch.float32).reshape(-1)
    if z0.numel() != d:
        raise ValueError(f"the anchor must hold {d} numbers (the latent dimension), got {z0.numel()}")
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be a whole number of at least 2, got {steps!r}")
    if dims is None:
        dims = kl.order.tolist() if kl is not None else list(range(d))
    dims = [int(i) for i in dims]
    if any(not 0 <= i < d for i in dims):
        raise ValueError(f"dims must be dimensions 0..{d - 1}, got {dims}")
    t = torch.linspace(-1.0, 1.0, steps)
    if span == "posterior":
        if anchor_logvar is None:
            raise ValueError("span='posterior' needs the anchor's posterior log-variance (anchor_logvar)")
        sigma = torch.as_tensor(anchor_logvar, dtype=torch.float32).reshape(-1).mul(0.5).exp()
        if sigma.numel() != d:
            raise ValueError(f"anchor_logvar must hold {d} numbers, got {sigma.numel()}")
        values = torch.stack([z0[i] + 3 * sigma[i] * t for i in dims]) if dims else torch.empty(0, steps)
    elif isinstance(span, (int, float)) and not isinstance(span, bool) and math.isfinite(span) and span > 0:
        values = (float(span) * t).repeat(len(dims), 1)
    else:
        raise ValueError(f"span must be a positive number or 'posterior', got {span!r}")
    z = z0.repeat(len(dims), steps, 1)
    for r, i in enumerate(dims):
        z[r, :, i] = values[r]
    z = z.to(model.device)
    was_training = model.training
    model.eval()
    try:
        images = model.decode(z.reshape(-1, d)).reshape(len(dims), steps, *model.image_shape).cpu()
    finally:
        model.train(was_training)
    return Traversal(images, dims, values)
