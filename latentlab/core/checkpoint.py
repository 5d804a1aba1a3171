"""Safe, atomic, versioned checkpoints.

One file holds the weights, both configs, the training history (per-step and per-epoch curves),
the optimizer state (for resume), the data set's name and a format version. It is written with
`torch.save` and read with `torch.load(weights_only=True)`, whose restricted unpickler accepts
tensors and plain Python containers only: a file that tries to run code is refused, never run.
Everything stored is therefore converted to tensors, dicts, lists, str, int, float, bool or None.

Two helpers do the rest: checkpoint_files.py opens only regular files of sane size and replaces a
file atomically (a killed save or a full disk leaves the previous file; the next save removes the
killed one's temporary file); checkpoint_schema.py validates every section on load, so a damaged
or hand-edited file gives one message naming the file and the field instead of a traceback later.
"""

from __future__ import annotations

import os
import pickle
import pickletools
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .checkpoint_files import (CHECKPOINT_SUFFIXES, MAX_CHECKPOINT_BYTES, CheckpointError, check_checkpoint_file,
                               open_checked, remove_stale_temp_files, write_atomically)
from .checkpoint_schema import FieldError, validate_payload
from .m2 import M2Config, SemiSupervised
from .model_kinds import build_model, model_kind
from .models import VAE, VAEConfig
from .pipeline import DataSpec
from .training_config import TrainConfig

__all__ = ["Checkpoint", "CheckpointError", "FORMAT_NAME", "FORMAT_VERSION", "MAX_CHECKPOINT_BYTES",
           "check_checkpoint_file", "export_compact", "load_checkpoint", "read_payload",
           "remove_stale_temp_files", "save_checkpoint"]

FORMAT_NAME = "latentlab-checkpoint"
# 2 added M2 and M1+M2 (`model_kind`). A VAE is still written as format 1, which every latentlab
# reads; an older latentlab given an M2 file says it needs a newer version instead of failing.
FORMAT_VERSION = 2


@dataclass
class Checkpoint:
    """What a checkpoint file holds, in memory (validated: see checkpoint_schema)."""

    model: VAE | SemiSupervised
    train_config: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)          # {"dataset": "mnist", "binarize": "dynamic", ...}
    history: dict = field(default_factory=dict)       # see trainer.History.to_dict
    optimizer_state: dict | None = None
    trainer_state: dict = field(default_factory=dict)  # epoch, step, batch_in_epoch: what resume needs
    extras: dict = field(default_factory=dict)        # e.g. encoded test means + labels for the scatter
    meta: dict = field(default_factory=dict)          # format version, latentlab version

    # Typed views of the settings sections (validated on load through these same dataclasses).
    @property
    def config(self) -> VAEConfig | M2Config:
        return self.model.config

    @property
    def kind(self) -> str:
        """"vae", "m2" (M2 on pixels) or "m1m2"."""
        return model_kind(self.model)

    @property
    def train_settings(self) -> TrainConfig | None:
        """The run's TrainConfig, or None for a model saved without one."""
        return TrainConfig.from_dict(self.train_config) if self.train_config else None

    @property
    def data_spec(self) -> DataSpec | None:
        """Which data the model was trained on, or None when the file does not say."""
        return DataSpec.from_dict(self.data) if self.data else None


# == writing ======================================================================================
def _plain(value: Any) -> Any:
    """Convert numpy values, tuples and paths into what weights_only loading accepts."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        # int keys stay ints: the optimizer's state is keyed by parameter index.
        return {k if isinstance(k, (str, int)) else str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and hasattr(value, "dtype"):  # numpy scalar / 0-d array
        return value.item() if getattr(value, "ndim", 0) == 0 else torch.as_tensor(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint")


def save_checkpoint(path: str | os.PathLike, model: VAE, *, train_config: dict | None = None,
                    data: dict | None = None, history: dict | None = None,
                    optimizer_state: dict | None = None, trainer_state: dict | None = None,
                    extras: dict | None = None, weights_dtype: torch.dtype | None = None,
                    max_bytes: int = MAX_CHECKPOINT_BYTES) -> Path:
    """Write a checkpoint atomically. Raises CheckpointError (e.g. disk full); the old file survives.

    A file above `max_bytes` is refused here too, since it could not be read back.
    """
    from .. import __version__

    path = Path(path)
    kind = model_kind(model)
    payload = _plain({
        "format": FORMAT_NAME,
        "format_version": 1 if kind == "vae" else 2,
        "latentlab_version": __version__,
        "model_kind": kind,
        "model_config": model.config.to_dict(),
        "state_dict": {k: v.to(weights_dtype) if weights_dtype and v.is_floating_point() else v
                       for k, v in model.state_dict().items()},
        "train_config": train_config or {},
        "data": data or {},
        "history": history or {},
        "optimizer": optimizer_state,
        "trainer_state": trainer_state or {},
        "extras": extras or {},
    })
    return write_atomically(path, lambda f: torch.save(payload, f), needed_bytes=_payload_bytes(payload),
                            max_bytes=max_bytes)


def _payload_bytes(value: Any) -> int:
    """The bytes of tensor data in a payload: a lower bound on the size of its file."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_payload_bytes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_payload_bytes(v) for v in value)
    return 0


