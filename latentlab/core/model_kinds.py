"""The kinds of model latentlab trains and opens, and how to build one from its settings.

"vae" (core/models.py), "m2" and "m1m2" (core/m2.py). A checkpoint names its kind
(`model_kind`), the window and the CLI ask `is_semi_supervised` where the two differ, and
everything that clones a model (the window's snapshots of a training run) uses `build_model`.
"""

from __future__ import annotations

from .m2 import M2Config, SemiSupervised, build_semi_supervised
from .models import VAE, VAEConfig

MODEL_KINDS = ("vae", "m2", "m1m2")


def build_model(config: VAEConfig | M2Config) -> VAE | SemiSupervised:
    """A fresh model of the kind its config describes (weights initialised as the class does)."""
    return VAE(config) if isinstance(config, VAEConfig) else build_semi_supervised(config)


def model_kind(model) -> str:
    """"vae", "m2" or "m1m2"."""
    return model.kind if isinstance(model, SemiSupervised) else "vae"


def is_semi_supervised(model) -> bool:
    return isinstance(model, SemiSupervised)


def describe_model(model) -> str:
    """What a model is, in words for a status line: '2-D mlp VAE', 'M2 with a 2-D style z',
    'M1+M2 (50-D M1, 10-D style z)'."""
    kind = model_kind(model)
    if kind == "m1m2":
        return f"M1+M2 ({model.m1.latent_dim}-D M1, {model.latent_dim}-D style z)"
    if kind == "m2":
        return f"M2 with a {model.latent_dim}-D style z"
    return f"{model.latent_dim}-D {model.config.architecture} VAE"
