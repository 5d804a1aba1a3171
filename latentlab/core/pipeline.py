"""From "train a 2-D VAE on MNIST" to a ready Trainer: data, defaults and the scatter extras.

The CLI and the GUI both go through here, so a run started from either is the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from . import data as datalib
from .config import Config, setting
from .data import BINARIZE_MODES, DATASETS
from .models import VAE, VAEConfig

DATASET_NAMES = (*DATASETS, "folder")

# What a data set trains best with when the user does not say: likelihood and binarisation.
DATASET_DEFAULTS = {
    "mnist": {"likelihood": "bernoulli", "binarize": "dynamic"},
    "fashion-mnist": {"likelihood": "bernoulli", "binarize": "dynamic"},
    "frey-face": {"likelihood": "gaussian", "binarize": "grey"},
    "folder": {"likelihood": "bernoulli", "binarize": "grey"},
}

SCATTER_POINTS = 10_000  # encoded means stored with a model, for the app's scatter


@dataclass
class DataSpec(Config):
    """Which images a run trains on and how they were prepared; stored in the checkpoint as `data`."""

    section: ClassVar[str] = "data settings"

    dataset: str = setting("mnist", "a built-in data set or 'folder'", choices=DATASET_NAMES)
    folder: str | None = None           # for dataset == "folder"
    image_shape: tuple[int, int, int] = (1, 28, 28)  # for folders: what images are converted to
    val_fraction: float = setting(1 / 6, "share of the training images held out for validation", min=0.0,
                                  max=0.9, min_exclusive=True)
    binarize: str | None = setting(None, "how the images were binarised (the run's setting)",
                                   choices=BINARIZE_MODES)
    label_names: tuple[str, ...] = ()   # class names, when the data has labels

    def validate(self) -> None:
        shape = self.image_shape
        if (isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__") or len(tuple(shape)) != 3
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape)):
            raise ValueError(f"image_shape must be three positive whole numbers (C, H, W), got {shape!r}")
        self.image_shape = tuple(shape)
        if self.folder is not None and not isinstance(self.folder, str):
            raise ValueError(f"folder must be a path (a string), got {self.folder!r}")
        if self.dataset == "folder" and not self.folder:
            raise ValueError("an image-folder run needs the folder's path")
        names = self.label_names
        if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__") \
                or not all(isinstance(n, str) for n in names):
            raise ValueError(f"label_names must be a list of strings, got {names!r}")
        self.label_names = tuple(names)

    @property
    def name(self) -> str:
        """A short name for run folders and messages: the data set, or the folder's name."""
        return Path(self.folder).name if self.dataset == "folder" and self.folder else self.dataset


@dataclass
class Splits:
    train: datalib.ImageDataset
    val: datalib.ImageDataset
    test: datalib.ImageDataset | None = None


def load_splits(spec: DataSpec, data_dir=None, download: bool = True, progress=None, cancel=None) -> Splits:
    """Train / validation (held out from train) / test images for a DataSpec."""
    if spec.dataset == "folder":
        if not spec.folder:
            raise datalib.DataError("an image-folder run needs the folder's path")
        full = datalib.load_image_folder(spec.folder, image_shape=spec.image_shape)
        train, val = datalib.split_train_val(full, spec.val_fraction)
        return Splits(train, val, None)
    if spec.dataset not in datalib.DATASETS:
        raise datalib.DataError(f"unknown data set {spec.dataset!r}; built-in ones are "
                                f"{', '.join(datalib.DATASETS)}, or use an image folder")
    kw = dict(data_dir=data_dir, download=download, progress=progress, cancel=cancel)
    full = datalib.load_dataset(spec.dataset, "train", **kw)
    test = datalib.load_dataset(spec.dataset, "test", **kw)
    train, val = datalib.split_train_val(full, spec.val_fraction)
    return Splits(train, val, test)


def default_model_config(spec: DataSpec, image_shape, **overrides) -> VAEConfig:
    defaults = DATASET_DEFAULTS.get(spec.dataset, DATASET_DEFAULTS["folder"])
    settings = {"image_shape": tuple(image_shape), "likelihood": defaults["likelihood"]}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return VAEConfig(**settings)


def default_binarize(spec: DataSpec) -> str:
    return DATASET_DEFAULTS.get(spec.dataset, DATASET_DEFAULTS["folder"])["binarize"]


@torch.no_grad()
def scatter_extras(model: VAE, dataset: datalib.ImageDataset, binarize: str,
                   n: int = SCATTER_POINTS, seed: int = 0) -> dict:
    """Posterior means of up to n images with their labels, so the app can draw the scatter
    without the data set. Dynamic binarisation uses a fixed seed, so the picture is repeatable."""
    was_training = model.training
    model.eval()
    images = dataset.images[:n]
    g = torch.Generator().manual_seed(seed)
    means = []
    labels = dataset.labels[:n] if dataset.labels is not None else torch.full((len(images),), -1)
    classes = getattr(model, "num_classes", None)
    for chunk, chunk_labels in zip(images.split(1000), labels.split(1000)):
        x = datalib.binarize(datalib.to_float(chunk), binarize, g).to(model.device)
        if classes is None:
            means.append(model.encode(x)[0].cpu())
        else:   # M2: each image's style under its own class (its predicted one when unlabelled)
            y = chunk_labels.to(model.device)
            y = torch.where(y >= 0, y, model.predict(x))
            means.append(model.encode(x, y)[0].cpu())
    model.train(was_training)
    return {"scatter_means": torch.cat(means).float(), "scatter_labels": labels.long(),
            "label_names": list(dataset.label_names or [])}
