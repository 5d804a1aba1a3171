"""`latentlab figure`: every kind writes a figure of the expected size and prints its numbers;
flags that cannot work are one clear line and exit status 2. Tiny models, the 100-image data root."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from latentlab import VAE, save_checkpoint
from latentlab.cli import main


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Untrained tiny MNIST models (2-D and 5-D) whose checkpoints name their data, as trained ones do."""
    import torch

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("figure_models")
    paths = {}
    for d in (2, 5):
        paths[d] = save_checkpoint(root / f"m{d}.pt", VAE(latent_dim=d, hidden_sizes=(8,)),
                                   data={"dataset": "mnist", "binarize": "dynamic"})
    return paths


def figure(ckpt, kind, out, *extra, data=None):
    args = ["figure", str(ckpt), "--kind", kind, "--out", str(out), *extra]
    if data is not None:
        args += ["--data-dir", str(data), "--no-download"]
    return main(args)


@pytest.mark.parametrize("kind, n, side", [("manifold", 3, 3 * 28), ("samples", 4, 2 * 29 + 1),
                                           ("magnification", 16, 16), ("aggregate", 16, 16)])
def test_each_2d_kind_writes_a_png_of_n_cells_times_scale(tiny, tiny_data_root, tmp_path, kind, n, side):
    out = tmp_path / f"{kind}.png"
    assert figure(tiny[2], kind, out, "--n", str(n), "--scale", "3", data=tiny_data_root) == 0
    image = Image.open(out)
    assert image.size == (3 * side, 3 * side)
    pixels = np.asarray(image)
    np.testing.assert_array_equal(pixels[::3, ::3], pixels[2::3, 2::3])        # nearest neighbour blocks
    if kind in ("magnification", "aggregate"):
        assert image.mode == "RGB" and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 3


def test_traversal_has_a_row_per_dimension_ordered_by_kl_and_prints_it(tiny, tiny_data_root, tmp_path, capsys):
    out = tmp_path / "t.png"
    assert figure(tiny[5], "traversal", out, "--n", "4", "--scale", "1", data=tiny_data_root) == 0
    # the window's labelled figure (core.map_figures.traversal_figure): 5 rows of 28 px with 1-px
    # gaps under an 18-px header line; 4 steps right of 90 px of labels ("z5 0.12" at 2x) and the
    # 3-px active/collapsed strip with its gaps
    assert Image.open(out).size == (90 + 3 + 2 + 4 * 29, 18 + 1 + 5 * 29)
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line.strip().startswith("z")]
    assert sorted(r[0] for r in rows) == [f"z{i}" for i in range(1, 6)]
    kls = [float(r[1]) for r in rows]
    assert kls == sorted(kls, reverse=True)
    assert lines[-1].strip().startswith("active:") and "of 5" in lines[-1]


def test_aggregate_prints_the_elbo_surgery_that_adds_up(tiny, tiny_data_root, tmp_path, capsys):
    assert figure(tiny[2], "aggregate", tmp_path / "a.png", "--n", "8", data=tiny_data_root) == 0
    out = capsys.readouterr().out
    numbers = {}
    for line in out.splitlines():
        for key in ("mean KL", "I(x; z)", "KL(q(z) || p(z))"):
            if line.strip().startswith(key):
                numbers[key] = float(line.strip()[len(key):].split()[0])
    assert "100 images" in out and len(numbers) == 3
    assert numbers["I(x; z)"] + numbers["KL(q(z) || p(z))"] == pytest.approx(numbers["mean KL"], abs=2e-4)


def test_magnification_prints_min_and_max_and_takes_a_plane_of_a_5d_model(tiny, tmp_path, capsys):
    assert figure(tiny[5], "magnification", tmp_path / "m.png", "--n", "6", "--scale", "2", "--plane", "2", "4",
                  "--anchor", "0", "0.5", "0", "-1", "0") == 0
    out = capsys.readouterr().out
    lo, hi = (float(out.split(word)[1].split()[0]) for word in ("min", "max"))
    assert lo <= hi and "plane z2-z4" in out
    assert Image.open(tmp_path / "m.png").size == (12, 12)


@pytest.mark.parametrize("kind", ["magnification", "aggregate"])
def test_a_plane_figure_of_a_5d_model_without_plane_names_the_flag(tiny, tiny_data_root, tmp_path, capsys, kind):
    assert figure(tiny[5], kind, tmp_path / "x.png", data=tiny_data_root) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: ") and "--plane I J" in err and "5-D" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("extra, words", [(["--plane", "3", "3"], "--plane"), (["--plane", "1", "6"], "--plane"),
                                          (["--plane", "1", "2", "--anchor", "1", "2"], "--anchor")])
def test_a_bad_plane_or_anchor_is_one_line(tiny, tmp_path, capsys, extra, words):
    assert figure(tiny[5], "magnification", tmp_path / "x.png", *extra) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_svg_and_pdf_like_the_other_figure_commands(tiny, tiny_data_root, tmp_path, monkeypatch, capsys):
    assert figure(tiny[2], "aggregate", tmp_path / "a.svg", "--n", "10", data=tiny_data_root) == 0
    root = ET.parse(tmp_path / "a.svg").getroot()
    assert (root.get("width"), root.get("height")) == ("40", "40")                 # default --scale 4
    monkeypatch.chdir(tmp_path)                    # no --out: the kind names the file, --format its suffix
    assert main(["figure", str(tiny[2]), "--kind", "magnification", "--n", "5", "--format", "pdf"]) == 0
    assert (tmp_path / "magnification.pdf").read_bytes().startswith(b"%PDF-")
    assert "wrote magnification.pdf (20 x 20 px)" in capsys.readouterr().err


def test_a_bad_kind_or_n_is_refused(tiny, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["figure", str(tiny[2]), "--kind", "geodesic", "--out", str(tmp_path / "x.png")])
    assert e.value.code == 2 and "invalid choice: 'geodesic'" in capsys.readouterr().err
    assert figure(tiny[2], "traversal", tmp_path / "x.png", "--n", "1") == 2
    assert "--n: must be between 2 and 50 for --kind traversal" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_figures_that_need_the_data_say_so_when_it_is_missing(tiny, tmp_path, capsys):
    assert figure(tiny[2], "aggregate", tmp_path / "x.png", data=tmp_path) == 2
    err = capsys.readouterr().err
    assert "t10k-images-idx3-ubyte.gz" in err or "train-images-idx3-ubyte.gz" in err
    assert not (tmp_path / "x.png").exists()
