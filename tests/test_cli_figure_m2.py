"""`latentlab figure --kind analogies`, and `sample` / `manifold` / `figure` of M2 and M1+M2
checkpoints (--class K, or every class): the pictures the core draws, one clear line for a flag
that cannot work. Tiny untrained models, the 100-image data root."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import VAE, VAEConfig, save_checkpoint
from latentlab.app.examples import binarise
from latentlab.cli import main
from latentlab.core.analogies import AnalogiesLayout, analogies_figure, analogy_rows, example_rows
from latentlab.core.class_figures import class_manifolds, class_samples
from latentlab.core.data import load_dataset
from latentlab.core.figures import manifold, prior_samples
from latentlab.core.m2 import M1M2, M2Config, PixelM2

DATA = {"dataset": "mnist", "binarize": "dynamic", "label_names": [str(k) for k in range(10)]}


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    """A tiny M2, a tiny M1+M2 and a VAE, saved as trained ones are (their data named)."""
    root = tmp_path_factory.mktemp("m2_figures")
    torch.manual_seed(0)
    m2 = PixelM2(M2Config(hidden_sizes=(16,), classifier_hidden=(16,)))
    m1 = VAE(VAEConfig(latent_dim=3, hidden_sizes=(8,)))
    m1m2 = M1M2(M2Config(hidden_sizes=(8,), classifier_hidden=(8,), likelihood="gaussian", m1=m1.config.to_dict()), m1)
    return {"m2": save_checkpoint(root / "m2.pt", m2, data=DATA),
            "m1m2": save_checkpoint(root / "m1m2.pt", m1m2, data=DATA),
            "vae": save_checkpoint(root / "vae.pt", VAE(latent_dim=2, hidden_sizes=(8,)), data=DATA)}


def model_of(path):
    from latentlab import load_checkpoint

    return load_checkpoint(path).model


def run(*args, data=None):
    argv = [str(a) for a in args]
    if data is not None:
        argv += ["--data-dir", str(data), "--no-download"]
    return main(argv)


def pixels(path):
    return np.asarray(Image.open(path))


def test_analogies_draw_the_test_images_as_the_core_does_and_print_each_row(ckpts, tiny_data_root, tmp_path, capsys):
    out = tmp_path / "a.png"
    assert run("figure", ckpts["m2"], "--kind", "analogies", "--n", "4", "--scale", "1", "--out", out,
               data=tiny_data_root) == 0
    test = load_dataset("mnist", "test", data_dir=tiny_data_root, download=False)
    x = torch.from_numpy(binarise(test.images, "dynamic")[:4]).float() / 255      # as the window's examples
    with torch.no_grad():
        rows = analogy_rows(model_of(ckpts["m2"]), x, labels=test.labels[:4])
    expected = analogies_figure(rows, DATA["label_names"])
    assert expected.shape == AnalogiesLayout(4, (1, 28, 28), DATA["label_names"]).shape
    np.testing.assert_array_equal(pixels(out), expected)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("analogies of M2 with a 2-D style z: the first 4 of 100 mnist test images")
    body = [line.split() for line in lines[2:]]
    assert [r[:3] for r in body] == [[str(i + 1), str(i), str(int(test.labels[i]))] for i in range(4)]
    assert all(r[-1] == "(label)" and r[-2] == r[2] for r in body)


def test_analogies_seed_picks_other_test_images(ckpts, tiny_data_root, tmp_path, capsys):
    assert run("figure", ckpts["m1m2"], "--kind", "analogies", "--n", "3", "--seed", "5", "--out", tmp_path / "a.png",
               data=tiny_data_root) == 0
    out = capsys.readouterr().out
    assert "M1+M2 (3-D M1, 2-D style z): 3 drawn with seed 5 of 100 mnist test images" in out
    images = [int(line.split()[1]) for line in out.splitlines()[2:]]
    assert images == example_rows(100, 3, 5).tolist() != [0, 1, 2]


@pytest.mark.parametrize("ckpt, extra, words", [
    ("vae", [], "--kind analogies needs an M2 or M1+M2 checkpoint; "),
    ("m2", ["--class", "3"], "--class does not apply to --kind analogies"),
    ("m2", ["--n", "101"], "--n: must be between 1 and 100 for --kind analogies")])
def test_analogies_refuse_what_cannot_work_in_one_line(ckpts, tiny_data_root, tmp_path, capsys, ckpt, extra, words):
    assert run("figure", ckpts[ckpt], "--kind", "analogies", "--out", tmp_path / "a.png", *extra,
               data=tiny_data_root) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: ") and words in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_analogies_without_the_data_name_the_missing_file(ckpts, tmp_path, capsys):
    assert run("figure", ckpts["m2"], "--kind", "analogies", "--out", tmp_path / "a.png", data=tmp_path) == 2
    assert "t10k-images-idx3-ubyte.gz" in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()


def test_sample_of_an_m2_draws_a_row_per_class_or_one_class(ckpts, tmp_path, capsys):
    model = model_of(ckpts["m2"])
    assert run("sample", ckpts["m2"], "--n", "3", "--seed", "2", "--scale", "1", "--out", tmp_path / "all.png") == 0
    np.testing.assert_array_equal(pixels(tmp_path / "all.png"), class_samples(model, 3, seed=2))
    assert pixels(tmp_path / "all.png").shape == (10 * 29 + 1, 3 * 29 + 1)
    assert run("sample", ckpts["m2"], "--scale", "1", "--out", tmp_path / "rows.png") == 0    # 10 per class
    assert pixels(tmp_path / "rows.png").shape == (10 * 29 + 1, 10 * 29 + 1)
    assert run("sample", ckpts["m2"], "--class", "4", "--n", "9", "--scale", "1", "--out", tmp_path / "4.png") == 0
    np.testing.assert_array_equal(pixels(tmp_path / "4.png"), prior_samples(model.given(4), 9))
    capsys.readouterr()


def test_manifold_of_an_m2_tiles_every_class_or_draws_one(ckpts, tmp_path):
    model = model_of(ckpts["m2"])
    assert run("manifold", ckpts["m2"], "--n", "2", "--scale", "1", "--out", tmp_path / "all.png") == 0
    np.testing.assert_array_equal(pixels(tmp_path / "all.png"), class_manifolds(model, 2))
    assert run("figure", ckpts["m2"], "--kind", "manifold", "--class", "9", "--n", "3", "--scale", "1",
               "--out", tmp_path / "9.png") == 0
    np.testing.assert_array_equal(pixels(tmp_path / "9.png"), manifold(model.given(9), 3))


def test_figures_of_one_class_say_which_and_encode_that_class(ckpts, tiny_data_root, tmp_path, capsys):
    assert run("figure", ckpts["m2"], "--kind", "traversal", "--n", "3", "--out", tmp_path / "t.png",
               data=tiny_data_root) == 0
    captured = capsys.readouterr()
    assert "note: " in captured.err and "drawing class 0; --class K draws another" in captured.err
    test = load_dataset("mnist", "test", data_dir=tiny_data_root, download=False)
    zeros = int((test.labels == 0).sum())
    assert f"mnist test set, {zeros} images of class 0, encoded as that class" in captured.out
    assert run("figure", ckpts["m2"], "--kind", "aggregate", "--class", "7", "--n", "8", "--out", tmp_path / "a.png",
               data=tiny_data_root) == 0
    sevens = int((test.labels == 7).sum())
    assert f"{sevens} images of class 7, encoded as that class" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["sample", "{vae}", "--class", "1"], "--class is for M2 and M1+M2 checkpoints; "),
    (["manifold", "{vae}", "--class", "1"], "--class is for M2 and M1+M2 checkpoints; "),
    (["figure", "{vae}", "--kind", "samples", "--class", "1"], "--class is for M2 and M1+M2 checkpoints; "),
    (["sample", "{m2}", "--class", "10"], "--class: "),
    (["sample", "{m1m2}", "--sample-x"], "--sample-x: "),
])
def test_class_flags_that_cannot_work_are_one_line(ckpts, tmp_path, capsys, argv, words):
    argv = [a.format(**ckpts) for a in argv] + ["--out", str(tmp_path / "x.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: ") and words in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
