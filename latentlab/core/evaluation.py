"""Evaluating a trained VAE: the importance-weighted bound of Burda et al. (2016), active units,
and `evaluate`, the data-set averages `latentlab eval` and the trainer's validation report.

Kept apart from `objectives.py` (what training minimises) so the model and its objective do not
import each other: models -> objectives, evaluation -> models + objectives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from .models import VAE
from .objectives import kl_per_dim, log_diag_normal, log_standard_normal, reparameterize


@torch.no_grad()
def iw_log_likelihood(model: VAE, x: torch.Tensor, k: int = 5000, chunk: int = 500) -> torch.Tensor:
    """Importance-weighted bound L_k on log p(x) per image (Burda et al. 2016), shape (B,).

    log p(x) >= log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x). The k samples are drawn
    `chunk` at a time and merged with a running log-sum-exp, so memory is O(chunk * B * pixels)
    whatever k is. L_1 is the ELBO; L_k increases towards log p(x) as k grows.
    """
    mu, logvar = model.encode(x)
    total = torch.full((x.shape[0],), -math.inf, device=x.device, dtype=mu.dtype)
    done = 0
    while done < k:
        n = min(chunk, k - done)
        z = reparameterize(mu, logvar, n)
        log_w = model.log_likelihood(x, z) + log_standard_normal(z) - log_diag_normal(z, mu, logvar)
        total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0))
        done += n
    return total - math.log(k)


def active_units(means: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Burda et al.'s active units: dimension u is active when Cov_x(E_q[z_u]) > threshold.

    `means` holds the posterior means of a data set, shape (N, D). Returns the count and the
    per-dimension variances.
    """
    variances = means.double().var(dim=0, unbiased=True)
    return int((variances > threshold).sum()), variances.float()


@dataclass
class Evaluation:
    """Data-set averages in nats per image (the numbers `latentlab eval` prints)."""

    neg_elbo: float
    kl: float
    recon: float
    kl_per_dim: list[float]
    active_units: int
    iw_nll: float | None
    iw_nll_stderr: float | None  # standard error of the mean over images
    iw_samples: int
    n_images: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@torch.no_grad()
def evaluate(model: VAE, batches, iw_samples: int = 0, n_samples: int = 1,
             progress: Callable[[int], None] | None = None) -> Evaluation:
    """ELBO terms, active units and (if iw_samples > 0) the IW bound over an iterable of batches.

    `batches` yields float images in [0, 1] already on the model's device and already binarised
    the way the model was trained. `progress(n_images_done)` is called after every batch.
    """
    was_training = model.training
    model.eval()
    sums = {"recon": 0.0, "kl": 0.0}
    iw_per_image: list[torch.Tensor] = []
    kl_dims_sum = None
    means = []
    n = 0
    for x in batches:
        mu, logvar = model.encode(x)  # once: the same draws as model(x), and the means for active units
        log_px_z = model.log_likelihood(x, reparameterize(mu, logvar, n_samples))
        kl_dims = kl_per_dim(mu, logvar)
        sums["recon"] += float(-log_px_z.mean(0).sum())
        sums["kl"] += float(kl_dims.sum())
        kl_dims_sum = kl_dims.sum(0) if kl_dims_sum is None else kl_dims_sum + kl_dims.sum(0)
        means.append(mu.cpu())
        if iw_samples > 0:
            iw_per_image.append(-iw_log_likelihood(model, x, iw_samples).double().cpu())
        n += x.shape[0]
        if progress is not None:
            progress(n)
    model.train(was_training)
    if n == 0:
        raise ValueError("evaluate() got no images")
    au, _ = active_units(torch.cat(means))
    iw = torch.cat(iw_per_image) if iw_per_image else None
    return Evaluation(
        neg_elbo=(sums["recon"] + sums["kl"]) / n, kl=sums["kl"] / n, recon=sums["recon"] / n,
        kl_per_dim=(kl_dims_sum / n).tolist(), active_units=au,
        iw_nll=float(iw.mean()) if iw is not None else None,
        iw_nll_stderr=float(iw.std() / math.sqrt(n)) if iw is not None and n > 1 else None,
        iw_samples=iw_samples, n_images=n,
    )
