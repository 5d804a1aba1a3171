"""Tests for latentlab.core.data and .datasets: the registry, loading, conversions, image folders.

No internet and no shared data: the data sets are the tiny ones built from resources/samples
(see conftest.py), and downloads go to a local HTTP server on 127.0.0.1 (tests/file_server.py).
The file formats are tested in test_formats.py, the downloader in test_download.py.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import platformdirs
import pytest
import torch
from PIL import Image

import file_server
from dataset_files import (
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    SAMPLES_DIR,
    idx_bytes,
    mat_v5_bytes,
    read_samples,
    record_checksum,
    write_frey_mat,
    write_idx_gz,
    write_mnist_layout,
)
from file_server import FileServer
from latentlab.core import checksums, datasets
from latentlab.core.data import (
    DATASETS,
    IMAGE_SUFFIXES,
    DataError,
    DataWarning,
    ImageDataset,
    binarize,
    data_root,
    epoch_batches,
    epoch_permutation,
    load_dataset,
    load_image_folder,
    split_train_val,
    to_float,
)


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    """The user's own settings must not leak into these tests."""
    monkeypatch.delenv("LATENTLAB_DATA", raising=False)
    monkeypatch.delenv("LATENTLAB_MIRRORS", raising=False)


# --------------------------------------------------------------------------- built-in sets


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_idx_sets_load_from_tiny_root(tiny_data_root, name, split):
    ds = load_dataset(name, split, data_dir=tiny_data_root, download=False)
    images, labels = read_samples(name)
    assert ds.name == name
    assert len(ds) == 100 and ds.image_shape == (1, 28, 28)
    assert ds.images.dtype == torch.uint8 and ds.labels.dtype == torch.int64
    assert torch.equal(ds.images[:, 0], torch.from_numpy(images))
    assert torch.equal(ds.labels, torch.from_numpy(labels))
    assert ds.label_names == list(DATASETS[name].label_names) and len(ds.label_names) == 10


def test_frey_face_split_is_fixed_disjoint_and_upright(tiny_data_root):
    train = load_dataset("frey-face", "train", data_dir=tiny_data_root, download=False)
    test = load_dataset("frey-face", "test", data_dir=tiny_data_root, download=False)
    faces, _ = read_samples("frey-face")
    assert (len(train), len(test)) == (80, 20)  # 400/1965 of the faces are test faces
    assert train.image_shape == (1, 28, 20) and train.labels is None and train.label_names is None
    # Together the splits are exactly the file's faces, each once, in their original order.
    rows = {face.tobytes(): i for i, face in enumerate(faces)}
    train_rows = [rows[f.numpy().tobytes()] for f in train.images[:, 0]]
    test_rows = [rows[f.numpy().tobytes()] for f in test.images[:, 0]]
    assert sorted(train_rows + test_rows) == list(range(100))
    assert train_rows == sorted(train_rows)
    # The split is our documented seed-0 shuffle, so it is the same on every machine.
    assert test_rows == sorted(np.random.RandomState(0).permutation(100)[:20].tolist())


def test_frey_full_size_split_counts():
    assert len(datasets._frey_split_indices(1965, "test")) == 400
    assert len(datasets._frey_split_indices(1965, "train")) == 1565


def test_missing_file_without_download_says_where(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset("mnist", "test", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "mnist") in message
    assert "LATENTLAB_DATA" in message and "--data-dir" in message


def test_unknown_set_and_split(tiny_data_root):
    with pytest.raises(DataError, match="cifar"):
        load_dataset("cifar", data_dir=tiny_data_root, download=False)
    with pytest.raises(ValueError, match="split"):
        load_dataset("mnist", "validation", data_dir=tiny_data_root, download=False)


def test_registry_lists_files_checksums_and_mirrors():
    assert set(DATASETS) == {"mnist", "fashion-mnist", "frey-face"}
    for spec in DATASETS.values():
        assert spec.base_urls
        for split in ("train", "test"):
            for remote in spec.files_for(split):
                assert len(remote.md5) == 32 and len(remote.sha256) == 64
    assert DATASETS["mnist"].files_for("train")[0].md5 == "f68b3c2dcbeaaa9fbdd348bbdeb94873"


# --------------------------------------------------------------------------- checksums on load


def _flip_one_pixel(path: Path) -> None:
    """Rewrite an IDX .gz with one data byte changed: still a valid gzip and a valid IDX file."""
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] ^= 0x01
    before = path.stat().st_mtime_ns
    path.write_bytes(gzip.compress(bytes(raw)))
    # A damaged copy is written later than the good one; made explicit, since two writes in a row
    # can share one tick of the file system's clock.
    os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.fixture
