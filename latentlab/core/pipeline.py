"""From "train a 2-D VAE on MNIST" to a ready Trainer: data, defaults and the scatter extras.

The CLI and the GUI both go through here, so a run started from either is the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import data as datalib
from .checkpoint import Checkpoint
from .models import VAE, VAEConfig
from .trainer import Trainer, TrainConfig

# What a data set trains best with when the user does not say: likelihood and binarisation.
DATASET_DEFAULTS = {
    "mnist": {"likelihood": "bernoulli", "binarize": "dynamic"},
    "fashion-mnist": {"likelihood": "bernoulli", "binarize": "dynamic"},
    "frey-face": {"likelihood": "gaussian", "binarize": "grey"},
    "folder": {"likelihood": "bernoulli", "binarize": "grey"},
}

SCATTER_POINTS = 10_000  # encoded means stored with a model, for the app's scatter


@dataclass
class DataSpec:
    """Which images to train on; stored in the checkpoint as `data`."""

    dataset: str = "mnist"              # a built-in name, or "folder"
    folder: str | None = None           # for dataset == "folder"
    image_shape: tuple[int, int, int] = (1, 28, 28)  # for folders: what images are converted to
    val_fraction: float = 1 / 6

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "folder": self.folder, "image_shape": list(self.image_shape),
                "val_fraction": self.val_fraction}

    @classmethod
    def from_dict(cls, d: dict) -> "DataSpec":
        return cls(dataset=d.get("dataset", "mnist"), folder=d.get("folder"),
                   image_shape=tuple(d.get("image_shape", (1, 28, 28))),
                   val_fraction=float(d.get("val_fraction", 1 / 6)))


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


def new_trainer(spec: DataSpec, splits: Splits, model_config: VAEConfig, train_config: TrainConfig,
                dist=None) -> Trainer:
    model = VAE(model_config)
    return Trainer(model, splits.train.images, splits.val.images, train_config,
                   data_info=_data_info(spec, splits, train_config), dist=dist)


def resume_trainer(ckpt: Checkpoint, splits: Splits, dist=None, **train_overrides) -> Trainer:
    return Trainer.from_checkpoint(ckpt, splits.train.images, splits.val.images, dist=dist, **train_overrides)


def _data_info(spec: DataSpec, splits: Splits, cfg: TrainConfig) -> dict:
    info = spec.to_dict()
    info["binarize"] = cfg.binarize
    info["label_names"] = list(splits.train.label_names or [])
    return info


@torch.no_grad()
def scatter_extras(model: VAE, dataset: datalib.ImageDataset, binarize: str,
                   n: int = SCATTER_POINTS, seed: int = 0) -> dict:
    """Posterior means of up to n images with their labels, so the app can draw the scatter
    without the data set. Dynamic binarisation uses a fixed seed, so the picture is repeatable."""
    model.eval()
    images = dataset.images[:n]
    g = torch.Generator().manual_seed(seed)
    means = []
    for chunk in images.split(1000):
        x = datalib.binarize(datalib.to_float(chunk), binarize, g)
        means.append(model.encode(x.to(model.device))[0].cpu())
    labels = dataset.labels[:n] if dataset.labels is not None else torch.full((len(images),), -1)
    return {"scatter_means": torch.cat(means).float(), "scatter_labels": labels.long(),
            "label_names": list(dataset.label_names or [])}
