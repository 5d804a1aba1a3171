"""Runs as points of the rate-distortion plane (Alemi et al. 2018, "Fixing a broken ELBO").

The negative ELBO of a VAE is the sum of two terms that training trades against each other:
the **rate** R = KL(q(z|x) || p(z)), how many nats the code carries about the image, and the
**distortion** D = -E_q[log p(x|z)], how badly the image is reconstructed from it. Every model is
a point (R, D); models with the same -ELBO lie on a line R + D = const, and beta trades them: the
beta-VAE objective D + beta R is smallest where the achievable frontier has slope -beta.

Where a point's numbers come from, in order of preference:
1. "card": a shipped model's card (`<stem>.json` beside the checkpoint, trained/make_cards.py):
   test-set KL and reconstruction;
2. "history": the checkpoint's own history, its last validation KL and reconstruction. The file is
   opened with torch.load(weights_only=True, mmap=True): never running code from it, and the
   weights mapped but not read (only the settings and the history are touched);
3. "metrics": `<stem>.metrics.csv` beside it, the last validation row (a run whose checkpoint is
   not written yet, or has no validation epochs in its history).

`scan` finds the checkpoints under folders and reports the files it cannot use by name, one
reason each, instead of failing. No Qt here: the window and the CLI both use it.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint_files import CheckpointError, check_checkpoint_file
from .metrics import read_metrics_csv
from .snapshots import REPLAY_SUFFIX

SOURCES = ("card", "history", "metrics")
METRICS_SUFFIX = ".metrics.csv"
RUN_CHECKPOINT_STEM = "model"     # runs from the app and from `latentlab sweep` are <folder>/model.pt


@dataclass(frozen=True)
class RDPoint:
    """One model on the plane. `rate` and `distortion` in nats per image; `beta`, `latent_dim`
    are None when nothing says (a metrics file alone); `epoch` the epoch the numbers are from."""

    path: str
    name: str
    rate: float
    distortion: float
    beta: float | None
    latent_dim: int | None
    objective: str
    epoch: int | None
    source: str
    dataset: str | None = None

    @property
    def neg_elbo(self) -> float:
        return self.rate + self.distortion


@dataclass
class ScanResult:
    """The points found, and the files that could not be used with the reason for each."""

    points: list[RDPoint] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


class NotOnPlane(ValueError):
    """A file that is readable but has no (rate, distortion): an M2, a run without validation."""


def run_name(path) -> str:
    """What a person calls a run: the file's stem, or its folder's name for a run folder's model.pt."""
    path = Path(path)
    return path.parent.name if path.stem == RUN_CHECKPOINT_STEM and path.parent.name else path.stem


def _finite(value, what: str, path) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise NotOnPlane(f"{path}: {what} is not a number ({value!r})") from None
    if not math.isfinite(number):
        raise NotOnPlane(f"{path}: {what} is not finite ({number})")
    return number


def _optional_int(value) -> int | None:
    try:
        return int(value) if value is not None and math.isfinite(float(value)) else None
    except (TypeError, ValueError):
        return None


# -- 1. a model card ----------------------------------------------------------------------------
def card_path_for(checkpoint) -> Path:
    return Path(checkpoint).with_suffix(".json")


def point_from_card(card, checkpoint=None) -> RDPoint:
    """The point of a model card's test numbers. ValueError naming the card when it is not one;
    NotOnPlane for a semi-supervised model's card (its bound has a class term: not R + D)."""
    card = Path(card)
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{card} is not a readable model card: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("test"), dict):
        raise ValueError(f"{card} is not a model card (no \"test\" section)")
    if data.get("kind", "vae") != "vae":
        raise NotOnPlane(f"{card}: an {data['kind']} model; its bound adds a class term, so it is no point (R, D)")
    test, training, model = data["test"], data.get("training") or {}, data.get("model") or {}
    path = Path(checkpoint) if checkpoint is not None else card.with_suffix(".pt")
    return RDPoint(path=str(path), name=str(data.get("name") or path.stem),
                   rate=_finite(test.get("kl"), "test.kl", card),
                   distortion=_finite(test.get("recon"), "test.recon", card),
                   beta=_finite(training.get("beta", 1.0), "training.beta", card),
                   latent_dim=_optional_int(model.get("latent_dim")),
                   objective=str(training.get("objective", "elbo")),
                   epoch=_optional_int(training.get("epochs")), source="card",
                   dataset=data.get("dataset"))