def mnist_root(tmp_path) -> Path:
    images, labels = read_samples("mnist")
    write_mnist_layout(tmp_path / "mnist", images, labels)
    return tmp_path


@pytest.fixture
def hash_count(monkeypatch) -> list[Path]:
    """The files hashed (really read and hashed, not remembered) from now on."""
    hashed = []
    real = checksums._hash_file

    def counting(path):
        hashed.append(Path(path))
        return real(path)

    monkeypatch.setattr(checksums, "_hash_file", counting)
    monkeypatch.setattr(checksums, "_known", {})  # as in a fresh process
    return hashed


def test_a_bit_flip_in_a_listed_file_is_caught_on_load(mnist_root):
    load_dataset("mnist", "train", data_dir=mnist_root, download=False)  # fine, and remembered
    path = mnist_root / "mnist/train-images-idx3-ubyte.gz"
    _flip_one_pixel(path)
    with pytest.raises(DataError) as info:
        load_dataset("mnist", "train", data_dir=mnist_root, download=False)
    message = str(info.value)
    assert f"Damaged data file {path}" in message and "SHA-256" in message
    assert str(mnist_root / "SHA256SUMS") in message and "replace it with a good copy" in message


def test_a_bit_flip_in_a_publisher_file_is_caught_on_load(mnist_root, monkeypatch):
    """Without a SHA256SUMS list, files are checked against the registry (the publisher's sums)."""
    (mnist_root / "SHA256SUMS").unlink()
    folder = mnist_root / "mnist"
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.gz")}
    files = {split: tuple(dataclasses.replace(f, sha256=sums[f.name]) for f in DATASETS["mnist"].files_for(split))
             for split in ("train", "test")}
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], files=files))
    assert len(load_dataset("mnist", "test", data_dir=mnist_root, download=False)) == 100
    _flip_one_pixel(folder / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(DataError) as info:
        load_dataset("mnist", "test", data_dir=mnist_root, download=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message and "the publisher's is " + sums["t10k-images-idx3-ubyte.gz"] in message
    assert "delete it so that latentlab downloads it again" in message
    assert DATASETS["mnist"].base_urls[0] + "t10k-images-idx3-ubyte.gz" in message


def test_the_real_registry_refuses_the_tiny_files_without_a_list(mnist_root):
    (mnist_root / "SHA256SUMS").unlink()
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*the publisher's is 440fcabf"):
        load_dataset("mnist", "train", data_dir=mnist_root, download=False)


def test_data_root_files_are_hashed_once_not_on_every_load(mnist_root, hash_count, monkeypatch):
    load_dataset("mnist", "train", data_dir=mnist_root, download=False)
    assert sorted(p.name for p in hash_count) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    hash_count.clear()
    load_dataset("mnist", "train", data_dir=mnist_root, download=False)
    assert hash_count == []  # remembered in this process
    monkeypatch.setattr(checksums, "_known", {})  # a new process: the stamps remember
    load_dataset("mnist", "train", data_dir=mnist_root, download=False)
    assert hash_count == []
    assert (mnist_root / "mnist/.train-images-idx3-ubyte.gz.verified").is_file()
    labels = mnist_root / "mnist/train-labels-idx1-ubyte.gz"
    os.utime(labels, ns=(labels.stat().st_mtime_ns + 10**9,) * 2)  # touched: hashed again
    load_dataset("mnist", "train", data_dir=mnist_root, download=False)
    assert hash_count == [labels]


def test_a_read_only_data_root_hashes_once_per_process(mnist_root, hash_count, monkeypatch):
    def read_only(target, text):
        raise PermissionError(13, "Read-only file system", str(target))

    monkeypatch.setattr(checksums, "_write_atomically", read_only)
    load_dataset("mnist", "test", data_dir=mnist_root, download=False)
    load_dataset("mnist", "test", data_dir=mnist_root, download=False)
    assert len(hash_count) == 2  # each of the two files once
    assert not list((mnist_root / "mnist").glob(".*"))  # no stamp, no temporary file


# --------------------------------------------------------------------------- MNIST layout


def test_image_and_label_counts_must_match(tmp_path):
    images, labels = read_samples("mnist")
    write_mnist_layout(tmp_path / "mnist", images, labels)  # valid, then break one file
    record_checksum(write_idx_gz(tmp_path / "mnist/train-labels-idx1-ubyte.gz", labels[:99], IDX_LABELS_MAGIC))
    with pytest.raises(DataError, match="100 images.*99 labels"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


# --------------------------------------------------------------------------- Frey Face file


def _random_faces(count: int = 7) -> np.ndarray:
    return np.random.default_rng(1).integers(8, 239, size=(count, 28, 20), dtype=np.uint8)


def test_frey_loads_from_compressed_mat(tmp_path):
    faces = _random_faces(20)
    write_frey_mat(tmp_path / "frey-face/frey_rawface.mat", faces, compress=True)
    train = load_dataset("frey-face", "train", data_dir=tmp_path, download=False)
    test = load_dataset("frey-face", "test", data_dir=tmp_path, download=False)
    got = torch.cat([train.images, test.images])[:, 0].numpy()
    assert sorted(f.tobytes() for f in got) == sorted(f.tobytes() for f in faces)


def test_frey_without_ff_variable(tmp_path):
    path = tmp_path / "frey-face/frey_rawface.mat"
    path.parent.mkdir()
    path.write_bytes(mat_v5_bytes({"faces": np.zeros((560, 2), np.uint8)}))
    record_checksum(path)
    with pytest.raises(DataError, match="no variable 'ff'"):
        load_dataset("frey-face", data_dir=tmp_path, download=False)


# --------------------------------------------------------------------------- downloads


@pytest.fixture
def server():
    with FileServer() as httpd:
        yield httpd


@pytest.fixture
def refused_url() -> str:
    return file_server.refused_url()


def test_load_dataset_downloads_from_env_mirror(server, tmp_path, monkeypatch, refused_url):
    """End to end: $LATENTLAB_MIRRORS is tried first and files land in <root>/<set>/."""
    images, labels = read_samples("mnist")
    files = {
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images, IDX_IMAGES_MAGIC)),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels, IDX_LABELS_MAGIC)),
    }
    server.routes.update({f"/mirror/mnist/{name}": body for name, body in files.items()})
    tiny_files = tuple(
        datasets.RemoteFile(name, len(body), hashlib.md5(body).hexdigest(),
                            hashlib.sha256(body).hexdigest())
        for name, body in files.items()
    )
    spec = dataclasses.replace(DATASETS["mnist"], base_urls=(refused_url + "/",),
                               files={"train": tiny_files, "test": tiny_files})
    monkeypatch.setitem(DATASETS, "mnist", spec)
    monkeypatch.setenv("LATENTLAB_MIRRORS", f" {server.url}/mirror/ ,")
    seen = []

    ds = load_dataset("mnist", "test", data_dir=tmp_path,
                      progress=lambda done, total, name: seen.append(name))

    assert len(ds) == 100 and torch.equal(ds.labels, torch.from_numpy(labels))
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(
        [*files, *(f".{name}.verified" for name in files)])  # stamps: not hashed again on the next load
    assert set(seen) == set(files)


