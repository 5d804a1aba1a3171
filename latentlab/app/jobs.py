"""The work the explorer runs in the background: decoding, encoding, figures, reading images.

Plain functions of their inputs (a model, latents, pixels, a file), returning typed results; the
explorer runs them on a latest-wins thread (see job_queue.py) and applies the results to its
state on the GUI thread. Nothing here keeps state or knows about views. Model functions expect to
run under `torch.inference_mode()`, which the job queue provides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from latentlab.core.images import PreparedImage, load_image, prepare_picture

from .plane import LatentPlane

POSTERIOR_SAMPLES = 4      # draws from q(z|x) shown for an encoded image
KEPT_PICTURE_SIDE = 1024   # a pasted picture is kept at most this big, to prepare it again later


# -- decoding -------------------------------------------------------------------------------------
def image_array(images) -> np.ndarray:
    """(1, C, H, W) in [0, 1] -> uint8 (H, W) grey or (H, W, 3) RGB at fixed levels (0 -> 0, 1 -> 255).

    Same rounding as core.figures.to_uint8, done in numpy: for one small image that is a few
    microseconds instead of ~0.2 ms of torch op dispatch, and it is on every hover's path.
    """
    array = images[0].detach().cpu().numpy()
    array = np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    return array[0] if array.shape[0] == 1 else np.ascontiguousarray(array.transpose(1, 2, 0))


def decode_point(model, z, sample: bool = False, seed: int | None = None) -> np.ndarray:
    """The decoder's mean image at latent z (D,), or one sample of p(x|z) when `sample`."""
    import torch

    zt = torch.as_tensor(z, dtype=torch.float32, device=model.device).reshape(1, -1)
    if not sample:
        return image_array(model.decode(zt))
    generator = None if seed is None else torch.Generator(device=model.device).manual_seed(seed)
    return image_array(model.sample_x(zt, generator=generator))


def decode_points(model, z, sample: bool = False, seed: int = 0) -> list[np.ndarray]:
    """Images at several latents (K, D), as a list of uint8 arrays."""
    import torch

    zt = torch.as_tensor(z, dtype=torch.float32, device=model.device).reshape(-1, model.latent_dim)
    if len(zt) == 0:
        return []
    if sample:
        generator = torch.Generator(device=model.device).manual_seed(seed)
        images = model.sample_x(zt, generator=generator)
    else:
        images = model.decode(zt)
    return [image_array(images[i:i + 1]) for i in range(len(zt))]


# -- encoding -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Posterior:
    """q(z|x) of one image under one model, with what the explorer shows of it."""

    mu: np.ndarray                # (D,)
    logvar: np.ndarray            # (D,)
    reconstruction: np.ndarray    # uint8 image: the decoded posterior mean
    sample_z: np.ndarray          # (K, D) draws from q(z|x)
    sample_images: list           # their decoded means
    class_probs: np.ndarray | None = None   # q(y|x) (K,) of an M2 / M1+M2, whose ellipse is q(z|x, argmax)

    @property
    def std(self) -> np.ndarray:
        return np.exp(0.5 * self.logvar)


def encode_pixels(model, pixels, n_samples: int = POSTERIOR_SAMPLES, seed: int = 0) -> Posterior:
    """Encode one prepared image (uint8 (C, H, W)); draw `n_samples` z from q(z|x) with a fixed seed.

    An M2 / M1+M2 (core.m2.SemiSupervised) first classifies it: q(y|x) is kept, and the image is
    encoded, reconstructed and drawn as its most probable class ŷ, q(z|x, ŷ): its own style,
    whatever class the explorer shows (app/class_choice.py)."""
    import torch

    from latentlab.core.model_kinds import is_semi_supervised

    pixels = np.asarray(pixels)
    if tuple(pixels.shape) != tuple(model.image_shape):
        # Said plainly instead of a matrix-shape error from deep inside the encoder.
        raise ValueError(f"an image of shape {tuple(pixels.shape)} cannot be encoded by a model of "
                         f"image shape {tuple(model.image_shape)}")
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0)[None].to(model.device)
    class_probs = None
    if is_semi_supervised(model):
        probs = torch.softmax(model.classify(x).double(), -1)[0]
        class_probs = probs.cpu().numpy()
        model = model.given(int(probs.argmax()))
    mu, logvar = model.encode(x)
    generator = torch.Generator(device=model.device).manual_seed(seed)
    eps = torch.randn(n_samples, model.latent_dim, generator=generator, device=model.device)
    z = mu + eps * torch.exp(0.5 * logvar)
    decoded = model.decode(torch.cat([mu, z]))
    images = [image_array(decoded[i:i + 1]) for i in range(len(decoded))]
    return Posterior(mu[0].double().cpu().numpy(), logvar[0].double().cpu().numpy(), images[0],
                     z.double().cpu().numpy(), images[1:], class_probs)


