"""The aggregate posterior q(z) = (1/N) sum_n q(z|x_n) of a data set, its holes, and the "ELBO
surgery" split of the mean KL (Hoffman & Johnson 2016). No Qt here.

Every q(z|x_n) = N(mu_n, diag sigma_n^2) comes from encoding the data (`encode_dataset`); a
checkpoint's stored scatter holds the means only, so the log-variances are computed afresh.

* `aggregate_density` draws q(z) on an n x n grid: the whole space for D = 2, or for D > 2 the
  density of the posteriors projected onto a plane (the marginal of q(z) along the plane: each
  N(mu, Sigma) projects to N(P^T mu, P^T Sigma P) for the plane's directions P, D x 2).
* `holes` marks where the prior is high and q(z) low: the prior's mass that no image uses, where
  prior samples decode to images unlike the data.
* `elbo_surgery` splits E_x KL(q(z|x) || p(z)) = I(x; z) + KL(q(z) || p(z)): the information the
  code keeps about which image it came from (at most log N nats for N images) and how far the
  aggregate posterior is from the prior.

Grids follow core/exact.py: extent = (z1_min, z1_max, z2_min, z2_max), values at the centres of
n x n cells, density[i, j] at (z1[i], z2[j]), per unit area (sum * cell area = mass in the box).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .data import binarize, to_float
from .objectives import LOG_2PI, kl_per_dim

# Where a hole is: inside the prior's 2-sigma disc (radius 2 on any plane: the directions are
# orthonormal, so N(0, I) projects to N(0, I_2)) and q(z) below this fraction of p(z).
HOLE_RADIUS = 2.0
HOLE_RATIO = 0.1

_CHUNK_ELEMENTS = 2 ** 18    # values evaluated at once on the full-covariance path (fits in cache)


@torch.no_grad()
def encode_dataset(model, images: torch.Tensor, batch_size: int = 500, binarize_mode: str | None = None,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, logvar) of q(z|x) for every image, each (N, D) float64 on the CPU, `batch_size` at a time.

    `images` are uint8 (N, C, H, W) as data sets hold them, or floats in [0, 1]; `binarize_mode`
    ("dynamic", "threshold", "grey"; None = "grey") is applied per batch the way the model was
    trained, drawing from `generator` for "dynamic".
    """
    was_training = model.training
    model.eval()
    mus, logvars = [], []
    try:
        for chunk in images.split(batch_size):
            x = to_float(chunk) if chunk.dtype == torch.uint8 else chunk.float()
            x = binarize(x, binarize_mode or "grey", generator).to(model.device)
            mu, logvar = model.encode(x)
            mus.append(mu.double().cpu())
            logvars.append(logvar.double().cpu())
    finally:
        model.train(was_training)
    if not mus:
        raise ValueError("encode_dataset() got no images")
    return torch.cat(mus), torch.cat(logvars)


