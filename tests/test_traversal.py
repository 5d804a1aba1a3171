"""Traversals and the KL of each latent dimension (which orders them and flags the collapsed)."""

import math
from pathlib import Path

import pytest
import torch

from latentlab.core.models import VAE
from latentlab.core.traversal import COLLAPSE_KL, dimension_kl, traversal


def _model(d=3):
    torch.manual_seed(0)
    return VAE(image_shape=(1, 5, 5), latent_dim=d, hidden_sizes=(8,)).eval()


def test_dimension_kl_orders_by_kl_and_flags_the_collapsed():
    n = 100
    g = torch.Generator().manual_seed(0)
    mu = torch.zeros(n, 3, dtype=torch.float64)
    logvar = torch.zeros(n, 3, dtype=torch.float64)
    mu[:, 0] = 0.5 * torch.randn(n, generator=g, dtype=torch.float64)    # some KL
    mu[:, 2] = 2.0 * torch.randn(n, generator=g, dtype=torch.float64)    # most KL
    logvar[:, 1] = 0.001                                                 # ~1e-7 nats: collapsed
    dims = dimension_kl(mu, logvar)
    assert dims.kl[0] == pytest.approx(float(0.5 * (mu[:, 0] ** 2).mean()))
    assert dims.order.tolist() == [2, 0, 1]
    assert dims.active.tolist() == [True, False, True] and dims.n_active == 2
    assert dims.threshold == COLLAPSE_KL == 0.01


def test_each_row_sweeps_one_dimension_from_minus_to_plus_span():
    model = _model()
    anchor = torch.tensor([0.2, -0.4, 0.7])
    t = traversal(model, anchor, dims=[2, 0], span=2.0, steps=5)
    assert t.images.shape == (2, 5, 1, 5, 5) and t.dims == [2, 0]
    assert t.values[0].tolist() == pytest.approx([-2.0, -1.0, 0.0, 1.0, 2.0])
    z = anchor.repeat(5, 1)
    z[:, 2] = t.values[0]
    assert torch.allclose(t.images[0], model.decode(z))
    z = anchor.repeat(5, 1)
    z[:, 0] = t.values[1]
    assert torch.allclose(t.images[1], model.decode(z))


def test_the_posterior_span_is_three_sigma_around_the_anchor_and_kl_orders_the_rows():
    model = _model()
    anchor = torch.tensor([0.2, -0.4, 0.7])
    logvar = torch.log(torch.tensor([0.04, 0.25, 1.0]))
    kl = dimension_kl(torch.tensor([[1.0, 0.0, 3.0]]), torch.zeros(1, 3))
    t = traversal(model, anchor, span="posterior", steps=3, anchor_logvar=logvar, kl=kl)
    assert t.dims == [2, 0, 1]
    assert t.values.tolist() == [pytest.approx([-2.3, 0.7, 3.7]), pytest.approx([-0.4, 0.2, 0.8]),
                                 pytest.approx([-1.9, -0.4, 1.1])]


@pytest.mark.parametrize("kwargs, match", [(dict(anchor=[0.0, 0.0]), "anchor"), (dict(dims=[3]), "dims"),
                                           (dict(span="posterior"), "anchor_logvar"), (dict(span=-1), "span"),
                                           (dict(steps=1), "steps")])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        traversal(_model(), **{"anchor": [0.0, 0.0, 0.0], **kwargs})


SHIPPED_20D = Path(__file__).resolve().parents[1] / "trained" / "mnist-20d.pt"


@pytest.mark.skipif(not SHIPPED_20D.exists(), reason="the shipped 20-D model is not in this tree")
def test_the_shipped_20d_model_has_17_dimensions_that_carry_kl():
    # its 100 shipped sample test images, binarised as the model was trained (`latentlab eval`)
    from latentlab.core.aggregate import encode_dataset
    from latentlab.core.checkpoint import load_checkpoint
    from latentlab.core.samples import load_samples

    model = load_checkpoint(SHIPPED_20D).model
    samples, _ = load_samples("mnist")
    mu, logvar = encode_dataset(model, samples.images, binarize_mode="dynamic",
                                generator=torch.Generator().manual_seed(0))
    dims = dimension_kl(mu, logvar)
    assert dims.n_active == 17                   # the IWAE-trained model (the ELBO-trained one had 11)
    t = traversal(model, mu[0], kl=dims, steps=3)
    assert t.dims[:17] == sorted(t.dims[:17], key=lambda i: -float(dims.kl[i]))
    assert all(bool(dims.active[i]) for i in t.dims[:17]) and not any(bool(dims.active[i]) for i in t.dims[17:])
    assert math.isfinite(float(t.images.sum()))