def test_load_dataset_download_failure_says_what_to_do(tmp_path, monkeypatch, refused_url):
    spec = dataclasses.replace(DATASETS["frey-face"], base_urls=(refused_url + "/",))
    monkeypatch.setitem(DATASETS, "frey-face", spec)
    with pytest.raises(DataError) as info:
        load_dataset("frey-face", data_dir=tmp_path)
    message = str(info.value)
    assert "frey_rawface.mat" in message and refused_url in message and "LATENTLAB_DATA" in message
    assert not (tmp_path / "frey-face" / "frey_rawface.mat").exists()


def test_load_dataset_refuses_a_mirror_file_of_another_size(server, tmp_path, monkeypatch):
    """The registry's known size reaches the downloader: a wrong file is refused unread."""
    server.routes["/frey/frey_rawface.mat"] = b"<html>a login page</html>"
    spec = dataclasses.replace(DATASETS["frey-face"], base_urls=(server.url + "/frey/",))
    monkeypatch.setitem(DATASETS, "frey-face", spec)
    with pytest.raises(DataError) as info:
        load_dataset("frey-face", data_dir=tmp_path)
    assert "announces 25 bytes, but frey_rawface.mat is 1,100,584 bytes" in str(info.value)
    assert list((tmp_path / "frey-face").iterdir()) == []


