"""The blocked importance-weighted bound (core/importance.py) against the plain estimator it
replaced, the ELBO, the exact log p(x) of a 2-D model, float64, and its count of the work."""

import math
from pathlib import Path

import pytest
import torch

from dataset_files import read_samples
from latentlab import VAE, load_checkpoint
from latentlab.core import exact, importance, iw_work, objectives

SHIPPED_2D = Path(__file__).resolve().parents[1] / "trained" / "mnist-2d.pt"


@torch.no_grad()
def _plain_iw(model, x, eps):
    """The estimator as it was (z = mu + sigma eps, log_likelihood, the two normal densities),
    for given noise eps (B, k, D): L_k per image."""
    mu, logvar = model.encode(x)
    z = (mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps).transpose(0, 1)   # (k, B, D)
    log_w = (model.log_likelihood(x, z) + objectives.log_standard_normal(z)
             - objectives.log_diag_normal(z, mu, logvar))
    return torch.logsumexp(log_w, 0) - math.log(eps.shape[1])


def _bound_and_its_noise(monkeypatch, model, x, k, rows, chunk=None, dtype=torch.float64, threads=1):
    """iw_bound with its noise drawn in `dtype` (then rounded to the model's), and that noise as
    (B, k, D) for `_plain_iw`: what each image's seed gives, whatever the blocks took."""
    monkeypatch.setattr(importance, "_noise",
                        lambda shape, like, generator: torch.randn(shape, generator=generator, dtype=dtype).to(like.dtype))
    torch.manual_seed(7)
    bound = importance.iw_bound(model, x, k, chunk=chunk, rows=rows, threads=threads)
    torch.manual_seed(7)
    seeds = importance._image_seeds(len(x))
    return bound, importance._block_noise(seeds, k, model.latent_dim, 0, k, torch.empty(0, dtype=dtype))


class _OwnLikelihood(VAE):
    """A subclass with its own log_likelihood: the estimator must use it, not the MLP shortcut."""

    def log_likelihood(self, x, z):
        return super().log_likelihood(x, z) - 0.5 * (z ** 2).sum(-1)


def _models():
    torch.manual_seed(3)
    return {
        "bernoulli mlp": VAE(image_shape=(1, 5, 5), latent_dim=3, hidden_sizes=(16, 8)),
        "gaussian learned": VAE(image_shape=(1, 4, 5), latent_dim=2, hidden_sizes=(12,), likelihood="gaussian"),
        "gaussian fixed": VAE(image_shape=(3, 3, 3), latent_dim=2, hidden_sizes=(12,), likelihood="gaussian",
                              gaussian_variance="fixed", gaussian_fixed_std=0.3),
        "conv": VAE(image_shape=(1, 6, 6), latent_dim=2, architecture="conv", conv_channels=(2, 3), conv_hidden=8),
        "own likelihood": _OwnLikelihood(image_shape=(1, 4, 4), latent_dim=2, hidden_sizes=(8,)),
    }


@pytest.mark.parametrize("name", list(_models()))
@pytest.mark.parametrize("k, rows, chunk, threads", [
    (50, 120, None, 1),      # 2 images x 50 samples per block, a ragged last one
    (37, 16, None, 2),       # one image x 16 samples, ragged pieces, two threads
    (1100, 4096, 300, 3),    # `chunk` caps the samples per block, across noise pieces of 512
])
def test_blocks_compute_exactly_the_plain_estimator_for_the_same_noise(monkeypatch, name, k, rows, chunk, threads):
    model = _models()[name].eval()
    torch.manual_seed(4)
    x = torch.rand(5, *model.image_shape)
    if model.likelihood == "bernoulli":
        x = x.bernoulli()
    got, eps = _bound_and_its_noise(monkeypatch, model, x, k, rows, chunk, dtype=torch.float32, threads=threads)
    want = _plain_iw(model, x, eps)
    assert got.shape == (5,) and got.dtype == torch.float32
    assert torch.allclose(got, want, atol=2e-4, rtol=1e-5), (got - want)


def test_with_the_same_seed_the_bound_does_not_depend_on_the_blocks_or_the_threads():
    torch.manual_seed(5)
    model = VAE(image_shape=(1, 5, 5), latent_dim=2, hidden_sizes=(16,)).eval()
    x = torch.rand(6, 1, 5, 5).bernoulli()
    threads_before = torch.get_num_threads()
    bounds = []
    for rows, chunk, threads in ((64, None, 1), (700, None, 3), (100_000, None, 2), (4096, 300, 4)):
        torch.manual_seed(0)
        bounds.append(importance.iw_bound(model, x, 1100, chunk=chunk, rows=rows, threads=threads))
    for other in bounds[1:]:
        assert torch.allclose(bounds[0], other, atol=1e-4, rtol=0), bounds[0] - other
    torch.manual_seed(1)
    assert not torch.allclose(bounds[0], importance.iw_bound(model, x, 1100), atol=1e-3)   # the seed matters
    assert torch.get_num_threads() == threads_before       # the workers' one thread did not stay


