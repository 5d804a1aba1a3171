"""Test-only writers for the data set file formats, and a reader for the sample PNGs.

Used by conftest.py to build a tiny data root from resources/samples, and by test_data.py and
test_formats.py to make deliberately broken files. The layout writers (`write_mnist_layout`,
`write_frey_mat`) also list what they write in the data root's SHA256SUMS, as a data root of
one's own must (latentlab checks every file it loads against the publisher's checksum or that
list); a test that rewrites a file on purpose calls `record_checksum` itself.

The writers follow the published formats independently of latentlab's readers, so a round trip
checks the reader against the format, not against itself.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "resources" / "samples"

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


# --------------------------------------------------------------------------- checksum list


def record_checksum(path: Path) -> Path:
    """List ``<root>/<set>/<file>`` with its SHA-256 in ``<root>/SHA256SUMS`` (sha256sum format).

    ``path`` is a file in a data set folder of a data root; an existing line for it is replaced.
    """
    root = path.parent.parent
    name = f"{path.parent.name}/{path.name}"
    sums_path = root / "SHA256SUMS"
    lines = sums_path.read_text().splitlines() if sums_path.exists() else []
    lines = [line for line in lines if line.split("  ", 1)[-1] != name]
    lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}")
    sums_path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- sample PNGs


def read_samples(name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(images uint8 (N, H, W), labels int64 (N,) or None) from resources/samples/<name>/.

    Files are named <label>_<index>.png or face_<index>.png; they are returned in index order.
    """
    pattern = re.compile(r"^(?P<label>\w+?)_(?P<index>\d+)\.png$")
    entries = []
    for path in (SAMPLES_DIR / name).glob("*.png"):
        match = pattern.match(path.name)
        entries.append((int(match["index"]), match["label"], path))
    entries.sort()
    images = np.stack([np.asarray(Image.open(path), dtype=np.uint8) for _, _, path in entries])
    labels = [label for _, label, _ in entries]
    if all(label.isdigit() for label in labels):
        return images, np.array([int(label) for label in labels], dtype=np.int64)
    return images, None


# --------------------------------------------------------------------------- IDX


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """Uncompressed IDX: big-endian uint32 magic, one uint32 per dimension, then the bytes."""
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_gz(path: Path, array: np.ndarray, magic: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(idx_bytes(array, magic)))
    return path


def write_mnist_layout(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """The four MNIST-named files, with the same images for train and t10k, listed in SHA256SUMS."""
    for prefix in ("train", "t10k"):
        record_checksum(write_idx_gz(folder / f"{prefix}-images-idx3-ubyte.gz", images, IDX_IMAGES_MAGIC))
        record_checksum(write_idx_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", labels, IDX_LABELS_MAGIC))


# --------------------------------------------------------------------------- MAT v5

_MI_INT8, _MI_UINT8, _MI_INT32, _MI_UINT32 = 1, 2, 5, 6
_MI_MATRIX, _MI_COMPRESSED = 14, 15
_MX_UINT8_CLASS = 9


def _element(data_type: int, payload: bytes, order: str = "<") -> bytes:
    """A tagged data element; payloads of up to 4 bytes use the small-element format."""
    if 0 < len(payload) <= 4:
        return struct.pack(f"{order}I", len(payload) << 16 | data_type) + payload.ljust(4, b"\0")
    padding = b"\0" * (-len(payload) % 8)
    return struct.pack(f"{order}II", data_type, len(payload)) + payload + padding


def _uint8_matrix(name: str, array: np.ndarray, order: str) -> bytes:
    """An miMATRIX element for a 2-D uint8 array (stored column-major, as MATLAB does)."""
    flags = _element(_MI_UINT32, struct.pack(f"{order}II", _MX_UINT8_CLASS, 0), order)
    dims = _element(_MI_INT32, struct.pack(f"{order}{array.ndim}i", *array.shape), order)
    name_element = _element(_MI_INT8, name.encode("ascii"), order)
    real = _element(_MI_UINT8, np.asarray(array, np.uint8).tobytes(order="F"), order)
    return _element(_MI_MATRIX, flags + dims + name_element + real, order)


def mat_v5_bytes(
    variables: dict[str, np.ndarray], compress: bool = False, order: str = "<"
) -> bytes:
    """A level-5 MAT-file holding uint8 matrices; ``compress`` wraps each in miCOMPRESSED."""
    text = b"MATLAB 5.0 MAT-file, Platform: latentlab tests".ljust(116, b" ")
    endian = b"IM" if order == "<" else b"MI"
    header = text + b"\0" * 8 + struct.pack(f"{order}H", 0x0100) + endian
    body = b""
    for name, array in variables.items():
        matrix = _uint8_matrix(name, array, order)
        if compress:
            packed = zlib.compress(matrix)
            matrix = struct.pack(f"{order}II", _MI_COMPRESSED, len(packed)) + packed
        body += matrix
    return header + body


def write_frey_mat(path: Path, faces: np.ndarray, compress: bool = False) -> Path:
    """frey_rawface.mat layout: variable ``ff`` (560, N), one 28x20 face per column; in SHA256SUMS."""
    ff = faces.reshape(len(faces), -1).T
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mat_v5_bytes({"ff": ff}, compress=compress))
    return record_checksum(path)
