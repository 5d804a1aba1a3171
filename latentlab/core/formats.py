"""File formats of the built-in data sets: gzip-compressed IDX (MNIST) and MATLAB v5 MAT-files.

Only formats live here; which files make which data set, and where they come from, is
:mod:`latentlab.core.datasets`. Every reader validates what it reads and raises
:class:`~latentlab.core.download.DataError` naming the file, so a corrupt or truncated file
gives a clear message rather than a numpy reshape error.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from latentlab.core.download import DataError

__all__ = ["IDX_IMAGES_MAGIC", "IDX_LABELS_MAGIC", "MAX_DECOMPRESSED_BYTES", "read_idx", "read_mat"]


# --------------------------------------------------------------------------- limits

#: The most one data file may decompress to: 256 MiB, five times the largest built-in file
#: (Fashion-MNIST's training images, 47 MB). Readers decompress only as much as a file's own
#: header promises, and refuse a promise above this before decompressing it, so a small
#: "decompression bomb" (a 2 MB gzip of 4 GB of zeros) costs a few bytes of memory, not 4 GB.
MAX_DECOMPRESSED_BYTES = 256 * 2**20


# --------------------------------------------------------------------------- IDX format

IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension


def read_idx(
    path: str | os.PathLike, expected_magic: int, max_bytes: int = MAX_DECOMPRESSED_BYTES
) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes, validating header and length.

    IDX: big-endian uint32 magic (0x00 0x00 dtype ndim), one uint32 per dimension, then the
    data in row-major order. The header is decompressed first; then exactly the bytes it
    promises (at most ``max_bytes`` in all), and one more to make sure nothing follows.
    """
    path = Path(path)
    ndim = expected_magic & 0xFF
    header_bytes = 4 + 4 * ndim
    with _open_gzip(path) as stream:
        header = _read(stream, header_bytes, path)
        if len(header) < header_bytes:
            raise DataError(f"{path} is too short to be an IDX file ({len(header)} bytes).")
        magic = struct.unpack_from(">I", header)[0]
        if magic != expected_magic:
            raise DataError(
                f"{path} is not the expected IDX file: magic number {magic} (0x{magic:08x}), "
                f"expected {expected_magic} (0x{expected_magic:08x})."
            )
        dims = struct.unpack_from(f">{ndim}I", header, 4)
        data_bytes = math.prod(dims)
        if header_bytes + data_bytes > max_bytes:
            raise DataError(
                f"{path}: its header {dims} promises {data_bytes:,} bytes of data, more than "
                f"the {max_bytes:,} latentlab reads from one file. It is corrupt or not a data "
                "set file; nothing was decompressed."
            )
        data = _read(stream, data_bytes, path)
        if len(data) != data_bytes:
            raise DataError(
                f"{path} has {len(data)} data bytes, but its header {dims} promises "
                f"{data_bytes}. The file is truncated or corrupt."
            )
        if _read(stream, 1, path):
            raise DataError(
                f"{path} holds more data than its header {dims} promises ({data_bytes:,} bytes); "
                "reading stopped there. The file is corrupt."
            )
    return np.frombuffer(data, np.uint8).reshape(dims)


@contextlib.contextmanager
def _open_gzip(path: Path):
    try:
        stream = gzip.open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"Missing data file: {path}") from None
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    with stream:
        yield stream


def _read(stream, count: int, path: Path) -> bytes:
    """Up to ``count`` decompressed bytes (gzip decompresses no more than it is asked for)."""
    try:
        return stream.read(count)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip raises BadGzipFile (an OSError) for bad headers and EOFError for truncation.
        raise DataError(f"{path} is not a valid gzip file or is truncated ({exc}).") from exc


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


def read_mat(path: str | os.PathLike, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> dict[str, np.ndarray]:
    """Read the numeric arrays of a MATLAB v5/v7 MAT-file (no scipy needed).

    Returns {variable name: array} in MATLAB's shape. Variables of other kinds (cells,
    structs, sparse, char, objects) are skipped. Not supported: v7.3 files (HDF5).
    The file plus everything its compressed variables inflate to is at most ``max_bytes``.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DataError(
                f"{path} is {size:,} bytes, more than the {max_bytes:,} latentlab reads from "
                "one file; it is not the expected MAT-file."
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"Missing data file: {path}") from None
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return _parse_mat(data, max_bytes - len(data))
    except (_MatFormatError, struct.error, ValueError, zlib.error) as exc:
        raise DataError(f"{path} is not a readable MATLAB v5 MAT-file: {exc}") from exc


def _parse_mat(data: bytes, inflate_budget: int) -> dict[str, np.ndarray]:
    order = _mat_byte_order(data)
    variables: dict[str, np.ndarray] = {}
    position = _MAT_HEADER_BYTES
    while position < len(data):
        data_type, payload, position = _next_element(data, position, order)
        if data_type == _MI_COMPRESSED:
            inflated = _inflate_element(payload, order, inflate_budget)
            inflate_budget -= len(inflated)
            data_type, payload, _ = _next_element(inflated, 0, order)
        if data_type == _MI_MATRIX:
            variable = _parse_matrix(payload, order)
            if variable is not None:
                variables[variable[0]] = variable[1]
    return variables


def _inflate_element(payload: bytes, order: str, budget: int) -> bytes:
    """Inflate an miCOMPRESSED payload: its 8-byte tag first, then only the bytes the tag counts.

    Refuses a tag counting more than ``budget`` before inflating it, and a stream that holds
    more than its tag counts (so a zlib bomb is never inflated beyond the tag's promise).
    """
    inflater = zlib.decompressobj()
    tag = inflater.decompress(payload, 8)
    if len(tag) < 8:
        raise _MatFormatError("a compressed variable ends inside its tag")
    first_word, second_word = struct.unpack(f"{order}II", tag)
    # A small data element (see above) is all in its 8-byte tag.
    body_bytes = 0 if first_word >> 16 else _round_up_to_8(second_word)
    if 8 + body_bytes > budget:
        raise _MatFormatError(
            f"a compressed variable claims {second_word:,} bytes, more than the "
            f"{max(budget, 0):,} left of the limit of what latentlab reads from one file"
        )
    body = inflater.decompress(inflater.unconsumed_tail, body_bytes) if body_bytes else b""
    if inflater.decompress(inflater.unconsumed_tail, 1):  # max_length=1: one byte at most
        raise _MatFormatError(
            f"a compressed variable inflates to more than the {8 + body_bytes:,} bytes its tag "
            "counts; reading stopped there"
        )
    return tag + body


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
