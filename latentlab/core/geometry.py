"""Latent geometry: where the decoder stretches space, and the shortest paths through it.

The decoder mean m(z) (the image the model shows: `VAE.decode`, the sigmoid of the logits for a
Bernoulli decoder, the mean for a Gaussian one) maps latent space into pixel space. Its Jacobian
J = dm/dz (pixels x D) says how a small step in z moves the image, and the metric it pulls back,
G = J^T J, measures latent space by how much the images change (Arvanitidis, Hansen & Hauberg 2018;
Shao, Kumar & Fletcher 2017):

* the **magnification** sqrt(det(J^T J)) is the factor by which the decoder stretches a small
  area (a volume for D > 2) of latent space. It is large where a small step changes the image a
  lot (between classes) and small where it changes nothing (flat, empty regions). On a plane of a
  D > 2 model, `directions` (D x 2, orthonormal columns) restricts J to the plane: J @ directions.
* a **geodesic** is the curve between two latent points whose decoded images change least along
  the way: the discretised curve z_0 ... z_S whose energy S * sum_i ||m(z_{i+1}) - m(z_i)||^2 is
  smallest with the ends fixed. Minimising the energy rather than the length also spaces the
  points evenly in pixel space (the energy is at least the squared length, equal when the steps
  are equal). Its `decoded_length` compared with the straight line's and slerp's shows whether
  straight lines in latent space are short paths in image space.

Everything here is Qt-free and deterministic (no random numbers). The first forward-mode
Jacobian in a process costs about 1.5 s once (torch loads its jvp decompositions), so a window
should make its first map off the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch.func import jacfwd, vmap

from .figures import interpolate
from .models import VAE

BATCH_POINTS = 4096      # Jacobians per batch: 4096 x 784 x D floats (25 MB for D = 2)
GEODESIC_STEPS = 200     # L-BFGS iterations at most (a 32-segment curve converges in far fewer)
GEODESIC_LR = 1.0        # L-BFGS' step scale; with its line search 1 is the natural choice


# -- checks ----------------------------------------------------------------------------------------
def _dtype(model: VAE) -> torch.dtype:
    return next(model.parameters()).dtype


def _as_points(model: VAE, z, name: str = "z") -> torch.Tensor:
    """z as an (N, D) tensor on the model's device, or a ValueError that names it."""
    z = torch.as_tensor(z)
    d = model.latent_dim
    if z.ndim != 2 or z.shape[1] != d:
        raise ValueError(f"{name} must be latent points of shape (N, {d}) for this {d}-D model, "
                         f"got shape {tuple(z.shape)}")
    if not torch.isfinite(z).all():
        raise ValueError(f"{name} holds values that are not finite numbers")
    return z.to(model.device, _dtype(model))


def _as_point(model: VAE, z, name: str) -> torch.Tensor:
    z = torch.as_tensor(z)
    d = model.latent_dim
    if z.shape != (d,):
        raise ValueError(f"{name} must be one latent point of shape ({d},) for this {d}-D model, "
                         f"got shape {tuple(z.shape)}")
    return _as_points(model, z[None], name)[0]


def _as_directions(model: VAE, directions) -> torch.Tensor | None:
    """directions as a (D, k) tensor, 1 <= k <= D, or a ValueError that names it."""
    if directions is None:
        return None
    a = torch.as_tensor(directions)
    d = model.latent_dim
    if a.ndim != 2 or a.shape[0] != d or not 1 <= a.shape[1] <= d:
        raise ValueError(f"directions must be a ({d}, k) matrix whose k <= {d} columns span a subspace "
                         f"(a plane: ({d}, 2)), got shape {tuple(a.shape)}")
    if not torch.isfinite(a).all():
        raise ValueError("directions holds values that are not finite numbers")
    return a.to(model.device, _dtype(model))


def _check_batch(batch: int) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a whole number of points of at least 1, got {batch!r}")
    return batch


# -- magnification ---------------------------------------------------------------------------------
def _mean_of(model: VAE, base: torch.Tensor | None, directions: torch.Tensor | None):
    """The decoder mean as a function of one point's coordinates, flattened to (pixels,).

    Without directions the coordinates are z itself; with them, t in R^k and z = base + A t, so
    jacfwd gives J @ A directly (k forward-mode passes instead of D).
    """
    if directions is None:
        return lambda z: model.decode(z).flatten()
    return lambda t, z: model.decode(z + directions @ t).flatten()


