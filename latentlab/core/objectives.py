"""The objective of Kingma & Welling (2014): the terms of the ELBO and their pieces.

All quantities are in nats per image. The training loss is the negative ELBO,
    -ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || p(z)),
with the KL term analytic (Gaussian against standard normal, AEVB appendix B) and the
reconstruction term a Monte Carlo average over N reparameterised samples.
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


def kl_weight(step: int, beta: float, warmup_steps: int) -> float:
    """Linear KL warm-up: the KL weight ramps from 0 to beta over the first `warmup_steps` steps."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)
