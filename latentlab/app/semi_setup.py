"""What the window needs to set up an M2 or M1+M2 run (Kingma et al. 2014): the model kinds it
offers, which data sets have the class labels M2 needs, the number of labels as the panel writes
it, the M1 checkpoint checked and read, and the M2Config the panel's settings make.

The networks are those of `latentlab train --model m2` (cli_semi.py): one hidden layer of 500
units for q(z|x, y) and p(x|y, z) unless the panel says otherwise, 500 for the classifier q(y|x).
No Qt here, so every rule is tested without a window.
"""

from __future__ import annotations

from pathlib import Path

from latentlab.core.checkpoint import CheckpointError, load_checkpoint
from latentlab.core.m2 import M2Config
from latentlab.core.models import VAE
from latentlab.core.shipped import shipped_models_dir

MODEL_KINDS = (("VAE", "vae"), ("M2", "m2"), ("M1+M2", "m1m2"))
M2_HIDDEN = (500,)              # cli_semi.M2_DEFAULT_HIDDEN: the paper's networks
M2_CLASSIFIER_HIDDEN = (500,)   # M1+M2's q(y|x) on M1's latent: the paper's MLP
# M2 on pixels from the window: the recipe of the shipped trained/m2-2d.pt, a convolutional q(y|x)
# with dropout (13.6 % test error with 100 labels and a 2-D z, against 16.6 % with the paper's MLP).
PIXEL_M2_CLASSIFIER = {"classifier_architecture": "conv", "classifier_hidden": (256,), "classifier_dropout": 0.5}
LABEL_CHOICES = (100, 600, 1000, 3000, 0)   # the paper's table; 0 = all
ALL_LABELS = "all"
DEFAULT_M1 = "mnist-20d.pt"     # the shipped 20-D MNIST VAE
# The built-in data sets whose images come with class labels (a folder's sub-folders are not
# guaranteed to be classes, and the CLI refuses them for M2 too).
LABELLED_DATASETS = ("mnist", "fashion-mnist")


def labels_refusal(dataset: str, shown_name: str) -> str | None:
    """Why M2 cannot train on `dataset` (None: it can); `shown_name` is the name the user sees."""
    if dataset in LABELLED_DATASETS:
        return None
    return (f"M2 and M1+M2 need class labels; {shown_name} has none. Choose MNIST or Fashion-MNIST, "
            "or train a VAE.")


def format_labels(n: int) -> str:
    return ALL_LABELS if n == 0 else str(n)


def parse_labels(text: str) -> int:
    """The number of labelled images from the panel's text: a whole number, or "all" (= 0)."""
    text = text.strip().replace(",", "").replace("_", "")
    if text.lower() in (ALL_LABELS, "0"):
        return 0
    if not text.isdigit():
        raise ValueError(f"Labels must be a whole number of labelled images (e.g. 100) or \"all\", got {text!r}.")
    return int(text)


def default_m1_path() -> Path | None:
    """The shipped 20-D MNIST VAE, if this installation has it."""
    path = shipped_models_dir() / DEFAULT_M1
    return path if path.is_file() else None


def load_m1(path, dataset: str) -> VAE:
    """The M1 of a new M1+M2 run: a VAE trained on `dataset`. ValueError naming the file otherwise
    (missing, a folder, not a checkpoint, not a VAE, another data set)."""
    text = str(path).strip() if path is not None else ""
    if not text:
        raise ValueError("M1+M2 needs an M1: choose the checkpoint of a VAE trained on the same data set "
                         "(M1 checkpoint).")
    path = Path(text).expanduser()
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as e:
        raise ValueError(f"M1 checkpoint: {e}") from None
    if not isinstance(ckpt.model, VAE):
        raise ValueError(f"M1 checkpoint: {path} holds an {ckpt.kind} model; M1 must be a VAE.")
    trained_on = (ckpt.data or {}).get("dataset")
    if trained_on not in (None, dataset):
        raise ValueError(f"M1 checkpoint: {path} was trained on {trained_on}; this run is on {dataset}. "
                         "M1 must be a VAE of the same images.")
    return ckpt.model


def m2_config(image_shape, latent_dim: int, hidden_sizes=M2_HIDDEN, m1: VAE | None = None) -> M2Config:
    """M2 on the pixels (m1 None: Bernoulli p(x|y, z)) or M1+M2 on m1's latent (Gaussian)."""
    settings = {"image_shape": tuple(image_shape), "latent_dim": int(latent_dim),
                "hidden_sizes": tuple(hidden_sizes), "classifier_hidden": M2_CLASSIFIER_HIDDEN}
    if m1 is not None:
        if tuple(m1.image_shape) != tuple(image_shape):
            raise ValueError(f"M1 checkpoint: its VAE models {list(m1.image_shape)} images; this run's are "
                             f"{list(image_shape)}.")
        settings.update(likelihood="gaussian", m1=m1.config.to_dict())
    else:
        settings.update(PIXEL_M2_CLASSIFIER)
    return M2Config(**settings)
