"""The floating-point work of the importance-weighted bound (`core/importance.py`), counted:
the numerator of `latentlab eval`'s floor in `benchmarks/eval_floor.py` (flops / the machine's
matrix-multiply rate). Counted on one forward pass of the model's own layers, so it holds for any
architecture; for the 784-512-512-2 MLP decoder it is 6.65 GFLOP per image at k = 5,000.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .importance import MLPDecoder
from .models import VAE


@dataclass(frozen=True)
class IWWork:
    """The floating-point work of the IW bound, per image, for k samples.

    `matmul_flops`: 2 m n p for every (m x n) @ (n x p) product (and convolution) of the k decoder
    passes, the x . l products and the one encoder pass. `elementwise_ops`: one per arithmetic
    operation on an element (bias add, ReLU, softplus, the sum over pixels, the few per sample for
    z, log p(z) and log q), a transcendental function counted as one. `flops` is their sum.
    """

    matmul_flops: int
    elementwise_ops: int
    k: int

    @property
    def flops(self) -> int:
        return self.matmul_flops + self.elementwise_ops


def _forward_work(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    """(matrix-product and convolution flops, elementwise ops: bias adds and activations) of one
    forward pass of `module` on one input of `shape`. A product of (m x n) by (n x p) is 2 m n p
    flops; a convolution 2 per weight per output position (per input position when transposed),
    as torch.utils.flop_counter counts them."""
    flops = elementwise = 0

    def count(m, inputs, output):
        nonlocal flops, elementwise
        if isinstance(m, nn.Linear):
            flops += 2 * output.numel() * m.in_features
        elif isinstance(m, nn.ConvTranspose2d):
            flops += 2 * inputs[0].numel() * m.weight[0].numel()
        elif isinstance(m, nn.Conv2d):
            flops += 2 * output.numel() * m.weight[0].numel()
        if isinstance(m, (nn.ReLU, nn.Sigmoid)) or getattr(m, "bias", None) is not None:
            elementwise += output.numel()

    p = next(module.parameters())
    hooks = [m.register_forward_hook(count) for m in module.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            module(torch.zeros((1, *shape), device=p.device, dtype=p.dtype))
    finally:
        for h in hooks:
            h.remove()
    return flops, elementwise


def iw_flops(model: VAE, k: int) -> IWWork:
    """What L_k of one image costs in `iw_bound`: k decoder passes and their likelihoods, the
    log-weights and their log-sum-exp, and the one encoder pass."""
    pixels, d = math.prod(model.image_shape), model.latent_dim
    dec_flops, dec_elementwise = _forward_work(model.decoder, (d,))
    enc_flops, enc_elementwise = _forward_work(model.encoder, tuple(model.image_shape))
    mlp = MLPDecoder.of(model)
    if model.likelihood == "bernoulli":
        # softplus and the sum per pixel; x . l as h . (W^T x) (once per image W^T x) on the MLP
        # path, else a multiply and an add per pixel
        per_pixel = 2
        if mlp is not None:
            hidden = mlp.last_weight.shape[1]
            x_dot_l, per_image = 2 * hidden, 2 * pixels * hidden
        else:
            x_dot_l, per_image = 2 * pixels, 0
    else:   # sigmoid, subtract, square per pixel; the dot product with 1/(2 v)
        per_pixel, x_dot_l, per_image = 3, 2 * pixels, 0
    # per latent dim: z = mu + sigma eps (2), eps^2 and z^2 with their sums (4); per sample: the
    # log-weight's adds (3) and the log-sum-exp's subtract, exp and add (3)
    per_sample = dec_elementwise + per_pixel * pixels + 6 * d + 6
    return IWWork(matmul_flops=k * (dec_flops + x_dot_l) + per_image + enc_flops,
                  elementwise_ops=k * per_sample + enc_elementwise, k=k)
