"""Reading torch.save files without torch (core/torchless_checkpoint.py): the same arrays as
torch.load, byte order, views, and files that must be refused without running anything."""

import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

from latentlab.core.checkpoint_files import CheckpointError
from latentlab.core.shipped import default_checkpoint
from latentlab.core.torchless_checkpoint import _rebuild_tensor, read_checkpoint_arrays


def _same(ours, theirs, where="payload"):
    """Recursively: every torch tensor is an equal NumPy array; everything else equal."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, np.ndarray), where
        expected = theirs.float().numpy() if theirs.dtype == torch.bfloat16 else theirs.numpy()
        assert ours.dtype == expected.dtype and ours.shape == expected.shape, where
        np.testing.assert_array_equal(ours, expected, err_msg=where)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), where
        for key in theirs:
            _same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where


def test_a_shipped_checkpoint_reads_as_torch_reads_it():
    path = default_checkpoint()
    _same(read_checkpoint_arrays(path), torch.load(path, map_location="cpu", weights_only=True))


def test_views_offsets_and_every_dtype_come_back_as_torch_has_them(tmp_path):
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
    payload = {
        "transposed": base.t(),                 # strides (1, 10) on the shared storage
        "slice": base[2:5, 3:7],                # a storage offset and a row stride
        "every_other": base.flatten()[1::2],
        "shared_again": base,                   # the same storage, read once
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        "half": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "bfloat16": torch.tensor([1.5, -3.25, 1e30], dtype=torch.bfloat16),
        "ints": torch.tensor([-(2 ** 40), 7], dtype=torch.int64),
        "small": torch.tensor([1, -2], dtype=torch.int8),
        "bytes": torch.tensor([0, 255], dtype=torch.uint8),
        "flags": torch.tensor([True, False]),
        "nested": OrderedDict(a=[1, 2.5, "x", None, True], b={"c": torch.ones(2, dtype=torch.int32)}),
    }
    path = tmp_path / "views.pt"
    torch.save(payload, path)
    _same(read_checkpoint_arrays(path), torch.load(path, weights_only=True))


def _rewrite(path, out, change):
    """Copy a zip, passing each entry's (name, bytes) through `change`."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for name in src.namelist():
            dst.writestr(name, change(name, src.read(name)))
    return out


def test_big_endian_storages_are_read_in_their_byte_order(tmp_path):
    path = tmp_path / "little.pt"
    torch.save({"w": torch.tensor([1.5, -2.25, 1e-7]), "n": torch.tensor([1, -300])}, path)
    with zipfile.ZipFile(path) as z:      # 12 bytes: the three float32; 16: the two int64
        dtypes = {name: np.float32 if len(z.read(name)) == 12 else np.int64 for name in z.namelist() if "/data/" in name}

    def to_big(name, data):
        if name.endswith("byteorder"):
            return b"big"
        if name in dtypes:
            return np.frombuffer(data, dtypes[name]).astype(np.dtype(dtypes[name]).newbyteorder(">")).tobytes()
        return data

    arrays = read_checkpoint_arrays(_rewrite(path, tmp_path / "big.pt", to_big))
    np.testing.assert_array_equal(arrays["w"], np.array([1.5, -2.25, 1e-7], dtype=np.float32))
    np.testing.assert_array_equal(arrays["n"], [1, -300])
    assert arrays["w"].dtype == np.float32 and arrays["w"].dtype.isnative


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _torch_zip(path, pickled: bytes):
    """A file laid out as torch.save writes it, with `pickled` as its data.pkl."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickled)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
    return path


@pytest.mark.parametrize("evil", ["os.system", "builtins.eval"])
def test_a_pickle_naming_anything_but_tensors_is_refused_and_nothing_runs(tmp_path, evil):
    marker = tmp_path / "marker"
    if evil == "os.system":
        pickled = pickle.dumps({"state_dict": {"w": _RunsCode(marker)}}, protocol=2)
    else:   # GLOBAL builtins.eval, MARK, the source, TUPLE, REDUCE: eval("open(marker, 'w')")
        pickled = f"cbuiltins\neval\n(Vopen({str(marker)!r}, 'w')\ntR.".encode()
    path = _torch_zip(tmp_path / "evil.pt", pickled)
    with pytest.raises(CheckpointError, match="Refused to open .*evil.pt.*Nothing from it was run"):
        read_checkpoint_arrays(path)
    assert not marker.exists()


def test_a_bare_pickle_that_would_run_code_is_not_a_checkpoint_and_is_not_run(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "plain.pt"
    path.write_bytes(pickle.dumps(_RunsCode(marker)))
    with pytest.raises(CheckpointError, match="damaged or not a latentlab checkpoint"):
        read_checkpoint_arrays(path)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "short storage", "missing storage"])
def test_damaged_files_give_one_clear_error_naming_the_file(tmp_path, damage):
    source = default_checkpoint()
    path = tmp_path / "bad.pt"
    if damage == "truncated":
        path.write_bytes(source.read_bytes()[:len(source.read_bytes()) // 2])
    elif damage == "garbage":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "short storage":
        _rewrite(source, path, lambda name, data: data[:10] if name.endswith("/data/0") else data)
    else:
        with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
            for name in src.namelist():
                if not name.endswith("/data/0"):
                    dst.writestr(name, src.read(name))
    with pytest.raises(CheckpointError, match=r"bad\.pt"):
        read_checkpoint_arrays(path)


def test_a_tensor_reaching_past_its_storage_is_refused_before_it_is_viewed():
    storage = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(_rebuild_tensor(storage, 4, (2, 3), (3, 1)), [[4, 5, 6], [7, 8, 9]])
    for offset, size, stride in ((5, (2, 3), (3, 1)), (0, (11,), (1,)), (-1, (2,), (1,)), (0, (2,), (-1,)),
                                 (0, (2, 2), (1,)), (0, [2], [1])):
        with pytest.raises(ValueError):
            _rebuild_tensor(storage, offset, size, stride)
    with pytest.raises(ValueError):
        _rebuild_tensor(io.BytesIO(), 0, (1,), (1,))
