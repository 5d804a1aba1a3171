"""Evaluating a trained VAE: the importance-weighted bound of Burda et al. (2016), active units,
and `evaluate`, the data-set averages `latentlab eval` and the trainer's validation report.

For a 2-D latent space `evaluate(..., exact=True)` adds the exact log p(x) by quadrature
(`core/exact.py`) on the same images, so the ELBO, the IW bound and the number they bound can be
compared image by image. Every mean is the mean of the per-image numbers it reports
(`Evaluation.per_image`), so a table of them (`latentlab eval --per-image`) adds up to the report.

Kept apart from `objectives.py` (what training minimises) so the model and its objective do not
import each other: models -> objectives, evaluation -> models + objectives + exact + importance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from .exact import quadrature
from .importance import iw_bound
from .models import VAE
from .objectives import kl_per_dim, reparameterize


@torch.no_grad()
def iw_log_likelihood(model: VAE, x: torch.Tensor, k: int = 5000, chunk: int | None = None) -> torch.Tensor:
    """Importance-weighted bound L_k on log p(x) per image (Burda et al. 2016), shape (B,).

    log p(x) >= log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x). L_1 is the ELBO; L_k increases
    towards log p(x) as k grows. The samples go through the decoder in blocks of several images x
    many samples (at most `chunk` samples of an image at a time, if given), merged with a running
    log-sum-exp, so memory is bounded whatever k is; `core/importance.py` says how the blocks run
    at the speed of the decoder's matrix products.
    """
    return iw_bound(model, x, k, chunk=chunk)


def active_units(means: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Burda et al.'s active units: dimension u is active when Cov_x(E_q[z_u]) > threshold.

    `means` holds the posterior means of a data set, shape (N, D). Returns the count and the
    per-dimension variances.
    """
    variances = means.double().var(dim=0, unbiased=True)
    return int((variances > threshold).sum()), variances.float()


@dataclass
class PerImage:
    """The numbers of every image, in nats, float64 tensors of shape (N,) in data order.

    neg_elbo = recon + kl; recon is a Monte Carlo estimate (the `n_samples` draws of `evaluate`),
    so the gap neg_elbo - exact_nll of one image is noisy (it can even come out negative), while
    its mean over many images is not. iw_nll / exact_nll are None when they were not computed.
    """

    neg_elbo: torch.Tensor
    kl: torch.Tensor
    recon: torch.Tensor
    iw_nll: torch.Tensor | None = None
    exact_nll: torch.Tensor | None = None
    exact_decodes: torch.Tensor | None = None   # decoder evaluations spent per image (own + shared)

    @property
    def gap(self) -> torch.Tensor | None:
        """log p(x) - ELBO per image (= KL(q(z|x) || p(z|x)), up to the ELBO's sampling noise)."""
        return None if self.exact_nll is None else self.neg_elbo - self.exact_nll

    def __len__(self) -> int:
        return len(self.neg_elbo)


@dataclass
class Evaluation:
    """Data-set averages in nats per image (the numbers `latentlab eval` prints).

    `to_dict()` holds the averages only (the JSON of `latentlab eval`); `per_image` has the
    numbers they are the means of.
    """

    neg_elbo: float
    kl: float
    recon: float
    kl_per_dim: list[float]
    active_units: int
    iw_nll: float | None
    iw_nll_stderr: float | None  # standard error of the mean over images
    iw_samples: int
    n_images: int
    exact_nll: float | None = None           # -log p(x) by quadrature (2-D only), mean over images
    exact_nll_stderr: float | None = None    # its standard error over images
    exact_decodes_per_image: float | None = None  # mean decoder evaluations per image, shared grid included
    per_image: PerImage | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        out.pop("per_image")
        return out


def _mean_and_stderr(values: torch.Tensor | None) -> tuple[float | None, float | None]:
    if values is None:
        return None, None
    n = len(values)
    return float(values.mean()), (float(values.std() / math.sqrt(n)) if n > 1 else None)


def check_exact_possible(model: VAE) -> None:
    """ValueError unless exact evaluation (quadrature over the latent space) works for `model`."""
    if model.latent_dim != 2:
        raise ValueError(f"exact evaluation needs a 2-D latent space; this model has {model.latent_dim} "
                         "dimensions (the importance-weighted bound is the estimate for it)")


@torch.no_grad()
def evaluate(model: VAE, batches, iw_samples: int = 0, n_samples: int = 1,
             progress: Callable[[int], None] | None = None, exact: bool = False) -> Evaluation:
    """ELBO terms, active units, (if iw_samples > 0) the IW bound and (if `exact`, 2-D models only)
    the exact -log p(x) by quadrature, over an iterable of batches.

    `batches` yields float images in [0, 1] already on the model's device and already binarised
    the way the model was trained; every number is computed on the same images. The quadrature
    shares one global grid among the images of a batch (up to `quadrature`'s own batch of 128),
    so larger batches cost fewer decodes per image. `progress(n_images_done)` is called after every batch. ValueError for `exact` with a
    latent space that is not 2-D, before any work.
    """
    if exact:
        check_exact_possible(model)
    was_training = model.training
    model.eval()
    recon, kl, iw, exact_nll, decodes = [], [], [], [], []
    kl_dims_sum = None
    means = []
    n = 0
    try:
        for x in batches:
            mu, logvar = model.encode(x)  # once: the same draws as model(x), and the means for active units
            log_px_z = model.log_likelihood(x, reparameterize(mu, logvar, n_samples))
            kl_dims = kl_per_dim(mu, logvar)
            recon.append(-log_px_z.mean(0).double().cpu())
            kl.append(kl_dims.sum(1).double().cpu())
            kl_dims_sum = kl_dims.sum(0) if kl_dims_sum is None else kl_dims_sum + kl_dims.sum(0)
            means.append(mu.cpu())
            if iw_samples > 0:
                iw.append(-iw_log_likelihood(model, x, iw_samples).double().cpu())
            if exact:
                found = quadrature(model, x)   # its own batches bound the memory of a large one
                exact_nll.append(torch.tensor([-q.log_px for q in found], dtype=torch.float64))
                decodes.append(torch.tensor([q.decodes + q.shared_decodes for q in found], dtype=torch.float64))
            n += x.shape[0]
            if progress is not None:
                progress(n)
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("evaluate() got no images")
    au, _ = active_units(torch.cat(means))
    recon_t, kl_t = torch.cat(recon), torch.cat(kl)
    per_image = PerImage(neg_elbo=recon_t + kl_t, kl=kl_t, recon=recon_t,
                         iw_nll=torch.cat(iw) if iw else None,
                         exact_nll=torch.cat(exact_nll) if exact else None,
                         exact_decodes=torch.cat(decodes) if exact else None)
    iw_mean, iw_se = _mean_and_stderr(per_image.iw_nll)
    exact_mean, exact_se = _mean_and_stderr(per_image.exact_nll)
    return Evaluation(
        neg_elbo=float(per_image.neg_elbo.mean()), kl=float(kl_t.mean()), recon=float(recon_t.mean()),
        kl_per_dim=(kl_dims_sum / n).tolist(), active_units=au,
        iw_nll=iw_mean, iw_nll_stderr=iw_se, iw_samples=iw_samples, n_images=n,
        exact_nll=exact_mean, exact_nll_stderr=exact_se,
        exact_decodes_per_image=float(per_image.exact_decodes.mean()) if exact else None,
        per_image=per_image,
    )
