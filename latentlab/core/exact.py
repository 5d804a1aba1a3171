"""Ground truth for 2-D latent spaces: log p(x) by quadrature and the true posterior p(z|x).

For a 2-D latent space nothing in a VAE is intractable:

    log p(x) = log ∫ p(x|z) p(z) dz,        p(z|x) = p(x|z) p(z) / p(x),

so the ELBO and the importance-weighted bound can be compared with the number they bound.

How the integral is computed (adaptive midpoint quadrature, accumulated in float64):

1. A global grid of `n_global` x `n_global` cells over a square where the prior has its mass
   (|z| <= GLOBAL_RADIUS, widened to hold the encoder's posterior). Its decoder outputs do not
   depend on the image, so they are computed once for a whole batch of images, and the
   likelihood of every image at every grid point is one matrix product.
2. Where the integrand p(x|z) p(z) has its mass (within THRESHOLD nats of its maximum) and the
   grid is too coarse for it (the second difference of log p(x|z) p(z) between neighbouring
   cells exceeds CURVATURE, i.e. the cells are wider than the posterior's local scale), that
   region (each connected region of mass on its own: several modes are allowed) is replaced by
   a grid fine enough for the curvature measured there, recursively up to MAX_DEPTH levels.

Every grid doubles when `n_global` doubles, which is how the tests check convergence (the result
must not move by more than 0.01 nats under a 2x refinement).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .models import VAE

GLOBAL_RADIUS = 6.0      # the prior holds all but e^-18 of its mass within this radius
THRESHOLD = 30.0         # nats below the integrand's maximum that still count (e^-30 is nothing)
# Refine where |second difference of log f| between cells exceeds this: for a Gaussian it is
# (cell width / scale)^2, and the midpoint rule's error is about exp(-2 pi^2 / CURVATURE) of the
# integral: 5e-5 at 2 (far below the 0.01 nats asked for, leaving room for non-Gaussian shapes).
CURVATURE = 2.0
MAX_REFINE = 16          # at most this many finer cells per cell and axis in one level
MAX_CELLS = 384          # at most this many cells per axis in one refined region
MAX_DEPTH = 4            # levels of refinement below the global grid
SHARE_NATS = 21.0        # cells holding less than e^-21 (1e-9) of the integral are never refined
MIN_SHARE = 1e-6         # nor is a region holding less than this share of it
TOLERANCE = 0.002        # nats: a region whose estimated error is larger is refined
GLOBAL_CELLS = 256       # default cells per side of the global grid
CHUNK_POINTS = 8192      # decoder evaluations per batch (bounds memory: 8192 x pixels x 8 bytes)
LOG_2PI = math.log(2 * math.pi)


def _check_2d(model: VAE) -> None:
    if model.latent_dim != 2:
        raise ValueError(f"exact evaluation needs a 2-D latent space; this model has {model.latent_dim} "
                         "dimensions (use the importance-weighted bound instead)")


# -- the integrand --------------------------------------------------------------------------------
class _Likelihood:
    """log p(x|z) for many images and many z, as matrix products (float64).

    Bernoulli: log p(x|z) = x . l(z) - sum softplus(l(z)) with logits l.
    Gaussian (a per-pixel variance v that does not depend on z):
        log p(x|z) = x . (m/v) - 1/2 x^2 . (1/v) - 1/2 sum (m^2/v + log v + log 2 pi).
    """

    def __init__(self, model: VAE):
        self.model = model
        self.bernoulli = model.likelihood == "bernoulli"
        if not self.bernoulli:
            logvar = model._decoder_logvar().detach().flatten().double()
            self.inv_var = torch.exp(-logvar)
            self.const = -0.5 * (logvar + LOG_2PI).sum()

    @torch.no_grad()
    def terms(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a (G, P), c (G,)) with log p(x|z_g) = x . a_g + c_g + image-only terms."""
        z = z.to(self.model.device, dtype=next(self.model.parameters()).dtype)
        if self.bernoulli:
            logits = self.model.decode_raw(z).flatten(1).double()
            return logits, -F.softplus(logits).sum(1)
        mean = self.model.decode(z).flatten(1).double()
        a = mean * self.inv_var
        return a, -0.5 * (mean * a).sum(1) + self.const

    def image_term(self, x: torch.Tensor) -> torch.Tensor:
        """The part that depends on the image only: (B,)."""
        if self.bernoulli:
            return torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
        return -0.5 * (x * x * self.inv_var.to(x.device)).sum(1)

    def log_f(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) + log p(z) for every image against every z: (B, G); x is (B, P) float64."""
        out = []
        for chunk in z.split(CHUNK_POINTS):
            a, c = self.terms(chunk)
            prior = -0.5 * (chunk.double().to(a.device) ** 2).sum(1) - LOG_2PI
            out.append(x @ a.T + (c + prior))
        return torch.cat(out, 1) + self.image_term(x)[:, None]

    def log_f_paired(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log f for image i against its own points z[i]: x (T, P), z (T, M, 2) -> (T, M)."""
        t, m, _ = z.shape
        flat = z.reshape(-1, 2)
        out = torch.empty(t * m, dtype=torch.float64, device=x.device)
        owner = torch.arange(t, device=x.device).repeat_interleave(m)
        for start in range(0, t * m, CHUNK_POINTS):
            chunk = flat[start:start + CHUNK_POINTS]
            a, c = self.terms(chunk)
            prior = -0.5 * (chunk.double().to(a.device) ** 2).sum(1) - LOG_2PI
            xi = x[owner[start:start + CHUNK_POINTS]]
            out[start:start + len(chunk)] = (xi * a).sum(1) + c + prior
        return out.reshape(t, m) + self.image_term(x)[:, None]


