"""The 2-D plane of latent space that the canvas shows, and Gaussians seen through it. No Qt here.

A latent space of dimension D is shown as a plane: two orthonormal directions (the rows of
`basis`, shape (2, D)) through an anchor point. A canvas point (u, v) is the latent

    z = offset + u * basis[0] + v * basis[1]

where `offset` is the anchor's component orthogonal to the plane, so the canvas coordinates of any
latent z are simply `basis @ z`. Two kinds of plane are used:

* `LatentPlane.axes(D, i, j, anchor)`: coordinates z_i and z_j vary, the others stay at the anchor
  (0 by default, or the posterior mean of an image the user picked). For D = 2 this is the whole
  space, and canvas coordinates are exactly (z1, z2).
* `LatentPlane.pca(points, anchor)`: the first two principal directions of the encoded test set.

Because the basis is orthonormal, the prior N(0, I) seen on any plane is N(0, I_2) centred on the
origin: its 1- and 2-sigma circles have radius 1 and 2 whatever the plane. A diagonal posterior
N(mu, diag(sigma^2)) projects to N(basis @ mu, basis diag(sigma^2) basis^T), an ellipse that is
axis-aligned with semi-axes (sigma_i, sigma_j) on an axis plane and rotated on a PCA plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LatentPlane:
    basis: np.ndarray           # (2, D), orthonormal rows (the second is zero when D = 1)
    offset: np.ndarray          # (D,), orthogonal to both rows
    labels: tuple[str, str]     # axis titles, e.g. ("z1", "z2") or ("PC1", "PC2")
    kind: str = "axes"          # "axes" or "pca"

    @property
    def latent_dim(self) -> int:
        return self.basis.shape[1]

    @classmethod
    def axes(cls, latent_dim: int, i: int = 0, j: int = 1, anchor: np.ndarray | None = None) -> "LatentPlane":
        """Vary coordinates i and j (0-based); hold the rest at `anchor` (default 0)."""
        basis = np.zeros((2, latent_dim))
        basis[0, i] = 1.0
        if latent_dim > 1:
            if i == j:
                raise ValueError("pick two different axes")
            basis[1, j] = 1.0
        labels = (f"z{i + 1}", f"z{j + 1}" if latent_dim > 1 else "(unused)")
        return cls(basis, _orthogonal_part(basis, anchor, latent_dim), labels, "axes")

    @classmethod
    def pca(cls, points: np.ndarray, anchor: np.ndarray | None = None) -> "LatentPlane":
        """The plane of the two largest principal components of `points` (N, D), N >= 2.

        It passes through `anchor`, by default the mean of the points. Each direction's sign is
        chosen so its largest coefficient is positive, so the picture does not flip between
        snapshots of a model being trained.
        """
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[0] < 2 or points.shape[1] < 2:
            raise ValueError("a PCA plane needs at least two points in at least two dimensions")
        centre = points.mean(axis=0)
        _, _, vt = np.linalg.svd(points - centre, full_matrices=False)
        basis = vt[:2].copy()
        for row in basis:
            if row[np.argmax(np.abs(row))] < 0:
                row *= -1
        anchor = centre if anchor is None else anchor
        return cls(basis, _orthogonal_part(basis, anchor, points.shape[1]), ("PC1", "PC2"), "pca")

    def to_latent(self, uv) -> np.ndarray:
        """Canvas coordinates (..., 2) -> latent points (..., D)."""
        return self.offset + np.asarray(uv, dtype=np.float64) @ self.basis

    def project(self, z) -> np.ndarray:
        """Latent points (..., D) -> canvas coordinates (..., 2)."""
        return np.asarray(z, dtype=np.float64) @ self.basis.T

    def project_gaussian(self, mu, var) -> tuple[np.ndarray, np.ndarray]:
        """Centre (2,) and covariance (2, 2) on the plane of N(mu, diag(var))."""
        mu, var = np.asarray(mu, dtype=np.float64), np.asarray(var, dtype=np.float64)
        return self.project(mu), (self.basis * var) @ self.basis.T


def _orthogonal_part(basis: np.ndarray, anchor, latent_dim: int) -> np.ndarray:
    if anchor is None:
        return np.zeros(latent_dim)
    anchor = np.asarray(anchor, dtype=np.float64).reshape(latent_dim)
    return anchor - basis.T @ (basis @ anchor)


@dataclass(frozen=True)
class Ellipse:
    """A Gaussian's 1-sigma ellipse on the plane: centre, semi-axes and the first axis' angle."""

    centre: np.ndarray          # (2,)
    semi_axes: np.ndarray       # (2,) standard deviations along the principal directions
    angle: float                # radians, of the first semi-axis, counter-clockwise from +u

    @classmethod
    def from_covariance(cls, centre, cov) -> "Ellipse":
        cov = np.asarray(cov, dtype=np.float64)
        values, vectors = np.linalg.eigh(cov)
        values, vectors = values[::-1], vectors[:, ::-1]   # largest first
        if abs(cov[0, 1]) <= 1e-12 * max(1e-300, abs(cov[0, 0]) + abs(cov[1, 1])):
            # Axis-aligned (always so on an axis plane): keep the axes in (u, v) order, exactly.
            return cls(np.asarray(centre, dtype=np.float64), np.sqrt(np.clip(np.diag(cov), 0, None)), 0.0)
        angle = math.atan2(vectors[1, 0], vectors[0, 0])
        return cls(np.asarray(centre, dtype=np.float64), np.sqrt(np.clip(values, 0, None)), angle)

    def outline(self, k: float = 1.0, n: int = 97) -> np.ndarray:
        """(n, 2) points of the k-sigma ellipse, closed (first point == last)."""
        t = np.linspace(0, 2 * np.pi, n)
        local = np.stack([k * self.semi_axes[0] * np.cos(t), k * self.semi_axes[1] * np.sin(t)], axis=1)
        c, s = math.cos(self.angle), math.sin(self.angle)
        return self.centre + local @ np.array([[c, s], [-s, c]])


def log_prior_density(z) -> float:
    """log N(z; 0, I) of one latent point (D,)."""
    z = np.asarray(z, dtype=np.float64)
    return float(-0.5 * (z.size * math.log(2 * math.pi) + z @ z))


# The canvas' view on reset (the main window's and the first look's): the prior's 2-sigma disc
# with margin, so at least [-3.2, 3.2]^2, widened to hold most of the encoded points.
DEFAULT_RANGE = 3.2


def default_view(points: np.ndarray | None) -> tuple[float, float, float, float]:
    """(u0, u1, v0, v1) for `points` (N, 2) or None: the prior's disc with margin, widened to the
    0.5th-99.5th percentiles of the finite points plus 0.3 on each side."""
    lo, hi = np.array([-DEFAULT_RANGE] * 2), np.array([DEFAULT_RANGE] * 2)
    if points is not None and len(points):
        finite = np.asarray(points)[np.all(np.isfinite(points), axis=1)]
        if len(finite):
            lo = np.minimum(lo, np.percentile(finite, 0.5, axis=0) - 0.3)
            hi = np.maximum(hi, np.percentile(finite, 99.5, axis=0) + 0.3)
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])
