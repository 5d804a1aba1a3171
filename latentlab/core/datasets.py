"""The built-in data sets (MNIST, Fashion-MNIST, Frey Face): registry, file formats, loading.

Files live under a *data root*, laid out exactly as the publishers named them::

    <root>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    <root>/fashion-mnist/   (same four names)
    <root>/frey-face/frey_rawface.mat

A missing file is downloaded (checksum-verified) into that layout unless downloading is off.
Every parser validates what it reads and raises :class:`DataError` naming the file, so a
corrupt or truncated download gives a clear message rather than a numpy reshape error.
"""

from __future__ import annotations

import gzip
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs
import torch

from latentlab.core.download import DataError, ProgressCallback, download_file

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "FREY_TEST_COUNT",
    "ImageDataset",
    "RemoteFile",
    "data_root",
    "load_dataset",
    "mirror_urls",
    "read_idx",
    "read_mat",
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


# --------------------------------------------------------------------------- IDX format

IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension


def read_idx(path: str | os.PathLike, expected_magic: int) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes, validating header and length.

    IDX: big-endian uint32 magic (0x00 0x00 dtype ndim), one uint32 per dimension, then the
    data in row-major order.
    """
    path = Path(path)
    raw = _gunzip(path)
    ndim = expected_magic & 0xFF
    header_bytes = 4 + 4 * ndim
    if len(raw) < header_bytes:
        raise DataError(f"{path} is too short to be an IDX file ({len(raw)} bytes).")
    magic = struct.unpack_from(">I", raw)[0]
    if magic != expected_magic:
        raise DataError(
            f"{path} is not the expected IDX file: magic number {magic} (0x{magic:08x}), "
            f"expected {expected_magic} (0x{expected_magic:08x})."
        )
    dims = struct.unpack_from(f">{ndim}I", raw, 4)
    expected_bytes = header_bytes + int(np.prod(dims))
    if len(raw) != expected_bytes:
        raise DataError(
            f"{path} has {len(raw) - header_bytes} data bytes, but its header "
            f"{dims} promises {expected_bytes - header_bytes}. The file is truncated or corrupt."
        )
    return np.frombuffer(raw, np.uint8, offset=header_bytes).reshape(dims)


def _gunzip(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except FileNotFoundError:
        raise DataError(f"Missing data file: {path}") from None
    except (OSError, EOFError, zlib.error) as exc:
        # gzip raises BadGzipFile (an OSError) for bad headers and EOFError for truncation.
        raise DataError(f"{path} is not a valid gzip file or is truncated ({exc}).") from exc


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


# --------------------------------------------------------------------------- MAT v5 format
#
# A MATLAB level-5 MAT-file is a 128-byte header followed by *data elements*. Each element
# starts with an 8-byte tag, (data type, byte count), followed by its data padded to a
# multiple of 8 bytes. Two twists:
#   * Small data element: if the data is 4 bytes or fewer, the tag packs (byte count << 16 |
#     data type) into its first 4 bytes and the data into the next 4, so the whole element
#     is 8 bytes. You can tell by the upper 16 bits of the first word being non-zero.
#   * miCOMPRESSED: the data is a zlib stream that inflates to one ordinary element
#     (normally an miMATRIX). Used by MATLAB 7+ ("-v7") files. Not padded.
# A variable is an miMATRIX element whose data is itself a sequence of sub-elements:
# array flags (class), dimensions, name, then the real part (and an imaginary part if
# complex). Numbers are stored column-major, and MATLAB may store them in a smaller type
# than the array's class (e.g. doubles that are whole numbers as uint8), so we cast.

_MI_INT8, _MI_UINT8, _MI_INT16, _MI_UINT16, _MI_INT32, _MI_UINT32 = 1, 2, 3, 4, 5, 6
_MI_SINGLE, _MI_DOUBLE, _MI_INT64, _MI_UINT64 = 7, 9, 12, 13
_MI_MATRIX, _MI_COMPRESSED = 14, 15

# Element data type -> numpy type (byte order is applied separately).
_MI_DTYPES = {
    _MI_INT8: "i1", _MI_UINT8: "u1", _MI_INT16: "i2", _MI_UINT16: "u2",
    _MI_INT32: "i4", _MI_UINT32: "u4", _MI_SINGLE: "f4", _MI_DOUBLE: "f8",
    _MI_INT64: "i8", _MI_UINT64: "u8",
}

# Array class (low byte of the array flags) -> numpy type, numeric classes only.
_MX_CLASS_DTYPES = {
    6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2",
    12: "i4", 13: "u4", 14: "i8", 15: "u8",
}
_MX_COMPLEX_FLAG = 0x0800  # in the array-flags word, next to the class byte

_MAT_HEADER_BYTES = 128


class _MatFormatError(Exception):
    """Internal: malformed MAT data; turned into a DataError naming the file."""


def read_mat(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read the numeric arrays of a MATLAB v5/v7 MAT-file (no scipy needed).

    Returns {variable name: array} in MATLAB's shape. Variables of other kinds (cells,
    structs, sparse, char, objects) are skipped. Not supported: v7.3 files (HDF5).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"Missing data file: {path}") from None
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return _parse_mat(data)
    except (_MatFormatError, struct.error, ValueError, zlib.error) as exc:
        raise DataError(f"{path} is not a readable MATLAB v5 MAT-file: {exc}") from exc


def _parse_mat(data: bytes) -> dict[str, np.ndarray]:
    order = _mat_byte_order(data)
    variables: dict[str, np.ndarray] = {}
    position = _MAT_HEADER_BYTES
    while position < len(data):
        data_type, payload, position = _next_element(data, position, order)
        if data_type == _MI_COMPRESSED:
            inner_type, inner_payload, _ = _next_element(zlib.decompress(payload), 0, order)
            data_type, payload = inner_type, inner_payload
        if data_type == _MI_MATRIX:
            variable = _parse_matrix(payload, order)
            if variable is not None:
                variables[variable[0]] = variable[1]
    return variables


def _mat_byte_order(data: bytes) -> str:
    """The header ends with version (2 bytes) and the characters 'MI' written as an int16."""
    if len(data) < _MAT_HEADER_BYTES:
        raise _MatFormatError(f"only {len(data)} bytes, shorter than the 128-byte header")
    indicator = data[126:128]
    if indicator == b"IM":
        order = "<"
    elif indicator == b"MI":
        order = ">"
    else:
        raise _MatFormatError(f"bad endian indicator {indicator!r} (is this a v4 MAT-file?)")
    version = struct.unpack_from(f"{order}H", data, 124)[0]
    if version != 0x0100:  # v7.3 files say 0x0200 and are HDF5 inside
        raise _MatFormatError(f"version 0x{version:04x} is not supported (v7.3/HDF5?); use -v7")
    return order


def _next_element(data: bytes, position: int, order: str) -> tuple[int, bytes, int]:
    """Read the element at ``position``; return (data type, payload, next position)."""
    if position + 8 > len(data):
        raise _MatFormatError(f"truncated element tag at byte {position}")
    first_word, second_word = struct.unpack_from(f"{order}II", data, position)
    small_byte_count = first_word >> 16
    if small_byte_count:  # small data element: tag and up to 4 data bytes share 8 bytes
        data_type = first_word & 0xFFFF
        if small_byte_count > 4:
            raise _MatFormatError(f"small element claims {small_byte_count} bytes")
        return data_type, data[position + 4 : position + 4 + small_byte_count], position + 8
    data_type, byte_count = first_word, second_word
    start = position + 8
    end = start + byte_count
    if end > len(data):
        raise _MatFormatError(
            f"element at byte {position} needs {byte_count} bytes, only {len(data) - start} left"
        )
    padded_end = end if data_type == _MI_COMPRESSED else start + _round_up_to_8(byte_count)
    return data_type, data[start:end], padded_end


def _round_up_to_8(count: int) -> int:
    return (count + 7) // 8 * 8


def _parse_matrix(payload: bytes, order: str) -> tuple[str, np.ndarray] | None:
    """Decode one miMATRIX payload; None for array kinds we do not read."""
    if not payload:  # MATLAB writes empty miMATRIX elements for empty cells
        return None
    _, flags_bytes, position = _next_element(payload, 0, order)
    flags = struct.unpack_from(f"{order}I", flags_bytes)[0]
    array_class = flags & 0xFF
    if array_class not in _MX_CLASS_DTYPES:
        return None

    dims_type, dims_bytes, position = _next_element(payload, position, order)
    dims = tuple(int(d) for d in _element_array(dims_type, dims_bytes, order))
    _, name_bytes, position = _next_element(payload, position, order)
    name = name_bytes.decode("ascii", errors="replace")

    class_dtype = _MX_CLASS_DTYPES[array_class]
    real_type, real_bytes, position = _next_element(payload, position, order)
    values = _element_array(real_type, real_bytes, order).astype(class_dtype)
    if values.size != int(np.prod(dims)):
        raise _MatFormatError(f"variable {name!r}: {values.size} values for dimensions {dims}")
    if flags & _MX_COMPLEX_FLAG:
        imag_type, imag_bytes, _ = _next_element(payload, position, order)
        values = values + 1j * _element_array(imag_type, imag_bytes, order).astype(class_dtype)
    return name, values.reshape(dims, order="F")  # MATLAB is column-major


def _element_array(data_type: int, payload: bytes, order: str) -> np.ndarray:
    if data_type not in _MI_DTYPES:
        raise _MatFormatError(f"unsupported numeric data type {data_type}")
    dtype = np.dtype(_MI_DTYPES[data_type]).newbyteorder(order)
    if len(payload) % dtype.itemsize:
        raise _MatFormatError(f"{len(payload)} bytes is not a whole number of {dtype} values")
    return np.frombuffer(payload, dtype).astype(dtype.newbyteorder("="))


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
    """Make sure ``folder/remote.name`` exists, downloading it if allowed."""
    path = folder / remote.name
    if path.is_file():
        return
    if not download:
        raise DataError(_missing_message(spec, path, data_dir, "Downloading is turned off."))
    try:
        download_file(
            mirror_urls(spec, remote.name), path, remote.md5, remote.sha256, progress, cancel
        )
    except DataError as exc:
        if cancel is not None and cancel.is_set():
            raise
        raise DataError(_missing_message(spec, path, data_dir, str(exc))) from exc


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
