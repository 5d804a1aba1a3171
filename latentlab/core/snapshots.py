"""Training replay: the weights and the encoded scatter of every epoch, kept beside the checkpoint.

A run that writes `runs/x/model.pt` keeps `runs/x/model.replay/epoch-000012.pt`, one small file
per epoch (epoch 0 is the untrained model of a new run). Each holds the model's weights in
float16 and the posterior means (float16) and labels of the images the live scatter encodes (the
first LIVE_SCATTER_POINTS of the test set), so the window's time slider and `latentlab replay`
can show the model at any epoch without the data set.

Size: a snapshot of the MLP 512-512 (D = 2) is 2.7 MB (1.33 M weights in float16; the conv
model 3.4 MB), and a run never keeps more than MAX_SNAPSHOTS = 60 of them: every epoch up to 60,
then thinned (`kept_epochs`) to 60 spread evenly over the run, the first and the last always
kept. So a replay folder stays under about 165 MB for the MLP (200 MB for the conv model),
however long the run.

Files are written whole or not at all (core/atomic_write.py), so a run stopped or killed
mid-write leaves no half snapshot. They are read with `torch.load(weights_only=True)`: a file
that tries to run code is refused, never run; shapes and keys are checked against the model and
a bad file is a SnapshotError (a ValueError) that names it. No Qt here.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .atomic_write import replace_file

FORMAT_NAME = "latentlab-replay"
FORMAT_VERSION = 1
MAX_SNAPSHOTS = 60                  # per run: every epoch up to this many, then thinned
MAX_SNAPSHOT_BYTES = 256 * 2**20    # a larger file is no snapshot of ours: refused before reading
_NAME = re.compile(r"^epoch-(\d{6,})\.pt$")


class SnapshotError(ValueError):
    """A snapshot or replay folder that cannot be used; the message names the file."""


@dataclass(frozen=True)
class Snapshot:
    """One epoch of a run: weights (float16 as stored) and the encoded scatter."""

    epoch: int
    step: int
    weights: dict[str, torch.Tensor]
    means: np.ndarray                 # (N, D) float32
    labels: np.ndarray                # (N,) int64, -1 where unlabelled
    label_names: list[str]

    def scatter(self) -> dict:
        """As a checkpoint's extras hold it (what ExplorerState.set_model and app/scatter.py read)."""
        return {"scatter_means": self.means, "scatter_labels": self.labels, "label_names": list(self.label_names)}


REPLAY_SUFFIX = ".replay"


def replay_dir(checkpoint_path) -> Path:
    """The replay folder of a checkpoint: `<name>.replay/` beside `<name>.pt`."""
    path = Path(checkpoint_path)
    return path.with_name(path.stem + REPLAY_SUFFIX)


def snapshot_path(folder, epoch: int) -> Path:
    return Path(folder) / f"epoch-{int(epoch):06d}.pt"


def list_snapshots(folder) -> list[tuple[int, Path]]:
    """(epoch, path) of the snapshots in `folder`, by epoch; [] when there is no such folder.
    Temporary files of a write in progress (dot-files) and other names are not snapshots."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = [(int(m.group(1)), Path(folder) / name) for name in names if (m := _NAME.match(name))]
    return sorted(found)


def kept_epochs(epochs, cap: int = MAX_SNAPSHOTS) -> list[int]:
    """The epochs a replay keeps of `epochs` (at most `cap`, the first and last always).

    While there are too many, the inner epoch whose neighbours are closest together goes (the
    earliest of equals): one past the cap drops epoch 2 of 1..61, the next epoch 4, and so on, so
    the kept ones spread evenly over the run as it grows. Applied after every new snapshot, it only
    ever removes files, so a replay never needs an epoch it has deleted.
    """
    kept = sorted(set(int(e) for e in epochs))
    cap = max(2, int(cap))
    while len(kept) > cap:
        spans = [kept[i + 1] - kept[i - 1] for i in range(1, len(kept) - 1)]
        kept.pop(1 + spans.index(min(spans)))
    return kept


# ------------------------------------------------------------------------------------- writing
def snapshot_bytes(epoch: int, step: int, model, scatter: dict) -> bytes:
    """The file's contents: float weights in float16, the scatter's means in float16."""
    weights = {k: (v.detach().to("cpu", torch.float16) if v.is_floating_point() else v.detach().cpu().clone())
               for k, v in model.state_dict().items()}
    means = torch.as_tensor(np.asarray(scatter["scatter_means"]) if not torch.is_tensor(scatter["scatter_means"])
                            else scatter["scatter_means"]).detach().to("cpu", torch.float16)
    labels = scatter.get("scatter_labels")
    labels = torch.full((len(means),), -1) if labels is None else torch.as_tensor(labels)
    payload = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "epoch": int(epoch), "step": int(step),
               "weights": weights, "scatter_means": means, "scatter_labels": labels.to("cpu", torch.int16),
               "label_names": [str(n) for n in (scatter.get("label_names") or [])]}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


class ReplayWriter:
    """Writes a run's snapshots into its replay folder and keeps it within MAX_SNAPSHOTS.

    `start(epoch)` before the run's first new epoch: snapshots after `epoch` belong to a future
    this run no longer has (it was resumed from an earlier checkpoint) and go, as do temporary
    files a killed write left. A resumed run then continues the folder.
    """

    def __init__(self, folder, cap: int = MAX_SNAPSHOTS):
        self.folder = Path(folder)
        self.cap = cap

    def start(self, epoch: int) -> None:
        if not self.folder.is_dir():
            return
        for e, path in list_snapshots(self.folder):
            if e > epoch:
                path.unlink(missing_ok=True)
        for path in self.folder.glob(".epoch-*.tmp"):
            path.unlink(missing_ok=True)

    def write(self, epoch: int, step: int, model, scatter: dict) -> Path:
        """Write epoch `epoch`'s snapshot, then thin the folder. OSError naming the file on failure."""
        data = snapshot_bytes(epoch, step, model, scatter)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OSError(f"cannot create the replay folder {self.folder}: {e.strerror or e}") from e
        path = replace_file(snapshot_path(self.folder, epoch), data)
        existing = list_snapshots(self.folder)
        keep = set(kept_epochs([e for e, _ in existing], self.cap))
        for e, old in existing:
            if e not in keep:
                old.unlink(missing_ok=True)
        return path


