"""The importance-weighted bound at the speed of the matrix multiply, and what it costs.

L_k = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), needs k decoder passes per image
(k = 5,000 for the test NLL): 6.65 GFLOP of matrix products per image for the 784-512-512-2 MLP,
all the rest is small beside it. The floor of `latentlab eval` is that work over the machine's
matrix-multiply rate (`benchmarks/eval_floor.py`). The estimator before issue 14 sent 500 samples
of a batch of 100 images through the decoder at once (50,000 rows: 157 MB of logits, then several
passes over them for the binary cross-entropy), three times the floor on 2 cores. Here
(`iw_bound`):

* blocks of about `block_rows(model)` rows (several images x all their samples, or one image x
  part of its samples) per decoder call: large enough that the matrix products run at full rate,
  small enough (on a CPU: 512 rows per thread for MNIST) that the activations stay in the caches
  between the layers;
* for the MLP decoders the layers are applied directly (addmm, ReLU in place), and the
  likelihood is rewritten so that what does not depend on z is computed once per image:
  Bernoulli  log p(x|z) = x . l - sum softplus(l), with x . l = h . (W^T x) + b . x, where h is
  the last hidden layer and l = W h + b the logits: one matrix-vector product per block instead of
  a pass over every pixel of every sample (softplus and its sum are the per-pixel work left, about
  a tenth of the matrix products' time); Gaussian  log p(x|z) = -1/2 (x - m)^2 . (1/v) + const;
* log p(z) - log q(z|x) = 1/2 (|eps|^2 - |z|^2 + sum log sigma^2) from the noise eps itself;
* float32 throughout (the model's dtype): against float64 the bound moves by less than 0.01 nats
  (tests/test_importance.py), and each block's log-weights are merged with a running log-sum-exp;
  nothing is read back to the host before the end (a GPU never waits for Python);
* the noise is drawn image after image whatever the blocks (`_NoiseStream`), so the block size
  can follow the thread count while a seeded bound stays the same on every CPU.

Any other decoder (the conv body, a subclass that changes the likelihood) goes through
`model.log_likelihood` in the same blocks. `iw_flops` counts the floating-point work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .models import VAE

# Decoder rows (samples x images) per call, as activations: a block holds about this many numbers
# in its widest layer per CPU thread. 401,408 floats (1.6 MB) are 512 rows of the 784-pixel output
# of MNIST, and the 512-wide hidden layers of 512 rows (1 MB each) are what one core's L2 cache
# holds: the layers of a block then run from the caches, with the matrix products at their full
# rate (`benchmarks/eval_floor.py --sweep`). A small model gets more rows (fewer calls, the same
# bytes); a GPU wants far larger calls to fill its units.
CPU_BLOCK_FLOATS = 512 * 784
GPU_BLOCK_FLOATS = 1 << 25
MAX_CPU_BLOCK_ROWS = 1 << 14
MAX_GPU_BLOCK_ROWS = 1 << 20
# The noise is drawn image after image, this many samples at a time, whatever the blocks (see
# `_NoiseStream`): a seeded bound does not depend on the block size or the thread count. A GPU
# (another generator, other numbers anyway) draws larger pieces: fewer kernel launches.
NOISE_CHUNK = 512
GPU_NOISE_CHUNK = 1 << 16


def block_rows(model: VAE, device: torch.device | str | None = None) -> int:
    """Decoder rows per block of `iw_bound` for `model` on `device` (default: the model's)."""
    device = torch.device(device) if device is not None else model.device
    if device.type == "cpu":
        budget, most = CPU_BLOCK_FLOATS * torch.get_num_threads(), MAX_CPU_BLOCK_ROWS
    else:
        budget, most = GPU_BLOCK_FLOATS, MAX_GPU_BLOCK_ROWS
    return max(1, min(most, budget // _widest_activation(model)))


def _widest_activation(model: VAE) -> int:
    """The most numbers one sample has in any layer of the decoder (its hidden layers, the image)."""
    mlp = _MLPDecoder.of(model)
    if mlp is not None:
        return max(w.shape[1] for w in mlp.weights_t)
    widest = 0

    def note(_m, _inputs, output):
        nonlocal widest
        widest = max(widest, output[0].numel())

    hooks = [m.register_forward_hook(note) for m in model.decoder.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            p = next(model.parameters())
            model.decode_raw(torch.zeros(1, model.latent_dim, device=p.device, dtype=p.dtype))
    finally:
        for h in hooks:
            h.remove()
    return max(widest, math.prod(model.image_shape))


@dataclass(frozen=True)
class _MLPDecoder:
    """The decoder of an MLP VAE as matrices: h <- relu(h W_i^T + b_i), logits = h W^T + b."""

    weights_t: tuple[torch.Tensor, ...]   # W_i^T, (in, out): views, the BLAS reads them transposed
    biases: tuple[torch.Tensor, ...]

    @property
    def last_weight(self) -> torch.Tensor:
        """W of the output layer, (pixels, hidden)."""
        return self.weights_t[-1].t()

    @staticmethod
    def of(model: VAE) -> _MLPDecoder | None:
        """The matrices of `model`'s decoder, or None when it is not the plain MLP of `VAE` (then
        the estimator goes through `model.log_likelihood`, whatever the model does there)."""
        cls = type(model)
        if (cls.log_likelihood is not VAE.log_likelihood or cls.decode_raw is not VAE.decode_raw
                or model.config.architecture != "mlp"):
            return None
        body = model.decoder[0] if isinstance(model.decoder, nn.Sequential) and len(model.decoder) else None
        layers = list(body) if isinstance(body, nn.Sequential) else []
        linear = layers[0::2]
        if (not layers or len(layers) % 2 == 0 or not all(type(m) is nn.Linear for m in linear)
                or not all(type(m) is nn.ReLU for m in layers[1::2])):
            return None
        return _MLPDecoder(weights_t=tuple(m.weight.detach().t() for m in linear),
                           biases=tuple(m.bias.detach() for m in linear))

    def last_hidden(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for w_t, b in zip(self.weights_t[:-1], self.biases[:-1]):
            h = torch.addmm(b, h, w_t).relu_()
        return h

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.biases[-1], h, self.weights_t[-1])


class _Likelihood:
    """log p(x|z) for a block of G images x S samples, with its z-free parts computed once per image."""

    def __init__(self, model: VAE, x: torch.Tensor):
        self.model = model
        self.mlp = _MLPDecoder.of(model)
        self.x = x                                   # (B, C, H, W)
        self.bernoulli = model.likelihood == "bernoulli"
        xf = x.flatten(1)
        if self.mlp is None:
            return
        if self.bernoulli:
            self.x_dot_w = xf @ self.mlp.last_weight     # (B, hidden): W^T x
            self.x_dot_b = xf @ self.mlp.biases[-1]      # (B,): b . x
        else:
            logvar = model._decoder_logvar().flatten().to(xf.dtype)
            self.xf = xf
            self.half_precision = 0.5 * torch.exp(-logvar)                  # (P,)
            self.const = -0.5 * (logvar.sum() + logvar.numel() * math.log(2 * math.pi))

    def __call__(self, first: int, z: torch.Tensor) -> torch.Tensor:
        """log p(x_g|z_gs) for images first ... first + G - 1 and z (G, S, D): (G, S)."""
        g, s, d = z.shape
        if self.mlp is None:   # any decoder: (S, G, D) against (G, C, H, W), as log_likelihood takes it
            return self.model.log_likelihood(self.x[first:first + g], z.transpose(0, 1)).transpose(0, 1)
        h = self.mlp.last_hidden(z.reshape(g * s, d))
        logits = self.mlp.logits(h)                                          # (G*S, P)
        if self.bernoulli:
            x_dot_l = torch.bmm(h.view(g, s, -1), self.x_dot_w[first:first + g, :, None]).view(g, s)
            return x_dot_l + self.x_dot_b[first:first + g, None] - F.softplus(logits).sum(1).view(g, s)
        diff = torch.sigmoid_(logits).view(g, s, -1).sub_(self.xf[first:first + g, None, :])
        return self.const - diff.square_() @ self.half_precision


def _noise(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """eps ~ N(0, I) from torch's global generator (a seam: tests draw the same eps in float64)."""
    return torch.randn(shape, device=like.device, dtype=like.dtype)


class _NoiseStream:
    """The noise of image after image, each image's k samples drawn NOISE_CHUNK at a time (on a CPU), in
    that order, whichever blocks take them: so with the same seed the bound is the same whatever
    the block size, and the block size can follow the machine (its threads) without changing it."""

    def __init__(self, k: int, d: int, like: torch.Tensor):
        self.k, self.d, self.like = k, d, like
        self.chunk = NOISE_CHUNK if like.device.type == "cpu" else GPU_NOISE_CHUNK
        self.left = 0                                    # samples of this image not drawn yet
        self.drawn = like.new_empty((0, d))              # drawn, not taken yet

    def take(self, n: int) -> torch.Tensor:
        """The next n samples of this image (starting on the next image when this one is done), (n, D)."""
        if self.left == 0 and len(self.drawn) == 0:
            self.left = self.k
        parts, have = [self.drawn], len(self.drawn)
        while have < n:
            size = min(self.chunk, self.left)
            if size == 0:
                raise RuntimeError(f"a block asked for {n} samples of an image that has {self.k}")
            parts.append(_noise((size, self.d), self.like))
            self.left -= size
            have += size
        out = torch.cat(parts) if len(parts) > 1 else parts[0]
        self.drawn = out[n:]
        return out[:n]


def _plan(k: int, n_images: int, rows: int, chunk: int | None) -> tuple[int, int]:
    """(images per block G, samples per block S): G * S about `rows`, S at most `chunk`; several
    images in a block only with all their samples (the noise comes image after image)."""
    s = min(k, chunk if chunk else rows)
    return (max(1, min(n_images, rows // k)) if s == k else 1), s


@torch.no_grad()
def iw_bound(model: VAE, x: torch.Tensor, k: int, chunk: int | None = None,
             rows: int | None = None) -> torch.Tensor:
    """L_k per image, shape (B,), in the model's dtype on its device (see the module docstring).

    Samples come from torch's global generator, drawn in an order that does not depend on the
    blocks: at most `chunk` samples of one image per block, blocks of about `rows` decoder rows
    (default `block_rows(model)`). Nothing is read back to the host until the end.
    """
    if k < 1:
        raise ValueError(f"the importance-weighted bound needs k >= 1 samples, got {k}")
    mu, logvar = model.encode(x)
    std = torch.exp(0.5 * logvar)
    half_log_det = 0.5 * logvar.sum(1)         # log q's normaliser against p's: -1/2 sum log sigma^2
    likelihood = _Likelihood(model, x.to(mu.dtype))
    n, d = mu.shape
    g_max, s_max = _plan(k, n, rows or block_rows(model, mu.device), chunk)
    noise = _NoiseStream(k, d, mu)
    out = torch.empty(n, device=mu.device, dtype=mu.dtype)
    for first in range(0, n, g_max):
        g = min(g_max, n - first)
        m, sd, hld = mu[first:first + g, None, :], std[first:first + g, None, :], half_log_det[first:first + g, None]
        total = torch.full((g,), -math.inf, device=mu.device, dtype=mu.dtype)
        for done in range(0, k, s_max):
            s = min(s_max, k - done)
            eps = torch.stack([noise.take(s) for _ in range(g)])                 # (G, S, D)
            z = torch.addcmul(m, sd, eps)
            # log p(z) - log q(z|x): the 2 pi terms cancel, (z - mu)^2 / sigma^2 is eps^2
            log_w = likelihood(first, z) + 0.5 * (eps.square().sum(2) - z.square().sum(2)) + hld
            total = torch.logaddexp(total, torch.logsumexp(log_w, dim=1))
        out[first:first + g] = total
    return out - math.log(k)


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
    mlp = _MLPDecoder.of(model)
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
