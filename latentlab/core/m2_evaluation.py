"""Evaluating M2 and M1+M2: test error, per-class accuracy and the bounds, in one pass.

What `latentlab eval` prints for a semi-supervised model and what the trainer reports at every
epoch's end. Classification uses argmax q(y|x) (for M1+M2 on M1's posterior mean, no sampling).
The bounds, in nats per image on the vectors M2 models (pixels for M2, M1's latent for M1+M2):
-U(x), the bound on -log p(x) with the class unknown, and -L(x, y) with the true class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .evaluation import active_units
from .m2 import SemiSupervised
from .m2_objectives import labelled_bound, unlabelled_bound


@dataclass
class SemiEvaluation:
    error: float                     # test error, % of images
    class_accuracy: list[float]      # % correct per class (NaN for a class with no image)
    class_counts: list[int]
    neg_elbo: float                  # mean -U(x): the bound with the class unknown
    kl: float                        # its expected KL
    recon: float
    kl_per_dim: list[float]
    active_units: int                # of the style z, over the posterior means under the true class
    labelled_neg_elbo: float         # mean -L(x, y) with the true class
    n_images: int
    confusion: list[list[int]] = field(default_factory=list, repr=False)   # [true][predicted]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@torch.no_grad()
def evaluate_semi(model: SemiSupervised, batches) -> SemiEvaluation:
    """`batches` yields (images, labels) on the model's device, images binarised as in training."""
    was_training = model.training
    model.eval()
    k = model.num_classes
    confusion = torch.zeros(k, k, dtype=torch.long)
    neg_u, kl, recon, neg_l, means = [], [], [], [], []
    kl_dims_sum = None
    n = 0
    try:
        for x, y in batches:
            v = model.vectors(x)
            logits = model.core.classify_vectors(v)
            predicted = logits.argmax(-1)
            confusion += torch.bincount((y * k + predicted).cpu(), minlength=k * k).view(k, k)
            u = unlabelled_bound(model.core, v, logits)
            neg_u.append(u.neg_bound.double().cpu())
            kl.append(u.kl_dims.sum(-1).double().cpu())
            recon.append(u.recon.double().cpu())
            kl_dims_sum = u.kl_dims.sum(0) if kl_dims_sum is None else kl_dims_sum + u.kl_dims.sum(0)
            neg_l.append(labelled_bound(model.core, v, y).neg_bound.double().cpu())
            means.append(model.core.encode_vectors(v, y)[0].cpu())
            n += x.shape[0]
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("evaluate_semi() got no images")
    counts = confusion.sum(1)
    correct = confusion.diag()
    accuracy = [100.0 * float(c) / float(t) if t else float("nan") for c, t in zip(correct, counts)]
    au, _ = active_units(torch.cat(means))
    return SemiEvaluation(
        error=100.0 * (1.0 - float(correct.sum()) / n), class_accuracy=accuracy,
        class_counts=[int(c) for c in counts], neg_elbo=float(torch.cat(neg_u).mean()),
        kl=float(torch.cat(kl).mean()), recon=float(torch.cat(recon).mean()),
        kl_per_dim=(kl_dims_sum / n).tolist(), active_units=au,
        labelled_neg_elbo=float(torch.cat(neg_l).mean()), n_images=n, confusion=confusion.tolist())
