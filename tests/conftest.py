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


# --------------------------------------------------------------------------- a run with its replay


@pytest.fixture(scope="session")
def replay_run(tiny_data_root, tmp_path_factory) -> Path:
    """The checkpoint of a 2-D run of 3 epochs on the tiny data, with its replay beside it
    (4 snapshots: epochs 0..3). Session-scoped and shared: treat it as read-only."""
    from latentlab.core import pipeline
    from latentlab.core.models import VAEConfig
    from latentlab.core.session import TrainingSession
    from latentlab.core.trainer import TrainConfig

    out = tmp_path_factory.mktemp("replay_run") / "model.pt"
    session = TrainingSession.new(pipeline.DataSpec(dataset="mnist"), VAEConfig(latent_dim=2, hidden_sizes=(32,)),
                                  TrainConfig(epochs=3, batch_size=16, device="cpu"), out,
                                  data_dir=tiny_data_root, download=False)
    assert session.run() == "finished"
    return out