def cell_centres(extent, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres of an n x n grid of cells over extent = (z1_min, z1_max, z2_min, z2_max), float64."""
    e = [float(v) for v in extent]
    if len(e) != 4 or not all(math.isfinite(v) for v in e) or e[1] <= e[0] or e[3] <= e[2]:
        raise ValueError(f"extent must be (z1_min, z1_max, z2_min, z2_max) with min < max, got {extent!r}")
    if int(n) < 1:
        raise ValueError(f"the grid needs at least 1 cell per side, got n={n}")
    z1 = torch.linspace(e[0], e[1], 2 * n + 1, dtype=torch.float64)[1::2]
    z2 = torch.linspace(e[2], e[3], 2 * n + 1, dtype=torch.float64)[1::2]
    return z1, z2


def project(mu: torch.Tensor, logvar: torch.Tensor, directions=None, anchor=None):
    """The posteriors seen on a plane: means (N, 2) and covariances (N, 2, 2), float64.

    `directions` (D x 2, orthonormal columns; default the first two axes) span the plane; plane
    coordinates are directions^T (z - anchor) (anchor default 0, which gives the canvas
    coordinates of app/plane.py, whose offset is orthogonal to the plane).
    """
    mu, var = mu.double(), logvar.double().exp()
    d = mu.shape[1]
    if mu.dim() != 2 or mu.shape != logvar.shape or d < 1:
        raise ValueError(f"mu and logvar must both be (N, D), got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if directions is None:
        if d != 2:
            raise ValueError(f"a {d}-D latent space needs `directions` (D x 2) for the plane to draw")
        directions = torch.eye(2, dtype=torch.float64)
    p = torch.as_tensor(directions, dtype=torch.float64)
    if p.shape != (d, 2):
        raise ValueError(f"directions must be (D, 2) = ({d}, 2), got {tuple(p.shape)}")
    if anchor is not None:
        a = torch.as_tensor(anchor, dtype=torch.float64).reshape(-1)
        if a.shape != (d,):
            raise ValueError(f"anchor must hold {d} numbers, got {a.numel()}")
        mu = mu - a
    means = mu @ p
    cov = torch.einsum("di,nd,dj->nij", p, var, p)
    return means, cov


def aggregate_density(mu: torch.Tensor, logvar: torch.Tensor, extent, n: int, directions=None, anchor=None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """q(z) on an n x n grid over `extent`: (density (n, n) float64 per unit area, z1, z2).

    Diagonal projected covariances (D = 2, or an axis plane) factorise per axis, so the sum over
    the N components is one matrix product of two (N x n) factor matrices: 10,000 components on
    256 x 256 take well under a second. A rotated plane gives full 2x2 covariances; those are
    evaluated each within 8 sigma of its mean only (patches of cells around the small ones, row
    blocks for the broad ones): the cost grows with (sigma / cell)^2, 0.5 to 1 s for the shipped
    20-D model's test set on a 256 x 256 PCA plane, seconds for 10,000 posteriors of sigma ~0.3.
    Posteriors narrower than a cell are
    sampled at cell centres, not integrated over cells: make the grid fine enough to see them.
    """
    means, cov = project(mu, logvar, directions, anchor)
    z1, z2 = cell_centres(extent, n)
    return _mixture_on_grid(means, cov, z1, z2), z1, z2


def _mixture_on_grid(means: torch.Tensor, cov: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    v1, v2, c12 = cov[:, 0, 0], cov[:, 1, 1], cov[:, 0, 1]
    if bool((c12.abs() <= 1e-12 * (v1 * v2).sqrt()).all()):
        a = _normal_pdf(z1[None, :], means[:, :1], v1[:, None])   # (N, n1)
        b = _normal_pdf(z2[None, :], means[:, 1:], v2[:, None])   # (N, n2)
        return (a.T @ b) / len(means)
    out = torch.zeros(len(z1), len(z2), dtype=torch.float64)
    # Full covariances (a rotated plane). Each Gaussian is evaluated only within _CUT marginal
    # sigmas of its mean (beyond, it is below exp(-_CUT^2 / 2) = 1e-14 of its peak): small ones
    # on a square patch of cells added into the grid, the rest row block by row block.
    rest = torch.ones(len(means), dtype=torch.bool)
    if len(z1) > 1 and len(z2) > 1:
        h1, h2 = float(z1[1] - z1[0]), float(z2[1] - z2[0])
        need = torch.maximum(torch.ceil(_CUT * v1.sqrt() / h1), torch.ceil(_CUT * v2.sqrt() / h2)) + 1
        for radius in _PATCH_RADII:
            if 2 * radius + 1 >= min(len(z1), len(z2)):
                break
            pick = rest & (need <= radius)
            rest &= ~pick
            if bool(pick.any()):
                _add_patches(out, means[pick], cov[pick], z1, z2, radius)
    if bool(rest.any()):
        _add_rows(out, means[rest], cov[rest], z1, z2)
    return out / len(means)


def _log_normal_2d(d1, d2, cov):
    """log N(d; 0, cov) for offsets d1, d2 broadcast against per-component covariances (K, 2, 2)."""
    v1, v2, c12 = cov[:, 0, 0], cov[:, 1, 1], cov[:, 0, 1]
    det = v1 * v2 - c12 ** 2
    shape = (-1,) + (1,) * (max(d1.dim(), d2.dim()) - 1)
    p11, p22, p12 = (v2 / det).view(shape), (v1 / det).view(shape), (-c12 / det).view(shape)
    return -0.5 * (p11 * d1 ** 2 + 2 * p12 * d1 * d2 + p22 * d2 ** 2) - 0.5 * torch.log(det).view(shape) - LOG_2PI


def _add_patches(out, means, cov, z1, z2, radius):
    """Add each Gaussian on the (2 radius + 1)^2 cells around its mean into `out`, in chunks.

    The patches land on a copy of the grid padded by 2 radius cells on every side (a patch
    whose centre is more than radius cells outside the grid misses it and is skipped), so no
    patch needs clipping: masking the cells of every patch cost more than evaluating them.
    """
    n1, n2 = len(z1), len(z2)
    h1, h2 = float(z1[1] - z1[0]), float(z2[1] - z2[0])
    centre1 = torch.round((means[:, 0] - z1[0]) / h1).long()
    centre2 = torch.round((means[:, 1] - z2[0]) / h2).long()
    hits = (centre1 >= -radius) & (centre1 < n1 + radius) & (centre2 >= -radius) & (centre2 < n2 + radius)
    means, cov, centre1, centre2 = means[hits], cov[hits], centre1[hits], centre2[hits]
    pad = 2 * radius
    wide = n2 + 2 * pad
    padded = torch.zeros((n1 + 2 * pad) * wide, dtype=torch.float64)
    offsets = torch.arange(-radius, radius + 1)
    step = max(1, _CHUNK_ELEMENTS // len(offsets) ** 2)
    for s in range(0, len(means), step):
        m, c = means[s:s + step], cov[s:s + step]
        rows = centre1[s:s + step, None] + offsets                                   # (K, W)
        cols = centre2[s:s + step, None] + offsets
        d1 = (z1[0] + rows.double() * h1 - m[:, :1])[:, :, None]                    # (K, W, 1)
        d2 = (z2[0] + cols.double() * h2 - m[:, 1:])[:, None, :]                    # (K, 1, W)
        index = (rows + pad)[:, :, None] * wide + (cols + pad)[:, None, :]
        padded.index_add_(0, index.reshape(-1), torch.exp(_log_normal_2d(d1, d2, c)).reshape(-1))
    out += padded.view(n1 + 2 * pad, wide)[pad:pad + n1, pad:pad + n2]


def _add_rows(out, means, cov, z1, z2):
    """Add each Gaussian on every column of the rows within _CUT sigma of it, a block at a time."""
    reach = _CUT * cov[:, 0, 0].sqrt()
    m1 = means[:, 0]
    for start in range(0, len(z1), _BLOCK_ROWS):
        rows = z1[start:start + _BLOCK_ROWS]
        near = torch.nonzero((m1 + reach >= rows[0]) & (m1 - reach <= rows[-1])).reshape(-1)
        step = max(1, _CHUNK_ELEMENTS // (len(rows) * len(z2)))
        for k in near.split(step):
            d1 = (rows[None, :] - means[k, :1])[:, :, None]                         # (K, rows, 1)
            d2 = (z2[None, :] - means[k, 1:])[:, None, :]                           # (K, 1, n2)
            out[start:start + len(rows)] += torch.exp(_log_normal_2d(d1, d2, cov[k])).sum(0)


_PATCH_RADII = (3, 4, 6, 8, 11, 16, 22, 32, 45, 64, 90, 128)   # steps of sqrt(2): at most 2x the cells needed
_BLOCK_ROWS = 8
_CUT = 8.0


def _normal_pdf(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * (x - mean) ** 2 / var) / torch.sqrt(2 * math.pi * var)


def prior_density(z1: torch.Tensor, z2: torch.Tensor, anchor=None, directions=None) -> torch.Tensor:
    """p(z) = N(0, I) seen on the plane of `aggregate_density` (N(-P^T anchor, I_2)), on its grid."""
    c1 = c2 = 0.0
    if anchor is not None:
        a = torch.as_tensor(anchor, dtype=torch.float64).reshape(-1)
        p = torch.eye(2, dtype=torch.float64) if directions is None else torch.as_tensor(directions, dtype=torch.float64)
        c1, c2 = (-(a @ p)).tolist()
    a = _normal_pdf(z1.double(), c1, torch.tensor(1.0, dtype=torch.float64))
    b = _normal_pdf(z2.double(), c2, torch.tensor(1.0, dtype=torch.float64))
    return a[:, None] * b[None, :]


def holes(density: torch.Tensor, prior: torch.Tensor, z1: torch.Tensor | None = None,
          z2: torch.Tensor | None = None, ratio: float = HOLE_RATIO, radius: float = HOLE_RADIUS,
          centre=(0.0, 0.0)) -> torch.Tensor:
    """Boolean (n, n) mask of the holes of q(z) in the prior, for outlining.

    A cell is a hole where the prior is high, inside its `radius`-sigma disc (default 2: 95 % of
    the prior's mass on a plane lies within 2.45, 86 % within 2), and q(z) < `ratio` * p(z)
    (default 0.1: the data puts less than a tenth of the prior's mass there). Without the grid's
    coordinates z1, z2 the disc is replaced by "p(z) above its value at distance `radius`".
    """
    if density.shape != prior.shape:
        raise ValueError(f"density {tuple(density.shape)} and prior {tuple(prior.shape)} must be the same grid")
    if z1 is not None and z2 is not None:
        d2 = (z1.double()[:, None] - centre[0]) ** 2 + (z2.double()[None, :] - centre[1]) ** 2
        inside = d2 <= radius ** 2
    else:
        inside = prior >= math.exp(-0.5 * radius ** 2) / (2 * math.pi)
    return inside & (density < ratio * prior)


@dataclass(frozen=True)
class Surgery:
    """E_x KL(q(z|x) || p(z)) = mutual_information + marginal_kl, in nats (Hoffman & Johnson 2016).

    mean_kl is exact (the analytic KL of each image, averaged). By `method`: "grid" (2-D) integrates
    marginal_kl = KL(q(z) || p(z)) as a sum of q log q/p over `grid` = (n1, n2, extent) cell
    centres and sets mutual_information = mean_kl - marginal_kl; "monte carlo" estimates
    mutual_information from `samples` draws of z ~ q(z) (`stderr`, which marginal_kl shares) and
    sets marginal_kl = mean_kl - mutual_information. I(x; z) is at most log N (`log_n`) for N images.
    """

    mean_kl: float
    mutual_information: float
    marginal_kl: float
    method: str
    n_images: int
    stderr: float | None = None          # standard error of marginal_kl (and so of I) for Monte Carlo
    samples: int | None = None
    grid: tuple | None = None            # (n1, n2, extent) for "grid"
    grid_mass: float | None = None       # the mass of q(z) on the grid (1 up to truncation/aliasing)

    @property
    def log_n(self) -> float:
        return math.log(self.n_images)


MAX_GRID_SIDE = 1024


def elbo_surgery(mu: torch.Tensor, logvar: torch.Tensor, method: str | None = None, samples: int = 10_000,
                 generator: torch.Generator | None = None, max_side: int = MAX_GRID_SIDE) -> Surgery:
    """Split the mean KL of a data set's posteriors into I(x; z) and KL(q(z) || p(z)).

    method None chooses "grid" for D = 2 and "monte carlo" otherwise.
    * grid (D = 2): q(z) on cells no wider than the narrowest posterior's sigma (the 1st
      percentile of the sigmas, per axis; at most `max_side` cells per side) over the box
      holding every mean +- 7 sigma; KL = sum q log(q/p) * cell area. The midpoint rule on
      Gaussians with a step of one sigma is accurate to ~1e-8 relative, so the error is the
      truncation at `max_side`, visible as `grid_mass` below 1.
    * monte carlo: `samples` draws z ~ q(z|x_n) for random n; log q(z) by log-sum-exp over all N
      components (exact for this mixture), so the only error is sampling: `stderr`. The draws
      estimate I = E[log q(z|x_n) - log q(z)] (lower variance than estimating the marginal KL
      itself) and marginal_kl = mean_kl - I.
    """
    mu, logvar = mu.double(), logvar.double()
    if mu.dim() != 2 or mu.shape != logvar.shape or len(mu) == 0:
        raise ValueError(f"mu and logvar must both be (N, D) with N >= 1, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    n_images, d = mu.shape
    method = method or ("grid" if d == 2 else "monte carlo")
    mean_kl = float(kl_per_dim(mu, logvar).sum(1).mean())
    if method == "grid":
        if d != 2:
            raise ValueError(f"the grid estimate needs a 2-D latent space; this one has {d} dimensions")
        marginal, grid, mass = _grid_marginal_kl(mu, logvar, max_side)
        return Surgery(mean_kl, mean_kl - marginal, marginal, "grid", n_images, grid=grid, grid_mass=mass)
    if method != "monte carlo":
        raise ValueError(f"unknown method {method!r}; choose 'grid' or 'monte carlo'")
    info, stderr = _mc_mutual_information(mu, logvar, samples, generator)
    return Surgery(mean_kl, info, mean_kl - info, "monte carlo", n_images, stderr=stderr, samples=samples)


def _grid_marginal_kl(mu, logvar, max_side):
    sigma = (0.5 * logvar).exp()
    lo, hi = (mu - 7 * sigma).min(0).values, (mu + 7 * sigma).max(0).values
    step = torch.quantile(sigma, 0.01, dim=0)
    sides = [int(min(max_side, max(16, math.ceil(float((hi[i] - lo[i]) / step[i]))))) for i in range(2)]
    extent = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
    z1 = torch.linspace(extent[0], extent[1], 2 * sides[0] + 1, dtype=torch.float64)[1::2]
    z2 = torch.linspace(extent[2], extent[3], 2 * sides[1] + 1, dtype=torch.float64)[1::2]
    means, cov = project(mu, logvar)
    q = _mixture_on_grid(means, cov, z1, z2)
    cell = (extent[1] - extent[0]) / sides[0] * (extent[3] - extent[2]) / sides[1]
    log_p = -0.5 * (z1[:, None] ** 2 + z2[None, :] ** 2) - LOG_2PI
    positive = q > 0
    kl = float((q[positive] * (q[positive].log() - log_p[positive])).sum() * cell)
    return kl, (sides[0], sides[1], extent), float(q.sum() * cell)


def _mc_mutual_information(mu, logvar, samples, generator):
    """I(x; z) = E_n E_{z ~ q(z|x_n)} [log q(z|x_n) - log q(z)] and its standard error.

    Estimating I rather than KL(q(z) || p(z)) directly is the lower-variance choice: the analytic
    mean KL then carries the part of log q(z|x) - log p(z) that varies most between images, and
    for identical posteriors (I = 0) or well-separated ones (I = log N) each draw is exact.
    """
    n_images, d = mu.shape
    pick = torch.randint(n_images, (samples,), generator=generator)
    eps = torch.randn(samples, d, generator=generator, dtype=torch.float64)
    z = mu[pick] + (0.5 * logvar[pick]).exp() * eps
    log_own = -0.5 * (LOG_2PI * d + logvar[pick].sum(1) + (eps ** 2).sum(1))
    diff = log_own - _log_mixture(z, mu, logvar)
    return float(diff.mean()), float(diff.std() / math.sqrt(samples)) if samples > 1 else float("nan")


def _log_mixture(z, mu, logvar, chunk: int = 256):
    """log (1/N) sum_n N(z; mu_n, diag exp(logvar_n)) for each row of z, chunked over z."""
    inv_var = (-logvar).exp()                                     # (N, D)
    const = -0.5 * (logvar.sum(1) + mu.shape[1] * LOG_2PI)        # (N,)
    # -(z - mu)^2 / (2 var) summed over D, expanded so that it is matrix products.
    mu_term = -0.5 * (mu ** 2 * inv_var).sum(1)                   # (N,)
    out = []
    for zc in z.split(chunk):
        quad = -0.5 * (zc ** 2) @ inv_var.T + zc @ (mu * inv_var).T + mu_term  # (c, N)
        out.append(torch.logsumexp(quad + const, dim=1))
    return torch.cat(out) - math.log(len(mu))