# ------------------------------------------------------------------------------------- reading
def load_snapshot(path, model=None) -> Snapshot:
    """Read one snapshot safely. With `model`, its weights must fit it (same keys and shapes).
    SnapshotError naming the file for anything that is not a whole snapshot of ours."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise SnapshotError(f"cannot read the snapshot {path}: {e.strerror or e}") from None
    if not path.is_file():
        raise SnapshotError(f"{path} is not a file")
    if size > MAX_SNAPSHOT_BYTES:
        raise SnapshotError(f"{path} is {size / 1e6:.0f} MB, too large to be a replay snapshot")
    try:
        payload = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except OSError as e:
        raise SnapshotError(f"cannot read the snapshot {path}: {e.strerror or e}") from None
    except Exception as e:   # truncated, not a torch file, or a pickle that names code: all refused
        raise SnapshotError(f"{path} is not a readable replay snapshot (damaged, truncated or foreign): "
                            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return _validated(path, payload, model)


def _validated(path: Path, payload, model) -> Snapshot:
    def bad(what: str) -> SnapshotError:
        return SnapshotError(f"{path} is not a latentlab replay snapshot: {what}")

    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise bad("it does not say it is one (no 'format': 'latentlab-replay')")
    if not isinstance(payload.get("version"), int) or payload["version"] > FORMAT_VERSION:
        raise bad(f"format version {payload.get('version')!r} is newer than this latentlab reads "
                  f"({FORMAT_VERSION}); update latentlab")
    for key, kind in (("epoch", int), ("step", int), ("weights", dict), ("label_names", list)):
        if not isinstance(payload.get(key), kind) or isinstance(payload.get(key), bool):
            raise bad(f"'{key}' is missing or not a {kind.__name__}")
    weights = payload["weights"]
    if not weights or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in weights.items()):
        raise bad("'weights' must map parameter names to tensors")
    means, labels = payload.get("scatter_means"), payload.get("scatter_labels")
    if not torch.is_tensor(means) or means.ndim != 2 or not means.is_floating_point():
        raise bad("'scatter_means' must be an (N, D) float tensor")
    if not torch.is_tensor(labels) or labels.shape != (len(means),) or labels.is_floating_point():
        raise bad(f"'scatter_labels' must be {len(means)} whole numbers, one per point")
    if model is not None:
        expected = model.state_dict()
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        if missing or extra:
            raise SnapshotError(f"{path} holds the weights of another model ("
                                + "; ".join(filter(None, [missing and f"missing {', '.join(missing[:3])}",
                                                          extra and f"unexpected {', '.join(extra[:3])}"])) + ")")
        for k, v in expected.items():
            if tuple(weights[k].shape) != tuple(v.shape):
                raise SnapshotError(f"{path} holds the weights of another model: {k} is "
                                    f"{tuple(weights[k].shape)}, the model's {tuple(v.shape)}")
        if means.shape[1] != model.latent_dim:
            raise SnapshotError(f"{path}: its scatter has {means.shape[1]} dimensions, the model "
                                f"{model.latent_dim}")
    return Snapshot(payload["epoch"], payload["step"], weights, means.float().numpy(),
                    labels.long().numpy(), [str(n) for n in payload["label_names"]])


def model_at(snapshot: Snapshot, template):
    """A fresh CPU model like `template` with the snapshot's weights (back in the template's
    dtypes); `template` is not touched, so a model being trained or shown stays as it is."""
    from .model_kinds import build_model

    with torch.device("meta"):
        clone = build_model(template.config)
    reference = template.state_dict()
    state = {k: v.to(reference[k].dtype) for k, v in snapshot.weights.items()}
    clone.load_state_dict(state, assign=True)
    return clone.eval().requires_grad_(False)
