"""Public entry point for data: built-in data sets, image folders, and tensor helpers.

Everything other code needs is importable from here::

    from latentlab.core.data import (DataError, ImageDataset, load_dataset, load_image_folder,
        data_root, download_file, DATASETS, binarize, to_float, split_train_val)

The built-in data sets live in :mod:`latentlab.core.datasets`, their file formats in
:mod:`latentlab.core.formats`, the checks of files on disk in :mod:`latentlab.core.checksums`,
the safe downloader in :mod:`latentlab.core.download`, and the reading of one image file in
:mod:`latentlab.core.images`. This module adds loading a folder of the user's own images and
the small conversions the trainer applies to every batch.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from latentlab.core.datasets import DATASETS, ImageDataset, data_root, load_dataset
from latentlab.core.download import DataError, DownloadCancelled, download_file
from latentlab.core.images import IMAGE_SUFFIXES, ImageError, check_image_shape, load_image

__all__ = [
    "DATASETS",
    "DataError",
    "DataWarning",
    "DownloadCancelled",
    "IMAGE_SUFFIXES",
    "ImageDataset",
    "binarize",
    "data_root",
    "download_file",
    "epoch_batches",
    "epoch_permutation",
    "load_dataset",
    "load_image_folder",
    "split_train_val",
    "to_float",
]


class DataWarning(UserWarning):
    """Something was skipped while loading data (e.g. unreadable image files)."""


# --------------------------------------------------------------------------- tensor helpers


def to_float(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 images (0..255) -> float32 in [0, 1], on the same device."""
    if images_u8.dtype != torch.uint8:
        raise TypeError(f"to_float expects a uint8 tensor, got {images_u8.dtype}")
    return images_u8.to(torch.float32).div_(255.0)


def epoch_permutation(n: int, seed: int, device: torch.device | str) -> torch.Tensor:
    """A permutation of range(n) that depends only on `seed`, drawn on `device`, so a trainer
    whose images live on the device indexes them with no copy from the host.

    The CPU and CUDA have random generators of their own (the same seed gives different
    permutations on the two); other devices (Apple's MPS) draw it on the CPU and copy it once.
    """
    device = torch.device(device)
    where = device if device.type in ("cpu", "cuda") else torch.device("cpu")
    g = torch.Generator(device=where).manual_seed(seed)
    return torch.randperm(n, generator=g, device=where).to(device)


def epoch_batches(n: int, batch_size: int, seed: int, device: torch.device | str,
                  shard: tuple[int, int] = (0, 1)) -> tuple[torch.Tensor, ...]:
    """The index batches of one epoch over n images, on `device` (`epoch_permutation` split into
    batches); `shard` = (rank, world size) keeps that rank's equal share of the permutation."""
    perm = epoch_permutation(n, seed, device)
    rank, world = shard
    if world > 1:
        per_rank = n // world
        perm = perm[rank * per_rank:(rank + 1) * per_rank]
    return perm.split(batch_size)


BINARIZE_MODES = ("dynamic", "threshold", "grey")


def binarize(
    x: torch.Tensor, mode: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Turn grey levels in [0, 1] into the pixel values a model is trained on.

    * "dynamic": each pixel is 1 with probability equal to its grey level, sampled afresh on
      every call (the standard for reporting likelihoods on binarized MNIST).
    * "threshold": 1 where the grey level is above 0.5 (fixed; easier to overfit).
    * "grey": unchanged, for Gaussian/continuous decoders.

    ``generator`` (for "dynamic") must live on the same device as ``x``.
    """
    if mode not in BINARIZE_MODES:
        raise ValueError(f"unknown binarize mode {mode!r}; choose one of {BINARIZE_MODES}")
    if not x.is_floating_point():
        raise TypeError(f"binarize expects grey levels as floats in [0, 1], got {x.dtype}")
    if mode == "dynamic":
        return torch.bernoulli(x, generator=generator)
    if mode == "threshold":
        return (x > 0.5).to(x.dtype)
    return x


def split_train_val(
    ds: ImageDataset, val_fraction: float = 1 / 6
) -> tuple[ImageDataset, ImageDataset]:
    """Deterministic split: the last round(N * val_fraction) examples are validation.

    For MNIST's 60,000 training images the default gives the usual 50,000 / 10,000.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    val_count = round(len(ds) * val_fraction)
    train_count = len(ds) - val_count
    return ds.subset(slice(0, train_count)), ds.subset(slice(train_count, len(ds)))


# --------------------------------------------------------------------------- image folders
#
# IMAGE_SUFFIXES (re-exported above) is defined with the formats it stands for in core/images.py.


def load_image_folder(
    path: str | os.PathLike,
    image_shape: tuple[int, int, int] = (1, 28, 28),
    invert: bool | str = "auto",
) -> ImageDataset:
    """Load the user's own images (PNG, JPEG, ...: `IMAGE_SUFFIXES`) as an ImageDataset.

    If ``path`` has sub-folders with images, each sub-folder is a class (sorted by name; the
    labels index ``label_names``) and loose files at the top are ignored. Otherwise every
    image in ``path`` is loaded without labels. ``path`` may also be a single image file.

    Each image is converted to grey (C=1) or RGB (C=3), inverted if asked (``invert=True``,
    or ``"auto"``: only images on a light background, so ink ends up bright like MNIST),
    resized to fit H x W keeping its aspect ratio, and centred on a black canvas.
    Unreadable files are skipped with one DataWarning giving the count.
    """
    image_shape = check_image_shape(image_shape)
    if invert not in (True, False, "auto"):
        raise ValueError(f"invert must be True, False or 'auto', got {invert!r}")
    root = Path(path).expanduser()
    files, labels, label_names = _find_images(root)

    images, kept_labels, unreadable = [], [], []
    for file, label in zip(files, labels):
        try:
            images.append(load_image(file, image_shape, invert).pixels)
            kept_labels.append(label)
        except ImageError:
            unreadable.append(file)

    if unreadable:
        warnings.warn(
            f"Skipped {len(unreadable)} unreadable image file(s) in {root} "
            f"(first: {unreadable[0].name}).",
            DataWarning,
            stacklevel=2,
        )
    if not images:
        raise DataError(
            f"No readable images ({', '.join(IMAGE_SUFFIXES)}) found in {root}."
        )
    return ImageDataset(
        name=root.stem if root.is_file() else root.name,
        images=torch.from_numpy(np.stack(images)),
        labels=torch.tensor(kept_labels, dtype=torch.int64) if label_names else None,
        label_names=label_names,
    )


def _find_images(root: Path) -> tuple[list[Path], list[int], list[str] | None]:
    """(files, label per file, class names or None) for a folder or a single file."""
    if root.is_file():
        return [root], [0], None
    if not root.is_dir():
        raise DataError(f"Image folder not found: {root}")
    class_folders = [d for d in _visible(root.iterdir()) if d.is_dir() and _image_files(d)]
    if not class_folders:
        files = _image_files(root, recursive=False)
        return files, [0] * len(files), None
    class_folders.sort(key=lambda d: d.name)
    files, labels = [], []
    for label, folder in enumerate(class_folders):
        folder_files = _image_files(folder)
        files += folder_files
        labels += [label] * len(folder_files)
    return files, labels, [d.name for d in class_folders]


def _image_files(folder: Path, recursive: bool = True) -> list[Path]:
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p for p in _visible(candidates) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )


def _visible(paths: Iterable[Path]) -> list[Path]:
    """Skip hidden files and folders (.DS_Store, .ipynb_checkpoints, ...)."""
    return [p for p in paths if not p.name.startswith(".")]
