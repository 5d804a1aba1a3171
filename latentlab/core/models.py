"""The variational auto-encoder of Kingma & Welling (2014), readable in one screen.

Encoder q(z|x) = N(mu, diag(sigma^2)), prior p(z) = N(0, I), decoder p(x|z) Bernoulli (logits) or
Gaussian (mean in [0, 1], per-pixel learned or fixed variance). The network bodies (MLP or a small
convnet) are chosen by `VAEConfig.architecture`; everything probabilistic lives here and in
`objectives.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from . import objectives
from .config import Config, SettingError, setting

# The vocabularies of a model's settings: the one list of each that the CLI and the panel use.
ARCHITECTURES = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")
GAUSSIAN_VARIANCES = ("learned", "fixed")
MAX_LATENT_DIM = 256
MAX_LAYER_WIDTH = 16384     # a 784-16384 layer is already 13 M weights
MAX_IMAGE_SIDE = 256       # an MLP on 256x256x3 images already has 100 M weights in its first layer

# A floor on the Gaussian decoder's standard deviation: with 8-bit images a smaller sigma only
# lets the density of a continuous model explode on constant pixels (Frey Face's background).
MIN_DECODER_LOGVAR = 2 * math.log(1e-2)


@dataclass
class VAEConfig(Config):
    """Everything needed to rebuild a VAE; round-trips through plain JSON (`to_dict`/`from_dict`)."""

    section: ClassVar[str] = "model settings"

    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = setting(2, "latent dimension D", min=1, max=MAX_LATENT_DIM)
    architecture: str = setting("mlp", "network body", choices=ARCHITECTURES, flag="--arch")
    hidden_sizes: tuple[int, ...] = (512, 512)  # MLP hidden layers (encoder; decoder mirrors them)
    conv_channels: tuple[int, int] = (32, 64)   # conv: channels of the two stride-2 layers
    conv_hidden: int = setting(256, "conv: width of the dense layer after the convolutions", min=1,
                               max=MAX_LAYER_WIDTH)
    likelihood: str = setting("bernoulli", "decoder p(x|z)", choices=LIKELIHOODS)
    gaussian_variance: str = setting("learned", "Gaussian decoder: one learned log-variance per pixel, or fixed",
                                     choices=GAUSSIAN_VARIANCES)
    gaussian_fixed_std: float = setting(0.1, "sigma of p(x|z) with --gaussian-variance fixed", min=0.0,
                                        max=10.0, min_exclusive=True, flag="--gaussian-std")

    def validate(self) -> None:
        self.image_shape = _int_tuple(self.image_shape, "image_shape")
        self.hidden_sizes = _int_tuple(self.hidden_sizes, "hidden_sizes")
        self.conv_channels = _int_tuple(self.conv_channels, "conv_channels")
        c_h_w = self.image_shape
        if len(c_h_w) != 3 or c_h_w[0] not in (1, 3) or min(c_h_w) < 1 or max(c_h_w[1:]) > MAX_IMAGE_SIDE:
            raise SettingError("image_shape", f"must be (C, H, W) with 1 or 3 channels and sides of 1 to "
                                              f"{MAX_IMAGE_SIDE} pixels, got {list(c_h_w)}")
        for name in ("hidden_sizes", "conv_channels"):
            sizes = getattr(self, name)
            if any(not 1 <= h <= MAX_LAYER_WIDTH for h in sizes):
                raise SettingError(name, f"must be layer sizes between 1 and {MAX_LAYER_WIDTH}, got {list(sizes)}")
        if len(self.conv_channels) != 2:
            raise SettingError("conv_channels", f"must be two sizes, got {list(self.conv_channels)}")
        if self.architecture == "mlp" and not self.hidden_sizes:
            raise SettingError("hidden_sizes", "must hold at least one layer for an MLP")
        if self.architecture == "conv" and min(c_h_w[1:]) < 4:
            raise SettingError("image_shape", f"must be at least 4x4 for the convolutional body, got {list(c_h_w)}")


def _int_tuple(value, name: str) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise SettingError(name, f"must be a list of whole numbers, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v):
            raise SettingError(name, f"must be a list of whole numbers, got {list(value)!r}")
        out.append(int(v))
    return tuple(out)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class _ConvEncoder(nn.Module):
    """Two stride-2 convolutions and a dense layer; works for any image of at least 4x4."""

    def __init__(self, cfg: VAEConfig, out_features: int):
        super().__init__()
        c, h, w = cfg.image_shape
        c1, c2 = cfg.conv_channels
        self.convs = nn.Sequential(
            nn.Conv2d(c, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, c, h, w)).shape[1]
        self.dense = nn.Sequential(nn.Linear(flat, cfg.conv_hidden), nn.ReLU(),
                                   nn.Linear(cfg.conv_hidden, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.convs(x))


class _ConvDecoder(nn.Module):
    """Mirror of the encoder: dense, reshape, two stride-2 transposed convolutions, crop to H x W."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        c, h, w = cfg.image_shape
        c1, c2 = cfg.conv_channels
        self.base = (c2, math.ceil(h / 4), math.ceil(w / 4))
        self.out_hw = (h, w)
        self.dense = nn.Sequential(nn.Linear(cfg.latent_dim, cfg.conv_hidden), nn.ReLU(),
                                   nn.Linear(cfg.conv_hidden, math.prod(self.base)), nn.ReLU())
        self.deconvs = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c1, c, 4, stride=2, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.deconvs(self.dense(z).view(-1, *self.base))
        h, w = self.out_hw
        return out[..., :h, :w]


