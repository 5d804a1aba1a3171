"""How a model is trained (TrainConfig) and on which device: the settings `latentlab train`, the
training panel and a checkpoint's `train_config` share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from .config import Config, SettingError, setting
from .data import BINARIZE_MODES

# What training maximises: the ELBO (Kingma & Welling 2014) or the importance-weighted bound L_K
# (Burda, Grosse & Salakhutdinov 2016, core/objectives.py `iwae_terms`).
OBJECTIVES = ("elbo", "iwae")
MAX_IW_K = 1000   # K x batch x pixels decoder outputs per step: K = 1000 at batch 128 is 400 MB for MNIST


@dataclass
class TrainConfig(Config):
    """How a model is trained. The help texts are those of `latentlab train --help`."""

    section: ClassVar[str] = "training settings"

    epochs: int = setting(30, "total epochs of the run; a resumed run continues up to this total", min=1,
                          max=1_000_000)
    batch_size: int = setting(128, "images per step", min=1, max=65_536)
    lr: float = setting(1e-3, "Adam learning rate", min=0.0, max=10.0, min_exclusive=True)
    weight_decay: float = setting(0.0, "Adam weight decay", min=0.0, max=1.0)
    grad_clip: float = setting(0.0, "max gradient norm, 0 = no clipping", min=0.0, max=1e6)
    n_samples: int = setting(1, "N, Monte Carlo samples of z per image for the reconstruction term", min=1,
                             max=1000, flag="--mc-samples")
    beta: float = setting(1.0, "weight of the KL term (1 = the true ELBO)", min=0.0, max=1000.0)
    kl_warmup_epochs: float = setting(0.0, "epochs of linear KL warm-up from 0 to beta, 0 = off", min=0.0,
                                      max=1_000_000.0, flag="--kl-warmup")
    objective: str = setting("elbo", "what training maximises: elbo, or iwae, the importance-weighted bound L_K "
                                      "of Burda et al. 2016 (VAEs only)", choices=OBJECTIVES)
    iw_k: int = setting(5, "K, samples of z per image of the iwae objective (elbo does not use it)", min=1,
                        max=MAX_IW_K, flag="--k")
    binarize: str = setting("dynamic", "how grey levels become the decoder's targets", choices=BINARIZE_MODES)
    seed: int = setting(0, "seed of the initial weights, shuffles and noise", min=0, max=2**63 - 1)
    device: str = setting("auto", "auto, cpu, cuda, cuda:N or mps")
    labels: int = setting(100, "M2 / M1+M2: labelled training images, drawn class-balanced with --seed "
                               "(100 = 10 per class); 0 = all", min=0, max=100_000_000)
    alpha: float = setting(0.0, "M2 / M1+M2: weight of the classification loss; 0 = the paper's 0.1 N "
                                "(0.1 x unlabelled / labelled images)", min=0.0, max=1e9)
    class_balance: float = setting(0.0, "M2 / M1+M2: extra weight on KL(q(y)||p(y)) of each unlabelled batch, "
                                        "which keeps one class from absorbing another; 0 = the paper's objective",
                                   min=0.0, max=1e6)
    num_threads: int = setting(0, "torch CPU threads for training, 0 = PyTorch's default", min=0, max=4096,
                               flag="--threads")

    def validate(self) -> None:
        check_device_name(self.device)
        if self.objective == "iwae":
            # L_K has no KL term of its own to weigh or warm up, and its samples are its K.
            for name, plain, why in (("beta", 1.0, "L_K has no separate KL term to weigh"),
                                     ("kl_warmup_epochs", 0.0, "L_K has no separate KL term to warm up"),
                                     ("n_samples", 1, "its samples of z are the K of the bound")):
                if getattr(self, name) != plain:
                    raise SettingError(name, f"must be {plain:g} with the iwae objective ({why}); "
                                             f"got {getattr(self, name):g}")


DEVICE_NAMES = ("auto", "cpu", "cuda", "cuda:N", "mps")


def check_device_name(name: str) -> str:
    """The device name's syntax (not whether this machine has it: see resolve_device)."""
    if name in ("auto", "cpu", "cuda", "mps") or (name.startswith("cuda:") and name[5:].isdigit()):
        return name
    raise ValueError(f"device must be one of {', '.join(DEVICE_NAMES)}, got {name!r}")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; ValueError for a device this machine lacks."""
    check_device_name(name)
    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if has_mps else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("CUDA was asked for but this PyTorch has no usable CUDA device "
                             "(a CPU-only build, or no NVIDIA driver)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"there is no {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not has_mps:
        raise ValueError("MPS was asked for but this machine has no Apple-silicon GPU available to PyTorch")
    return device