def test_shares_are_runs_of_consecutive_blocks_with_about_as_many_rows():
    blocks = importance._blocks(5000, 7, 512, None)              # 7 images x 10 blocks (the last 392 rows)
    assert len(blocks) == 70 and blocks[9] == importance._Block(0, 1, 4608, 392)
    shares = importance._shares(blocks, 3)
    assert [b for share in shares for b in share] == blocks
    rows = [sum(b.g * b.s for b in share) for share in shares]
    assert len(shares) == 3 and max(rows) - min(rows) <= 2 * 512, rows     # each cut within half a block
    assert importance._shares(blocks[:2], 4) == [[blocks[0]], [blocks[1]]]
    assert importance._blocks(20, 7, 64, None) == [importance._Block(0, 3, 0, 20), importance._Block(3, 3, 0, 20),
                                                   importance._Block(6, 1, 0, 20)]


def test_the_mlp_decoder_is_taken_apart_only_when_the_model_is_a_plain_mlp_vae():
    models = _models()
    assert importance.MLPDecoder.of(models["bernoulli mlp"]) is not None
    assert importance.MLPDecoder.of(models["gaussian learned"]) is not None
    assert importance.MLPDecoder.of(models["conv"]) is None
    assert importance.MLPDecoder.of(models["own likelihood"]) is None


def test_the_new_and_the_old_estimate_of_L_k_agree_within_their_monte_carlo_error():
    """Each estimator with its own random numbers (the old one: one draw of all k per image),
    300 repetitions of L_20 for 3 images: the means agree to within 4 standard errors."""
    torch.manual_seed(0)
    model = VAE(image_shape=(1, 6, 6), latent_dim=2, hidden_sizes=(32,)).eval()
    with torch.no_grad():
        model.encoder[1][-1].bias.add_(torch.tensor([0.5, -0.3, 0.8, -0.6]))   # a q far from the prior
    x = torch.rand(3, 1, 6, 6).bernoulli().repeat(300, 1, 1, 1)
    reps, k = 300, 20
    new = importance.iw_bound(model, x, k).reshape(reps, 3)
    old = _plain_iw(model, x, torch.randn(len(x), k, 2)).reshape(reps, 3)
    se = torch.sqrt(new.var(0) / reps + old.var(0) / reps)
    assert ((new.mean(0) - old.mean(0)).abs() < 4 * se).all(), (new.mean(0) - old.mean(0), se)
    assert (se < 0.05).all()   # precise enough that a wrong term would show


def test_L1_is_the_elbo():
    torch.manual_seed(1)
    model = VAE(image_shape=(1, 5, 5), latent_dim=3, hidden_sizes=(16,)).eval()
    x = torch.rand(2, 1, 5, 5).bernoulli()
    n = 20_000
    l1 = importance.iw_bound(model, x.repeat(n, 1, 1, 1), 1).reshape(n, 2)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        recon = model.log_likelihood(x, objectives.reparameterize(mu, logvar, 200_000)).mean(0)
        elbo = recon - objectives.kl_per_dim(mu, logvar).sum(1)
    se = l1.std(0) / math.sqrt(n)
    assert ((l1.mean(0) - elbo).abs() < 4 * se + 0.01).all(), (l1.mean(0), elbo, se)


def test_for_a_2d_model_L_k_rises_to_the_exact_log_px():
    torch.manual_seed(2)
    model = VAE(image_shape=(1, 6, 6), latent_dim=2, hidden_sizes=(32,)).eval()
    with torch.no_grad():
        model.decoder[0][-1].weight.mul_(4)       # a sharper decoder: a posterior q misses
    x = torch.rand(3, 1, 6, 6).bernoulli()
    log_px = exact.log_marginal(model, x).float()
    bounds = {k: importance.iw_bound(model, x.repeat(reps, 1, 1, 1), k).reshape(reps, 3).mean(0)
              for k, reps in ((1, 200), (3, 200), (10, 200), (5000, 20))}   # means over draws of each
    assert (bounds[1] < bounds[3]).all() and (bounds[3] < bounds[10]).all() and (bounds[10] < bounds[5000]).all()
    assert (log_px - bounds[1] > 1).all()           # the ELBO is well below log p(x) here ...
    assert (bounds[5000] <= log_px + 0.015).all()   # L_k a lower bound, up to its noise ...
    assert torch.allclose(bounds[5000], log_px, atol=0.02), bounds[5000] - log_px   # ... and tight