def export_compact(src: str | os.PathLike, dst: str | os.PathLike, half: bool = True) -> Path:
    """A smaller copy for sharing or shipping: no optimizer state, weights as float16 and the
    curves as float32 if `half`.

    The result loads like any checkpoint (weights are cast back to float32) and can still be
    resumed; Adam then starts from fresh moment estimates.
    """
    ckpt = load_checkpoint(src)
    model = ckpt.model
    if half:
        # Round the weights through float16 so the exported model is exactly what will be loaded.
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    return save_checkpoint(dst, model, train_config=ckpt.train_config, data=ckpt.data,
                           history=_single_precision(ckpt.history) if half else ckpt.history,
                           optimizer_state=None, trainer_state=ckpt.trainer_state, extras=ckpt.extras,
                           weights_dtype=torch.float16 if half else None)


def _single_precision(history):
    """The curves in float32, for a compact copy: a long run's per-step history in float64 is as
    large as its weights (62,560 steps x 8 columns = 4 MB for the shipped 20-D model). Step
    numbers stay exact up to 2**24; losses keep 7 digits. Loading turns them back into float64."""
    if isinstance(history, dict):
        return {key: _single_precision(value) for key, value in history.items()}
    if isinstance(history, torch.Tensor) and history.dtype == torch.float64:
        return history.float()
    return history


# == reading ======================================================================================
def read_payload(path: str | os.PathLike, *, max_bytes: int = MAX_CHECKPOINT_BYTES) -> dict:
    """Load a checkpoint file's dict and validate every section (checkpoint_schema), without
    building the model. Returns the cleaned dict; raises CheckpointError naming the file (and
    the field, for a bad one)."""
    path = Path(path)
    with open_checked(path, max_bytes) as f:
        payload = _load(path, f)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not a latentlab checkpoint (it is a PyTorch file of another kind)")
    version = payload.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{path} has no valid format version")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer latentlab ({payload.get('latentlab_version', '?')}, checkpoint "
            f"format {version}); this version reads format {FORMAT_VERSION} and older. Upgrade latentlab.")
    try:
        return validate_payload(payload)
    except FieldError as e:
        raise CheckpointError(f"{path}: {e}") from e


def _load(path: Path, f: BinaryIO) -> Any:
    """torch.load from the open file (read as needed, not slurped whole), errors made readable."""
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols; we report errors ourselves
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(f, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if _names_code(f, str(e)):
            raise CheckpointError(
                f"Refused to open {path}: it contains Python objects that could run code when loaded, "
                "which no latentlab checkpoint does. Nothing from it was run.") from e
        raise CheckpointError(f"{path} is damaged or not a latentlab checkpoint") from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is damaged or not a latentlab checkpoint "
                              f"(it may be truncated): {str(e).splitlines()[0] if str(e) else type(e).__name__}") from e
    except Exception as e:  # anything else the unpickler raises on garbage
        raise CheckpointError(f"{path} is not a readable latentlab checkpoint ({type(e).__name__})") from e


def _names_code(f: BinaryIO, error: str) -> bool:
    """Did the restricted unpickler refuse the file because it imports callables (could run code)?

    torch's own zip format legitimately names a few torch rebuild functions, which weights_only
    allows; it reports anything else as an "Unsupported global". A bare pickle (no zip) is never
    a latentlab file, so any import opcode in it counts.
    """
    if "Unsupported global" in error:
        return True
    try:
        f.seek(0)
        if zipfile.is_zipfile(f):
            return False
        f.seek(0)
        return any(op.name in ("GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE")
                   for op, _, _ in pickletools.genops(f))
    except Exception:  # not a pickle at all: garbage
        return False


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu", *,
                    max_bytes: int = MAX_CHECKPOINT_BYTES) -> Checkpoint:
    """Read a checkpoint; raises CheckpointError with a clear message on anything unexpected."""
    payload = read_payload(path, max_bytes=max_bytes)
    try:  # validated, so this cannot fail short of a bug; the message still names the file
        config_class = VAEConfig if payload["model_kind"] == "vae" else M2Config
        model = build_model(config_class.from_dict(dict(payload["model_config"])))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path} is a damaged latentlab checkpoint: {e}") from e
    model.to(device).eval()
    return Checkpoint(
        model=model,
        train_config=payload["train_config"],
        data=payload["data"],
        history=payload["history"],
        optimizer_state=payload["optimizer"],
        trainer_state=payload["trainer_state"],
        extras=payload["extras"],
        meta={"format_version": payload["format_version"],
              "latentlab_version": payload.get("latentlab_version")},
    )
