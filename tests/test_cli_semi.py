"""`latentlab train --model m2|m1m2` and `latentlab eval` of them, on the tiny MNIST."""

from __future__ import annotations

import json

import pytest

from latentlab import load_checkpoint
from latentlab.cli import main
from latentlab.core.m2 import M1M2, PixelM2

TINY = ["--hidden", "16", "--classifier-hidden", "16", "--epochs", "1", "--batch-size", "16", "--labels", "10",
        "--no-progress", "--no-download"]


@pytest.fixture(scope="module")
def m2_file(tiny_data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("m2") / "m2.pt"
    assert main(["train", "--model", "m2", "--out", str(out), "--data-dir", str(tiny_data_root), *TINY]) == 0
    return out


def test_train_m2_writes_an_m2_with_its_labels(m2_file, capsys):
    ckpt = load_checkpoint(m2_file)
    assert isinstance(ckpt.model, PixelM2) and ckpt.train_config["labels"] == 10
    assert ckpt.model.config.hidden_sizes == (16,) and len(ckpt.history["epochs"]["val_error"]) == 1


def test_eval_of_an_m2_reports_test_error_per_class_accuracy_and_bounds(m2_file, tiny_data_root, capsys):
    assert main(["eval", str(m2_file), "--json", "--data-dir", str(tiny_data_root), "--no-download"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model_kind"] == "m2" and report["n_images"] == 100 and report["labels"] == 10
    assert 0 <= report["error"] <= 100 and len(report["class_accuracy"]) == 10
    right = sum(a * n / 100 for a, n in zip(report["class_accuracy"], report["class_counts"]) if n)
    assert report["error"] == pytest.approx(100 - right, abs=1e-6)      # the per-class numbers add up
    assert sum(map(sum, report["confusion"])) == 100
    assert report["neg_elbo"] > 0 and report["labelled_neg_elbo"] > 0
    assert main(["eval", str(m2_file), "--data-dir", str(tiny_data_root), "--no-download"]) == 0
    text = capsys.readouterr().out
    assert "test error" in text and "per class" in text and "(seed 0)" in text


def test_m1m2_from_a_checkpoint_and_in_one_run(tiny_data_root, tmp_path, capsys):
    m1 = tmp_path / "m1.pt"
    assert main(["train", "--latent-dim", "4", "--hidden", "16", "--epochs", "1", "--batch-size", "16",
                 "--out", str(m1), "--data-dir", str(tiny_data_root), "--no-progress", "--no-download"]) == 0
    out = tmp_path / "m1m2.pt"
    assert main(["train", "--model", "m1m2", "--m1", str(m1), "--out", str(out), "--data-dir", str(tiny_data_root),
                 *TINY]) == 0
    assert isinstance(load_checkpoint(out).model, M1M2) and load_checkpoint(out).model.m1.latent_dim == 4
    both = tmp_path / "both.pt"
    assert main(["train", "--model", "m1m2", "--m1-latent-dim", "3", "--m1-epochs", "1", "--out", str(both),
                 "--data-dir", str(tiny_data_root), *TINY]) == 0
    assert "step 1 of 2" in capsys.readouterr().err
    assert load_checkpoint(both).model.m1.latent_dim == 3 and load_checkpoint(tmp_path / "both.m1.pt").kind == "vae"


@pytest.mark.parametrize("argv, message", [
    (["train", "--labels", "100"], "--labels belongs to --model m2 or m1m2"),
    (["train", "--model", "m2", "--m1", "x.pt"], "--m1 belongs to --model m1m2"),
    (["train", "--model", "m2", "--data", "frey-face"], "needs class labels"),
    (["train", "--model", "m2", "--arch", "conv"], "--architecture is a VAE setting"),
    (["train", "--model", "m1m2", "--m1", "missing.pt"], "missing.pt"),
])
def test_semi_supervised_flags_that_cannot_work_are_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--no-download", "--no-progress", "--out", str(tmp_path / "o.pt")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_resuming_cannot_change_the_model_kind(m2_file, tiny_data_root, tmp_path, capsys):
    assert main(["train", "--resume", str(m2_file), "--model", "vae", "--out", str(tmp_path / "r.pt"),
                 "--data-dir", str(tiny_data_root), "--no-download", "--no-progress"]) == 2
    assert "--model and --m1 cannot change" in capsys.readouterr().err
