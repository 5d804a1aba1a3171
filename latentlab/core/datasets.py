"""The built-in data sets (MNIST, Fashion-MNIST, Frey Face): registry, downloads, splits, loading.

Files live under a *data root*, laid out exactly as the publishers named them::

    <root>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    <root>/fashion-mnist/   (same four names)
    <root>/frey-face/frey_rawface.mat

A missing file is downloaded (checksum-verified) into that layout unless downloading is off.
The file formats themselves (IDX, MAT) are read by :mod:`latentlab.core.formats`.

Every file is checked against its SHA-256 each time it is loaded, not only when downloaded, so a
damaged file gives a clear error instead of training silently; the hash is computed once and
remembered while the file is unchanged (:mod:`latentlab.core.checksums`), so loading stays fast.
The expected hash is the publisher's (the registry below), unless the data root has a
``SHA256SUMS`` list (the format of ``sha256sum``, paths relative to the root, e.g.
``mnist/train-images-idx3-ubyte.gz``) naming the file: then the listed hash is expected. That is
how a data root of one's own (a subset, the test suite's tiny copy) declares its files, and still
has every one of them checked.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs
import torch

from latentlab.core.checksums import file_sha256, read_sha256sums, remember_sha256
from latentlab.core.download import DataError, ProgressCallback, download_file
from latentlab.core.formats import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx, read_mat

__all__ = [
    "CHECKSUMS_FILE",
    "DATASETS",
    "DatasetSpec",
    "FREY_TEST_COUNT",
    "ImageDataset",
    "RemoteFile",
    "data_root",
    "load_dataset",
    "mirror_urls",
]

SPLITS = ("train", "test")


# --------------------------------------------------------------------------- the data set


@dataclass
class ImageDataset:
    """Images as one uint8 tensor, MNIST convention: 0 = background, 255 = ink/foreground."""

    name: str
    images: torch.Tensor  # uint8, (N, C, H, W)
    labels: torch.Tensor | None = None  # int64, (N,)
    label_names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(
                f"images must be a uint8 tensor of shape (N, C, H, W), "
                f"got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.labels is not None and self.labels.shape != (len(self.images),):
            raise ValueError(
                f"labels must have shape ({len(self.images)},), got {tuple(self.labels.shape)}"
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        channels, height, width = self.images.shape[1:]
        return (channels, height, width)

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, index: slice | torch.Tensor) -> ImageDataset:
        """The examples selected by ``index`` (a slice or an index tensor), same metadata."""
        labels = self.labels[index] if self.labels is not None else None
        return ImageDataset(self.name, self.images[index], labels, self.label_names)


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class RemoteFile:
    """One file as its publisher distributes it, with the checksums of the original bytes."""

    name: str
    size: int
    md5: str
    sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to fetch and read one built-in data set."""

    name: str  # also the folder name under the data root
    title: str
    base_urls: tuple[str, ...]  # originals first, then mirrors; the file name is appended
    files: dict[str, tuple[RemoteFile, ...]]  # split -> files it needs
    label_names: tuple[str, ...] | None
    credit: str

    def files_for(self, split: str) -> tuple[RemoteFile, ...]:
        return self.files[split]


