"""The IWAE objective (Burda, Grosse & Salakhutdinov 2016) in training: the bound's maths
(core/objectives.py), its forward pass (core/iwae.py), its settings (TrainConfig) and the trainer's
columns, checkpoint and resume."""

from __future__ import annotations

import math

import pytest
import torch

from latentlab import VAE, load_checkpoint
from latentlab.core import evaluation, objectives
from latentlab.core.checkpoint import save_checkpoint
from latentlab.core.config import SettingError
from latentlab.core.data import load_dataset, split_train_val
from latentlab.core.iwae import IwaeForward
from latentlab.core.m2 import M2Config, build_semi_supervised
from latentlab.core.session import resumed_config
from latentlab.core.trainer import EpochEvent, StepEvent, TrainConfig, Trainer


@pytest.fixture(scope="module")
def digits(tiny_data_root):
    """The 100 shipped MNIST samples: 83 to train on, 17 held out."""
    train, val = split_train_val(load_dataset("mnist", "train", data_dir=tiny_data_root, download=False))
    return train.images, val.images


def small_model(seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(latent_dim=2, hidden_sizes=(16,))


def binary_images(n: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((n, 1, 28, 28), 0.3), generator=g)


def bound(model, x, k: int, seed: int) -> float:
    """The batch mean of L_K, one draw of the K samples per image."""
    torch.manual_seed(seed)
    with torch.no_grad():
        return -objectives.iwae_terms(*IwaeForward(model, k)(x)).loss.item()


# -- the maths ----------------------------------------------------------------------------------
def test_with_k_1_the_bound_is_the_elbo_of_the_same_sample():
    model, x = small_model(), binary_images(8)
    torch.manual_seed(5)
    log_px_z, kl_dims = model(x, 1)              # the ELBO's draw
    torch.manual_seed(5)
    log_w, iw_log_px_z, iw_kl = IwaeForward(model, 1)(x)   # the same draw
    assert torch.equal(iw_log_px_z, log_px_z) and torch.equal(iw_kl, kl_dims)
    iw, elbo = objectives.iwae_terms(log_w, iw_log_px_z, iw_kl), objectives.elbo_terms(log_px_z, kl_dims)
    assert iw.k == 1
    for name in ("loss", "neg_elbo", "kl", "recon"):                # the curves' ELBO columns are the ELBO's
        assert torch.equal(getattr(iw.elbo, name), getattr(elbo, name)), name
    # -L_1 is -ELBO with the KL estimated from that sample, log q(z|x) - log p(z), instead of analytically...
    torch.manual_seed(5)
    mu, logvar = model.encode(x)
    z = objectives.reparameterize(mu, logvar, 1)
    mc_kl = objectives.log_diag_normal(z, mu, logvar) - objectives.log_standard_normal(z)
    assert iw.loss.item() == pytest.approx((-log_px_z + mc_kl).mean().item(), rel=1e-6)
    # ...so over many draws it averages to the ELBO's loss (the estimate's own error is ~0.1 nats here).
    many = x.repeat(500, 1, 1, 1)
    torch.manual_seed(6)
    with torch.no_grad():
        neg_l1 = objectives.iwae_terms(*IwaeForward(model, 1)(many)).loss.item()
        neg_elbo = objectives.elbo_terms(*model(many, 1)).loss.item()
    assert neg_l1 == pytest.approx(neg_elbo, abs=0.5)


def test_the_bound_is_above_the_elbo_and_rises_with_k():
    model, x = small_model(), binary_images(64)
    with torch.no_grad():
        torch.manual_seed(0)
        elbo = -objectives.elbo_terms(*model(x.repeat(20, 1, 1, 1), 1)).neg_elbo.item()
    bounds = {k: sum(bound(model, x, k, seed) for seed in range(5)) / 5 for k in (1, 5, 50)}
    assert bounds[1] == pytest.approx(elbo, abs=1.0)
    assert elbo < bounds[5] < bounds[50]
    assert bounds[5] - elbo > 1.0 and bounds[50] - bounds[5] > 0.5   # far beyond the draws' noise here


def test_the_bound_training_maximises_is_the_one_evaluation_reports():
    """Training's L_K and evaluation's IW bound (core/importance.py, which draws its noise per image
    and computes the weights from it) estimate the same number: over 40 draws each, their means
    agree within their Monte-Carlo error."""
    model, x = small_model(), binary_images(6)
    ours, theirs = [], []
    for seed in range(40):
        torch.manual_seed(seed)
        theirs.append(evaluation.iw_log_likelihood(model, x, k=7))
        torch.manual_seed(1000 + seed)
        with torch.no_grad():
            ours.append(objectives.iw_bound(IwaeForward(model, 7)(x)[0]))
    ours, theirs = torch.stack(ours), torch.stack(theirs)            # (draws, images)
    error = ((ours.var(0) + theirs.var(0)) / 40).sqrt()
    assert ((ours.mean(0) - theirs.mean(0)).abs() < 4 * error + 1e-4).all()


def test_the_bound_is_stable_where_the_weights_underflow():
    log_w = torch.tensor([[-2000.0, -3000.0], [-2001.0, -3000.5]])
    got = objectives.iw_bound(log_w)
    assert torch.isfinite(got).all()
    assert got[0].item() == pytest.approx(-2000.0 + math.log((1 + math.exp(-1)) / 2), abs=1e-4)


# -- settings -----------------------------------------------------------------------------------
def test_train_config_defaults_and_what_iwae_refuses():
    assert (TrainConfig().objective, TrainConfig().iw_k) == ("elbo", 5)
    assert TrainConfig(objective="iwae", iw_k=50).iw_k == 50
    for field, value in (("beta", 2.0), ("kl_warmup_epochs", 1.0), ("n_samples", 3)):
        with pytest.raises(SettingError) as e:
            TrainConfig(objective="iwae", **{field: value})
        assert e.value.field == field and "with the iwae objective" in str(e.value)
    with pytest.raises(SettingError, match="iw_k must be between 1 and 1000"):
        TrainConfig(objective="iwae", iw_k=0)
    with pytest.raises(SettingError, match="objective must be one of elbo, iwae"):
        TrainConfig(objective="vae")
    assert TrainConfig(beta=4.0, kl_warmup_epochs=2.0).objective == "elbo"    # the ELBO keeps them


def test_an_old_checkpoint_without_the_objective_reads_as_the_elbo(tmp_path):
    stored = TrainConfig().to_dict()
    del stored["objective"], stored["iw_k"]
    save_checkpoint(tmp_path / "old.pt", small_model(), train_config=stored)
    ckpt = load_checkpoint(tmp_path / "old.pt")
    assert ckpt.train_config["objective"] == "elbo" and ckpt.train_settings.objective == "elbo"


# -- the trainer ---------------------------------------------------------------------------------
def iwae_trainer(digits, **cfg) -> Trainer:
    config = TrainConfig(**{"epochs": 1, "batch_size": 16, "device": "cpu", "objective": "iwae", "iw_k": 3, **cfg})
    return Trainer(small_model(), digits[0], digits[1], config, data_info={"dataset": "mnist"})


def test_an_iwae_run_minimises_the_bound_and_reports_it_beside_the_elbo(digits):
    trainer = iwae_trainer(digits)
    events = []
    trainer.add_listener(events.append)
    assert trainer.run() == "finished"
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert len(steps) == 6 and [name for name, _ in steps[0].extras] == ["neg_iw_bound", "iw_k"]
    for s in steps:
        extras = dict(s.extras)
        assert extras["neg_iw_bound"] == s.loss and extras["iw_k"] == 3.0
        assert s.neg_elbo == pytest.approx(s.recon + s.kl, rel=1e-5) and s.kl_weight == 1.0
    (end,) = [e for e in events if isinstance(e, EpochEvent)]
    val_bound = dict(end.extras)["val_neg_iw_bound"]
    assert math.isfinite(val_bound) and abs(val_bound - end.val_neg_elbo) < 0.1 * end.val_neg_elbo
    assert trainer.history.steps["neg_iw_bound"] == trainer.history.steps["loss"]
    assert trainer.history.epochs["val_neg_iw_bound"] == [val_bound]


def test_an_elbo_run_has_none_of_the_iwae_columns(digits):
    trainer = Trainer(small_model(), digits[0], digits[1], TrainConfig(epochs=1, batch_size=16, device="cpu"))
    trainer.run()
    assert set(trainer.history.steps) == {"step", "epoch", "loss", "neg_elbo", "kl", "recon"}
    assert "val_neg_iw_bound" not in trainer.history.epochs


def test_the_checkpoint_records_the_objective_and_a_resume_keeps_it(digits, tmp_path):
    first = iwae_trainer(digits, epochs=2)
    first.add_listener(lambda e: first.request_stop() if isinstance(e, EpochEvent) else None)
    first.run()
    first.save(tmp_path / "run.pt")
    ckpt = load_checkpoint(tmp_path / "run.pt")
    assert (ckpt.train_config["objective"], ckpt.train_config["iw_k"]) == ("iwae", 3)
    assert ckpt.history["steps"]["iw_k"].tolist() == [3.0] * 6
    config = resumed_config(ckpt.train_config, {"epochs": 2, "lr": 5e-4})
    assert (config.objective, config.iw_k) == ("iwae", 3)
    resumed = Trainer.from_checkpoint(ckpt, digits[0], digits[1], config)
    assert resumed.run() == "finished"
    assert resumed.history.steps["iw_k"] == [3.0] * 12 and len(resumed.history.epochs["val_neg_iw_bound"]) == 2
    for change in ({"iw_k": 4}, {"objective": "elbo"}):
        with pytest.raises(ValueError, match=f"cannot change {next(iter(change))}"):
            resumed_config(ckpt.train_config, change)


def test_m2_refuses_the_iwae_objective(digits):
    model = build_semi_supervised(M2Config(latent_dim=2, hidden_sizes=(16,), classifier_hidden=(16,)))
    config = TrainConfig(epochs=1, batch_size=16, device="cpu", objective="iwae")
    with pytest.raises(ValueError, match="IWAE objective is for VAEs; M2 and M1\\+M2 train their own bound"):
        Trainer(model, digits[0], digits[1], config)
