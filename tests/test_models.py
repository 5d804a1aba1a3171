import json

import pytest
import torch

from latentlab import VAE, VAEConfig, load_checkpoint, save_checkpoint  # the public API


@pytest.mark.parametrize("latent_dim", [1, 2, 5, 10, 20, 50, 256])
def test_mlp_shapes_for_any_latent_dim(latent_dim):
    model = VAE(latent_dim=latent_dim, hidden_sizes=(32,))
    x = torch.rand(3, 1, 28, 28)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (3, latent_dim)
    images = model.decode(torch.randn(4, latent_dim))
    assert images.shape == (4, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    assert model.latent_dim == latent_dim and model.image_shape == (1, 28, 28)


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 28, 20), (3, 32, 32), (1, 30, 17)])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_conv_architecture_handles_small_image_sizes(shape, likelihood):
    model = VAE(image_shape=shape, latent_dim=5, architecture="conv", conv_channels=(8, 16), conv_hidden=32,
                likelihood=likelihood)
    x = torch.rand(2, *shape)
    log_px_z, kl = model(x, n_samples=3)
    assert log_px_z.shape == (3, 2) and kl.shape == (2, 5)
    assert model.decode(torch.zeros(2, 5)).shape == (2, *shape)
    assert model.reconstruct(x).shape == (2, *shape)


def test_gaussian_decoder_variance_learned_or_fixed():
    learned = VAE(likelihood="gaussian", gaussian_variance="learned", hidden_sizes=(16,))
    fixed = VAE(likelihood="gaussian", gaussian_variance="fixed", gaussian_fixed_std=0.2, hidden_sizes=(16,))
    assert learned.decoder_logvar is not None and learned.decoder_logvar.requires_grad
    assert fixed.decoder_logvar is None
    assert torch.allclose(fixed.decoder_std(), torch.full((1, 28, 28), 0.2))
    assert learned.likelihood == fixed.likelihood == "gaussian"


def test_samples_of_p_x_given_z_differ_from_the_mean():
    model = VAE(hidden_sizes=(16,))
    z = torch.zeros(1, 2)
    mean = model.decode(z)
    sample = model.sample_x(z, generator=torch.Generator().manual_seed(0))
    assert set(sample.unique().tolist()) <= {0.0, 1.0}  # Bernoulli draws are binary, the mean is not
    assert not torch.equal(sample, mean)
    assert model.sample(5).shape == (5, 1, 28, 28)


def test_config_round_trips_through_plain_json():
    cfg = VAEConfig(image_shape=(1, 28, 20), latent_dim=7, hidden_sizes=(100, 50), likelihood="gaussian")
    again = VAEConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize("bad", [dict(latent_dim=0), dict(latent_dim=257), dict(architecture="rnn"),
                                 dict(likelihood="poisson"), dict(image_shape=(28, 28)),
                                 dict(hidden_sizes=())])
def test_invalid_configs_are_refused_with_a_message(bad):
    with pytest.raises(ValueError):
        VAEConfig(**bad)


def test_unknown_settings_in_a_stored_config_are_refused():
    with pytest.raises(ValueError, match="flux_capacitor is not one of the model settings"):
        VAEConfig.from_dict({"latent_dim": 2, "flux_capacitor": 1})


def test_public_save_and_load(tmp_path):
    model = VAE(latent_dim=3, hidden_sizes=(8,))
    save_checkpoint(tmp_path / "m.pt", model)
    loaded = load_checkpoint(tmp_path / "m.pt").model
    z = torch.randn(2, 3)
    assert torch.equal(loaded.decode(z), model.decode(z))