@torch.no_grad()
def log_magnification(model: VAE, z, directions=None, batch: int = BATCH_POINTS) -> torch.Tensor:
    """log sqrt(det(J^T J)) at each point of z (N, D): (N,) in float64.

    J = d decode(z) / dz (pixels x D), or J @ directions (pixels x k) with `directions` (D x k).
    From a log-determinant, so it stays finite where the magnification itself would underflow
    (a saturated decoder); -inf where J^T J is singular to float precision. The map is shown on
    a log scale, so this is what the canvas wants.
    """
    points = _as_points(model, z)
    a = _as_directions(model, directions)
    batch = _check_batch(batch)
    was_training = model.training
    model.eval()
    try:
        if a is None:
            jac = vmap(jacfwd(_mean_of(model, None, None)))
        else:
            t0 = torch.zeros(a.shape[1], device=points.device, dtype=points.dtype)
            one = jacfwd(_mean_of(model, None, a), argnums=0)
            jac = vmap(lambda z_: one(t0, z_))
        out = []
        for part in points.split(batch):
            j = jac(part).double()                                  # (B, pixels, k)
            gram = j.transpose(1, 2) @ j                            # (B, k, k), J^T J
            sign, logdet = torch.linalg.slogdet(gram)
            out.append(torch.where(sign > 0, 0.5 * logdet, torch.full_like(logdet, -torch.inf)))
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64, device=points.device)


def magnification(model: VAE, z, directions=None, batch: int = BATCH_POINTS) -> torch.Tensor:
    """sqrt(det(J^T J)) at each point of z (N, D): the decoder mean's local volume change, (N,).

    J = d mean(z) / dz is pixels x D; `directions` (D x k, orthonormal columns for an area ratio;
    (D x 2) for a plane of a D > 2 model) restricts it to J @ directions. Jacobians come from
    `torch.func` (jacfwd inside vmap), `batch` points at a time. In float64; see
    `log_magnification` for the map's log scale.
    """
    return torch.exp(log_magnification(model, z, directions, batch))


class MagnificationGrid(NamedTuple):
    """The magnification on an n x n grid of cell centres of a plane, indexed [i, j] at (u[i], v[j])
    (as `exact.posterior_grid`)."""

    log_magnification: np.ndarray   # (n, n) float64, natural log; -inf where J^T J is singular
    u: np.ndarray                   # (n,) the plane's first coordinate at the cell centres
    v: np.ndarray                   # (n,) the second

    @property
    def magnification(self) -> np.ndarray:
        return np.exp(self.log_magnification)


