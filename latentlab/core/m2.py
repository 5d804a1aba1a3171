"""M2 and M1+M2 of Kingma, Rezende, Mohamed & Welling (2014), "Semi-supervised learning with deep
generative models": a class y beside the style z.

    q(y|x) = Cat(pi(x))             the classifier
    q(z|x, y) = N(mu(x, y), sigma^2(x, y))
    p(x|y, z)                       Bernoulli on pixels (M2), Gaussian on M1's latent means (M1+M2)
    p(z) = N(0, I), p(y) = 1 / K

`M2` works on any vectors: images (flattened) or the latent representation of an M1 VAE. `M1M2`
puts a frozen M1 in front of an M2, so both offer the same public vocabulary on *images*:

    model.num_classes, model.latent_dim (the style z), model.image_shape
    model.classify(x) -> (B, K) logits       model.encode(x, y) -> (mu, logvar)
    model.decode(z, y) -> mean image         model.given(y) -> a VAE-like view for one class

`given(y)` is what the explorer, the figures and the geometry tools use: with the class fixed, M2 is
a VAE of the style z, so every tool made for a VAE shows "this digit, every style".

The class enters each network through its first layer as a learned vector per class (a one-hot
input times a weight matrix, written as an embedding), so summing over the K classes (the
unlabelled bound) computes the image's part of that layer once, not K times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from . import objectives
from .config import Config, SettingError, setting
from .models import MAX_LATENT_DIM, MAX_LAYER_WIDTH, VAE, VAEConfig, _ConvEncoder, _int_tuple, _mlp

MAX_CLASSES = 1000
M2_LIKELIHOODS = ("bernoulli", "gaussian")
# The Gaussian p(z1|y, z2) of M1+M2 gets a floor on its variance, as the VAE's Gaussian decoder:
# M1's inactive latent dimensions are nearly constant, and their density would otherwise explode.
MIN_FEATURE_LOGVAR = 2 * math.log(1e-2)


@dataclass
class M2Config(Config):
    """Everything needed to rebuild an M2 or M1+M2 (plain JSON, like VAEConfig).

    `m1` is the M1 VAE's config for M1+M2 (the M2 then models M1's latent means), None for M2
    on the pixels.
    """

    section: ClassVar[str] = "model settings"

    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = setting(2, "dimension of the style z", min=1, max=MAX_LATENT_DIM)
    num_classes: int = setting(10, "number of classes K", min=2, max=MAX_CLASSES)
    hidden_sizes: tuple[int, ...] = (500,)        # q(z|x,y) and p(x|y,z) (the decoder mirrors them)
    classifier_hidden: tuple[int, ...] = (500,)   # q(y|x)
    # Dropout on q(y|x)'s hidden units while training: with 100 labels the classifier otherwise
    # memorises them, and its error on the rest creeps up as the generative part sharpens.
    # q(y|x) as an MLP (the paper's) or a small convolutional net on the image (pixel M2 only):
    # with 100 labels, convolutions generalise from far fewer examples.
    classifier_architecture: str = setting("mlp", "q(y|x): MLP, or convolutions on the image (M2 on pixels)",
                                           choices=("mlp", "conv"))
    classifier_dropout: float = setting(0.0, "dropout on the classifier's hidden units while training",
                                        min=0.0, max=0.9)
    likelihood: str = setting("bernoulli", "p(x|y,z): Bernoulli on pixels, Gaussian on M1's latent",
                              choices=M2_LIKELIHOODS)
    m1: dict | None = None

    def validate(self) -> None:
        self.image_shape = _int_tuple(self.image_shape, "image_shape")
        self.hidden_sizes = _int_tuple(self.hidden_sizes, "hidden_sizes")
        self.classifier_hidden = _int_tuple(self.classifier_hidden, "classifier_hidden")
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise SettingError("image_shape", f"must be (C, H, W), got {list(self.image_shape)}")
        for name in ("hidden_sizes", "classifier_hidden"):
            sizes = getattr(self, name)
            if not sizes or any(not 1 <= h <= MAX_LAYER_WIDTH for h in sizes):
                raise SettingError(name, f"must be one or more layer sizes between 1 and {MAX_LAYER_WIDTH}, "
                                         f"got {list(sizes)}")
        if self.m1 is not None and self.classifier_architecture != "mlp":
            raise SettingError("classifier_architecture", "must be mlp for M1+M2 (its M2 classifies M1's latent)")
        if self.m1 is not None:
            if not isinstance(self.m1, dict):
                raise SettingError("m1", f"must be the M1 VAE's settings (a mapping), got {self.m1!r}")
            try:
                m1 = VAEConfig.from_dict(dict(self.m1))
            except SettingError as e:
                raise SettingError(f"m1.{e.field}", e.problem) from None
            if tuple(m1.image_shape) != tuple(self.image_shape):
                raise SettingError("m1", f"is a model of {list(m1.image_shape)} images, not {list(self.image_shape)}")
            self.m1 = m1.to_dict()
            if self.likelihood != "gaussian":
                raise SettingError("likelihood", "must be gaussian for M1+M2 (M2 models M1's real-valued latent)")

    @property
    def kind(self) -> str:
        return "m1m2" if self.m1 is not None else "m2"


class _ClassMLP(nn.Module):
    """An MLP on [input, one-hot(y)]: the class adds a learned vector to the first layer."""

    def __init__(self, in_features: int, num_classes: int, hidden: tuple[int, ...], out_features: int):
        super().__init__()
        self.first = nn.Linear(in_features, hidden[0])
        self.class_vectors = nn.Embedding(num_classes, hidden[0])
        layers: list[nn.Module] = [nn.ReLU()]
        for a, b in zip(hidden[:-1], hidden[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(hidden[-1], out_features))
        self.rest = nn.Sequential(*layers)

    def forward(self, v: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """v (..., in), y (...) class indices -> (..., out)."""
        return self.rest(self.first(v) + self.class_vectors(y))

    def every_class(self, v: torch.Tensor) -> torch.Tensor:
        """v (B, in) with each of the K classes -> (K, B, out); v's part of the first layer once."""
        h = self.first(v).unsqueeze(0) + self.class_vectors.weight.unsqueeze(1)
        return self.rest(h)