class VAE(nn.Module):
    """Gaussian encoder, standard normal prior, Bernoulli or Gaussian decoder.

    Images are float tensors of shape (B, C, H, W) with values in [0, 1].
    """

    def __init__(self, config: VAEConfig | None = None, **overrides):
        super().__init__()
        if config is None:
            config = VAEConfig(**overrides)
        elif overrides:
            config = VAEConfig(**{**config.to_dict(), **overrides})
        self.config = config
        c, h, w = config.image_shape
        n_pixels, d = c * h * w, config.latent_dim
        if config.architecture == "mlp":
            hidden = list(config.hidden_sizes)
            self.encoder = nn.Sequential(nn.Flatten(), _mlp([n_pixels, *hidden, 2 * d]))
            self.decoder = nn.Sequential(_mlp([d, *hidden[::-1], n_pixels]), nn.Unflatten(1, (c, h, w)))
        else:
            self.encoder = _ConvEncoder(config, 2 * d)
            self.decoder = _ConvDecoder(config)
        if config.likelihood == "gaussian" and config.gaussian_variance == "learned":
            self.decoder_logvar = nn.Parameter(torch.zeros(c, h, w))
        else:
            self.register_parameter("decoder_logvar", None)

    # -- the public vocabulary -----------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.config.image_shape

    @property
    def likelihood(self) -> str:
        return self.config.likelihood

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Parameters of q(z|x): mean and log-variance, each (B, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output before the link function: Bernoulli logits or Gaussian pre-sigmoid mean.

        z may carry extra leading dimensions (e.g. (N samples, B, D)); they are kept.
        """
        lead = z.shape[:-1]
        out = self.decoder(z.reshape(-1, self.latent_dim))
        return out.reshape(*lead, *self.image_shape)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z), an image in [0, 1] of shape (B, C, H, W)."""
        return torch.sigmoid(self.decode_raw(z))

    def decoder_std(self) -> torch.Tensor:
        """Per-pixel sigma of a Gaussian decoder (C, H, W)."""
        return torch.exp(0.5 * self._decoder_logvar())

    def _decoder_logvar(self) -> torch.Tensor:
        if self.decoder_logvar is not None:
            return self.decoder_logvar.clamp(min=MIN_DECODER_LOGVAR)
        return torch.full(self.image_shape, 2 * math.log(self.config.gaussian_fixed_std),
                          device=self.device)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) summed over pixels; z (..., B, D) against x (B, C, H, W) gives (..., B)."""
        raw = self.decode_raw(z)
        if self.likelihood == "bernoulli":
            return objectives.bernoulli_log_likelihood(x, raw)
        return objectives.gaussian_log_likelihood(x, torch.sigmoid(raw), self._decoder_logvar())

    def sample_x(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A sample from p(x|z) (not its mean): what the model 'really' generates, noise included."""
        mean = self.decode(z)
        if self.likelihood == "bernoulli":
            return torch.bernoulli(mean, generator=generator)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device)
        return (mean + noise * self.decoder_std()).clamp(0, 1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean images of n draws from the prior."""
        z = torch.randn(n, self.latent_dim, generator=generator, device=self.device)
        return self.decode(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the posterior mean of each image."""
        return self.decode(self.encode(x)[0])

    def forward(self, x: torch.Tensor, n_samples: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """The two ELBO ingredients for a batch (so DistributedDataParallel sees one forward call).

        Returns log p(x|z) for N reparameterised samples z ~ q(z|x), shape (N, B), and the
        analytic KL(q(z|x) || N(0, I)) per latent dimension, shape (B, D).
        """
        mu, logvar = self.encode(x)
        z = objectives.reparameterize(mu, logvar, n_samples)
        return self.log_likelihood(x, z), objectives.kl_per_dim(mu, logvar)
