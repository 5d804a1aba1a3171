"""Reading a checkpoint file without torch: its payload with every tensor as a NumPy array.

Importing torch takes seconds, and the app shows its first picture before torch is in (see
core/numpy_vae.py and gui/first_look.py). `torch.save` writes a zip: `<name>/data.pkl` is a pickle
of the payload in which each tensor is a call `torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, ...)` and each storage a persistent id `("storage", torch.FloatStorage, key, device,
numel)` whose bytes are the entry `<name>/data/<key>`, in the byte order `<name>/byteorder` names.

A checkpoint from a stranger never runs code here: the unpickler's `find_class` hands out only
the names that format uses for tensors (`_rebuild_tensor_v2`, replaced by a NumPy version that
checks its arguments, the `torch.<Type>Storage` names, which become inert markers, and
`collections.OrderedDict`); any other global (os.system, builtins.eval, a class from some package)
stops the read with `CheckpointError` before anything is called. Storage bytes are only read, and
every tensor's offset, sizes and strides are checked against its storage before it is viewed.

This is not the checkpoint reader of latentlab (core/checkpoint.py, with torch.load(weights_only)
and a schema check of every section); it gives the first look what it needs, and a file it cannot
read is then simply opened the usual way.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint_files import MAX_CHECKPOINT_BYTES, CheckpointError, open_checked

__all__ = ["RefusedGlobal", "STORAGE_DTYPES", "read_checkpoint_arrays"]

# torch's storage type names (torch/storage.py `_get_dtype_from_pickle_storage_type`) -> NumPy.
# bfloat16 has no NumPy type: its 16 bits are the high half of a float32 (converted below).
STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "ComplexDoubleStorage": np.complex128, "ComplexFloatStorage": np.complex64,
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a Python object outside the tensor format: it could run code, so the
    read stops there (nothing was called)."""

    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.qualified_name = f"{module}.{name}"


class _StorageType:
    """What `torch.FloatStorage` (say) unpickles to: a marker with a dtype. Not callable, so a
    pickle that tries to call it fails instead of doing anything."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


def _as_ints(value, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"a tensor's {what} must be a tuple of whole numbers, got {value!r}")
    return value


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None) -> np.ndarray:
    """torch._utils._rebuild_tensor_v2 for NumPy: a copy of `size` elements of `storage` (1-D)
    from `storage_offset` with `stride` (in elements), after checking that they lie inside it."""
    if not isinstance(storage, np.ndarray) or storage.ndim != 1:
        raise ValueError("a tensor must be built on a storage of the file")
    size, stride = _as_ints(size, "size"), _as_ints(stride, "stride")
    if not isinstance(storage_offset, int) or isinstance(storage_offset, bool) or storage_offset < 0:
        raise ValueError(f"a tensor's storage offset must be a whole number >= 0, got {storage_offset!r}")
    if len(size) != len(stride) or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise ValueError(f"a tensor's size {size} and stride {stride} do not fit together")
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= len(storage):
        raise ValueError(f"a tensor of size {size} reaches element {last} of a storage of {len(storage)}")
    view = np.lib.stride_tricks.as_strided(storage[storage_offset:], shape=size,
                                           strides=[s * storage.itemsize for s in stride], writeable=False)
    return np.array(view)


class _Unpickler(pickle.Unpickler):
    """pickle.Unpickler with an allow-list of globals and storages read from the zip as arrays."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(file)
        self._archive, self._prefix, self._byteorder = archive, prefix, byteorder
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise RefusedGlobal(module, name)

    def persistent_load(self, pid) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) == 5):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        kind, storage_type, key, _location, numel = pid
        if kind not in ("storage", b"storage") or not isinstance(storage_type, _StorageType) \
                or not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        if key not in self._storages:
            self._storages[key] = self._read_storage(key, STORAGE_DTYPES[storage_type.name], numel)
        return self._storages[key]

    def _read_storage(self, key: str, dtype, numel: int) -> np.ndarray:
        data = self._archive.read(f"{self._prefix}data/{key}")
        order = "<" if self._byteorder == "little" else ">"
        stored = np.dtype(np.uint16 if isinstance(dtype, str) else dtype).newbyteorder(order)
        if len(data) < numel * stored.itemsize:
            raise ValueError(f"storage {key} holds {len(data)} bytes, fewer than its {numel} elements need")
        values = np.frombuffer(data, dtype=stored, count=numel)
        if isinstance(dtype, str):       # bfloat16: the high 16 bits of a float32
            return (values.astype(np.uint32) << 16).view(np.float32)
        return values.astype(stored.newbyteorder("="))


def _pickle_prefix(archive: zipfile.ZipFile) -> str:
    """The folder inside the zip that holds data.pkl ("archive/" for files of recent torch)."""
    found = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
    if len(found) != 1:
        raise ValueError("no data.pkl at the top of the zip: not a file torch.save wrote")
    return found[0][:-len("data.pkl")]


def read_checkpoint_arrays(path: str | os.PathLike, *, max_bytes: int = MAX_CHECKPOINT_BYTES) -> Any:
    """The object a torch.save file holds (for a latentlab checkpoint, its payload dict), with
    every tensor as a NumPy array (native byte order, its own copy).

    Raises CheckpointError naming the file: for a file that is missing, too large, damaged or not
    a torch zip, and ("Refused to open ...") for one whose pickle names anything beyond tensors.
    """
    path = Path(path)
    try:
        with open_checked(path, max_bytes) as f, zipfile.ZipFile(f) as archive:
            prefix = _pickle_prefix(archive)
            names = set(archive.namelist())
            byteorder = "little"     # files from torch < 1.10 have no byteorder entry: little-endian
            if f"{prefix}byteorder" in names:
                byteorder = archive.read(f"{prefix}byteorder").decode("ascii").strip()
                if byteorder not in ("little", "big"):
                    raise ValueError(f"unknown byte order {byteorder!r}")
            pickled = io.BytesIO(archive.read(f"{prefix}data.pkl"))
            return _Unpickler(pickled, archive, prefix, byteorder).load()
    except CheckpointError:
        raise
    except RefusedGlobal as e:
        raise CheckpointError(f"Refused to open {path}: it names {e.qualified_name}, a Python object that could "
                              "run code when loaded, which no latentlab checkpoint does. Nothing from it was "
                              "run.") from e
    except (pickle.UnpicklingError, zipfile.BadZipFile, KeyError, EOFError, ValueError, TypeError, OSError,
            UnicodeDecodeError, IndexError, AttributeError, MemoryError, OverflowError) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path} is damaged or not a latentlab checkpoint (it may be truncated): "
                              f"{detail}") from e
