"""Tests for latentlab.core.formats: the IDX and MAT-file readers, against independent writers.

The files are made by tests/dataset_files.py, which follows the published formats without using
latentlab's readers, so a round trip checks the reader against the format, not against itself.
"""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from dataset_files import (
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    idx_bytes,
    mat_v5_bytes,
    read_samples,
    write_idx_gz,
)
from latentlab.core.download import DataError
from latentlab.core.formats import MAX_DECOMPRESSED_BYTES, read_idx, read_mat

# --------------------------------------------------------------------------- IDX


def test_idx_round_trip(tmp_path):
    images, labels = read_samples("mnist")
    got_images = read_idx(write_idx_gz(tmp_path / "i.gz", images, IDX_IMAGES_MAGIC), IDX_IMAGES_MAGIC)
    got_labels = read_idx(write_idx_gz(tmp_path / "l.gz", labels, IDX_LABELS_MAGIC), IDX_LABELS_MAGIC)
    assert got_images.shape == (100, 28, 28) and np.array_equal(got_images, images)
    assert got_labels.shape == (100,) and np.array_equal(got_labels, labels)


def test_idx_bad_magic(tmp_path):
    images, _ = read_samples("mnist")
    path = write_idx_gz(tmp_path / "train-images-idx3-ubyte.gz", images, IDX_LABELS_MAGIC + 7)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*magic"):
        read_idx(path, IDX_IMAGES_MAGIC)


def test_idx_truncated_gzip(tmp_path):
    images, _ = read_samples("mnist")
    path = write_idx_gz(tmp_path / "train-images-idx3-ubyte.gz", images, IDX_IMAGES_MAGIC)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*(gzip|truncated)"):
        read_idx(path, IDX_IMAGES_MAGIC)


def test_idx_not_gzip_at_all(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"<html>Not found</html>")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz.*gzip"):
        read_idx(path, IDX_LABELS_MAGIC)


def test_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="Missing data file.*nothing.gz"):
        read_idx(tmp_path / "nothing.gz", IDX_LABELS_MAGIC)


def test_idx_header_promises_more_than_the_data(tmp_path):
    images, _ = read_samples("mnist")
    short = idx_bytes(images, IDX_IMAGES_MAGIC)[:-28]  # one image row missing
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(short))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*truncated"):
        read_idx(path, IDX_IMAGES_MAGIC)


# --------------------------------------------------------------------------- decompression bombs

BOMB_ZEROS = 48 * 2**20  # what the bombs below inflate to: far above the few MB a reader may use


