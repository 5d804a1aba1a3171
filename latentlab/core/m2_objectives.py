"""The objective of M2 (Kingma et al. 2014, eqs. 6-9), in nats per image, on the vectors M2 models.

Labelled pair (x, y), with z ~ q(z|x, y):
    -L(x, y) = -log p(x|y, z) + KL(q(z|x, y) || p(z)) - log p(y)          (p(y) = 1/K)
Unlabelled x, summing over the classes instead of sampling them:
    -U(x) = sum_y q(y|x) (-L(x, y)) - H(q(y|x))
and the classification loss -log q(y|x) on the labelled pairs, weighted by alpha, since without it
q(y|x) would learn only from the unlabelled bound. The KL is analytic, as in the VAE.

-U(x) is a bound on -log p(x) (it is the ELBO with q(y, z|x) = q(y|x) q(z|x, y)), so the "-ELBO"
curve of an M2 run is the mean of -U over the unlabelled images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .m2 import M2
from .objectives import kl_per_dim


@dataclass
class Bound:
    """Per image (B,), or per class and image (K, B) for `every_class`: the bound and its parts."""

    neg_bound: torch.Tensor   # -L(x, y), or -U(x)
    recon: torch.Tensor       # E[-log p(x|y, z)] (expected under q(y|x) for -U)
    kl_dims: torch.Tensor     # KL per latent dimension, (..., D) (expected under q(y|x) for -U)


def _draw(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int, eps: torch.Tensor | None) -> torch.Tensor:
    if eps is None:
        eps = torch.randn((n_samples, *mu.shape), device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def labelled_bound(core: M2, v: torch.Tensor, y: torch.Tensor, n_samples: int = 1,
                   eps: torch.Tensor | None = None) -> Bound:
    """-L(v, y) per pair; `eps` (n_samples, B, D) fixes the noise (tests)."""
    mu, logvar = core.encode_vectors(v, y)
    z = _draw(mu, logvar, n_samples, eps)
    recon = -core.log_likelihood_vectors(v, z, y).mean(0)
    kl = kl_per_dim(mu, logvar)
    return Bound(recon + kl.sum(-1) + math.log(core.num_classes), recon, kl)


def every_class_bound(core: M2, v: torch.Tensor, n_samples: int = 1,
                      eps: torch.Tensor | None = None) -> Bound:
    """-L(v, y) for every class y at once: shapes (K, B) and (K, B, D); eps (n_samples, K, B, D)."""
    k = core.num_classes
    mu, logvar = core.encode_every_class(v)                       # (K, B, D)
    z = _draw(mu, logvar, n_samples, eps)                         # (N, K, B, D)
    classes = torch.arange(k, device=v.device).view(k, 1).expand(k, v.shape[0])
    recon = -core.log_likelihood_vectors(v, z, classes).mean(0)   # (K, B)
    kl = kl_per_dim(mu, logvar)
    return Bound(recon + kl.sum(-1) + math.log(k), recon, kl)


def unlabelled_bound(core: M2, v: torch.Tensor, logits: torch.Tensor | None = None, n_samples: int = 1,
                     eps: torch.Tensor | None = None) -> Bound:
    """-U(v) per image: the labelled bound of every class, weighted by q(y|v), minus its entropy."""
    if logits is None:
        logits = core.classify_vectors(v)
    log_q = F.log_softmax(logits, dim=-1)          # (B, K)
    q = log_q.exp()
    per_class = every_class_bound(core, v, n_samples, eps)
    weights = q.t()                                # (K, B)
    neg_u = (weights * per_class.neg_bound).sum(0) + (q * log_q).sum(-1)
    return Bound(neg_u, (weights * per_class.recon).sum(0), (weights.unsqueeze(-1) * per_class.kl_dims).sum(0))


@dataclass
class M2Terms:
    """One training step's batch means (nats per image); `loss` is minimised."""

    loss: torch.Tensor
    unlabelled: torch.Tensor    # mean -U over the unlabelled batch (the "-ELBO" curve)
    labelled: torch.Tensor      # mean -L over the labelled batch
    class_loss: torch.Tensor    # mean -log q(y|x) over the labelled batch
    kl: torch.Tensor            # expected KL of the unlabelled batch
    recon: torch.Tensor
    kl_per_dim: torch.Tensor    # (D,)


def m2_terms(core: M2, v_unlabelled: torch.Tensor, v_labelled: torch.Tensor, y_labelled: torch.Tensor,
             alpha: float, n_samples: int = 1, class_balance: float = 0.0) -> M2Terms:
    """The paper's J^alpha on one step's batches, as batch means (the labelled images are
    oversampled so that each step sees both; alpha weighs the mean classification loss).

    `class_balance` > 0 adds that weight times KL(q(y) || p(y)), q(y) the mean of q(y|x) over the
    unlabelled batch: the class-marginal part of the ELBO's KL on y (E_x KL(q(y|x)||p(y)) =
    I(x; y) + KL(q(y)||p(y)), as in ELBO surgery) counted more. It keeps one class from
    absorbing another (an M2 with a 2-D z merges 7 into 9 and 3, 5 into 8 without it). 0 is
    the paper's objective."""
    logits_u = core.classify_vectors(v_unlabelled)
    u = unlabelled_bound(core, v_unlabelled, logits_u, n_samples=n_samples)
    lab = labelled_bound(core, v_labelled, y_labelled, n_samples=n_samples)
    ce = F.cross_entropy(core.classify_vectors(v_labelled), y_labelled)
    unl, labd = u.neg_bound.mean(), lab.neg_bound.mean()
    kl_dims = u.kl_dims.mean(0)
    loss = unl + labd + alpha * ce
    if class_balance > 0:
        loss = loss + class_balance * class_marginal_kl(logits_u)
    return M2Terms(loss=loss, unlabelled=unl, labelled=labd, class_loss=ce,
                   kl=kl_dims.sum(), recon=u.recon.mean(), kl_per_dim=kl_dims)


def class_marginal_kl(logits: torch.Tensor) -> torch.Tensor:
    """KL(q(y) || uniform) of the batch's mean class probabilities q(y) = mean_x q(y|x), in nats."""
    q = F.softmax(logits, dim=-1).mean(0)
    return (q * (q.clamp_min(1e-12).log() + math.log(q.numel()))).sum()


def default_alpha(n_unlabelled: int, n_labelled: int) -> float:
    """The paper's alpha = 0.1 N, per labelled image: with the labelled pairs oversampled to one
    batch per step, the mean classification loss gets 0.1 * N_unlabelled / N_labelled."""
    return 0.1 * n_unlabelled / max(1, n_labelled)
