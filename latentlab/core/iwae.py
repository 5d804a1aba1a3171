"""The IWAE objective's forward pass (Burda, Grosse & Salakhutdinov 2016), as one module call.

Under torchrun the trainer wraps the module it calls in DistributedDataParallel, which averages
the gradients only of what went through the wrapper's forward. The ELBO's ingredients are the
VAE's own forward (models.VAE.forward); the IWAE bound also needs the samples z and q(z|x)'s
parameters, so this module runs the VAE's encoder and decoder inside one forward of its own and
returns plain tensors. The VAE stays the model (its weights are this module's weights); the
maths is core/objectives.py's.
"""

from __future__ import annotations

import torch
from torch import nn

from .events import STEP_BOUND, STEP_K, VAL_BOUND  # noqa: F401 (the names of its curves: public here)
from .objectives import kl_per_dim, log_importance_weights, reparameterize


class IwaeForward(nn.Module):
    """`forward(x)` -> (log-weights (K, B), log p(x|z) (K, B), KL per dimension (B, D)), the
    arguments of objectives.iwae_terms, for K reparameterised samples z_k ~ q(z|x)."""

    def __init__(self, model: nn.Module, k: int):
        super().__init__()
        self.model = model
        self.k = int(k)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.model.encode(x)
        z = reparameterize(mu, logvar, self.k)
        log_px_z = self.model.log_likelihood(x, z)
        return log_importance_weights(log_px_z, z, mu, logvar), log_px_z, kl_per_dim(mu, logvar)