def test_mirror_urls_env_first():
    spec = DATASETS["fashion-mnist"]
    urls = datasets.mirror_urls(spec, "t10k-labels-idx1-ubyte.gz")
    assert urls == [spec.base_urls[0] + "t10k-labels-idx1-ubyte.gz"]


# --------------------------------------------------------------------------- conversions


def test_to_float_range_and_dtype():
    x = to_float(torch.tensor([0, 128, 255], dtype=torch.uint8))
    assert x.dtype == torch.float32
    assert torch.allclose(x, torch.tensor([0.0, 128 / 255, 1.0]))
    with pytest.raises(TypeError):
        to_float(torch.zeros(3))


def test_binarize_modes():
    x = torch.tensor([0.0, 0.2, 0.5, 0.51, 1.0])
    assert torch.equal(binarize(x, "threshold"), torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0]))
    assert binarize(x, "grey") is x
    sample = binarize(x, "dynamic")
    assert sample[0] == 0 and sample[-1] == 1 and set(sample.tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="unknown binarize mode"):
        binarize(x, "stochastic")


def test_dynamic_binarization_is_seeded_and_fresh():
    x = torch.full((10_000,), 0.3)
    first = binarize(x, "dynamic", torch.Generator().manual_seed(5))
    again = binarize(x, "dynamic", torch.Generator().manual_seed(5))
    assert torch.equal(first, again)
    generator = torch.Generator().manual_seed(5)
    assert not torch.equal(binarize(x, "dynamic", generator), binarize(x, "dynamic", generator))
    assert abs(first.mean().item() - 0.3) < 0.03


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_binarize_on_cuda():
    x = torch.full((1000,), 0.5, device="cuda")
    generator = torch.Generator(device="cuda").manual_seed(0)
    assert binarize(x, "dynamic", generator).device.type == "cuda"
    assert to_float(torch.zeros(2, dtype=torch.uint8, device="cuda")).device.type == "cuda"


def test_epoch_batches_are_a_seeded_permutation_drawn_on_the_device():
    batches = epoch_batches(50, 16, seed=7, device="cpu")
    assert [len(b) for b in batches] == [16, 16, 16, 2]
    perm = torch.cat(batches)
    # the CPU draws what the trainer drew before batches moved to the device (CPU runs replay)
    assert torch.equal(perm, torch.randperm(50, generator=torch.Generator().manual_seed(7)))
    assert torch.equal(perm, epoch_permutation(50, 7, "cpu")) and not torch.equal(perm, epoch_permutation(50, 8, "cpu"))
    shards = [torch.cat(epoch_batches(50, 16, 7, "cpu", shard=(rank, 3))) for rank in range(3)]
    assert [len(s) for s in shards] == [16, 16, 16] and len(set(torch.cat(shards).tolist())) == 48
    assert torch.equal(torch.cat(shards), perm[:48])   # each rank its own slice of one permutation


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_epoch_batches_on_cuda_are_drawn_there():
    batches = epoch_batches(1000, 128, seed=0, device="cuda")
    assert all(b.is_cuda for b in batches)
    assert sorted(torch.cat(batches).tolist()) == list(range(1000))


