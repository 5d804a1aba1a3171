"""The models of the comparison view and their numbers: reading a checkpoint for it, its model
card, the fixed test images and the per-model metrics row. Plain functions, no Qt and no state
(app/compare_state.py holds the state; app/compare_work.py runs these in the background).

Which numbers: a shipped model (trained/*.pt) has a model card (trained/*.json) measured on the
whole test set; its row shows the card's numbers, marked as such. Any other model is measured
live on the first LIVE_IMAGES test images of its data set, binarised as the checkpoint's scatter
was (app/examples.py: the test split when it is on this computer, else the 100 sample images
that ship with latentlab, and the row says which). The per-image numbers are those of the
examples table (app/example_metrics.py): -ELBO, KL and reconstruction with a deterministic
expectation, the IW-NLL with k = LIVE_IW_K, -log p(x) by quadrature for 2-D Bernoulli VAEs;
active units from the images' posterior means (core.evaluation.active_units).

M2 / M1+M2 models are refused by name: their -ELBO is a bound on log p(x, y) or is summed over
classes, so their row would not compare with a VAE's; the window shows them (with their test
error) instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentlab.core.model_kinds import is_semi_supervised
from latentlab.core.shipped import shipped_models_dir

from .scatter import Scatter

LIVE_IMAGES = 100            # test images of a live row (the sample images are 100)
LIVE_IW_K = 1000             # importance samples of a live row's IW-NLL (as the examples table)
ROW_CHUNK = 10               # images per background job: progress and cancel between chunks
ROW_KEYS = ("neg_elbo", "kl", "recon", "iw_nll", "exact_nll", "active_units")
ROW_HEADERS = {"neg_elbo": "-ELBO", "kl": "KL", "recon": "reconstruction", "iw_nll": "IW-NLL",
               "exact_nll": "exact NLL", "active_units": "active units"}


class CompareError(ValueError):
    """A model that cannot be compared, in words that name it."""


@dataclass(eq=False)
class ComparedModel:
    """One model of the comparison: what its canvas, its images and its row are made from."""

    id: str
    name: str                          # the file's stem ("mnist-2d"), or the window's run
    model: Any                         # a VAE in eval mode (the window's snapshots are copies)
    data: dict = field(default_factory=dict)     # the checkpoint's data section (dataset, binarize)
    scatter: Scatter | None = None
    card: dict | None = None           # the model card (shipped models), or None
    live: bool = False                 # the window's model: follows its training
    path: Path | None = None
    generation: int = 0                # changes with every new set of weights

    @property
    def dim(self) -> int:
        return int(self.model.latent_dim)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.model.image_shape)

    @property
    def title(self) -> str:
        return f"{self.name} · D={self.dim}" + (" · this window" if self.live else "")

    @property
    def exact_applies(self) -> bool:
        """-log p(x) by quadrature is offered for 2-D Bernoulli VAEs."""
        return self.dim == 2 and getattr(self.model, "likelihood", "") == "bernoulli"


@dataclass(frozen=True)
class MetricRow:
    """A model's numbers (nats per image; None where not measured or not applicable)."""

    values: dict                       # ROW_KEYS -> float | None
    source: str                        # "model card", "100 test images", "100 sample images"
    notes: str = ""                    # where each number comes from, for the tooltip

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if value is None:
            return "—"
        return str(int(value)) if key == "active_units" else f"{value:.2f}"


def refuse_semi_supervised(model, name: str) -> None:
    if is_semi_supervised(model):
        raise CompareError(f"{name} is an M2 / M1+M2 (semi-supervised) model: the comparison view compares "
                           "VAEs, whose -ELBO, IW-NLL and exact NLL bound the same log p(x); open it in the "
                           "window to see its test error")


def read_compared(path, model_id: str) -> ComparedModel:
    """A checkpoint file as a model to compare (reads the file: run it off the GUI thread).
    Raises CompareError naming the file: unreadable, damaged, foreign, a directory, an M2."""
    from latentlab.core.checkpoint import CheckpointError

    from .documents import read_checkpoint

    path = Path(path)
    try:
        ckpt, _ = read_checkpoint(path)
    except CheckpointError as e:
        raise CompareError(str(e)) from None
    refuse_semi_supervised(ckpt.model, path.name)
    model = ckpt.model.eval()
    return ComparedModel(model_id, path.stem, model, dict(ckpt.data or {}), Scatter.from_extras(ckpt.extras),
                         model_card(path), path=path)


