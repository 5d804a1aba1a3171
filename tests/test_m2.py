"""M2 and M1+M2 (core/m2.py, core/m2_objectives.py): the bound, the public vocabulary, labels."""

from __future__ import annotations

import math

import pytest
import torch

from latentlab.core.config import SettingError
from latentlab.core.labels import LabelError, draw_labelled, unlabelled_indices
from latentlab.core.m2 import M1M2, M2Config, PixelM2
from latentlab.core.m2_objectives import every_class_bound, labelled_bound, m2_terms, unlabelled_bound
from latentlab.core.models import VAE, VAEConfig

TINY = M2Config(image_shape=(1, 4, 4), latent_dim=2, num_classes=10, hidden_sizes=(8,), classifier_hidden=(8,))


def tiny_images(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((n, 1, 4, 4), 0.4), generator=g)


def test_the_unlabelled_bound_is_the_brute_force_sum_over_the_ten_classes():
    torch.manual_seed(0)
    model = PixelM2(TINY)
    x = tiny_images()
    v = model.vectors(x)
    eps = torch.randn(3, 10, len(x), 2)   # 3 samples of z for every class and image
    fast = unlabelled_bound(model.core, v, n_samples=3, eps=eps)
    q = torch.softmax(model.classify(x), -1)
    brute = torch.zeros(len(x), dtype=torch.float64)
    for y in range(10):
        neg_l = labelled_bound(model.core, v, torch.full((len(x),), y), n_samples=3, eps=eps[:, y]).neg_bound
        brute += q[:, y].double() * neg_l.double() + q[:, y].double() * torch.log(q[:, y]).double()
    torch.testing.assert_close(fast.neg_bound.double(), brute, rtol=1e-5, atol=1e-4)


def test_the_labelled_bound_is_recon_plus_kl_plus_log_k():
    torch.manual_seed(1)
    model = PixelM2(TINY)
    x, y = tiny_images(), torch.arange(6)
    b = labelled_bound(model.core, model.vectors(x), y)
    torch.testing.assert_close(b.neg_bound, b.recon + b.kl_dims.sum(-1) + math.log(10))
    per_class = every_class_bound(model.core, model.vectors(x))
    assert per_class.neg_bound.shape == (10, 6) and per_class.kl_dims.shape == (10, 6, 2)


def test_minus_u_bounds_minus_log_p_x_from_above_on_average():
    """-U is an ELBO: by Jensen, its mean is above the importance-sampled -log p(x) (K classes x many z)."""
    torch.manual_seed(2)
    model = PixelM2(TINY)
    x = tiny_images(4)
    v = model.vectors(x)
    with torch.no_grad():
        neg_u = torch.stack([unlabelled_bound(model.core, v).neg_bound for _ in range(200)]).mean(0)
        # log p(x) = log sum_y p(y) int p(x|y,z) p(z) dz, by 4,000 prior draws per class (exact enough here)
        z = torch.randn(4000, 1, 2)
        log_px = torch.stack([torch.logsumexp(model.core.log_likelihood_vectors(v, z, torch.full((4,), y)), 0)
                              - math.log(4000) for y in range(10)]).logsumexp(0) - math.log(10)
    assert (neg_u >= -log_px - 0.05).all()


def test_public_vocabulary_on_images():
    torch.manual_seed(3)
    model = PixelM2(TINY)
    x = tiny_images(5)
    assert model.num_classes == 10 and model.kind == "m2"
    assert model.classify(x).shape == (5, 10)
    mu, logvar = model.encode(x, torch.tensor([0, 1, 2, 3, 4]))
    assert mu.shape == logvar.shape == (5, 2)
    assert model.decode(mu, torch.tensor([9, 8, 7, 6, 5])).shape == (5, 1, 4, 4)
    assert model.decode(torch.zeros(3, 7, 2), 4).shape == (3, 7, 1, 4, 4)   # one class for a grid of z
    with pytest.raises(ValueError, match="0..9"):
        model.decode(mu, 10)


def test_a_class_conditioned_view_is_a_vae_of_that_class():
    torch.manual_seed(4)
    model = PixelM2(TINY)
    view = model.given(7)
    x = tiny_images(3)
    mu, logvar = view.encode(x)
    torch.testing.assert_close(mu, model.encode(x, torch.full((3,), 7))[0])
    torch.testing.assert_close(view.decode(mu), model.decode(mu, 7))
    ll, kl = view(x, 2)
    assert ll.shape == (2, 3) and kl.shape == (3, 2) and view.has_image_likelihood
    with pytest.raises(ValueError):
        model.given(10)


def test_m1m2_works_on_m1s_latent_and_keeps_m1_fixed():
    torch.manual_seed(5)
    m1 = VAE(VAEConfig(image_shape=(1, 4, 4), latent_dim=3, hidden_sizes=(8,)))
    config = M2Config(image_shape=(1, 4, 4), latent_dim=2, hidden_sizes=(8,), classifier_hidden=(8,),
                      likelihood="gaussian", m1=m1.config.to_dict())
    model = M1M2(config, m1)
    x = tiny_images(4)
    assert model.kind == "m1m2" and model.vectors(x).shape == (4, 3)
    torch.testing.assert_close(model.vectors(x), m1.encode(x)[0])
    assert model.classify(x).shape == (4, 10)
    assert model.decode(torch.zeros(4, 2), 3).shape == (4, 1, 4, 4)
    assert not any(p.requires_grad for p in model.m1.parameters())
    model.train()
    assert not model.m1.training
    terms = m2_terms(model.core, model.vectors(x, sample=True), model.vectors(x), torch.arange(4), alpha=1.0)
    terms.loss.backward()
    assert all(p.grad is None for p in model.m1.parameters())
    assert model.core.classifier[0].weight.grad is not None
    assert not model.given(0).has_image_likelihood
    with pytest.raises(NotImplementedError, match="M1\\+M2"):
        model.given(0).log_likelihood(x, torch.zeros(4, 2))