class M2(nn.Module):
    """M2 over vectors of `in_features` numbers (a flattened image, or M1's latent)."""

    def __init__(self, config: M2Config, in_features: int | None = None):
        super().__init__()
        self.config = config
        n_in = in_features or math.prod(config.image_shape)
        self.in_features = n_in
        d, k, hidden = config.latent_dim, config.num_classes, config.hidden_sizes
        if config.classifier_architecture == "conv":
            conv = VAEConfig(image_shape=config.image_shape, architecture="conv",
                             conv_hidden=config.classifier_hidden[0])
            self.classifier = _ConvEncoder(conv, k)
        else:
            self.classifier = _mlp([n_in, *config.classifier_hidden, k])
        self.encoder = _ClassMLP(n_in, k, hidden, 2 * d)
        self.decoder = _ClassMLP(d, k, hidden[::-1], n_in)
        if config.likelihood == "gaussian":
            self.decoder_logvar = nn.Parameter(torch.zeros(n_in))
        else:
            self.register_parameter("decoder_logvar", None)

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # -- on vectors (B, in_features) -----------------------------------------------------------
    def classify_vectors(self, v: torch.Tensor) -> torch.Tensor:
        p = self.config.classifier_dropout if self.training else 0.0
        if self.config.classifier_architecture == "conv":
            lead = v.shape[:-1]
            h, layers = self.classifier.convs(v.reshape(-1, *self.config.image_shape)), self.classifier.dense
        else:
            lead, h, layers = None, v, self.classifier
        for layer in layers:   # dropout after each ReLU; the layers' names stay those without it
            h = layer(h)
            if p and isinstance(layer, nn.ReLU):
                h = F.dropout(h, p, training=True)
        return h if lead is None else h.reshape(*lead, h.shape[-1])

    def encode_vectors(self, v: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(v, y).chunk(2, dim=-1)
        return mu, logvar

    def encode_every_class(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|v, y) for each class: mean and log-variance of shape (K, B, D)."""
        mu, logvar = self.encoder.every_class(v).chunk(2, dim=-1)
        return mu, logvar

    def decode_raw_vectors(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Logits (Bernoulli) or the mean (Gaussian) of p(v|y, z); z (..., D) and y (...) broadcast."""
        lead = torch.broadcast_shapes(z.shape[:-1], y.shape)
        return self.decoder(z.expand(*lead, z.shape[-1]), y.expand(lead))

    def decode_vectors(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raw = self.decode_raw_vectors(z, y)
        return torch.sigmoid(raw) if self.config.likelihood == "bernoulli" else raw

    def log_likelihood_vectors(self, v: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log p(v|y, z) summed over the vector: z (..., B, D), y (..., B) or (B,) -> (..., B)."""
        raw = self.decode_raw_vectors(z, y)
        if self.config.likelihood == "bernoulli":
            raw, v = torch.broadcast_tensors(raw, v)
            return -nn.functional.binary_cross_entropy_with_logits(raw, v, reduction="none").sum(-1)
        logvar = self.decoder_logvar.clamp(min=MIN_FEATURE_LOGVAR)
        return -0.5 * (objectives.LOG_2PI + logvar + (v - raw).pow(2) / logvar.exp()).sum(-1)


class SemiSupervised(nn.Module):
    """The public vocabulary on images, shared by M2 on pixels and M1+M2 (see the module docstring).

    Subclasses say how an image becomes the vector M2 models (`vectors`) and how M2's decoded
    vector becomes an image (`image_of`).
    """

    config: M2Config
    core: M2

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.config.image_shape)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def vectors(self, x: torch.Tensor, sample: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def image_of(self, v: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of q(y|x), (B, K), for images (B, C, H, W) in [0, 1]."""
        return self.core.classify_vectors(self.vectors(x))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable class of each image, (B,)."""
        return self.classify(x).argmax(-1)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x, y): mean and log-variance (B, D) of the style of images x drawn as classes y (B,)."""
        return self.core.encode_vectors(self.vectors(x), _classes(y, x.shape[0], self.num_classes))

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean image of p(x|y, z): z (..., D), y (...) or one class for all -> (..., C, H, W)."""
        y = _classes(y, z.shape[:-1], self.num_classes).to(z.device)
        return self.image_of(self.core.decode_vectors(z, y))

    def given(self, y: int) -> "ClassConditioned":
        return ClassConditioned(self, y)


def _classes(y, lead, num_classes: int) -> torch.Tensor:
    """Class indices as a long tensor of shape `lead` (an int is broadcast); range-checked."""
    y = torch.as_tensor(y, dtype=torch.long)
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"classes must lie in 0..{num_classes - 1}, got {y.tolist()}")
    lead = (lead,) if isinstance(lead, int) else tuple(lead)
    return y.expand(lead) if y.dim() == 0 else y


class PixelM2(SemiSupervised):
    """M2 on the pixels: the image is the vector (flattened)."""

    def __init__(self, config: M2Config):
        super().__init__()
        if config.m1 is not None:
            raise ValueError("PixelM2 takes an M2 config without m1; use M1M2")
        self.config = config
        self.core = M2(config)

    def vectors(self, x: torch.Tensor, sample: bool = False) -> torch.Tensor:
        return x.flatten(1)

    def image_of(self, v: torch.Tensor) -> torch.Tensor:
        return v.reshape(*v.shape[:-1], *self.image_shape)


class M1M2(SemiSupervised):
    """A frozen M1 VAE (trained on all images) and an M2 on its latent: the paper's best model."""

    def __init__(self, config: M2Config, m1: VAE | None = None):
        super().__init__()
        if config.m1 is None:
            raise ValueError("M1M2 needs the M1 VAE's settings in config.m1")
        self.config = config
        self.m1 = m1 if m1 is not None else VAE(VAEConfig.from_dict(dict(config.m1)))
        self.m1.requires_grad_(False)
        self.core = M2(config, in_features=self.m1.latent_dim)

    def train(self, mode: bool = True) -> "M1M2":
        super().train(mode)
        self.m1.eval()   # M1 is fixed: never in training mode
        return self

    def vectors(self, x: torch.Tensor, sample: bool = False) -> torch.Tensor:
        """M1's latent of the images: the posterior mean (what M2 trains on and classifies), or
        with `sample` a draw from q(z1|x)."""
        with torch.no_grad():
            mu, logvar = self.m1.encode(x)
            return objectives.reparameterize(mu, logvar)[0] if sample else mu

    def image_of(self, v: torch.Tensor) -> torch.Tensor:
        return self.m1.decode(v)


def build_semi_supervised(config: M2Config) -> SemiSupervised:
    return M1M2(config) if config.m1 is not None else PixelM2(config)


class ClassConditioned(nn.Module):
    """M2 with the class fixed to y: a VAE of the style z, for the explorer and every VAE tool.

    Everything is of that one class, so the view is a VAE in its own right: encode(x) is
    q(z|x, y) (the style that explains x *as a y*: a 7 read as a 3 lands where 3s look most like
    it), decode(z) draws a y in style z, log_likelihood is log p(x|y, z), and the ELBO and the
    exact posterior of the view are those of log p(x|y). For M2 on pixels that likelihood is
    exact, so bounds, the exact posterior and the geometry tools apply; M1+M2 has no image
    likelihood (its p(x|y, z2) passes through M1's z1), which `has_image_likelihood` says.
    """

    def __init__(self, model: SemiSupervised, y: int):
        super().__init__()
        if not 0 <= int(y) < model.num_classes:
            raise ValueError(f"class {y} is not one of 0..{model.num_classes - 1}")
        self.model = model
        self.y = int(y)
        c = model.config
        self.config = VAEConfig(image_shape=tuple(c.image_shape), latent_dim=c.latent_dim,
                                hidden_sizes=tuple(c.hidden_sizes), likelihood="bernoulli")
        self.has_image_likelihood = isinstance(model, PixelM2) and c.likelihood == "bernoulli"
        self.likelihood = "bernoulli"

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.model.image_shape

    @property
    def num_classes(self) -> int:
        return self.model.num_classes

    @property
    def device(self) -> torch.device:
        return self.model.device

    def _fixed(self, lead) -> torch.Tensor:
        return torch.full(tuple(lead), self.y, dtype=torch.long, device=self.device)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(x, self._fixed((x.shape[0],)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z, self._fixed(z.shape[:-1]))

    def _require_likelihood(self) -> None:
        if not self.has_image_likelihood:
            raise NotImplementedError("M1+M2 has no likelihood of an image given its style "
                                      "(p(x|y, z2) passes through M1's latent z1)")

    def decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        self._require_likelihood()
        raw = self.model.core.decode_raw_vectors(z, self._fixed(z.shape[:-1]))
        return raw.reshape(*z.shape[:-1], *self.image_shape)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|y, z) of the fixed class: z (..., B, D) against x (B, C, H, W) gives (..., B)."""
        return objectives.bernoulli_log_likelihood(x, self.decode_raw(z))

    def sample_x(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.bernoulli(self.decode(z), generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(n, self.latent_dim, generator=generator, device=self.device)
        return self.decode(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[0])

    def forward(self, x: torch.Tensor, n_samples: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """As VAE.forward, for images read as the fixed class y."""
        mu, logvar = self.encode(x)
        z = objectives.reparameterize(mu, logvar, n_samples)
        return self.log_likelihood(x, z), objectives.kl_per_dim(mu, logvar)