def _deflate_zeros(compressor, head: bytes, zeros: int = BOMB_ZEROS) -> bytes:
    """``head`` followed by ``zeros`` zero bytes through ``compressor`` (never all in memory)."""
    out = [compressor.compress(head)]
    block = bytes(2**20)
    for _ in range(zeros // len(block)):
        out.append(compressor.compress(block))
    return b"".join(out) + compressor.flush()


def _peak_bytes(read, *args) -> tuple[int, Exception]:
    """(peak Python memory while ``read(*args)`` runs, the DataError it raised)."""
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read(*args)
        return tracemalloc.get_traced_memory()[1], info.value
    finally:
        tracemalloc.stop()


def test_idx_bomb_is_not_inflated_past_its_header(tmp_path):
    """A valid header for 1 image, then 48 MB of zeros in a 50 kB gzip: refused, in little memory."""
    head = struct.pack(">IIII", IDX_IMAGES_MAGIC, 1, 28, 28)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(_deflate_zeros(zlib.compressobj(9, zlib.DEFLATED, 31), head))
    assert path.stat().st_size < 100_000
    peak, error = _peak_bytes(read_idx, path, IDX_IMAGES_MAGIC)
    assert "train-images-idx3-ubyte.gz" in str(error) and "more data than its header" in str(error)
    assert peak < 4 * 2**20


def test_idx_header_promising_too_much_is_refused_before_decompressing(tmp_path):
    images, _ = read_samples("mnist")
    path = write_idx_gz(tmp_path / "train-images-idx3-ubyte.gz", images, IDX_IMAGES_MAGIC)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*promises 78,400 bytes.*1,000"):
        read_idx(path, IDX_IMAGES_MAGIC, max_bytes=1000)
    huge = struct.pack(">IIII", IDX_IMAGES_MAGIC, 2**31, 2**16, 2**16)  # 2^63 bytes promised
    path.write_bytes(gzip.compress(huge + bytes(100)))
    with pytest.raises(DataError, match=f"more than the {MAX_DECOMPRESSED_BYTES:,}"):
        read_idx(path, IDX_IMAGES_MAGIC)


def test_mat_bomb_is_not_inflated_past_its_tag(tmp_path):
    """An miCOMPRESSED element whose tag counts 16 bytes, inflating to 48 MB of zeros."""
    header = mat_v5_bytes({})
    tag = struct.pack("<II", 14, 16)  # miMATRIX, 16 bytes
    packed = _deflate_zeros(zlib.compressobj(9), tag)
    path = tmp_path / "frey_rawface.mat"
    path.write_bytes(header + struct.pack("<II", 15, len(packed)) + packed)
    peak, error = _peak_bytes(read_mat, path)
    assert "frey_rawface.mat" in str(error) and "inflates to more than the 24 bytes" in str(error)
    assert peak < 4 * 2**20


def test_mat_variable_claiming_too_much_is_refused_before_inflating(tmp_path):
    ff = np.zeros((560, 50), np.uint8)
    path = tmp_path / "frey_rawface.mat"
    path.write_bytes(mat_v5_bytes({"ff": ff}, compress=True))
    assert read_mat(path)["ff"].shape == (560, 50)
    with pytest.raises(DataError, match="frey_rawface.mat.*claims 28,.* bytes, more than"):
        read_mat(path, max_bytes=20_000)
    with pytest.raises(DataError, match="frey_rawface.mat is .* bytes, more than the 100"):
        read_mat(path, max_bytes=100)


# --------------------------------------------------------------------------- MAT v5


def _random_faces(count: int = 7) -> np.ndarray:
    return np.random.default_rng(1).integers(8, 239, size=(count, 28, 20), dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True], ids=["miMATRIX", "miCOMPRESSED"])
def test_mat_round_trip(tmp_path, compress):
    faces = _random_faces()
    ff = faces.reshape(len(faces), -1).T
    path = tmp_path / "faces.mat"
    path.write_bytes(mat_v5_bytes({"ff": ff, "tiny": np.array([[3, 4]], np.uint8)}, compress))
    variables = read_mat(path)
    assert variables["ff"].dtype == np.uint8
    assert np.array_equal(variables["ff"], ff)
    assert np.array_equal(variables["tiny"], [[3, 4]])  # 2 bytes: small-data-element format


def test_mat_big_endian(tmp_path):
    ff = _random_faces().reshape(7, -1).T
    path = tmp_path / "big.mat"
    path.write_bytes(mat_v5_bytes({"ff": ff}, order=">"))
    assert np.array_equal(read_mat(path)["ff"], ff)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: data[:100],  # shorter than the header
        lambda data: data[:-50],  # truncated variable
        lambda data: data[:126] + b"XX" + data[128:],  # bad endian indicator
    ],
    ids=["short", "truncated", "endian"],
)
def test_mat_corrupt_files_name_the_file(tmp_path, corrupt):
    path = tmp_path / "frey_rawface.mat"
    path.write_bytes(corrupt(mat_v5_bytes({"ff": _random_faces().reshape(7, -1).T})))
    with pytest.raises(DataError, match="frey_rawface.mat"):
        read_mat(path)


def test_mat_compressed_garbage(tmp_path):
    path = tmp_path / "bad.mat"
    header = mat_v5_bytes({})
    path.write_bytes(header + (15).to_bytes(4, "little") + (8).to_bytes(4, "little") + b"notzlib!")
    with pytest.raises(DataError, match="bad.mat"):
        read_mat(path)


def test_mat_missing_file(tmp_path):
    with pytest.raises(DataError, match="Missing data file.*gone.mat"):
        read_mat(tmp_path / "gone.mat")
