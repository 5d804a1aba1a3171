"""Training, saving and resuming M2 and M1+M2 runs (core/semi_trainer.py through TrainingSession)."""

from __future__ import annotations

import math

import pytest
import torch

from latentlab import load_checkpoint
from latentlab.core import pipeline
from latentlab.core.checkpoint import CheckpointError, read_payload, save_checkpoint
from latentlab.core.m2 import M1M2, M2Config, PixelM2
from latentlab.core.models import VAE, VAEConfig
from latentlab.core.session import TrainingSession
from latentlab.core.trainer import EpochEvent, StepEvent, TrainConfig

SPEC = pipeline.DataSpec(dataset="mnist")
M2_TINY = M2Config(latent_dim=2, hidden_sizes=(16,), classifier_hidden=(16,))


def run(tiny_data_root, out, model_config=M2_TINY, m1=None, **cfg):
    config = TrainConfig(**{"epochs": 2, "batch_size": 16, "device": "cpu", "labels": 10, **cfg})
    session = TrainingSession.new(SPEC, model_config, config, out, m1=m1, data_dir=tiny_data_root, download=False)
    events = []
    session.add_listener(events.append)
    return session, session.run(), events


def test_an_m2_run_reports_its_terms_and_validation_error_and_saves_an_m2(tiny_data_root, tmp_path):
    out = tmp_path / "m2.pt"
    session, status, events = run(tiny_data_root, out)
    assert status == "finished"
    steps = [e for e in events if isinstance(e, StepEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    trainer = session.trainer
    assert len(trainer.labelled) == 10 and len(trainer.unlabelled) == 83 - 10
    assert len(steps) == 2 * math.ceil(73 / 16)           # an epoch is a pass over the unlabelled images
    assert [name for name, _ in steps[0].extras] == ["labelled", "class_loss"]
    assert trainer.alpha == pytest.approx(0.1 * 73 / 10)
    s = steps[-1]
    assert s.loss == pytest.approx(s.neg_elbo + dict(s.extras)["labelled"] + trainer.alpha * dict(s.extras)["class_loss"],
                                   rel=1e-5)
    assert len(s.kl_per_dim) == 2 and s.kl == pytest.approx(sum(s.kl_per_dim), rel=1e-5)
    error = dict(epochs[-1].extras)["val_error"]
    assert 0 <= error <= 100 and error == pytest.approx(round(error * 17 / 100) * 100 / 17)   # 17 images
    ckpt = load_checkpoint(out)
    assert isinstance(ckpt.model, PixelM2) and ckpt.kind == "m2" and read_payload(out)["format_version"] == 2
    assert len(ckpt.history["steps"]["class_loss"]) == len(steps) and len(ckpt.history["epochs"]["val_error"]) == 2
    assert ckpt.extras["scatter_means"].shape == (100, 2)
    for (k, a), b in zip(trainer.model.state_dict().items(), ckpt.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_a_resumed_m2_run_continues_on_the_same_labels(tiny_data_root, tmp_path):
    out = tmp_path / "m2.pt"
    first, _, _ = run(tiny_data_root, out, epochs=1)
    labelled = first.trainer.labelled.clone()
    session = TrainingSession.resume(load_checkpoint(out), out, {"epochs": 2}, data_dir=tiny_data_root,
                                     download=False)
    assert session.run() == "finished"
    assert torch.equal(session.trainer.labelled, labelled) and session.trainer.epoch == 2
    assert len(load_checkpoint(out).history["epochs"]["val_error"]) == 2
    with pytest.raises(ValueError, match="labels"):
        TrainingSession.resume(load_checkpoint(out), out, {"labels": 50})


def test_m1m2_takes_its_m1_and_keeps_it(tiny_data_root, tmp_path):
    torch.manual_seed(0)
    m1 = VAE(VAEConfig(latent_dim=4, hidden_sizes=(16,)))
    config = M2Config(latent_dim=2, hidden_sizes=(16,), classifier_hidden=(16,), likelihood="gaussian",
                      m1=m1.config.to_dict())
    out = tmp_path / "m1m2.pt"
    _, status, _ = run(tiny_data_root, out, config, m1=m1, epochs=1)
    assert status == "finished"
    ckpt = load_checkpoint(out)
    assert isinstance(ckpt.model, M1M2) and ckpt.kind == "m1m2"
    for (k, a), b in zip(m1.state_dict().items(), ckpt.model.m1.state_dict().values()):
        assert torch.equal(a, b), k                        # M1 did not move
    with pytest.raises(ValueError, match="needs its trained M1"):
        TrainingSession.new(SPEC, config, TrainConfig(), tmp_path / "x.pt")


def test_m2_refuses_vae_only_settings(tiny_data_root, tmp_path):
    session = TrainingSession.new(SPEC, M2_TINY, TrainConfig(epochs=1, beta=4.0, device="cpu"), tmp_path / "b.pt",
                                  data_dir=tiny_data_root, download=False)
    with pytest.raises(ValueError, match="beta"):
        session.run()


def test_a_file_whose_kind_and_config_disagree_is_refused(tmp_path):
    path = tmp_path / "m2.pt"
    save_checkpoint(path, PixelM2(M2_TINY))
    payload = torch.load(path, weights_only=True)
    payload["model_kind"] = "m1m2"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="model_config"):
        load_checkpoint(path)
    payload["model_kind"] = "gan"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="model_kind"):
        load_checkpoint(path)
