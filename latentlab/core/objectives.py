"""The objectives of training: the ELBO of Kingma & Welling (2014), its terms and their pieces,
and the importance-weighted bound L_K of Burda, Grosse & Salakhutdinov (2016).

All quantities are in nats per image. The training loss is the negative ELBO,
    -ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || p(z)),
with the KL term analytic (Gaussian against standard normal, AEVB appendix B) and the
reconstruction term a Monte Carlo average over N reparameterised samples; or, with the IWAE
objective, the negative bound
    -L_K(x) = -log (1/K) sum_k p(x, z_k) / q(z_k|x),   z_k ~ q(z|x) reparameterised,
which is the ELBO for K = 1 (with the KL estimated from the sample) and rises towards log p(x)
as K grows. Its log-weights (`log_importance_weights`) are the same numbers the evaluation's
IW bound averages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

LOG_2PI = math.log(2 * math.pi)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I): N samples, shape (N, B, D), differentiable in mu, logvar."""
    eps = torch.randn((n_samples, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) for each latent dimension, shape (B, D)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log Bernoulli(x | sigmoid(logits)) summed over (C, H, W); logits may have leading sample dims."""
    logits, x = torch.broadcast_tensors(logits, x)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(-3).sum(-1)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(x | mean, exp(logvar)) summed over (C, H, W)."""
    ll = -0.5 * (LOG_2PI + logvar + (x - mean).pow(2) / logvar.exp())
    return ll.flatten(-3).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)


def log_diag_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


@dataclass
class ElboTerms:
    """Batch means, in nats per image. `loss` is what is minimised (beta-weighted)."""

    loss: torch.Tensor
    neg_elbo: torch.Tensor
    kl: torch.Tensor
    recon: torch.Tensor
    kl_per_dim: torch.Tensor  # (D,)


def elbo_terms(log_px_z: torch.Tensor, kl_dims: torch.Tensor, beta: float = 1.0) -> ElboTerms:
    """Combine the outputs of `VAE.forward` (log p(x|z) (N, B) and KL per dim (B, D))."""
    recon = -log_px_z.mean()             # MC average over N samples and the batch
    kl_dims_mean = kl_dims.mean(0)
    kl = kl_dims_mean.sum()
    return ElboTerms(loss=recon + beta * kl, neg_elbo=recon + kl, kl=kl, recon=recon,
                     kl_per_dim=kl_dims_mean)


def log_importance_weights(log_px_z: torch.Tensor, z: torch.Tensor, mu: torch.Tensor,
                           logvar: torch.Tensor) -> torch.Tensor:
    """log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x) for samples z (K, B, D) of
    q(z|x) = N(mu, exp(logvar)), given log p(x|z) (K, B); shape (K, B). The log-mean-exp of these
    over K is L_K (Burda et al. 2016): the bound the IWAE objective maximises and evaluation reports."""
    return log_px_z + log_standard_normal(z) - log_diag_normal(z, mu, logvar)


def iw_bound(log_w: torch.Tensor) -> torch.Tensor:
    """L_K per image from its K log-weights (K, B): log (1/K) sum_k w_k, shape (B,), computed stably."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


@dataclass
class IwaeTerms:
    """Batch means in nats per image. `loss` = -L_K is what is minimised; `elbo` holds the ELBO
    terms of the first of the K samples (analytic KL), which the curves show beside it."""

    loss: torch.Tensor
    elbo: ElboTerms
    k: int


def iwae_terms(log_w: torch.Tensor, log_px_z: torch.Tensor, kl_dims: torch.Tensor) -> IwaeTerms:
    """Combine the outputs of `core.iwae.IwaeForward`: the K log-weights (K, B), log p(x|z) of
    the K samples (K, B) and the analytic KL per dimension (B, D)."""
    return IwaeTerms(loss=-iw_bound(log_w).mean(), elbo=elbo_terms(log_px_z[:1], kl_dims), k=log_w.shape[0])


def kl_weight(step: int, beta: float, warmup_steps: int) -> float:
    """Linear KL warm-up: the KL weight ramps from 0 to beta over the first `warmup_steps` steps."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)