def _mnist_layout_files(sums: dict[str, tuple[int, str, str]]) -> dict[str, tuple[RemoteFile, ...]]:
    """MNIST and Fashion-MNIST share file names: train-* for training, t10k-* for test."""

    def pair(prefix: str) -> tuple[RemoteFile, ...]:
        names = (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz")
        return tuple(RemoteFile(name, *sums[name]) for name in names)

    return {"train": pair("train"), "test": pair("t10k")}


# Sizes, MD5s and SHA-256s of the original files (MD5s as published by torchvision/Zalando;
# the Frey MD5 as recorded by public loader code for the original URL).
_MNIST_SUMS = {
    "train-images-idx3-ubyte.gz": (9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte.gz": (28881, "d53e105ee54ea40749a09fcbcd1e9432",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte.gz": (1648877, "9fb629c4189551a2d022fa330f9573f3",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": (4542, "ec29112dd5afa0611ce80d1b7f02629c",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
_FASHION_SUMS = {
    "train-images-idx3-ubyte.gz": (26421880, "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    "train-labels-idx1-ubyte.gz": (29515, "25c81989df183df01b3e8a0aad5dffbe",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    "t10k-images-idx3-ubyte.gz": (4422102, "bef4ecab320f06d8554ea6380940ec79",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    "t10k-labels-idx1-ubyte.gz": (5148, "bb300cfdad3c16e7a12a480ee83cd310",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
}
_FREY_FILE = RemoteFile(
    "frey_rawface.mat", 1100584, "5aeb024d42b8a6091f30e5eb18c8a48d",
    "265a83a23adb081755cd3de375509828e690324d1d60f076b8ecebc840d59c64",
)

FASHION_CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST handwritten digits",
        base_urls=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        files=_mnist_layout_files(_MNIST_SUMS),
        label_names=tuple(str(digit) for digit in range(10)),
        credit="Yann LeCun, Corinna Cortes, Christopher J. C. Burges (CC BY-SA 3.0 commonly cited)",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST (Zalando article images)",
        base_urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files=_mnist_layout_files(_FASHION_SUMS),
        label_names=FASHION_CLASS_NAMES,
        credit="Zalando Research; MIT licence, Copyright (c) 2017 Zalando SE",
    ),
    "frey-face": DatasetSpec(
        name="frey-face",
        title="Frey Face (1,965 video frames, 28x20)",
        base_urls=("https://cs.nyu.edu/~roweis/data/",),
        # One file holds all faces; the train/test split is ours (see _frey_split_indices).
        files={"train": (_FREY_FILE,), "test": (_FREY_FILE,)},
        label_names=None,
        credit="Brendan Frey, via Sam Roweis's data page",
    ),
}


# --------------------------------------------------------------------------- locations


DATA_ENV_VAR = "LATENTLAB_DATA"
MIRRORS_ENV_VAR = "LATENTLAB_MIRRORS"
CHECKSUMS_FILE = "SHA256SUMS"  # at the data root: a data root's own list of its files' SHA-256s


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: ``data_dir`` if given, else $LATENTLAB_DATA, else the user cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from_env = os.environ.get(DATA_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return Path(platformdirs.user_cache_dir("latentlab")) / "datasets"


def _root_origin(data_dir) -> str:
    """Where data_root() got its answer, for error messages."""
    if data_dir is not None:
        return "chosen with --data-dir / data_dir"
    if os.environ.get(DATA_ENV_VAR):
        return f"set by ${DATA_ENV_VAR}"
    return "the default cache folder"


def mirror_urls(spec: DatasetSpec, filename: str) -> list[str]:
    """Every URL to try for one file: $LATENTLAB_MIRRORS first, then the built-in ones.

    A mirror in $LATENTLAB_MIRRORS (comma-separated base URLs) is a copy of a whole data
    root, laid out like one: ``<base>/mnist/train-images-idx3-ubyte.gz``. So serving the
    team's offline copy (``python -m http.server`` in it, or a ``file://`` URL) just works.
    The built-in bases are the publishers' own folders, so only the file name is appended.
    """
    custom = [base.strip() for base in os.environ.get(MIRRORS_ENV_VAR, "").split(",")]
    urls = [f"{base.rstrip('/')}/{spec.name}/{filename}" for base in custom if base]
    urls += [base + filename for base in spec.base_urls]
    return urls


# --------------------------------------------------------------------------- MNIST layout


def _load_idx_split(folder: Path, files: tuple[RemoteFile, ...], spec: DatasetSpec) -> ImageDataset:
    images_file, labels_file = (folder / f.name for f in files)
    images = read_idx(images_file, IDX_IMAGES_MAGIC)
    labels = read_idx(labels_file, IDX_LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(
            f"{images_file} holds {len(images)} images but {labels_file} holds "
            f"{len(labels)} labels; one of them is from a different data set or corrupt."
        )
    class_count = len(spec.label_names or ())
    if labels.size and labels.max() >= class_count:
        raise DataError(f"{labels_file} has label {labels.max()}, expected 0..{class_count - 1}.")
    return ImageDataset(
        name=spec.name,
        images=torch.from_numpy(images.copy()).unsqueeze(1),  # copy: frombuffer is read-only
        labels=torch.from_numpy(labels.astype(np.int64)),
        label_names=list(spec.label_names),
    )


# --------------------------------------------------------------------------- Frey Face

FREY_IMAGE_ROWS, FREY_IMAGE_COLS = 28, 20
FREY_TEST_COUNT = 400  # of the 1,965 faces; the other 1,565 are training faces
_FREY_TOTAL = 1965


def _frey_split_indices(count: int, split: str) -> np.ndarray:
    """Our fixed Frey Face split (upstream has none).

    Shuffle the face indices with numpy's legacy ``RandomState(0)`` (its stream is frozen, so
    the split is the same on every machine and numpy version); the first 400 shuffled faces
    are the test set, the remaining 1,565 the training set. A file with a different number of
    faces (e.g. the tiny test fixture) keeps the same test fraction, 400/1965.
    """
    test_count = round(count * FREY_TEST_COUNT / _FREY_TOTAL)
    order = np.random.RandomState(0).permutation(count)
    chosen = order[:test_count] if split == "test" else order[test_count:]
    return np.sort(chosen)  # keep video order within a split; it is nicer to browse


def _load_frey_split(
    folder: Path, files: tuple[RemoteFile, ...], spec: DatasetSpec, split: str
) -> ImageDataset:
    path = folder / files[0].name
    variables = read_mat(path)
    if "ff" not in variables:
        raise DataError(f"{path} has no variable 'ff' (found: {sorted(variables) or 'none'}).")
    ff = variables["ff"]
    pixels_per_face = FREY_IMAGE_ROWS * FREY_IMAGE_COLS
    if ff.ndim != 2 or ff.shape[0] != pixels_per_face:
        raise DataError(f"{path}: 'ff' has shape {ff.shape}, expected ({pixels_per_face}, N).")
    # Each column is one face flattened row by row, so the transpose reshapes to upright faces.
    faces = np.ascontiguousarray(ff.T).reshape(-1, 1, FREY_IMAGE_ROWS, FREY_IMAGE_COLS)
    faces = faces[_frey_split_indices(len(faces), split)]
    return ImageDataset(spec.name, torch.from_numpy(faces.astype(np.uint8)), None, None)


# --------------------------------------------------------------------------- loading


def load_dataset(
    name: str,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> ImageDataset:
    """Load a built-in data set split, downloading missing files if ``download`` is true."""
    spec = _lookup(name)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = data_root(data_dir) / spec.name
    files = spec.files_for(split)
    for remote in files:
        _ensure_file(spec, remote, folder, data_dir, download, progress, cancel)
    if spec.name == "frey-face":
        return _load_frey_split(folder, files, spec, split)
    return _load_idx_split(folder, files, spec)


def _lookup(name: str) -> DatasetSpec:
    try:
        return DATASETS[name.lower()]
    except KeyError:
        known = ", ".join(DATASETS)
        raise DataError(f"Unknown data set {name!r}. Built-in data sets: {known}.") from None


def _ensure_file(spec, remote: RemoteFile, folder: Path, data_dir, download, progress, cancel):
    """Make sure ``folder/remote.name`` exists and is the expected file, downloading it if allowed."""
    path = folder / remote.name
    if not path.is_file():
        _download(spec, remote, path, data_dir, download, progress, cancel)
    _verify(spec, remote, path)


def _download(spec, remote: RemoteFile, path: Path, data_dir, download, progress, cancel):
    if not download:
        raise DataError(_missing_message(spec, path, data_dir, "Downloading is turned off."))
    try:
        download_file(
            mirror_urls(spec, remote.name), path, remote.md5, remote.sha256, progress, cancel,
            size=remote.size,
        )
    except DataError as exc:
        if cancel is not None and cancel.is_set():
            raise
        raise DataError(_missing_message(spec, path, data_dir, str(exc))) from exc
    remember_sha256(path, remote.sha256)  # download_file checked it: no need to hash it again


def _verify(spec: DatasetSpec, remote: RemoteFile, path: Path) -> None:
    """Raise a DataError saying what to do if ``path`` does not hash to what is expected of it."""
    root = path.parent.parent
    listed = read_sha256sums(root / CHECKSUMS_FILE).get(f"{spec.name}/{remote.name}")
    expected = listed or remote.sha256
    if file_sha256(path) == expected:
        return
    got = file_sha256(path, fresh=True)  # before calling it damaged: not a stale remembered hash
    if got == expected:
        return
    if listed:
        source = f"the one listed for it in {root / CHECKSUMS_FILE}"
        fix = (f"replace it with a good copy, or, if it was changed on purpose, put its new "
               f"SHA-256 in {root / CHECKSUMS_FILE}")
    else:
        source = "the publisher's"
        fix = (f"delete it so that latentlab downloads it again, or copy it again from the publisher "
               f"({spec.base_urls[0]}{remote.name})")
    raise DataError(
        f"Damaged data file {path} ({spec.title}): its SHA-256 is {got}, "
        f"but {source} is {expected}. The file is damaged or not the expected one, and "
        f"training on it would silently use wrong data.\n"
        f"To fix: {fix}."
    )


def _missing_message(spec: DatasetSpec, path: Path, data_dir, reason: str) -> str:
    root = path.parent.parent
    return (
        f"Missing data file {path.name} for {spec.title}.\n"
        f"Looked for it at: {path}\n"
        f"(data folder {root}, {_root_origin(data_dir)}).\n"
        f"{reason}\n"
        f"To fix: put the file at {path}, or use a data folder that has "
        f"{spec.name}/{path.name} in it with --data-dir DIR or the {DATA_ENV_VAR} "
        f"environment variable."
    )