def test_split_train_val_sizes_and_order(tiny_data_root):
    many = ImageDataset("fake", torch.zeros(60_000, 1, 1, 1, dtype=torch.uint8))
    train, val = split_train_val(many)
    assert (len(train), len(val)) == (50_000, 10_000)

    ds = load_dataset("mnist", "test", data_dir=tiny_data_root, download=False)
    train, val = split_train_val(ds, 0.2)
    assert (len(train), len(val)) == (80, 20)
    assert torch.equal(val.images, ds.images[80:]) and torch.equal(val.labels, ds.labels[80:])
    assert val.label_names == ds.label_names
    with pytest.raises(ValueError):
        split_train_val(ds, 1.0)


# --------------------------------------------------------------------------- data root


def test_data_root_precedence(tmp_path, monkeypatch):
    assert data_root() == Path(platformdirs.user_cache_dir("latentlab")) / "datasets"
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path / "from_env"))
    assert data_root() == tmp_path / "from_env"
    assert data_root(tmp_path / "given") == tmp_path / "given"
    assert data_root(str(tmp_path)) == tmp_path


# --------------------------------------------------------------------------- image folders


def _save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def test_image_folder_with_classes_and_an_unreadable_file(tmp_path):
    digits, labels = read_samples("mnist")
    for i in range(6):
        _save(tmp_path / ("cats" if i % 2 else "dogs") / f"{i}.png", digits[i])
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored")

    with pytest.warns(DataWarning, match="Skipped 1 unreadable"):
        ds = load_image_folder(tmp_path)

    assert ds.name == tmp_path.name and ds.label_names == ["cats", "dogs"]
    assert len(ds) == 6 and ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert torch.equal(ds.images[3, 0], torch.from_numpy(digits[0]))  # dogs/0.png unchanged


def test_image_folder_flat_rgb_and_aspect_ratio(tmp_path):
    tall = np.zeros((40, 20), np.uint8)
    tall[:, :] = 200
    _save(tmp_path / "tall.png", tall)
    ds = load_image_folder(tmp_path, image_shape=(3, 28, 28), invert=False)
    assert ds.labels is None and ds.label_names is None
    assert ds.image_shape == (3, 28, 28)
    column_has_ink = (ds.images[0, 0] > 100).any(dim=0)
    assert column_has_ink.sum().item() == 14  # 40x20 fits as 28x14, centred
    assert not column_has_ink[:7].any() and not column_has_ink[-7:].any()


def test_image_folder_auto_inverts_dark_ink_on_paper_only(tmp_path):
    digit, _ = read_samples("mnist")
    _save(tmp_path / "paper" / "digit.png", 255 - digit[0])
    on_paper = load_image_folder(tmp_path / "paper")
    assert torch.equal(on_paper.images[0, 0], torch.from_numpy(digit[0]))
    face = load_image_folder(SAMPLES_DIR / "frey-face" / "face_0000.png", image_shape=(1, 28, 20))
    original = np.array(Image.open(SAMPLES_DIR / "frey-face" / "face_0000.png"))
    assert torch.equal(face.images[0, 0], torch.from_numpy(original))  # photos stay as they are


def test_image_folder_reads_every_supported_suffix(tmp_path):
    digits, _ = read_samples("mnist")
    for i, suffix in enumerate(IMAGE_SUFFIXES):
        _save(tmp_path / f"{i}{suffix}", digits[i])
    (tmp_path / "drawing.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n")  # not an image suffix
    ds = load_image_folder(tmp_path, invert=False)
    assert len(ds) == len(IMAGE_SUFFIXES) == 8
    assert torch.equal(ds.images[0, 0], torch.from_numpy(digits[0]))


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_image_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="No readable images"):
        load_image_folder(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.warns(DataWarning), pytest.raises(DataError, match="No readable images"):
        load_image_folder(tmp_path / "junk")


# --------------------------------------------------------------------------- shipped samples


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "frey-face"])
def test_shipped_samples(name):
    images, labels = read_samples(name)
    assert len(images) == 100
    assert images.shape[1:] == ((28, 20) if name == "frey-face" else (28, 28))
    assert (labels is None) == (name == "frey-face")
    first = next((SAMPLES_DIR / name).glob("*.png"))
    assert Image.open(first).mode == "L"


def test_samples_are_small():
    total = sum(p.stat().st_size for p in SAMPLES_DIR.rglob("*") if p.is_file())
    assert total < 1_000_000