# -- images in ------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ImageSource:
    """Where an encoded image came from, so it can be prepared again for a model of another
    image shape: a file (read again), a picture held in memory, or the drawing pad's pixels."""

    name: str
    path: str | None = None
    picture: Any = None                    # a PIL image (at most KEPT_PICTURE_SIDE on a side)
    drawing: np.ndarray | None = None      # the pad's grey pixels, uint8 (H, W)

    @classmethod
    def of_file(cls, path: str) -> "ImageSource":
        from pathlib import Path

        return cls(Path(path).name or str(path), path=str(path))

    @classmethod
    def of_drawing(cls, grey: np.ndarray, name: str = "drawing") -> "ImageSource":
        return cls(name, drawing=np.array(grey, dtype=np.uint8))

    @classmethod
    def of_pixels(cls, name: str, pixels: np.ndarray) -> "ImageSource":
        """An image already at a model's resolution (a test image picked from the examples),
        uint8 (C, H, W) with one channel; kept like a drawing (never resized)."""
        return cls(name, drawing=np.array(pixels[0], dtype=np.uint8))

    def fits(self, image_shape) -> bool:
        """Whether it can be prepared for `image_shape` at all: a drawing is drawn at the model's
        own resolution and is never resized (the pad starts empty at a new size)."""
        return self.drawing is None or self.drawing.shape == tuple(image_shape)[1:]

    def prepare(self, image_shape) -> PreparedImage:
        """The pixels for a model of `image_shape` (C, H, W). Raises ImageError (file, picture)
        or ValueError (a drawing of another size), with a message for the user."""
        if self.path is not None:
            return load_image(self.path, tuple(image_shape))
        if self.picture is not None:
            return prepare_picture(self.picture, tuple(image_shape), source=self.name)
        if not self.fits(image_shape):
            raise ValueError(f"the {self.name} is {self.drawing.shape[0]} x {self.drawing.shape[1]} pixels, "
                             f"the model's images are {image_shape[1]} x {image_shape[2]}")
        return PreparedImage(np.repeat(self.drawing[None], image_shape[0], axis=0), source=self.name)


@dataclass(frozen=True)
class ReadImage:
    """A picture read and prepared on the reader thread, with its source for later."""

    source: ImageSource
    prepared: PreparedImage


def read_file(path: str, image_shape) -> ReadImage:
    source = ImageSource.of_file(path)
    return ReadImage(source, source.prepare(image_shape))


def read_picture(picture, name: str, image_shape) -> ReadImage:
    """Prepare an in-memory picture (PIL); keep a copy small enough to hold (see KEPT_PICTURE_SIDE)."""
    prepared = prepare_picture(picture, tuple(image_shape), source=name)
    kept = picture.copy()
    kept.thumbnail((KEPT_PICTURE_SIDE, KEPT_PICTURE_SIDE))
    return ReadImage(ImageSource(name, picture=kept), prepared)


# -- figures --------------------------------------------------------------------------------------
def manifold_image(model, plane: LatentPlane, n: int) -> np.ndarray:
    """AEVB Fig. 4 for a 2-D model on its own axes; else the same grid laid on `plane`."""
    import torch

    from latentlab.core import figures as core_figures

    if model.latent_dim == 2 and plane.kind == "axes" and tuple(np.argmax(plane.basis, axis=1)) == (0, 1):
        return core_figures.manifold(model, n)     # the paper's figure exactly
    uv = core_figures.manifold_latents(n).double().numpy()
    z = torch.as_tensor(plane.to_latent(uv), dtype=torch.float32, device=model.device)
    return core_figures.image_grid(model.decode(z), nrow=n, padding=0)


def prior_samples_image(model, count: int, seed: int, sample_x: bool) -> np.ndarray:
    from latentlab.core import figures as core_figures

    return core_figures.prior_samples(model, count, seed, sample_x)


def interpolation_path(z0, z1, steps: int, mode: str) -> np.ndarray:
    """Latents (steps, D) from z0 to z1, linear or spherical (cheap: run where convenient)."""
    import torch

    from latentlab.core import figures as core_figures

    a, b = (torch.as_tensor(np.asarray(z), dtype=torch.float64) for z in (z0, z1))
    return core_figures.interpolate(a, b, steps, mode).numpy()


def interpolation_strip(model, path: np.ndarray) -> np.ndarray:
    """The decoded path as one strip of images, 1 pixel apart."""
    import torch

    from latentlab.core import figures as core_figures

    z = torch.as_tensor(path, dtype=torch.float32, device=model.device)
    return core_figures.image_grid(model.decode(z), nrow=len(path), padding=1)


def traversal_image(model, anchor, anchor_logvar, span, steps: int, examples=None, order_posterior=None):
    """The labelled traversal (core.map_figures.traversal_figure) of every dimension around
    `anchor` (D,), and the core.traversal.DimensionKL that ordered its rows (or None): the KL of
    `examples` (uint8 (N, C, H, W), as the model sees them: encoded without binarising again),
    else of `order_posterior` = (mu, logvar) of one image, else none (dimension order)."""
    import torch

    from latentlab.core.aggregate import encode_dataset
    from latentlab.core.map_figures import traversal_figure
    from latentlab.core.traversal import dimension_kl, traversal

    kl = None
    if examples is not None:
        mu, logvar = encode_dataset(model, torch.from_numpy(np.ascontiguousarray(examples)), binarize_mode="grey")
        kl = dimension_kl(mu, logvar)
    elif order_posterior is not None:
        kl = dimension_kl(*(torch.as_tensor(np.asarray(a), dtype=torch.float64)[None] for a in order_posterior))
    rows = traversal(model, anchor, span=span, steps=steps, anchor_logvar=anchor_logvar, kl=kl)
    return traversal_figure(rows.images, rows.dims, kl, span, model.latent_dim), kl
