"""Setting up M2 and M1+M2 runs for the window (app/semi_setup.py): labels as the panel writes
them, data sets without labels, the M1 checkpoint's checks (each message names the file), and the
M2Config of the panel's settings."""

from __future__ import annotations

import pytest

from latentlab.app import semi_setup
from latentlab.app.semi_setup import labels_refusal, load_m1, m2_config, parse_labels
from latentlab.core.checkpoint import save_checkpoint
from latentlab.core.m2 import M2Config, PixelM2
from latentlab.core.models import VAE, VAEConfig


def test_labels_are_a_whole_number_or_all():
    assert parse_labels("100") == 100 and parse_labels(" 3,000 ") == 3000
    assert parse_labels("all") == parse_labels("ALL") == parse_labels("0") == 0
    for bad in ("", "ten", "-5", "1.5"):
        with pytest.raises(ValueError, match="Labels"):
            parse_labels(bad)
    assert [semi_setup.format_labels(n) for n in semi_setup.LABEL_CHOICES] == ["100", "600", "1000", "3000", "all"]


def test_only_data_sets_with_labels_train_m2():
    assert labels_refusal("mnist", "MNIST") is None and labels_refusal("fashion-mnist", "Fashion-MNIST") is None
    for name, shown in (("frey-face", "Frey Face"), ("folder", "Image folder")):
        assert shown in labels_refusal(name, shown) and "labels" in labels_refusal(name, shown)


def test_the_default_m1_is_the_shipped_20d_mnist_vae():
    path = semi_setup.default_m1_path()
    assert path is not None and path.name == "mnist-20d.pt"
    m1 = load_m1(path, "mnist")
    assert isinstance(m1, VAE) and m1.latent_dim == 20


def test_a_bad_m1_is_refused_with_a_message_naming_the_file(tmp_path):
    vae = VAE(VAEConfig(latent_dim=3, hidden_sizes=(8,)))
    save_checkpoint(tmp_path / "fashion.pt", vae, data={"dataset": "fashion-mnist"})
    save_checkpoint(tmp_path / "m2.pt", PixelM2(M2Config(hidden_sizes=(8,), classifier_hidden=(8,))),
                    data={"dataset": "mnist"})
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "folder.pt").mkdir()
    cases = {"missing.pt": "No such checkpoint", "folder.pt": "folder", "junk.pt": "not a latentlab checkpoint",
             "m2.pt": "M1 must be a VAE", "fashion.pt": "trained on fashion-mnist"}
    for name, why in cases.items():
        with pytest.raises(ValueError, match=why) as e:
            load_m1(tmp_path / name, "mnist")
        assert str(tmp_path / name) in str(e.value) and str(e.value).startswith("M1 checkpoint")
    with pytest.raises(ValueError, match="needs an M1"):
        load_m1("  ", "mnist")


def test_m2_configs_from_the_panels_settings():
    m2 = m2_config((1, 28, 28), 4, (64,))
    assert m2.kind == "m2" and m2.likelihood == "bernoulli" and m2.hidden_sizes == (64,)
    assert m2.latent_dim == 4 and m2.classifier_architecture == "conv" and m2.classifier_hidden == (256,)
    assert m2.classifier_dropout == 0.5      # the shipped m2-2d.pt's recipe
    m1 = VAE(VAEConfig(latent_dim=5, hidden_sizes=(8,)))
    m1m2 = m2_config((1, 28, 28), 2, (32,), m1)
    assert m1m2.kind == "m1m2" and m1m2.likelihood == "gaussian" and m1m2.m1 == m1.config.to_dict()
    assert m1m2.classifier_architecture == "mlp" and m1m2.classifier_hidden == semi_setup.M2_CLASSIFIER_HIDDEN
    with pytest.raises(ValueError, match="M1 checkpoint"):
        m2_config((3, 28, 28), 2, (32,), m1)
