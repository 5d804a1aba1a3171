"""Shared pytest fixtures. Add new fixtures in their own clearly headed section."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataset_files import read_samples, write_frey_mat, write_mnist_layout

# --------------------------------------------------------------------------- data


@pytest.fixture(scope="session")
def tiny_data_root(tmp_path_factory) -> Path:
    """A data root laid out like the real one, built from the PNGs in resources/samples.

    mnist/ and fashion-mnist/ hold the four IDX .gz files (the same 100 images for train and
    t10k); frey-face/frey_rawface.mat holds the 100 sample faces (80 train / 20 test under the
    fixed Frey split). Use it as
    ``load_dataset(name, split, data_dir=tiny_data_root, download=False)``.
    Session-scoped and shared: treat it as read-only.
    """
    root = tmp_path_factory.mktemp("tiny_data_root")
    for name in ("mnist", "fashion-mnist"):
        images, labels = read_samples(name)
        write_mnist_layout(root / name, images, labels)
    faces, _ = read_samples("frey-face")
    write_frey_mat(root / "frey-face" / "frey_rawface.mat", faces)
    return root
