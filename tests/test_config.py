"""The one config base: JSON round trips, one unknown-key policy, validation that names the field."""

import pytest

from latentlab.core.models import VAEConfig
from latentlab.core.pipeline import DataSpec
from latentlab.core.trainer import TrainConfig


@pytest.mark.parametrize("cls", [VAEConfig, TrainConfig, DataSpec])
def test_every_config_round_trips_through_json(cls):
    config = cls()
    assert cls.from_json(config.to_json()) == config
    assert cls.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("cls", [VAEConfig, TrainConfig, DataSpec])
def test_unknown_keys_are_refused_by_name(cls):
    with pytest.raises(ValueError, match="bogus is not one of the .* settings"):
        cls.from_dict({**cls().to_dict(), "bogus": 1})


@pytest.mark.parametrize("cls, field, value, message", [
    (VAEConfig, "latent_dim", 0, "latent_dim must be between 1 and 256, got 0"),
    (VAEConfig, "latent_dim", "2", "latent_dim must be a number"),
    (VAEConfig, "architecture", "rnn", "architecture must be one of mlp, conv"),
    (VAEConfig, "hidden_sizes", (-3,), "hidden_sizes must be layer sizes between 1 and 16384"),
    (VAEConfig, "hidden_sizes", (), "hidden_sizes must hold at least one layer"),
    (VAEConfig, "image_shape", (1, 20000, 20000), "image_shape must be .* sides of 1 to 256"),
    (TrainConfig, "n_samples", 20000, "n_samples must be between 1 and 1000"),
    (TrainConfig, "lr", 0.0, "lr must be greater than 0"),
    (TrainConfig, "epochs", 2.5, "epochs must be a whole number"),
    (TrainConfig, "binarize", "soft", "binarize must be one of dynamic, threshold, grey"),
    (TrainConfig, "device", "tpu", "device must be one of auto, cpu, cuda, cuda:N, mps"),
    (DataSpec, "val_fraction", 1.0, "val_fraction must be greater than 0 and at most 0.9"),
    (DataSpec, "image_shape", (1, 28), "image_shape must be three positive whole numbers"),
    (DataSpec, "label_names", 3, "label_names must be a list of strings"),
])
def test_a_bad_value_names_its_field_and_range(cls, field, value, message):
    with pytest.raises(ValueError, match=message):
        cls(**{field: value})


def test_limits_are_what_the_cli_and_panel_build_from():
    lim = VAEConfig.limits("latent_dim")
    assert (lim.min, lim.max, lim.kind) == (1, 256, int)
    assert TrainConfig.limits("binarize").choices == ("dynamic", "threshold", "grey")
    assert TrainConfig.default("batch_size") == 128 and VAEConfig.limits("hidden_sizes") is None