# -- 2. a checkpoint's history --------------------------------------------------------------------
def read_summary(path) -> dict:
    """A checkpoint's settings and history without reading its weights: the validated
    `model_kind`, `model_config`, `train_config`, `data` and `history` sections.

    torch.load(weights_only=True) never runs code from the file; mmap=True maps the tensors'
    storage instead of reading it, so the weights cost nothing. A file this cannot read is read
    again by core.checkpoint.read_payload, whose message then says why (CheckpointError)."""
    import torch

    from .checkpoint import FORMAT_NAME, FORMAT_VERSION, read_payload
    from .checkpoint_schema import (FieldError, validate_data, validate_history, validate_model_config,
                                    validate_model_kind, validate_train_config)

    path = check_checkpoint_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            payload = torch.load(os.fspath(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception:     # the full reader's message names the file and the problem
        payload = read_payload(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not a latentlab checkpoint (it is a PyTorch file of another kind)")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has a checkpoint format this latentlab does not read ({version!r})")
    try:
        kind = validate_model_kind(payload.get("model_kind"))
        model_config = validate_model_config(payload.get("model_config"), kind)[0]
        return {"model_kind": kind, "model_config": model_config,
                "train_config": validate_train_config(payload.get("train_config")),
                "data": validate_data(payload.get("data")),
                "history": validate_history(payload.get("history"))}
    except FieldError as e:
        raise CheckpointError(f"{path}: {e}") from e


def _last_validation(epochs: dict) -> tuple[float, float, int | None] | None:
    """(KL, reconstruction, epoch) of the last epoch with both numbers, or None."""
    kl, recon, numbers = epochs.get("val_kl"), epochs.get("val_recon"), epochs.get("epoch")
    if kl is None or recon is None:
        return None
    kl, recon = [float(v) for v in kl], [float(v) for v in recon]
    for i in range(min(len(kl), len(recon)) - 1, -1, -1):
        if math.isfinite(kl[i]) and math.isfinite(recon[i]):
            epoch = _optional_int(float(numbers[i])) if numbers is not None and i < len(numbers) else i + 1
            return kl[i], recon[i], epoch
    return None


def point_from_checkpoint(path) -> RDPoint:
    """The point of a checkpoint: its card's test numbers, else its history's last validation,
    else its metrics file's. CheckpointError for a file that is no readable latentlab checkpoint;
    NotOnPlane for one with nothing to plot (an M2, a run without validation)."""
    path = Path(path)
    card = card_path_for(path)
    if card.is_file():
        try:
            return point_from_card(card, path)
        except NotOnPlane:
            raise
        except ValueError:
            pass          # some other JSON beside it: the checkpoint speaks for itself
    summary = read_summary(path)
    kind = summary["model_kind"]
    if kind != "vae":
        raise NotOnPlane(f"{path}: an {kind} model; its bound adds a class term, so it is no point (R, D)")
    train = summary["train_config"]
    settings = dict(beta=float(train.get("beta", 1.0)) if train else None,
                    latent_dim=_optional_int(summary["model_config"].get("latent_dim")),
                    objective=str(train.get("objective", "elbo")) if train else "elbo",
                    dataset=summary["data"].get("dataset") if summary["data"] else None)
    last = _last_validation(summary["history"].get("epochs", {}))
    if last is not None:
        kl, recon, epoch = last
        return RDPoint(path=str(path), name=run_name(path), rate=kl, distortion=recon, epoch=epoch,
                       source="history", **settings)
    metrics = path.with_name(path.stem + METRICS_SUFFIX)
    if metrics.is_file():
        return point_from_metrics(metrics, path, **settings)
    raise NotOnPlane(f"{path}: no validation epoch yet (its history has no KL and reconstruction)")


# -- 3. a metrics file ----------------------------------------------------------------------------
def point_from_metrics(metrics, checkpoint=None, *, beta: float | None = None, latent_dim: int | None = None,
                       objective: str = "elbo", dataset: str | None = None) -> RDPoint:
    """The point of a `<stem>.metrics.csv`'s last validation row. The file knows no settings:
    they come from the checkpoint when it could be read, else stay None."""
    metrics = Path(metrics)
    try:
        rows, _ = read_metrics_csv(metrics)
    except OSError as e:
        raise ValueError(f"cannot read {metrics}: {e.strerror or e}") from None
    val = rows["val"]
    for i in range(len(val["kl"]) - 1, -1, -1):
        if math.isfinite(val["kl"][i]) and math.isfinite(val["recon"][i]):
            checkpoint = Path(checkpoint) if checkpoint is not None else \
                metrics.with_name(metrics.name[:-len(METRICS_SUFFIX)] + ".pt")
            return RDPoint(path=str(checkpoint), name=run_name(checkpoint), rate=val["kl"][i],
                           distortion=val["recon"][i], beta=beta, latent_dim=latent_dim, objective=objective,
                           epoch=_optional_int(val["epoch"][i]), source="metrics", dataset=dataset)
    raise NotOnPlane(f"{metrics} has no validation row with KL and reconstruction")


# -- finding them -----------------------------------------------------------------------------------
def _candidates(folder: Path) -> list[Path]:
    """Checkpoints under `folder` (hidden and temporary files left out, and the epoch snapshots in
    a run's replay folder: they are its past, not runs), and metrics files whose checkpoint is not
    there (yet)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.endswith(REPLAY_SUFFIX))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if name.endswith(".pt"):
                found.append(Path(root) / name)
            elif name.endswith(METRICS_SUFFIX) and not (Path(root) / (name[:-len(METRICS_SUFFIX)] + ".pt")).exists():
                found.append(Path(root) / name)
    return found


class PointCache:
    """Points by file, kept while the file's size and modification time stay: a scan of a runs
    folder again (after a run ends, say) reads only what changed."""

    def __init__(self):
        self._points: dict[str, tuple[tuple[int, int], RDPoint | str]] = {}

    def point(self, path: Path) -> RDPoint:
        """point_from_checkpoint (or _metrics for a .metrics.csv), remembered; raises as they do."""
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        card = card_path_for(path)
        if card.is_file():
            cst = card.stat()
            stamp = stamp + (cst.st_mtime_ns, cst.st_size)
        key = str(path)
        cached = self._points.get(key)
        if cached is not None and cached[0] == stamp:
            if isinstance(cached[1], RDPoint):
                return cached[1]
            raise NotOnPlane(cached[1])
        try:
            point = point_from_metrics(path) if path.name.endswith(METRICS_SUFFIX) else point_from_checkpoint(path)
        except NotOnPlane as e:
            self._points[key] = (stamp, str(e))    # an M2 stays an M2: not read again
            raise
        self._points[key] = (stamp, point)
        return point


def scan(folders=(), files=(), cache: PointCache | None = None) -> ScanResult:
    """The points of every checkpoint under `folders` and of the checkpoints `files`, each file
    once. A folder or file that is missing, unreadable, foreign or without numbers is listed in
    `skipped` with the reason (its name first); the scan goes on."""
    cache = cache if cache is not None else PointCache()
    result, seen = ScanResult(), set()
    paths: list[Path] = []
    for folder in folders:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            if folder.exists():
                result.skipped.append((str(folder), f"{folder} is not a folder"))
            continue       # a runs folder that was never made is no problem
        paths.extend(_candidates(folder))
    paths.extend(Path(f).expanduser() for f in files)
    for path in paths:
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            continue
        seen.add(key)
        try:
            result.points.append(cache.point(path))
        except (CheckpointError, ValueError, OSError) as e:
            message = str(e) if str(path) in str(e) else f"{path}: {e}"
            result.skipped.append((str(path), message))
    return result