def test_m1m2_config_checks_its_m1():
    with pytest.raises(ValueError, match="likelihood"):
        M2Config(m1=VAEConfig().to_dict())
    with pytest.raises(ValueError, match="m1.latent_dim"):
        M2Config(likelihood="gaussian", m1={**VAEConfig().to_dict(), "latent_dim": 0})
    with pytest.raises(ValueError, match="m1"):
        M2Config(image_shape=(1, 4, 4), likelihood="gaussian", m1=VAEConfig().to_dict())


def test_labels_are_a_seeded_class_balanced_draw():
    labels = torch.arange(1000) % 10
    a = draw_labelled(labels, 100, seed=0)
    assert len(a) == 100 and torch.bincount(labels[a]).tolist() == [10] * 10
    assert torch.equal(a, draw_labelled(labels, 100, seed=0))
    assert not torch.equal(a, draw_labelled(labels, 100, seed=1))
    assert torch.bincount(labels[draw_labelled(labels, 15, seed=0)]).tolist() == [2] * 5 + [1] * 5
    assert len(draw_labelled(labels, 0, seed=0)) == 1000
    rest = unlabelled_indices(1000, a)
    assert len(rest) == 900 and not set(rest.tolist()) & set(a.tolist())
    with pytest.raises(LabelError, match="cannot cover the 10 classes"):
        draw_labelled(labels, 5, seed=0)
    with pytest.raises(LabelError, match="class 3 has 2 training"):
        draw_labelled(torch.tensor([0, 1, 2, 3] * 2 + [0, 1, 2] * 10), 20, seed=0, num_classes=4)
    with pytest.raises(LabelError, match="no label"):
        draw_labelled(torch.full((10,), -1), 10, seed=0)


def test_class_balance_adds_the_kl_of_the_batch_class_marginal():
    from latentlab.core.m2_objectives import class_marginal_kl

    assert float(class_marginal_kl(torch.zeros(8, 10))) == pytest.approx(0.0, abs=1e-6)
    all_one_class = torch.full((8, 10), -30.0)
    all_one_class[:, 3] = 30.0
    assert float(class_marginal_kl(all_one_class)) == pytest.approx(math.log(10), rel=1e-4)
    torch.manual_seed(6)
    model = PixelM2(TINY)
    x = tiny_images(8)
    v = model.vectors(x)
    torch.manual_seed(7)
    plain = m2_terms(model.core, v, v[:4], torch.arange(4), alpha=1.0)
    torch.manual_seed(7)
    balanced = m2_terms(model.core, v, v[:4], torch.arange(4), alpha=1.0, class_balance=5.0)
    extra = 5.0 * class_marginal_kl(model.classify(x))
    torch.testing.assert_close(balanced.loss, plain.loss + extra)
    torch.testing.assert_close(balanced.unlabelled, plain.unlabelled)   # the curves show the paper's terms


def test_classifier_dropout_acts_only_while_training_and_keeps_the_layer_names():
    torch.manual_seed(0)
    plain = PixelM2(M2Config(latent_dim=2, hidden_sizes=(16,), classifier_hidden=(32,)))
    dropped = PixelM2(M2Config(latent_dim=2, hidden_sizes=(16,), classifier_hidden=(32,), classifier_dropout=0.5))
    assert plain.state_dict().keys() == dropped.state_dict().keys()   # old checkpoints load unchanged
    dropped.load_state_dict(plain.state_dict())
    x = torch.rand(8, 1, 28, 28)
    plain.eval(), dropped.eval()
    assert torch.equal(plain.classify(x), dropped.classify(x))        # no dropout when evaluating
    dropped.train()
    assert not torch.allclose(dropped.classify(x), plain.classify(x))
    with pytest.raises(SettingError, match="classifier_dropout"):
        M2Config(classifier_dropout=1.5)


def test_a_convolutional_classifier_on_pixels_classifies_images_and_m1m2_refuses_it():
    torch.manual_seed(0)
    model = PixelM2(M2Config(latent_dim=2, hidden_sizes=(16,), classifier_hidden=(32,),
                             classifier_architecture="conv", classifier_dropout=0.5))
    x = torch.rand(5, 1, 28, 28)
    model.eval()
    logits = model.classify(x)
    assert logits.shape == (5, 10)
    assert torch.allclose(logits[2], model.classify(x[2:3])[0], atol=1e-6)   # each image on its own
    model.train()
    assert not torch.allclose(model.classify(x), logits)                      # dropout while training
    with pytest.raises(SettingError, match="classifier_architecture"):
        M2Config(likelihood="gaussian", m1=VAEConfig(latent_dim=4).to_dict(), classifier_architecture="conv")
