"""The per-image numbers of the examples table, for a chunk of images at a time (no Qt).

`bound_columns`: -ELBO, its KL and reconstruction terms, and the IW-NLL with k = IW_K. The
expectation E_q[log p(x|z)] is a 16 x 16 Gauss-Hermite product rule in 2-D (deterministic, and
far more accurate than the gaps the table shows) and 256 draws of q from a seeded generator
otherwise, so every number repeats exactly. `exact_column`: -log p(x) by quadrature (2-D).
Plain functions of (model, pixels): the background work runs them, a chunk per job.

For an M2 (the explorer's model is then a view of one class, core.m2.ClassConditioned) each image
is measured as its own predicted class, as its gaps are (app/class_choice.py): the numbers are
those of log p(x|ŷ), whichever class the canvas shows.
"""

from __future__ import annotations

import math

import numpy as np

from .class_choice import is_class_view
from .examples import IW_K

HERMITE_NODES = 16           # per axis, in 2-D
MC_DRAWS = 256               # above 2-D
IW_CHUNK = 100               # importance samples drawn at a time (bounds memory)


def _as_input(model, pixels: np.ndarray):
    import torch

    return torch.from_numpy(np.asarray(pixels, dtype=np.float32) / 255.0).to(model.device)


def _standard_normal_rule(dim: int, seed: int):
    """(eps (S, D), weights (S,)) with sum_s w_s f(eps_s) ~ E[f(eps)], eps ~ N(0, I)."""
    import torch

    if dim == 2:
        nodes, weights = np.polynomial.hermite_e.hermegauss(HERMITE_NODES)
        weights = weights / weights.sum()
        e1, e2 = np.meshgrid(nodes, nodes, indexing="ij")
        eps = np.stack([e1.reshape(-1), e2.reshape(-1)], 1)
        return torch.tensor(eps, dtype=torch.float32), torch.tensor(np.outer(weights, weights).reshape(-1))
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(MC_DRAWS, dim, generator=g),
            torch.full((MC_DRAWS,), 1.0 / MC_DRAWS, dtype=torch.float64))


def per_predicted_class(fn, view, pixels: np.ndarray, **kwargs) -> dict[str, np.ndarray]:
    """fn(model, pixels, **kwargs) of an M2 view's images, each under its own predicted class."""
    import torch

    semi, pixels = view.model, np.asarray(pixels)
    with torch.no_grad():
        predicted = semi.predict(_as_input(semi, pixels)).cpu().numpy()
    columns: dict[str, np.ndarray] = {}
    for k in np.unique(predicted):
        rows = predicted == k
        for key, values in fn(semi.given(int(k)), pixels[rows], **kwargs).items():
            columns.setdefault(key, np.full(len(pixels), np.nan))[rows] = values
    return columns


def bound_columns(model, pixels: np.ndarray, seed: int = 0, iw_k: int = IW_K) -> dict[str, np.ndarray]:
    """{"neg_elbo", "kl", "recon", "iw_nll"} for images uint8 (B, C, H, W), in nats per image."""
    if is_class_view(model):
        return per_predicted_class(_bound_columns, model, pixels, seed=seed, iw_k=iw_k)
    return _bound_columns(model, pixels, seed, iw_k)


def _bound_columns(model, pixels: np.ndarray, seed: int = 0, iw_k: int = IW_K) -> dict[str, np.ndarray]:
    import torch

    from latentlab.core.objectives import kl_per_dim, log_importance_weights

    x = _as_input(model, pixels)
    mu, logvar = model.encode(x)
    std = torch.exp(0.5 * logvar)
    eps, weights = _standard_normal_rule(model.latent_dim, seed)
    eps, weights = eps.to(model.device), weights.to(model.device)
    recon = torch.zeros(len(x), dtype=torch.float64, device=model.device)
    for part, w in zip(eps.split(64), weights.split(64)):
        z = mu[None] + std[None] * part[:, None, :]                          # (S, B, D)
        recon -= (w[:, None] * model.log_likelihood(x, z).double()).sum(0)
    kl = kl_per_dim(mu, logvar).sum(1).double()
    g = torch.Generator().manual_seed(seed + 1)
    total = torch.full((len(x),), -math.inf, dtype=torch.float64, device=model.device)
    for start in range(0, iw_k, IW_CHUNK):
        n = min(IW_CHUNK, iw_k - start)
        z = mu[None] + std[None] * torch.randn(n, *mu.shape, generator=g).to(model.device)
        log_w = log_importance_weights(model.log_likelihood(x, z), z, mu, logvar)   # the one formula
        total = torch.logaddexp(total, torch.logsumexp(log_w.double(), 0))
    iw_nll = -(total - math.log(iw_k))
    return {"neg_elbo": (recon + kl).cpu().numpy(), "kl": kl.cpu().numpy(), "recon": recon.cpu().numpy(),
            "iw_nll": iw_nll.cpu().numpy()}


def exact_column(model, pixels: np.ndarray) -> dict[str, np.ndarray]:
    """{"exact_nll"}: -log p(x) by quadrature for images uint8 (B, C, H, W) of a 2-D model."""
    if is_class_view(model):
        return per_predicted_class(_exact_column, model, pixels)
    return _exact_column(model, pixels)


def _exact_column(model, pixels: np.ndarray) -> dict[str, np.ndarray]:
    from latentlab.core.exact import quadrature

    results = quadrature(model, _as_input(model, pixels), batch=len(pixels))
    return {"exact_nll": -np.array([r.log_px for r in results])}