def test_float32_changes_the_bound_by_less_than_a_hundredth_of_a_nat_on_the_shipped_model(monkeypatch):
    """The shipped MNIST 2-D model on ten shipped sample digits, the same noise: float32 (what
    the estimator computes in) against float64."""
    model = load_checkpoint(SHIPPED_2D).model.eval()
    images, _ = read_samples("mnist")
    x = (torch.from_numpy(images[:10]).float() / 255).bernoulli(generator=torch.Generator().manual_seed(0))[:, None]
    single, eps = _bound_and_its_noise(monkeypatch, model, x, 1000, rows=512)
    double, eps64 = _bound_and_its_noise(monkeypatch, model.double(), x.double(), 1000, rows=512)
    assert torch.equal(eps, eps64)
    assert single.dtype == torch.float32 and double.dtype == torch.float64
    assert (single.double() - double).abs().max() < 0.01, single.double() - double
    assert (double < -30).all()                     # real digits: a real bound, not a trivial one


def test_iw_flops_counts_the_matrix_products_of_the_mlp_by_hand():
    model = VAE(image_shape=(1, 28, 28), latent_dim=2, hidden_sizes=(512, 512))
    k = 5000
    decoder = 2 * (2 * 512 + 512 * 512 + 512 * 784)          # per sample: three layers
    x_dot_l = 2 * 512                                        # h . (W^T x) per sample
    per_image = 2 * 784 * 512 + 2 * (784 * 512 + 512 * 512 + 512 * 4)   # W^T x and the encoder
    work = iw_work.iw_flops(model, k)
    assert work.matmul_flops == k * (decoder + x_dot_l) + per_image
    # bias adds and ReLUs of 512 + 512 hidden units, the 784 output biases, softplus and sum per pixel
    per_sample = 2 * 1024 + 784 + 2 * 784 + 6 * 2 + 6
    assert work.elementwise_ops == k * per_sample + (2 * 1024 + 4)
    assert work.flops == work.matmul_flops + work.elementwise_ops
    assert iw_work.iw_flops(model, 2 * k).flops > 1.99 * work.flops


def test_iw_flops_of_a_conv_model_counts_its_convolutions_by_hand():
    model = VAE(image_shape=(1, 8, 8), latent_dim=2, architecture="conv", conv_channels=(2, 3), conv_hidden=4)
    # 2 flops per weight per output position of a convolution (per input position when transposed)
    encoder = (2 * (2 * 4 * 4) * (1 * 4 * 4)      # 1 -> 2 channels, 4x4 kernels, 4x4 out
               + 2 * (3 * 2 * 2) * (2 * 4 * 4)    # 2 -> 3 channels, 2x2 out
               + 2 * 12 * 4 + 2 * 4 * 4)          # dense 12 -> 4 -> 2 D
    decoder = (2 * 2 * 4 + 2 * 4 * 12             # dense 2 -> 4 -> 3 x 2 x 2
               + 2 * (3 * 2 * 2) * (2 * 4 * 4)    # transposed 3 -> 2, from 2x2 positions
               + 2 * (2 * 4 * 4) * (1 * 4 * 4))   # transposed 2 -> 1, from 4x4 positions
    x_dot_l = 2 * 64                              # no matrix shortcut for a conv decoder: x * l, summed
    assert iw_work.iw_flops(model, 10).matmul_flops == 10 * (decoder + x_dot_l) + encoder


def test_k_below_one_is_refused():
    with pytest.raises(ValueError, match="k >= 1"):
        importance.iw_bound(VAE(image_shape=(1, 2, 2), hidden_sizes=(4,)), torch.zeros(1, 1, 2, 2), 0)


def test_blocks_hold_an_l2_cache_of_the_widest_layer():
    mnist = VAE(image_shape=(1, 28, 28), latent_dim=2, hidden_sizes=(512, 512))
    assert importance.block_rows(mnist, "cpu") == 512                    # 512 x 784 floats
    assert importance.block_rows(VAE(image_shape=(1, 28, 28), hidden_sizes=(2048,)), "cpu") == 196
    assert importance.block_rows(VAE(image_shape=(1, 8, 8), hidden_sizes=(32,)), "cpu") == 512 * 784 // 64
    assert importance.block_rows(VAE(image_shape=(1, 2, 2), hidden_sizes=(3,)), "cpu") == 1 << 14   # the most
    conv = VAE(image_shape=(1, 28, 28), architecture="conv")            # widest: 32 x 14 x 14
    assert importance.block_rows(conv, "cpu") == 512 * 784 // (32 * 14 * 14)
    assert importance.block_rows(mnist, "cuda") == (1 << 25) // 784     # a GPU: far larger calls
