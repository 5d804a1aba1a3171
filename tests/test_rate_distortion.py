"""Runs as points of the rate-distortion plane: from a card, a checkpoint's history, a metrics file;
unusable files reported by name."""

import json
import pickle
import shutil

import pytest

from latentlab.core.checkpoint import save_checkpoint
from latentlab.core.models import VAE
from latentlab.core.pipeline import DataSpec
from latentlab.core.rate_distortion import (NotOnPlane, point_from_card, point_from_checkpoint, point_from_metrics,
                                            read_summary, run_name, scan)
from latentlab.core.session import TrainingSession
from latentlab.core.shipped import shipped_models_dir
from latentlab.core.training_config import TrainConfig


@pytest.fixture(scope="module")
def tiny_run(tiny_data_root, tmp_path_factory):
    """A 2-D VAE trained for 2 epochs on the tiny MNIST with beta = 0.5: model.pt and its metrics."""
    out = tmp_path_factory.mktemp("rd") / "run-a" / "model.pt"
    out.parent.mkdir()
    session = TrainingSession.new(DataSpec("mnist"), VAE(latent_dim=2, hidden_sizes=(32,)).config,
                                  TrainConfig(epochs=2, batch_size=16, beta=0.5, num_threads=1), out,
                                  data_dir=tiny_data_root, download=False)
    assert session.run() == "finished"
    return out, session.trainer.history


def test_a_shipped_models_card_gives_its_test_numbers():
    card = json.loads((shipped_models_dir() / "mnist-20d.json").read_text())
    point = point_from_checkpoint(shipped_models_dir() / "mnist-20d.pt")
    assert point.source == "card" and point.name == "mnist-20d"
    assert (point.rate, point.distortion) == (card["test"]["kl"], card["test"]["recon"])
    assert point.neg_elbo == pytest.approx(card["test"]["neg_elbo"], abs=0.02)
    training = card["training"]
    assert (point.beta, point.latent_dim, point.objective, point.epoch, point.dataset) == \
        (1.0, 20, training["objective"], training["epochs"], "mnist")
    assert (training["objective"], training["epochs"]) == ("iwae", 160)


def test_a_semi_supervised_card_is_no_point():
    with pytest.raises(NotOnPlane, match="m2"):
        point_from_card(shipped_models_dir() / "m2-2d.json")


def test_a_checkpoints_history_gives_its_last_validation(tiny_run):
    out, history = tiny_run
    point = point_from_checkpoint(out)
    assert point.source == "history" and point.name == "run-a"      # a run folder's model.pt: the folder
    assert point.rate == history.epochs["val_kl"][-1] and point.distortion == history.epochs["val_recon"][-1]
    assert (point.beta, point.latent_dim, point.epoch, point.dataset, point.objective) == (0.5, 2, 2, "mnist", "elbo")


def test_the_summary_does_not_read_the_weights(tiny_run):
    summary = read_summary(tiny_run[0])
    assert set(summary) == {"model_kind", "model_config", "train_config", "data", "history"}


def test_a_metrics_file_gives_its_last_validation_row(tiny_run, tmp_path):
    out, history = tiny_run
    metrics = tmp_path / "other.metrics.csv"
    shutil.copy(out.with_name("model.metrics.csv"), metrics)
    point = point_from_metrics(metrics)
    assert point.source == "metrics" and point.name == "other" and point.path == str(tmp_path / "other.pt")
    assert point.rate == pytest.approx(history.epochs["val_kl"][-1], rel=1e-5)
    assert point.distortion == pytest.approx(history.epochs["val_recon"][-1], rel=1e-5)
    assert point.beta is None and point.epoch == 2      # the file alone does not know the settings


def test_a_checkpoint_without_validation_falls_back_to_its_metrics(tiny_run, tmp_path):
    out, history = tiny_run
    bare = tmp_path / "bare.pt"
    save_checkpoint(bare, VAE(latent_dim=3, hidden_sizes=(8,)), train_config={"beta": 2.0}, data={"dataset": "mnist"})
    with pytest.raises(NotOnPlane, match="no validation epoch"):
        point_from_checkpoint(bare)
    shutil.copy(out.with_name("model.metrics.csv"), tmp_path / "bare.metrics.csv")
    point = point_from_checkpoint(bare)
    assert point.source == "metrics" and point.beta == 2.0 and point.latent_dim == 3


def test_scan_finds_runs_and_names_the_files_it_cannot_use(tiny_run, tmp_path):
    out, _ = tiny_run
    shutil.copytree(out.parent, tmp_path / "runs" / "run-a")
    (tmp_path / "runs" / "corrupt.pt").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "runs" / "evil.pt").write_bytes(pickle.dumps(print))        # names a callable: refused
    (tmp_path / "runs" / ".model.pt.123.tmp").write_bytes(b"half written")   # a save in progress: ignored
    result = scan([tmp_path / "runs", tmp_path / "never-made", shipped_models_dir()])
    names = sorted(p.name for p in result.points)
    assert names == ["fashion-2d", "frey-2d", "mnist-10d", "mnist-20d", "mnist-2d", "mnist-2d-iwae", "mnist-50d",
                     "mnist-5d", "run-a"]
    skipped = dict(result.skipped)
    assert set(skipped) == {str(tmp_path / "runs" / "corrupt.pt"), str(tmp_path / "runs" / "evil.pt"),
                            str(shipped_models_dir() / "m2-2d.pt"), str(shipped_models_dir() / "m1m2-mnist.pt")}
    assert "corrupt.pt" in skipped[str(tmp_path / "runs" / "corrupt.pt")]
    assert "Refused" in skipped[str(tmp_path / "runs" / "evil.pt")]


def test_a_file_given_twice_is_one_point(tiny_run):
    out, _ = tiny_run
    assert len(scan([out.parent], files=[out]).points) == 1


def test_run_names():
    assert run_name("/x/runs/mnist-2d-20261126/model.pt") == "mnist-2d-20261126"
    assert run_name("/x/mine.pt") == "mine"