def model_card(path) -> dict | None:
    """The model card of a shipped model (trained/<name>.json beside trained/<name>.pt), or None:
    a card is trusted only where latentlab ships it, for the very file it describes."""
    path = Path(path)
    card_path = path.with_suffix(".json")
    try:
        if path.resolve().parent != shipped_models_dir().resolve() or not card_path.is_file():
            return None
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(card, dict) or Path(str(card.get("file", ""))).name != path.name:
        return None
    return card


def card_row(card: dict) -> MetricRow | None:
    """The card's test-set numbers as a row, or None when it has none (an M2's card)."""
    test = card.get("test") if isinstance(card.get("test"), dict) else {}
    if "neg_elbo" not in test:
        return None
    iw = card.get("test_nll_all_images") or card.get("test_nll") or {}
    exact = card.get("test_exact_nll") or {}
    values = {key: _number(test.get(key)) for key in ("neg_elbo", "kl", "recon", "active_units")}
    values["iw_nll"] = _number(iw.get("iw_nll"))
    values["exact_nll"] = _number(exact.get("exact_nll"))
    notes = [f"From the model card {card.get('name', '')}.json, measured on the {test.get('split', 'test')} set:",
             f"-ELBO, KL, reconstruction, active units on {test.get('images', '?'):,} images"]
    if values["iw_nll"] is not None:
        notes.append(f"IW-NLL with k = {iw.get('k', '?'):,} on {iw.get('images', '?'):,} images")
    if values["exact_nll"] is not None:
        notes.append(f"exact NLL by quadrature on {exact.get('images', '?'):,} images")
    images = test.get("images")
    source = f"model card ({images:,} test images)" if isinstance(images, int) else "model card"
    return MetricRow(values, source, "\n".join(notes))


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# -- live rows -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TestImages:
    pixels: np.ndarray                 # uint8 (N, C, H, W) as the model sees them
    source: str                        # "test images" or "sample images"


def comparison_images(data: dict, image_shape, count: int = LIVE_IMAGES) -> TestImages:
    """The first `count` test images of a checkpoint's data set (no download; the shipped samples
    when the test split is not here). ValueError, in words, when there are none."""
    from .examples import load_examples

    examples = load_examples(data, image_shape)
    kind = "test images" if examples.source == "test split" else "sample images"
    return TestImages(examples.pixels[:count], kind)


def chunk_columns(model, pixels: np.ndarray, exact: bool, iw_k: int = LIVE_IW_K) -> dict[str, np.ndarray]:
    """Per-image numbers of a chunk of images (under torch.inference_mode, as the runners do):
    the examples table's columns and the posterior means ("mu", for the active units)."""
    import torch

    from .example_metrics import bound_columns, exact_column

    columns = bound_columns(model, pixels, iw_k=iw_k)
    if exact:
        columns.update(exact_column(model, pixels))
    x = torch.from_numpy(np.asarray(pixels, dtype=np.float32) / 255.0).to(model.device)
    columns["mu"] = model.encode(x)[0].double().cpu().numpy()
    return columns


def live_row(chunks: list[dict], images: TestImages, exact: bool, iw_k: int = LIVE_IW_K) -> MetricRow:
    """The row of a model from the columns of all its chunks."""
    import torch

    from latentlab.core.evaluation import active_units

    joined = {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}
    values = {key: float(np.mean(joined[key])) for key in ("neg_elbo", "kl", "recon", "iw_nll")}
    values["exact_nll"] = float(np.mean(joined["exact_nll"])) if exact else None
    values["active_units"] = float(active_units(torch.from_numpy(joined["mu"]))[0]) if len(joined["mu"]) > 1 else None
    n = len(joined["mu"])
    where = f"{n} {images.source}"
    notes = (f"Measured live on the first {where}"
             + (" (the test split is not on this computer: the samples that ship with latentlab)"
                if images.source == "sample images" else "")
             + f"; IW-NLL with k = {iw_k:,}" + ("; exact NLL by quadrature" if exact else ""))
    return MetricRow(values, where, notes)
