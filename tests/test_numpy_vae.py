"""The NumPy decoder of the first look (core/numpy_vae.py) against the torch model it stands in for."""

import numpy as np
import pytest
import torch

from latentlab import VAE, load_checkpoint, save_checkpoint
from latentlab.app.jobs import decode_point
from latentlab.app.plane import LatentPlane
from latentlab.app.scatter import Scatter
from latentlab.core import checkpoint
from latentlab.core.checkpoint_files import CheckpointError
from latentlab.core.numpy_vae import NEWEST_FORMAT_VERSION, read_quick_model
from latentlab.core.shipped import shipped_models_dir

MLP_MODELS = ["mnist-2d", "fashion-2d", "frey-2d", "mnist-5d", "mnist-10d", "mnist-20d"]
# Two float32 computations of the same sum in another order (NumPy's BLAS, torch's MKL) differ in
# the last bits (~1e-6 here), so a pixel whose value lies within that of a rounding boundary
# ((k + 0.5) / 255) may round to k in one and k + 1 in the other: about one pixel in 300,000.
# Every other pixel must be the same.
TIE = 2e-6


def _canvas_points(decoder, means):
    """Latents on the plane of the two axes the test set spreads along most (where a window
    opens; an 11 x 11 grid over [-3, 3]^2) and, above 2-D, 40 random points of the whole space."""
    plane = LatentPlane.axes(decoder.latent_dim, *np.argsort(-means.var(axis=0))[:2])
    u, v = np.meshgrid(np.linspace(-3, 3, 11), np.linspace(-3, 3, 11))
    points = plane.to_latent(np.stack([u.ravel(), v.ravel()], axis=1))
    if decoder.latent_dim > 2:
        points = np.concatenate([points, np.random.default_rng(0).normal(0, 1.5, (40, decoder.latent_dim))])
    return points


@pytest.mark.parametrize("name", MLP_MODELS)
def test_the_numpy_decoder_shows_the_pixels_the_torch_model_shows(name):
    path = shipped_models_dir() / f"{name}.pt"
    quick = read_quick_model(path)
    ckpt = load_checkpoint(path)
    model = ckpt.model
    assert quick is not None and quick.image_shape == tuple(model.image_shape)
    z = _canvas_points(quick.decoder, quick.scatter_means)
    # The float images: the decoder's means within 1e-5 (the error of float32 sums)
    with torch.inference_mode():
        expected = model.decode(torch.as_tensor(z, dtype=torch.float32)).numpy()
    ours = quick.decoder.decode(z)
    assert ours.dtype == np.float32 and ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-5)
    # The uint8 images the canvas shows (app/jobs.decode_point is the window's hover path)
    ties = differing = 0
    for zi, image in zip(z, expected):
        shown = decode_point(model, zi)
        first_look = quick.decoder.decode_image(zi)
        assert first_look.dtype == np.uint8 and first_look.shape == shown.shape
        diff = first_look.astype(int) - shown.astype(int)
        scaled = np.clip(image, 0, 1).reshape(shown.shape) * 255
        at_tie = np.abs(scaled - np.floor(scaled) - 0.5) <= 255 * TIE
        assert np.all((diff == 0) | (at_tie & (np.abs(diff) == 1))), f"z = {zi}"
        ties += int(at_tie.sum())
        differing += int(np.count_nonzero(diff))
    assert differing <= ties and differing < 1e-4 * z.shape[0] * shown.size


@pytest.mark.parametrize("name", ["mnist-2d", "frey-2d", "mnist-20d"])
def test_the_test_set_is_the_one_the_window_shows(name):
    path = shipped_models_dir() / f"{name}.pt"
    quick = read_quick_model(path)
    window = Scatter.from_extras(load_checkpoint(path).extras)
    np.testing.assert_array_equal(quick.scatter_means, window.means)
    assert quick.scatter_means.dtype == window.means.dtype == np.float64
    if window.labels is None:
        assert quick.scatter_labels is None
    else:
        np.testing.assert_array_equal(quick.scatter_labels, window.labels)
    assert quick.label_names == window.names


def _save(tmp_path, model, extras="scatter", **kw):
    if extras == "scatter":
        extras = {"scatter_means": torch.randn(50, model.latent_dim), "scatter_labels": torch.arange(50) % 3,
                  "label_names": ["a", "b", "c"]}
    return save_checkpoint(tmp_path / "m.pt", model, extras=extras, **kw)


def test_full_precision_and_rgb_models_decode_as_torch_does(tmp_path):
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_sizes=(32, 16), image_shape=(3, 6, 5), likelihood="gaussian")
    quick = read_quick_model(_save(tmp_path, model))
    model.eval()
    for z in np.random.default_rng(1).normal(0, 2, (20, 3)):
        image = quick.decoder.decode_image(z)
        assert image.shape == (6, 5, 3)
        np.testing.assert_array_equal(image, decode_point(model, z))
    assert quick.label_names == ["a", "b", "c"] and quick.scatter_labels.tolist()[:4] == [0, 1, 2, 0]


def test_models_the_first_look_does_not_show_give_none(tmp_path):
    dirs = shipped_models_dir()
    assert read_quick_model(dirs / "m2-2d.pt") is None            # M2
    assert read_quick_model(dirs / "m1m2-mnist.pt") is None       # M1+M2
    conv = VAE(latent_dim=2, architecture="conv", image_shape=(1, 8, 8), conv_channels=(4, 4), conv_hidden=8)
    assert read_quick_model(_save(tmp_path, conv)) is None
    mlp = VAE(latent_dim=2, hidden_sizes=(8,))
    assert read_quick_model(_save(tmp_path, mlp, extras=None)) is None                       # no test set
    assert read_quick_model(_save(tmp_path, mlp, extras={"scatter_means": torch.ones(5, 3)})) is None  # 3-D
    assert read_quick_model(_save(tmp_path, mlp)) is not None


def test_a_newer_format_or_another_file_gives_none(tmp_path):
    assert NEWEST_FORMAT_VERSION == checkpoint.FORMAT_VERSION   # a new format must be looked at here too
    model = VAE(latent_dim=2, hidden_sizes=(8,))
    payload = torch.load(_save(tmp_path, model), weights_only=True)
    torch.save({**payload, "format_version": NEWEST_FORMAT_VERSION + 1}, tmp_path / "newer.pt")
    assert read_quick_model(tmp_path / "newer.pt") is None
    torch.save({"weights": torch.ones(3)}, tmp_path / "other.pt")
    assert read_quick_model(tmp_path / "other.pt") is None
    bad = dict(payload, state_dict={k: v[:1] if k == "decoder.0.2.weight" else v
                                    for k, v in payload["state_dict"].items()})
    torch.save(bad, tmp_path / "shapes.pt")                        # a layer of the wrong shape
    assert read_quick_model(tmp_path / "shapes.pt") is None


def test_an_unreadable_file_raises_checkpoint_error(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes((shipped_models_dir() / "mnist-2d.pt").read_bytes()[:20000])
    with pytest.raises(CheckpointError, match="broken.pt"):
        read_quick_model(path)