def _flat_images(model: VAE, x: torch.Tensor) -> torch.Tensor:
    if x.dim() == 3:
        x = x[None]
    if tuple(x.shape[1:]) != tuple(model.image_shape):
        raise ValueError(f"images of shape {tuple(x.shape[1:])} do not fit a model for {tuple(model.image_shape)}")
    return x.flatten(1).double().to(model.device)


def _cell_centres(box: tuple[float, float, float, float], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres of an n x n grid of cells over box = (z1_min, z1_max, z2_min, z2_max), 'ij' order."""
    z1 = torch.linspace(box[0], box[1], 2 * n + 1, dtype=torch.float64)[1::2]
    z2 = torch.linspace(box[2], box[3], 2 * n + 1, dtype=torch.float64)[1::2]
    return z1, z2


def _cell_centres_2(box, n1: int, n2: int) -> tuple[torch.Tensor, torch.Tensor]:
    z1 = torch.linspace(box[0], box[1], 2 * n1 + 1, dtype=torch.float64)[1::2]
    z2 = torch.linspace(box[2], box[3], 2 * n2 + 1, dtype=torch.float64)[1::2]
    return z1, z2


def _points(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    g1, g2 = torch.meshgrid(z1, z2, indexing="ij")
    return torch.stack([g1, g2], -1).reshape(-1, 2)


def _curvature(values: torch.Tensor) -> torch.Tensor:
    """|second difference| of log f between neighbouring cells, the larger of the two axes.

    For a Gaussian of scale s on cells of width h it is h^2 / s^2 everywhere: a direct measure of
    whether the cells resolve the integrand. (A peak narrower than a cell shows as a huge value.)
    """
    curv = torch.zeros_like(values)
    curv[1:-1, :] = (values[2:, :] - 2 * values[1:-1, :] + values[:-2, :]).abs()
    curv[:, 1:-1] = torch.maximum(curv[:, 1:-1], (values[:, 2:] - 2 * values[:, 1:-1] + values[:, :-2]).abs())
    return curv


def _coarse_error(values: torch.Tensor) -> float:
    """Estimated error (nats) of the midpoint sum of `values` (log f on cells), from the same sum
    on cells twice as wide: for an error of order h^2 the two differ by 3x the error."""
    n1, n2 = values.shape
    if n1 < 4 or n2 < 4:
        return 0.0   # too few cells to tell; the curvature decides for such a small region
    fine = torch.logsumexp(values.flatten(), 0)
    parities = [torch.logsumexp(values[p::2, q::2].flatten(), 0) + math.log(4) for p in (0, 1) for q in (0, 1)]
    coarse = torch.logsumexp(torch.stack(parities), 0) - math.log(4)
    return float((fine - coarse).abs()) / 3


def _components(mask: torch.Tensor) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (i0, i1, j0, j1), end exclusive, of the 8-connected components of `mask`,
    padded by one cell and merged where they overlap (so no cell is in two boxes)."""
    idx = mask.nonzero()
    if not len(idx):
        return []
    lo, hi = idx.min(0).values, idx.max(0).values + 1
    sub = mask[lo[0]:hi[0], lo[1]:hi[1]]
    big = sub.numel() + 1
    labels = torch.where(sub, torch.arange(sub.numel()).reshape(sub.shape), torch.full(sub.shape, big))
    while True:   # label propagation: every cell takes the smallest label of its neighbours
        padded = torch.nn.functional.pad(labels[None, None].float(), (1, 1, 1, 1), value=big)
        smallest = -torch.nn.functional.max_pool2d(-padded, 3, stride=1)[0, 0].long()
        new = torch.where(sub, torch.minimum(labels, smallest), labels)
        if torch.equal(new, labels):
            break
        labels = new
    boxes = []
    for label in labels[sub].unique():
        cells = (labels == label).nonzero()
        a, b = cells.min(0).values, cells.max(0).values
        boxes.append([int(a[0] + lo[0]) - 1, int(b[0] + lo[0]) + 2, int(a[1] + lo[1]) - 1, int(b[1] + lo[1]) + 2])
    n1, n2 = mask.shape
    boxes = [[max(i0, 0), min(i1, n1), max(j0, 0), min(j1, n2)] for i0, i1, j0, j1 in boxes]
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                p, q = boxes[i], boxes[j]
                if p[0] < q[1] and q[0] < p[1] and p[2] < q[3] and q[2] < p[3]:
                    boxes[i] = [min(p[0], q[0]), max(p[1], q[1]), min(p[2], q[2]), max(p[3], q[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return [tuple(b) for b in boxes]


@dataclass
class Quadrature:
    """What the quadrature found for one image: log p(x), the box holding the mass, and effort."""

    log_px: float
    mass_box: tuple[float, float, float, float]   # (z1_min, z1_max, z2_min, z2_max)
    decodes: int                                  # decoder evaluations spent on this image alone
    shared_decodes: float                         # its share of the global grid's evaluations


class _Integrator:
    def __init__(self, model: VAE, n_global: int, radius: float, max_depth: int = MAX_DEPTH):
        self.lik = _Likelihood(model)
        self.n = n_global
        self.radius = radius
        self.max_depth = max_depth

    def run(self, x: torch.Tensor, centres: torch.Tensor | None) -> list[Quadrature]:
        """x: (B, P) float64. `centres` (B, 2): the encoder's means, to make sure the box holds them."""
        # One box for every image, whatever the batch (so an image's result never depends on its
        # neighbours); an image whose mass reaches the edge is done again over a wider box.
        r = self.radius
        box = (-r, r, -r, r)
        z1, z2 = _cell_centres(box, self.n)
        self.sharing = len(x)
        values = self.lik.log_f(x, _points(z1, z2)).reshape(len(x), self.n, self.n)
        return [self._one(x[b], values[b], box) for b in range(len(x))]

    def _one(self, x: torch.Tensor, values: torch.Tensor, box) -> Quadrature:
        n = values.shape[0]
        floor = float(values.max()) - THRESHOLD
        significant = (values > floor).nonzero()
        lo, hi = significant.min(0).values, significant.max(0).values
        if int(lo.min()) == 0 or int(hi.max()) == n - 1:
            # Mass at the edge of the box: the box was too small. Integrate over one twice as wide.
            wider = _Integrator(self.lik.model, self.n, 2 * max(abs(v) for v in box), self.max_depth)
            return wider.run(x[None], None)[0]
        h1, h2 = (box[1] - box[0]) / n, (box[3] - box[2]) / n
        log_total = float(torch.logsumexp(values.flatten(), 0)) + math.log(h1 * h2)
        pieces, decodes = self._integrate(x, values, box, log_total, depth=0)
        mass_box = (box[0] + h1 * (int(lo[0]) - 1), box[0] + h1 * (int(hi[0]) + 2),
                    box[2] + h2 * (int(lo[1]) - 1), box[2] + h2 * (int(hi[1]) + 2))
        return Quadrature(float(torch.logsumexp(torch.stack(pieces), 0)), mass_box, decodes,
                          self.n * self.n / self.sharing)

    def _integrate(self, x, values, box, log_total, depth) -> tuple[list[torch.Tensor], int]:
        """log of the integral over `box` of the cells `values` (n1 x n2): where the mass is and
        the cells are too coarse for it, a finer grid replaces them (recursively). `log_total`
        is the current estimate of the whole integral: only cells holding more than e^-SHARE_NATS
        of it are worth refining (even a 100% error in all the others is far below 0.01 nats)."""
        n1, n2 = values.shape
        h1, h2 = (box[1] - box[0]) / n1, (box[3] - box[2]) / n2
        log_area = math.log(h1 * h2)
        significant = values + log_area > log_total - SHARE_NATS
        curv = _curvature(values)
        pieces: list[torch.Tensor] = []
        decodes = 0
        covered = torch.zeros_like(significant)
        if depth < self.max_depth:
            for i0, i1, j0, j1 in _components(significant):
                inside = significant[i0:i1, j0:j1]
                local = curv[i0:i1, j0:j1][inside]
                worst = float(local.max()) if len(local) else 0.0
                region = values[i0:i1, j0:j1]
                share = float(torch.logsumexp(region.flatten(), 0)) + log_area - log_total
                if share < math.log(MIN_SHARE):
                    continue
                # The decoder is a ReLU network: log f has kinks, which the curvature does not see.
                # So the error is also estimated the empirical way: the same sum on cells twice as
                # wide (each of the four sub-lattices, averaged) differs by about 3x the error.
                error = _coarse_error(region) * math.exp(share)
                if worst <= CURVATURE and error <= TOLERANCE:
                    continue
                # curvature scales with the square of the cell width, the error of a kinked integrand too
                need = max(worst / CURVATURE, error / TOLERANCE)
                r = min(max(2, math.ceil(math.sqrt(need))), MAX_REFINE)
                m1, m2 = min((i1 - i0) * r, MAX_CELLS), min((j1 - j0) * r, MAX_CELLS)
                sub = (box[0] + h1 * i0, box[0] + h1 * i1, box[2] + h2 * j0, box[2] + h2 * j1)
                fine = self.lik.log_f_paired(x[None], _points(*_cell_centres_2(sub, m1, m2))[None])[0]
                fine = fine.reshape(m1, m2)
                decodes += m1 * m2
                covered[i0:i1, j0:j1] = True
                more, used = self._integrate(x, fine, sub, log_total, depth + 1)
                pieces.extend(more)
                decodes += used
        if (~covered).any():
            pieces.append(torch.logsumexp(values[~covered], 0) + log_area)
        return pieces, decodes


# -- public ---------------------------------------------------------------------------------------
@torch.no_grad()
def quadrature(model: VAE, x: torch.Tensor, n_global: int = GLOBAL_CELLS,
               radius: float = GLOBAL_RADIUS, batch: int = 128, max_depth: int = MAX_DEPTH) -> list[Quadrature]:
    """log p(x), the box holding p(z|x)'s mass and the decodes spent, for each image of x.
    `max_depth=0` skips the refinement: a quick estimate that finds the mass but may be off by
    more than 0.01 nats."""
    _check_2d(model)
    flat = _flat_images(model, x)
    was_training = model.training
    model.eval()
    try:
        centres = model.encode(flat.reshape(-1, *model.image_shape).to(next(model.parameters()).dtype))[0]
        out: list[Quadrature] = []
        for start in range(0, len(flat), batch):
            integrator = _Integrator(model, n_global, radius, max_depth)
            out.extend(integrator.run(flat[start:start + batch], centres[start:start + batch].double().cpu()))
        return out
    finally:
        model.train(was_training)


def log_marginal(model: VAE, x: torch.Tensor, n_global: int = GLOBAL_CELLS) -> torch.Tensor:
    """log p(x) in nats for each image of x (B, C, H, W), shape (B,), float64, on the model's device.

    x as `model.encode` takes it: binary for a Bernoulli decoder, grey levels for a Gaussian one.
    ValueError for a model whose latent space is not 2-D.
    """
    results = quadrature(model, x, n_global)
    return torch.tensor([r.log_px for r in results], dtype=torch.float64, device=model.device)


@torch.no_grad()
def posterior_grid(model: VAE, x: torch.Tensor, extent: tuple[float, float, float, float], n: int,
                   log_px: float | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """log p(z|x) of one image on an n x n grid of cell centres over extent = (z1_min, z1_max,
    z2_min, z2_max): (log_density (n, n) indexed [i, j] at (z1[i], z2[j]), z1 (n,), z2 (n,)).

    Densities are per unit area: over an extent that holds the mass, sum(exp(log_density)) times
    the cell area is 1. `log_px` (from `log_marginal`) saves computing it again.
    """
    _check_2d(model)
    flat = _flat_images(model, x)
    if len(flat) != 1:
        raise ValueError(f"posterior_grid takes one image, got {len(flat)}")
    if log_px is None:
        log_px = quadrature(model, flat.reshape(1, *model.image_shape))[0].log_px
    z1, z2 = _cell_centres(extent, n)
    was_training = model.training
    model.eval()
    try:
        values = _Likelihood(model).log_f(flat, _points(z1, z2))[0].reshape(n, n)
    finally:
        model.train(was_training)
    return values - log_px, z1, z2


# -- the gaps of one image (Cremer, Li & Duvenaud 2018) -------------------------------------------
IW_KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
HERMITE_POINTS = 32      # Gauss-Hermite nodes per dimension for E_q[...] in 2-D (exact for smooth f)
MC_SAMPLES = 4096        # samples for E_q[...] when D > 2


@dataclass
class Gaps:
    """The three numbers of one image and the two gaps between them, in nats.

    ELBO (the encoder's q) <= ELBO* (q optimised for this image alone) <= log p(x).
    amortisation gap = ELBO* - ELBO: what the encoder loses by being one network for all images;
    approximation gap = log p(x) - ELBO*: what a Gaussian q cannot express of p(z|x).
    log p(x), the approximation gap and KL(q || p(z|x)) are None for a latent space that is not 2-D.
    """

    elbo: float
    elbo_star: float
    log_px: float | None
    kl_q_posterior: float | None      # KL(q || p(z|x)) integrated on a grid (2-D): = log p(x) - ELBO
    mu: list[float]
    logvar: list[float]
    mu_star: list[float]
    logvar_star: list[float]
    iw_curve: list[tuple[int, float]]  # (k, L_k): the IW bound rising towards log p(x)

    @property
    def amortisation_gap(self) -> float:
        return self.elbo_star - self.elbo

    @property
    def approximation_gap(self) -> float | None:
        return None if self.log_px is None else self.log_px - self.elbo_star


def _log_joint(model: VAE, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """log p(x|z) + log p(z) for one image x (1, C, H, W) and z (..., D)."""
    lead = z.shape[:-1]
    flat = z.reshape(-1, 1, z.shape[-1])
    ll = model.log_likelihood(x, flat).reshape(lead)
    return ll - 0.5 * (z ** 2).sum(-1) - 0.5 * z.shape[-1] * LOG_2PI


def _kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(-1)


def _hermite(n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Product Gauss-Hermite rule for N(0, I) in 2-D: points (n*n, 2) and weights summing to 1."""
    import numpy as np

    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    weights = weights / weights.sum()
    e1, e2 = np.meshgrid(nodes, nodes, indexing="ij")
    w = np.outer(weights, weights).reshape(-1)
    return (torch.tensor(np.stack([e1.reshape(-1), e2.reshape(-1)], 1), device=device),
            torch.tensor(w, device=device))


@torch.no_grad()
def elbo_of(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, seed: int = 0) -> float:
    """ELBO of one image under q = N(mu, diag exp(logvar)): E_q[log p(x|z)] - KL(q || p(z)).

    In 2-D the expectation is a Gauss-Hermite quadrature (deterministic, accurate to far below
    0.01 nats); otherwise a Monte Carlo average of MC_SAMPLES draws from a generator seeded with `seed`.
    """
    mu, logvar = mu.detach().double().reshape(-1), logvar.detach().double().reshape(-1)
    std = (0.5 * logvar).exp()
    if mu.numel() == 2:
        eps, w = _hermite(HERMITE_POINTS, model.device)
    else:
        g = torch.Generator(device="cpu").manual_seed(seed)
        eps = torch.randn(MC_SAMPLES, mu.numel(), generator=g, dtype=torch.float64).to(model.device)
        w = torch.full((MC_SAMPLES,), 1 / MC_SAMPLES, dtype=torch.float64, device=model.device)
    z = (mu.to(model.device) + std.to(model.device) * eps).to(next(model.parameters()).dtype)
    ll = torch.cat([model.log_likelihood(x, chunk[:, None, :]).reshape(-1) for chunk in z.split(4096)])
    return float((w * ll.double()).sum() - _kl_to_prior(mu, logvar))


def optimise_q(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, steps: int = 300,
               lr: float = 0.05, samples: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """q's mean and log-variance optimised for this image alone (Adam on the reparameterised ELBO,
    starting from the encoder's output), deterministic given `seed`. The model is not changed."""
    mu = mu.detach().reshape(-1).clone().float().to(model.device).requires_grad_(True)
    logvar = logvar.detach().reshape(-1).clone().float().to(model.device).requires_grad_(True)
    g = torch.Generator(device="cpu").manual_seed(seed)
    noise = torch.randn(steps, samples, mu.numel(), generator=g).to(model.device)
    opt = torch.optim.Adam([mu, logvar], lr=lr)
    was = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)
    try:
        for eps in noise:
            z = mu + (0.5 * logvar).exp() * eps
            elbo = model.log_likelihood(x, z[:, None, :]).mean() - _kl_to_prior(mu, logvar)
            opt.zero_grad()
            (-elbo).backward()
            opt.step()
    finally:
        for p, r in zip(model.parameters(), was):
            p.requires_grad_(r)
    return mu.detach(), logvar.detach()


@torch.no_grad()
def iw_curve(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, ks=IW_KS,
             seed: int = 0) -> list[tuple[int, float]]:
    """L_k for each k in ks from max(ks) draws of q (seeded): for each k, the mean of L_k over the
    max(ks) // k disjoint groups of k draws, so small k are averages, not single noisy draws."""
    total = max(ks)
    g = torch.Generator(device="cpu").manual_seed(seed)
    mu, logvar = mu.reshape(-1).double(), logvar.reshape(-1).double()
    eps = torch.randn(total, mu.numel(), generator=g, dtype=torch.float64)
    z = mu + (0.5 * logvar).exp() * eps
    log_q = (-0.5 * (eps ** 2 + logvar + LOG_2PI)).sum(1)
    zm = z.to(model.device, dtype=next(model.parameters()).dtype)
    log_joint = torch.cat([_log_joint(model, x, chunk).double().cpu() for chunk in zm.split(1000)])
    # log p(x|z) was computed in the model's dtype; the prior term again in float64 for consistency
    log_w = log_joint - log_q
    out = []
    for k in ks:
        groups = log_w[: (total // k) * k].reshape(-1, k)
        out.append((int(k), float((torch.logsumexp(groups, 1) - math.log(k)).mean())))
    return out


def image_gaps(model: VAE, x: torch.Tensor, seed: int = 0, steps: int = 300, ks=IW_KS) -> Gaps:
    """ELBO, ELBO*, log p(x) (2-D), KL(q || p(z|x)) on a grid (2-D) and the L_k curve of one image."""
    if x.dim() == 3:
        x = x[None]
    x = x.to(model.device, dtype=next(model.parameters()).dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            mu, logvar = (t[0] for t in model.encode(x))
        mu_star, logvar_star = optimise_q(model, x, mu, logvar, steps=steps, seed=seed)
        elbo, elbo_star = elbo_of(model, x, mu, logvar, seed), elbo_of(model, x, mu_star, logvar_star, seed)
        curve = iw_curve(model, x, mu, logvar, ks, seed)
        log_px = kl = None
        if model.latent_dim == 2:
            q = quadrature(model, x)[0]
            log_px = q.log_px
            kl = _kl_on_grid(model, x, mu, logvar, q)
    finally:
        model.train(was_training)
    return Gaps(elbo, elbo_star, log_px, kl, mu.tolist(), logvar.tolist(), mu_star.tolist(), logvar_star.tolist(),
                curve)


def _kl_on_grid(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, q: Quadrature,
                n: int = 256) -> float:
    """KL(q || p(z|x)) = ∫ q (log q - log p(z|x)) dz by the midpoint rule over a box holding
    both q (mean ± 8 sigma) and the posterior's mass."""
    mu, std = mu.double().cpu(), (0.5 * logvar.double()).exp().cpu()
    box = (min(q.mass_box[0], float(mu[0] - 8 * std[0])), max(q.mass_box[1], float(mu[0] + 8 * std[0])),
           min(q.mass_box[2], float(mu[1] - 8 * std[1])), max(q.mass_box[3], float(mu[1] + 8 * std[1])))
    log_post, z1, z2 = posterior_grid(model, x, box, n, log_px=q.log_px)
    z = torch.stack(torch.meshgrid(z1, z2, indexing="ij"), -1)
    log_q = (-0.5 * (((z - mu) / std) ** 2 + 2 * std.log() + LOG_2PI)).sum(-1)
    area = (box[1] - box[0]) * (box[3] - box[2]) / (n * n)
    qd = log_q.exp()
    return float((qd * (log_q - log_post.cpu())).sum() * area)


# -- pictures of p(z|x) for the app ----------------------------------------------------------------
@dataclass
class PosteriorPicture:
    """p(z|x) of one image on a grid over the box that holds its mass, ready to draw."""

    log_density: torch.Tensor                     # (n, n), [i, j] at (z1[i], z2[j]); per unit area
    z1: torch.Tensor
    z2: torch.Tensor
    extent: tuple[float, float, float, float]     # (z1_min, z1_max, z2_min, z2_max)
    log_px: float
    decodes: int                                  # all decoder evaluations it took


COARSE = {"n_global": 48, "n": 40, "max_depth": 0}    # a first look: ~3,900 decodes, no refinement
FULL = {"n_global": 128, "n": 128, "max_depth": MAX_DEPTH}   # the picture to keep: ~35,000 decodes


def posterior_picture(model: VAE, x: torch.Tensor, coarse: bool = False, margin: float = 0.25
                      ) -> PosteriorPicture:
    """Where p(z|x) has its mass and its density there, for one image (2-D models only).

    `coarse=True` is a quick first look (a coarser search and picture, log p(x) to a few
    hundredths of a nat); the default is the full-resolution picture. `margin` widens the mass
    box by that fraction on each side, so the picture shows the density fading out.
    """
    settings = COARSE if coarse else FULL
    q = quadrature(model, x, n_global=settings["n_global"], batch=1, max_depth=settings["max_depth"])[0]
    b = q.mass_box
    w1, w2 = (b[1] - b[0]) * margin, (b[3] - b[2]) * margin
    extent = (b[0] - w1, b[1] + w1, b[2] - w2, b[3] + w2)
    n = settings["n"]
    log_density, z1, z2 = posterior_grid(model, x, extent, n, log_px=q.log_px)
    return PosteriorPicture(log_density, z1, z2, extent, q.log_px,
                            q.decodes + int(q.shared_decodes) + n * n)
