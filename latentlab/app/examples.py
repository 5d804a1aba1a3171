"""The examples: test images of the model's data set, and the table of their per-image numbers.

Which images: the data set's test split when its files are on this computer (never downloaded
for this), else the 100 sample images that ship with latentlab (the split's first 100). They
are binarised the way the checkpoint's scatter was (`pipeline.scatter_extras`: the model's
binarisation, a generator seeded with 0, chunks of 1,000), so example i *is* point i of the
scatter: selecting it puts its ellipse on that point. At most SCATTER_POINTS images are kept
(what a scatter can show); the table covers the first EXAMPLE_LIMIT of them.

`ExampleTable` holds the numbers as plain arrays (NaN until computed), filled chunk by chunk
in the background, and sorts them numerically. Nothing here runs a model or knows about Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXAMPLE_LIMIT = 1000          # rows of the table by default (the exact NLL costs ~0.1 s an image)
KEPT_IMAGES = 10_000          # = pipeline.SCATTER_POINTS: every scatter point can be selected
BINARIZE_SEED, BINARIZE_CHUNK = 0, 1000    # as pipeline.scatter_extras
IW_K = 1000                   # importance samples of the table's IW-NLL column

# (key, header, tooltip); the keys are ExampleTable.values' keys
COLUMNS = (
    ("index", "#", "The image's position in the test split (= its point of the scatter)"),
    ("label", "label", "The image's label"),
    ("neg_elbo", "-ELBO", "-ELBO in nats: reconstruction + KL (expectation by quadrature in 2-D, "
                          "256 draws of q otherwise)"),
    ("kl", "KL", "KL(q(z|x) || p(z)) in nats (analytic)"),
    ("recon", "reconstruction", "-E_q[log p(x|z)] in nats"),
    ("iw_nll", f"IW-NLL (k={IW_K})", f"-L_k with k = {IW_K:,} importance samples: an upper bound on -log p(x)"),
    ("exact_nll", "exact NLL", "-log p(x) by quadrature (2-D latent spaces only)"),
    ("gap", "gap", "log p(x) - ELBO = -ELBO - exact NLL: how loose the ELBO is for this image"),
)
COLUMN_KEYS = tuple(key for key, _, _ in COLUMNS)


@dataclass(frozen=True, eq=False)
class ExampleSet:
    """Test images as the model sees them, with where they come from."""

    dataset: str
    source: str                      # "test split" or "sample images"
    pixels: np.ndarray               # uint8 (N, C, H, W): binarised (0 / 255) or grey levels
    indices: np.ndarray              # (N,) each image's position in the test split
    labels: np.ndarray | None        # (N,) int64
    label_names: tuple[str, ...]
    binarize: str
    total: int                       # images in the test split (or samples) before KEPT_IMAGES

    def __len__(self) -> int:
        return len(self.pixels)

    def label_name(self, row: int) -> str:
        if self.labels is None:
            return ""
        label = int(self.labels[row])
        return self.label_names[label] if 0 <= label < len(self.label_names) else str(label)

    def image_name(self, row: int) -> str:
        """'test image 12 (7)': what the status bar and the canvas call it."""
        label = self.label_name(row)
        return f"test image {int(self.indices[row])}" + (f" ({label})" if label else "")

    def row_of(self, test_index: int) -> int | None:
        """The row holding test image `test_index`, or None when it is not loaded."""
        rows = np.flatnonzero(self.indices == test_index)
        return int(rows[0]) if len(rows) else None

    def matches_scatter(self, scatter) -> bool:
        """Whether point i of `scatter` is test image i of this set: its points come from the same
        split in the same order, which the labels confirm where there are any."""
        if scatter is None or not np.array_equal(self.indices, np.arange(len(self.indices))):
            return False
        n = min(len(scatter.means), len(self))
        if scatter.labels is None or self.labels is None:     # nothing to check them by (Frey Face)
            return scatter.labels is None and self.labels is None
        return bool(np.array_equal(scatter.labels[:n], self.labels[:n]))


def binarise(images_u8, mode: str):
    """uint8 tensor (N, C, H, W) -> uint8 numpy as the model sees it, as the scatter did."""
    import torch

    from latentlab.core.data import binarize, to_float

    g = torch.Generator().manual_seed(BINARIZE_SEED)
    out = [binarize(to_float(chunk), mode, g) for chunk in images_u8.split(BINARIZE_CHUNK)]
    return (torch.cat(out) * 255).round().to(torch.uint8).numpy()


def load_examples(data: dict, image_shape, data_dir=None) -> ExampleSet:
    """The examples of a checkpoint's `data` section ({"dataset": ..., "binarize": ...}) for a model
    of `image_shape`. Raises ValueError with a message for the user when there are none."""
    from latentlab.core.data import DATASETS, DataError, load_dataset
    from latentlab.core.samples import load_samples

    name = (data or {}).get("dataset")
    if name not in DATASETS:
        raise ValueError("examples need a model of a built-in data set (MNIST, Fashion-MNIST, Frey Face)"
                         + (f"; this one was trained on {name}" if name else ""))
    mode = data.get("binarize") or ("grey" if name == "frey-face" else "dynamic")
    try:
        dataset = load_dataset(name, "test", data_dir=data_dir, download=False)
        indices, source = np.arange(len(dataset)), "test split"
    except DataError:
        try:
            dataset, indices = load_samples(name)
        except DataError as e:
            raise ValueError(f"neither the {name} test split nor its sample images are here ({e})") from None
        source = "sample images"
    if tuple(dataset.image_shape) != tuple(image_shape):
        raise ValueError(f"the {name} images are {tuple(dataset.image_shape)}, the model's {tuple(image_shape)}")
    total = len(dataset)
    dataset = dataset.subset(slice(0, KEPT_IMAGES))
    labels = None if dataset.labels is None else dataset.labels.numpy().astype(np.int64)
    return ExampleSet(name, source, binarise(dataset.images, mode), indices[:KEPT_IMAGES], labels,
                      tuple(dataset.label_names or ()), mode, total)


class ExampleTable:
    """Per-image numbers of the first `rows` examples; NaN until computed (and for exact values
    of a model whose latent space is not 2-D)."""

    def __init__(self, examples: ExampleSet, rows: int, exact: bool):
        self.examples = examples
        self.rows = rows
        self.exact = exact                        # the exact NLL and gap columns apply
        self.values = {key: np.full(rows, np.nan) for key in COLUMN_KEYS}
        self.values["index"] = examples.indices[:rows].astype(np.float64)
        if examples.labels is not None:
            self.values["label"] = examples.labels[:rows].astype(np.float64)

    def fill(self, start: int, columns: dict[str, np.ndarray]) -> None:
        """Numbers of rows start, start + 1, ...; the gap follows once -ELBO and the exact NLL are in."""
        for key, values in columns.items():
            self.values[key][start:start + len(values)] = values
        self.values["gap"] = self.values["neg_elbo"] - self.values["exact_nll"]

    def text(self, row: int, key: str) -> str:
        """What a cell shows: the label's name, a whole index, nats to 2 decimals, or '' (pending)."""
        if key == "label":
            return self.examples.label_name(row)
        value = self.values[key][row]
        if np.isnan(value):
            return "—" if key in ("exact_nll", "gap") and not self.exact else ""
        return str(int(value)) if key == "index" else f"{value:.2f}"

    def order(self, key: str, descending: bool = False) -> np.ndarray:
        """Rows sorted by a column numerically (stable; rows not computed yet last either way)."""
        values = self.values[key]
        known = np.flatnonzero(~np.isnan(values))
        known = known[np.argsort(-values[known] if descending else values[known], kind="stable")]
        return np.concatenate([known, np.flatnonzero(np.isnan(values))]).astype(np.int64)
