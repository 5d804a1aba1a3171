"""The importance-weighted bound at the speed of the matrix multiply.

L_k = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), needs k decoder passes per image
(k = 5,000 for the test NLL): 6.65 GFLOP of matrix products per image for the 784-512-512-2 MLP,
all the rest is small beside it. The floor of `latentlab eval` is that work over the machine's
matrix-multiply rate (`benchmarks/eval_floor.py`). The estimator before issue 14 sent 500 samples
of a batch of 100 images through the decoder at once (50,000 rows: 157 MB of logits, then several
passes over them for the binary cross-entropy), three times the floor on 2 cores. Here
(`iw_bound`):

* blocks of about `block_rows(model)` rows (several images x all their samples, or one image x
  part of its samples) per decoder call: large enough that the matrix products run at full rate,
  small enough (on a CPU: 512 rows for MNIST) that the activations stay in one core's cache
  between the layers;
* on a CPU each of torch's threads runs its own share of the blocks with one torch thread: no
  thread waits at the end of every operation for the others (on a shared machine a waiting
  thread whose partner is descheduled loses its time slice, operation after operation);
* for the MLP decoders the layers are applied directly (addmm, ReLU in place), and the
  likelihood is rewritten so that what does not depend on z is computed once per image:
  Bernoulli  log p(x|z) = x . l - sum softplus(l), with x . l = h . (W^T x) + b . x, where h is
  the last hidden layer and l = W h + b the logits: one matrix-vector product per block instead of
  a pass over every pixel of every sample (softplus and its sum are the per-pixel work left, about
  a tenth of the matrix products' time); Gaussian  log p(x|z) = -1/2 (x - m)^2 . (1/v) + const;
* log p(z) - log q(z|x) = 1/2 (|eps|^2 - |z|^2 + sum log sigma^2) from the noise eps itself;
* float32 throughout (the model's dtype): against float64 the bound moves by less than 0.01 nats
  (tests/test_importance.py), and each block's log-weights are merged with a running log-sum-exp;
  nothing is read back to the host before the end (no synchronisation per block on a GPU);
* the noise of every image and piece of its samples has its own seed (`_block_noise`), drawn
  from torch's global generator: a seeded bound is the same whatever the blocks and threads.

Any other decoder (the conv body, a subclass that changes the likelihood) goes through
`model.log_likelihood` in the same blocks. `core/iw_work.py` counts the floating-point work.
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .models import VAE

# Decoder rows (samples x images) per call, as activations: a block holds about this many numbers
# in its widest layer. 401,408 floats (1.6 MB) are 512 rows of the 784-pixel output of MNIST, and
# the 512-wide hidden layers of 512 rows (1 MB each) are what one core's L2 cache holds: the layers
# of a block then run from the cache, with the matrix products at their full rate
# (`benchmarks/eval_floor.py --sweep`). A small model gets more rows (fewer calls, the same bytes);
# a GPU wants far larger calls to fill its units.
CPU_BLOCK_FLOATS = 512 * 784
GPU_BLOCK_FLOATS = 1 << 25
MAX_CPU_BLOCK_ROWS = 1 << 14
MAX_GPU_BLOCK_ROWS = 1 << 20
# The noise of image i, samples j * NOISE_CHUNK ... (j + 1) * NOISE_CHUNK - 1, comes from a
# generator seeded with (seed_i, j), and seed_i from torch's global generator: so with the same
# seed the bound is the same whatever the blocks and threads. A GPU (another generator, other
# numbers anyway) draws larger pieces: fewer kernel launches.
NOISE_CHUNK = 512
GPU_NOISE_CHUNK = 1 << 16


def block_rows(model: VAE, device: torch.device | str | None = None) -> int:
    """Decoder rows per block of `iw_bound` for `model` on `device` (default: the model's).

    On a CPU each thread runs its own blocks (`iw_bound`), so this is one core's share."""
    device = torch.device(device) if device is not None else model.device
    budget, most = ((CPU_BLOCK_FLOATS, MAX_CPU_BLOCK_ROWS) if device.type == "cpu"
                    else (GPU_BLOCK_FLOATS, MAX_GPU_BLOCK_ROWS))
    return max(1, min(most, budget // _widest_activation(model)))


def _widest_activation(model: VAE) -> int:
    """The most numbers one sample has in any layer of the decoder (its hidden layers, the image)."""
    mlp = MLPDecoder.of(model)
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
class MLPDecoder:
    """The decoder of an MLP VAE as matrices: h <- relu(h W_i^T + b_i), logits = h W^T + b."""

    weights_t: tuple[torch.Tensor, ...]   # W_i^T, (in, out): views, the BLAS reads them transposed
    biases: tuple[torch.Tensor, ...]

    @property
    def last_weight(self) -> torch.Tensor:
        """W of the output layer, (pixels, hidden)."""
        return self.weights_t[-1].t()

    @staticmethod
    def of(model: VAE) -> MLPDecoder | None:
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
        return MLPDecoder(weights_t=tuple(m.weight.detach().t() for m in linear),
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
        self.mlp = MLPDecoder.of(model)
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


def _noise(shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """eps ~ N(0, I) (a seam: tests draw the same eps in float64)."""
    return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)


def _image_seeds(n: int) -> list[int]:
    """One seed per image from torch's global generator: what `torch.manual_seed` fixes."""
    return torch.randint(0, 2 ** 62, (n,)).tolist()


def _noise_chunk(like: torch.Tensor) -> int:
    return NOISE_CHUNK if like.device.type == "cpu" else GPU_NOISE_CHUNK


def _block_noise(seeds: list[int], k: int, d: int, start: int, s: int, like: torch.Tensor) -> torch.Tensor:
    """eps of samples start ... start + s - 1 of each image of `seeds`, (G, S, D): a function of
    the seeds and the sample numbers only, so any block and any thread draws the same."""
    c = _noise_chunk(like)
    first_chunk, end_chunk = start // c, -(-(start + s) // c)
    out = []
    for seed in seeds:
        pieces = []
        for j in range(first_chunk, end_chunk):
            g = torch.Generator(device=like.device).manual_seed((seed + j * 1_000_003) % 2 ** 63)
            pieces.append(_noise((min(c, k - j * c), d), like, g))
        eps = torch.cat(pieces) if len(pieces) > 1 else pieces[0]
        out.append(eps[start - first_chunk * c:start - first_chunk * c + s])
    return torch.stack(out)


@dataclass(frozen=True)
class _Block:
    """Images first ... first + g - 1, samples start ... start + s - 1 of each."""

    first: int
    g: int
    start: int
    s: int


def _blocks(k: int, n_images: int, rows: int, chunk: int | None) -> list[_Block]:
    """Blocks of about `rows` decoder rows: several images with all their samples, or one image
    with at most `chunk` (else `rows`) of its samples."""
    s_max = min(k, chunk if chunk else rows)
    if s_max == k:
        per = max(1, rows // k)
        return [_Block(f, min(per, n_images - f), 0, k) for f in range(0, n_images, per)]
    return [_Block(i, 1, start, min(s_max, k - start)) for i in range(n_images) for start in range(0, k, s_max)]


def _shares(blocks: list[_Block], parts: int) -> list[list[_Block]]:
    """`blocks` cut into at most `parts` runs of consecutive blocks with about as many rows each
    (each cut at the block boundary nearest its share)."""
    ends = list(itertools.accumulate(b.g * b.s for b in blocks))
    cuts = [0]
    for p in range(1, parts):
        target = ends[-1] * p / parts
        after = min(range(len(ends)), key=lambda i: abs(ends[i] - target)) + 1
        if cuts[-1] < after < len(blocks):
            cuts.append(after)
    cuts.append(len(blocks))
    return [blocks[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


class _Run:
    """The log-sum-exp over samples of each block's log-weights, for the blocks of one thread."""

    def __init__(self, model: VAE, x: torch.Tensor, k: int):
        self.mu, logvar = model.encode(x)
        self.std = torch.exp(0.5 * logvar)
        self.half_log_det = 0.5 * logvar.sum(1)   # log q's normaliser against p's: -1/2 sum log sigma^2
        self.likelihood = _Likelihood(model, x.to(self.mu.dtype))
        self.seeds = _image_seeds(len(x))
        self.k = k

    def __call__(self, blocks: list[_Block], one_thread: bool = False) -> list[torch.Tensor]:
        with torch.no_grad():                     # grad mode is per thread
            if one_thread:
                torch.set_num_threads(1)          # this thread's BLAS and OpenMP only
            return [self._block(b) for b in blocks]

    def _block(self, b: _Block) -> torch.Tensor:
        images = slice(b.first, b.first + b.g)
        eps = _block_noise(self.seeds[images], self.k, self.mu.shape[1], b.start, b.s, self.mu)
        z = torch.addcmul(self.mu[images, None, :], self.std[images, None, :], eps)
        # log p(z) - log q(z|x): the 2 pi terms cancel, (z - mu)^2 / sigma^2 is eps^2
        log_w = (self.likelihood(b.first, z) + 0.5 * (eps.square().sum(2) - z.square().sum(2))
                 + self.half_log_det[images, None])
        return torch.logsumexp(log_w, dim=1)


@torch.no_grad()
def iw_bound(model: VAE, x: torch.Tensor, k: int, chunk: int | None = None, rows: int | None = None,
             threads: int | None = None) -> torch.Tensor:
    """L_k per image, shape (B,), in the model's dtype on its device (see the module docstring).

    The noise is seeded from torch's global generator, one seed per image, and does not depend on
    the blocks (at most `chunk` samples of one image each, about `rows` decoder rows, default
    `block_rows(model)`) or the threads. On a CPU `threads` (default: torch's intra-op threads)
    Python threads each run a share of the blocks with one torch thread: no thread waits for
    another inside an operation, and each core keeps its own block in its cache. Nothing is read
    back to the host before the end.
    """
    if k < 1:
        raise ValueError(f"the importance-weighted bound needs k >= 1 samples, got {k}")
    run = _Run(model, x, k)
    blocks = _blocks(k, len(x), rows or block_rows(model, run.mu.device), chunk)
    on_cpu = run.mu.device.type == "cpu"
    parts = min(len(blocks), (threads or torch.get_num_threads()) if on_cpu else 1)
    if parts > 1:
        before = torch.get_num_threads()
        try:
            with ThreadPoolExecutor(parts, thread_name_prefix="iw-bound") as pool:
                sums = [s for share in pool.map(lambda share: run(share, one_thread=True), _shares(blocks, parts))
                        for s in share]
        finally:
            torch.set_num_threads(before)     # the process-wide default the workers' calls changed
    else:
        sums = run(blocks)
    total = torch.full((len(x),), -math.inf, device=run.mu.device, dtype=run.mu.dtype)
    for b, lse in zip(blocks, sums):          # in block order: the same sums whatever the threads
        total[b.first:b.first + b.g] = torch.logaddexp(total[b.first:b.first + b.g], lse)
    return total - math.log(k)