def magnification_grid(model: VAE, extent, n: int, directions=None, anchor=None,
                       batch: int = BATCH_POINTS) -> MagnificationGrid:
    """The magnification map of the plane the canvas shows, on an n x n grid.

    extent = (u_min, u_max, v_min, v_max) in plane coordinates. For a 2-D model without
    `directions` the plane is latent space itself (u, v) = (z1, z2). Otherwise the grid point
    (u, v) is the latent anchor + u * d1 + v * d2 with directions = [d1 d2] (D x 2, orthonormal
    columns: a `LatentPlane`'s basis transposed) and `anchor` (D,) (default 0), and J is
    restricted to the plane.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number of grid cells per side of at least 1, got {n!r}")
    try:
        u0, u1, v0, v1 = (float(e) for e in extent)
    except (TypeError, ValueError):
        raise ValueError(f"extent must be four numbers (u_min, u_max, v_min, v_max), got {extent!r}") from None
    if not (np.isfinite([u0, u1, v0, v1]).all() and u0 < u1 and v0 < v1):
        raise ValueError(f"extent must be finite with u_min < u_max and v_min < v_max, got {extent!r}")
    d = model.latent_dim
    a = _as_directions(model, directions)
    if a is None:
        if d != 2:
            raise ValueError(f"this model has {d} latent dimensions: give directions ({d}, 2) for the plane")
        a = torch.eye(2, device=model.device, dtype=_dtype(model))
    elif a.shape[1] != 2:
        raise ValueError(f"directions must be a ({d}, 2) plane for a grid, got shape {tuple(a.shape)}")
    base = torch.zeros(d, device=model.device, dtype=_dtype(model)) if anchor is None \
        else _as_point(model, anchor, "anchor")
    u = np.linspace(u0, u1, 2 * n + 1)[1::2]
    v = np.linspace(v0, v1, 2 * n + 1)[1::2]
    gu, gv = np.meshgrid(u, v, indexing="ij")
    uv = torch.as_tensor(np.stack([gu.ravel(), gv.ravel()], 1), device=model.device, dtype=_dtype(model))
    z = base + uv @ a.T
    log_m = log_magnification(model, z, None if directions is None else a, batch)
    return MagnificationGrid(log_m.reshape(n, n).cpu().numpy(), u, v)


# -- paths -----------------------------------------------------------------------------------------
def _decoded(model: VAE, points: torch.Tensor) -> torch.Tensor:
    return model.decode(points).flatten(1)


def _decoded_steps(model: VAE, points) -> torch.Tensor:
    """mean(z_{i+1}) - mean(z_i) along a latent path (S+1, D), float64 (S, pixels), in eval mode."""
    z = _as_points(model, points, "points")
    if len(z) < 2:
        raise ValueError(f"points must hold at least the two ends of a path, got {len(z)}")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            m = _decoded(model, z).double()
    finally:
        model.train(was_training)
    return m[1:] - m[:-1]


def decoded_length(model: VAE, points) -> float:
    """The length in pixel space of a latent path (S+1, D): sum_i ||mean(z_{i+1}) - mean(z_i)||,
    Euclidean over the flattened decoder means. Compares the straight line, slerp and the geodesic."""
    return float(_decoded_steps(model, points).norm(dim=1).sum())


def path_energy(model: VAE, points) -> float:
    """S * sum_i ||mean(z_{i+1}) - mean(z_i)||^2 of a path (S+1, D): what `geodesic` minimises;
    at least decoded_length^2, equal when the decoded steps are equal."""
    steps = _decoded_steps(model, points)
    return float(len(steps) * (steps ** 2).sum())


@dataclass
class Path:
    """A geodesic and the straight line it started from, with their decoded energies and lengths."""

    points: torch.Tensor      # (segments + 1, D), points[0] = z0 and points[-1] = z1 exactly
    energy: float             # S * sum ||mean(z_{i+1}) - mean(z_i)||^2
    length: float             # decoded_length(points)
    straight_energy: float    # the same for the straight line from z0 to z1 (where it started)
    straight_length: float
    iterations: int           # L-BFGS iterations taken


def geodesic(model: VAE, z0, z1, segments: int = 32, steps: int = GEODESIC_STEPS, lr: float = GEODESIC_LR,
             directions=None) -> Path:
    """The curve from z0 to z1 (each (D,)) whose decoded path has the least energy.

    The curve is `segments` straight pieces; its segments - 1 interior points start on the
    straight line and are moved by L-BFGS (strong Wolfe line search, at most `steps` iterations,
    step scale `lr`) to minimise S * sum_i ||mean(z_{i+1}) - mean(z_i)||^2 with the ends fixed.
    With `directions` (D x k) the interior points move only along those directions (for a curve
    on the canvas' plane: its two directions, with both ends on the plane). The result is never
    worse than the straight line: if the optimiser ends higher, the straight line is returned.
    Deterministic: the same inputs give the same curve.
    """
    a = _as_directions(model, directions)
    start, end = _as_point(model, z0, "z0"), _as_point(model, z1, "z1")
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ValueError(f"segments must be a whole number of at least 1, got {segments!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a whole number of at least 0, got {steps!r}")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    line = interpolate(start, end, segments + 1)                   # (S+1, D), the straight line
    k = model.latent_dim if a is None else a.shape[1]
    offset = torch.zeros(segments - 1, k, dtype=line.dtype, device=line.device, requires_grad=True)

    def curve(off: torch.Tensor) -> torch.Tensor:
        inner = line[1:-1] + (off if a is None else off @ a.T)
        return torch.cat([line[:1], inner, line[-1:]])

    def energy(off: torch.Tensor) -> torch.Tensor:
        m = _decoded(model, curve(off))
        return segments * ((m[1:] - m[:-1]) ** 2).sum()

    was_training = model.training
    model.eval()
    iterations = 0
    try:
        if segments > 1 and steps > 0:
            opt = torch.optim.LBFGS([offset], lr=lr, max_iter=steps, max_eval=steps * 5 // 4 + 1,
                                    tolerance_grad=1e-9, tolerance_change=1e-12,
                                    history_size=20, line_search_fn="strong_wolfe")

            def closure():
                # the gradient for the curve only: the weights' .grad stay untouched (a training
                # run may own them), and requires_grad is not switched off under its feet
                e = energy(offset)
                (offset.grad,) = torch.autograd.grad(e, [offset])
                return e.detach()

            opt.step(closure)
            iterations = int(opt.state[offset].get("n_iter", 0))
        with torch.no_grad():
            found = curve(offset.detach())
    finally:
        model.train(was_training)
    straight_energy, straight_length = path_energy(model, line), decoded_length(model, line)
    found_energy = path_energy(model, found)
    if not np.isfinite(found_energy) or found_energy > straight_energy:
        found, found_energy = line, straight_energy
    return Path(found.detach(), found_energy, decoded_length(model, found), straight_energy, straight_length,
                iterations)
