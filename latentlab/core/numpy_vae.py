"""A VAE's MLP decoder in NumPy, with its encoded test set, read from a checkpoint without torch.

The app's first look (gui/first_look.py) needs, for the model it opens, the scatter of the encoded
test set and the decoder's mean image at the point under the mouse, within a second of launch;
importing torch alone takes longer. For an MLP VAE (core/models.py: `decoder.0` is Linear, ReLU,
..., Linear, and the mean of p(x|z) is the sigmoid of the last layer's output, for the Bernoulli
and the Gaussian likelihood alike) that is a few matrix products, done here in float32 as torch
does: the pixels agree with the torch model's (tests/test_numpy_vae.py).

`read_quick_model(path)` returns None for a model this does not handle (a convolutional VAE, an
M2 or M1+M2, a file without a test set, settings it does not know): the app then starts the usual
way, as it does when this raises CheckpointError for a file that cannot be read at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .checkpoint_files import MAX_CHECKPOINT_BYTES
from .torchless_checkpoint import read_checkpoint_arrays

__all__ = ["NEWEST_FORMAT_VERSION", "MLPDecoder", "QuickModel", "read_quick_model", "to_uint8"]

FORMAT_NAME = "latentlab-checkpoint"
# The checkpoint formats this reader knows (core/checkpoint.py FORMAT_VERSION; a test keeps the
# two equal): a newer file may store a VAE differently, so it is left to the full reader.
NEWEST_FORMAT_VERSION = 2
LIKELIHOODS = ("bernoulli", "gaussian")   # both: mean image = sigmoid(last layer)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """One image (C, H, W) in [0, 1] -> uint8 (H, W) grey or (H, W, 3) RGB at fixed levels, rounded
    as the window rounds torch's images (app/jobs.py image_array)."""
    array = np.rint(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)
    return array[0] if array.shape[0] == 1 else np.ascontiguousarray(array.transpose(1, 2, 0))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow for large |x| (in x's precision)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


@dataclass(frozen=True)
class MLPDecoder:
    """Linear layers with ReLU between them, then a sigmoid: the mean of p(x|z)."""

    weights: tuple[np.ndarray, ...]   # float32 (in, out) each: z @ W is torch's Linear without its bias
    biases: tuple[np.ndarray, ...]    # float32 (out,)
    image_shape: tuple[int, int, int]

    @property
    def latent_dim(self) -> int:
        return self.weights[0].shape[0]

    def decode(self, z) -> np.ndarray:
        """Mean images (B, C, H, W) float32 in [0, 1] for latents z (B, D) or (D,) (then B = 1)."""
        h = np.asarray(z, dtype=np.float32).reshape(-1, self.latent_dim)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i < last:
                h = np.maximum(h, 0.0)
        return _sigmoid(h).reshape(-1, *self.image_shape)

    def decode_image(self, z) -> np.ndarray:
        """The image the window shows for one latent z (D,): uint8 (H, W) or (H, W, 3)."""
        return to_uint8(self.decode(z)[0])


@dataclass(frozen=True)
class QuickModel:
    """What the first look shows of a checkpoint: the decoder and the encoded test set."""

    decoder: MLPDecoder
    scatter_means: np.ndarray             # (N, D) float64, as the window's Scatter holds them
    scatter_labels: np.ndarray | None     # (N,) int64, or None when the test set has no labels
    label_names: list[str] | None
    model_config: dict

    @property
    def latent_dim(self) -> int:
        return self.decoder.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.decoder.image_shape


def read_quick_model(path: str | os.PathLike, *, max_bytes: int = MAX_CHECKPOINT_BYTES) -> QuickModel | None:
    """The MLP VAE of a checkpoint with its test set, read without torch; None for a model this
    does not handle (see the module docstring). Raises CheckpointError for an unreadable file."""
    payload = read_checkpoint_arrays(path, max_bytes=max_bytes)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        return None
    version = payload.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= NEWEST_FORMAT_VERSION:
        return None
    if payload.get("model_kind", "vae") not in (None, "vae"):
        return None                                   # M2, M1+M2
    config = payload.get("model_config")
    weights = payload.get("state_dict")
    if not isinstance(config, dict) or not isinstance(weights, dict):
        return None
    decoder = _decoder(config, weights)
    scatter = _scatter(payload.get("extras"), None if decoder is None else decoder.latent_dim)
    if decoder is None or scatter is None:
        return None
    return QuickModel(decoder, *scatter, model_config=dict(config))


def _whole_numbers(value, count: int | None = None) -> tuple[int, ...] | None:
    if not isinstance(value, (list, tuple)) or (count is not None and len(value) != count):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        return None
    return tuple(value)


def _decoder(config: dict, weights: dict) -> MLPDecoder | None:
    """The decoder of an MLP VAE (VAE.__init__: `_mlp([D, *hidden[::-1], C*H*W])` as `decoder.0`),
    its layer shapes checked against the settings; None for anything else."""
    if config.get("architecture", "mlp") != "mlp" or config.get("likelihood", "bernoulli") not in LIKELIHOODS:
        return None
    image_shape = _whole_numbers(config.get("image_shape", (1, 28, 28)), 3)
    hidden = _whole_numbers(config.get("hidden_sizes", (512, 512)))
    latent_dim = config.get("latent_dim", 2)
    if image_shape is None or not hidden or _whole_numbers([latent_dim]) is None:
        return None
    sizes = [latent_dim, *hidden[::-1], int(np.prod(image_shape))]
    ws, bs = [], []
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w, b = weights.get(f"decoder.0.{2 * layer}.weight"), weights.get(f"decoder.0.{2 * layer}.bias")
        if not (isinstance(w, np.ndarray) and isinstance(b, np.ndarray)) or w.shape != (n_out, n_in) \
                or b.shape != (n_out,) or w.dtype.kind != "f" or b.dtype.kind != "f":
            return None
        # float16 / float64 weights become float32 as torch's load_state_dict makes them.
        ws.append(np.ascontiguousarray(w.astype(np.float32).T))
        bs.append(b.astype(np.float32))
    if f"decoder.0.{2 * len(ws)}.weight" in weights:
        return None                                   # more layers than the settings say
    return MLPDecoder(tuple(ws), tuple(bs), image_shape)


def _scatter(extras, latent_dim: int | None):
    """(means (N, D) float64, labels (N,) int64 or None, names or None), as app/scatter.py reads
    them after core/checkpoint_schema.py (means through float32); None without a usable one."""
    if latent_dim is None or not isinstance(extras, dict):
        return None
    means = extras.get("scatter_means")
    if not isinstance(means, np.ndarray) or means.ndim != 2 or means.shape[1] != latent_dim \
            or len(means) == 0 or means.dtype.kind != "f":
        return None
    means = means.astype(np.float32).astype(np.float64)
    labels = extras.get("scatter_labels")
    if labels is not None:
        if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu" or labels.shape != (len(means),):
            return None
        labels = labels.astype(np.int64)
        if labels.min() < -1:
            return None
        if labels.max() < 0:
            labels = None      # no labels at all (Frey Face stores -1 for every image)
    names = extras.get("label_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        return None
    return means, labels, (list(names) if names else None)
