"""The trainer's GPU path, exercised on the CPU: step numbers read in batches (`sync_every`), the
data and every tensor of a step on the training device, bf16 autocast.

On a GPU the trainer reads its losses every READ_EVERY_ON_A_DEVICE steps; here `sync_every` is
set by hand so the same code runs on the CPU, and compared with reading every step.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
import torch

from latentlab import VAE, load_checkpoint
from latentlab.core.data import load_dataset, split_train_val
from latentlab.core.m2 import M2Config, PixelM2
from latentlab.core.models import VAEConfig
from latentlab.core.semi_trainer import SemiSupervisedTrainer
from latentlab.core.trainer import EpochEvent, StatusEvent, StepEvent, TrainConfig, Trainer


@pytest.fixture(scope="module")
def digits(tiny_data_root):
    """The 100 shipped MNIST digits with labels: 83 to train on, 17 held out (6 steps of 16 an epoch)."""
    train, val = split_train_val(load_dataset("mnist", "train", data_dir=tiny_data_root, download=False))
    return train.images, val.images, train.labels, val.labels


def make_trainer(digits, sync_every=None, cls=Trainer, **cfg):
    torch.manual_seed(0)
    config = TrainConfig(**{"epochs": 2, "batch_size": 16, "device": "cpu", "seed": 3, **cfg})
    trainer = cls(VAE(latent_dim=2, hidden_sizes=(32,)), digits[0], digits[1], config)
    trainer.sync_every, trainer.sync_seconds = sync_every, None   # batches by count only: deterministic
    return trainer


def record(trainer):
    """Every event, and how many steps the trainer had taken when each StepEvent came out."""
    events, taken_at = [], []

    def listener(e):
        events.append(e)
        if isinstance(e, StepEvent):
            taken_at.append(trainer.step)
    trainer.add_listener(listener)
    return events, taken_at


def timeless(events):
    """The events without their clock readings (steps/s, seconds), which differ between runs."""
    return [dataclasses.replace(e, steps_per_sec=0.0) if isinstance(e, StepEvent)
            else dataclasses.replace(e, seconds=0.0) if isinstance(e, EpochEvent) else e for e in events]


class Hooked(Trainer):
    """Calls `on_step(trainer, step)` inside each step, as a request from another thread would land
    between two steps; `nan_at` makes that step's loss NaN (an update that blew up)."""

    on_step = None
    nan_at = None

    def _step_terms(self, net, batch, kl_weight):
        loss, stats = super()._step_terms(net, batch, kl_weight)
        if self.on_step:
            self.on_step(self, self.step + 1)
        if self.step + 1 == self.nan_at:
            loss, stats = loss * float("nan"), stats * float("nan")
        return loss, stats


# -- the same run, read in batches -----------------------------------------------------------------
def test_reading_in_batches_gives_the_same_events_in_the_same_order(digits):
    runs = {}
    for every in (1, 4):
        trainer = make_trainer(digits, sync_every=every)
        events, taken_at = record(trainer)
        assert trainer.run() == "finished"
        runs[every] = (timeless(events), taken_at, trainer.history)
    (per_step, at_1, history_1), (batched, at_4, history_4) = runs[1], runs[4]
    assert batched == per_step                                  # same events, values and order
    assert len([e for e in batched if isinstance(e, StepEvent)]) == 12
    assert at_1 == list(range(1, 13))                           # every step read as it was taken
    assert at_4 == [4] * 4 + [6] * 2 + [10] * 4 + [12] * 2      # 4 at a time; each epoch's end reads the rest
    history_1.steps.pop("steps_per_sec", None), history_4.steps.pop("steps_per_sec", None)
    assert history_4.steps == history_1.steps and history_4.epochs["train_neg_elbo"] == history_1.epochs[
        "train_neg_elbo"]


def test_an_m2_run_read_in_batches_gives_the_same_events(digits):
    runs = []
    for every in (1, 3):
        torch.manual_seed(0)
        model = PixelM2(M2Config(latent_dim=2, hidden_sizes=(16,), classifier_hidden=(16,)))
        config = TrainConfig(epochs=1, batch_size=16, device="cpu", labels=10)
        trainer = SemiSupervisedTrainer(model, digits[0], digits[2], digits[1], digits[3], config)
        trainer.sync_every, trainer.sync_seconds = every, None
        events, _ = record(trainer)
        assert trainer.run() == "finished"
        runs.append(timeless(events))
    assert runs[0] == runs[1] and dict(runs[1][1].extras).keys() == {"labelled", "class_loss"}


# -- divergence, stop, pause, single steps, speed limit, saves --------------------------------------
@pytest.mark.parametrize("every", [1, 5])
def test_a_divergence_is_caught_when_its_batch_is_read_and_reports_its_step(digits, every):
    trainer = make_trainer(digits, sync_every=every, cls=Hooked, epochs=3)
    trainer.nan_at = 10
    taken, good = [], {}
    trainer.on_step = lambda t, step: taken.append(step)
    trainer.add_listener(lambda e: good.update({k: v.clone() for k, v in trainer.model.state_dict().items()})
                         if isinstance(e, EpochEvent) and e.epoch == 1 else None)
    events, _ = record(trainer)
    assert trainer.run() == "diverged"
    assert "diverged at step 10 (epoch 2)" in trainer.message and "end of epoch 1" in trainer.message
    assert [e.step for e in events if isinstance(e, StepEvent)] == list(range(1, 10))   # up to the bad step
    assert events[-1] == StatusEvent("diverged", trainer.message)
    # read every step, the run stops at the bad one; read 5 at a time, it is noticed after step 11
    assert max(taken) == (10 if every == 1 else 11)
    assert trainer.state_dict()["diverged"] == {"step": 10, "lr": trainer.config.lr}
    assert (trainer.epoch, trainer.step, len(trainer.history.steps["step"])) == (1, 6, 6)
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, good[k]), k


def test_a_stop_between_two_reads_loses_no_step_and_resumes_after_it(digits, tmp_path):
    trainer = make_trainer(digits, sync_every=100, cls=Hooked)
    trainer.on_step = lambda t, step: t.request_stop() if step == 4 else None
    events, _ = record(trainer)
    assert trainer.run() == "stopped" and trainer.step == 4
    assert [e.step for e in events if isinstance(e, StepEvent)] == [1, 2, 3, 4]
    assert isinstance(events[-2], StepEvent) and events[-1].status == "stopped"   # read before "stopped"
    trainer.save(tmp_path / "run.pt")
    ckpt = load_checkpoint(tmp_path / "run.pt")
    assert ckpt.history["steps"]["step"].tolist() == [1.0, 2.0, 3.0, 4.0] and ckpt.trainer_state["batch_in_epoch"] == 4
    resumed = Trainer.from_checkpoint(ckpt, digits[0], digits[1], TrainConfig.from_dict(ckpt.train_config))
    resumed.sync_every = 100
    events, _ = record(resumed)
    assert resumed.run() == "finished"
    assert [e.step for e in events if isinstance(e, StepEvent)] == list(range(5, 13))


def test_a_save_holds_every_step_the_weights_have_taken(digits, tmp_path):
    """A save from a listener while a batch is handed out, and one between two reads (as
    File > Save is served between steps), both hold every step taken so far."""
    trainer = make_trainer(digits, sync_every=4, cls=Hooked, epochs=1)
    trainer.add_listener(lambda e: trainer.save(tmp_path / "a.pt") if isinstance(e, StepEvent) and e.step == 1 else None)
    trainer.on_step = lambda t, step: t.save(tmp_path / "b.pt") if step == 6 else None
    events, _ = record(trainer)
    trainer.run()
    a, b = load_checkpoint(tmp_path / "a.pt"), load_checkpoint(tmp_path / "b.pt")
    assert a.trainer_state["step"] == 4 and a.history["steps"]["step"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert b.trainer_state["step"] == 5 and b.history["steps"]["step"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [e.step for e in events if isinstance(e, StepEvent)] == [1, 2, 3, 4, 5, 6]   # each once


class OneOfTwoRanks:
    """Rank 0 of a torchrun of two, without the processes (DDP's gradient averaging left out)."""

    rank, world_size = 0, 2

    def wrap(self, model):
        return model

    def mean(self, t):
        return t


def test_under_torchrun_the_reads_go_by_count_so_every_rank_reads_after_the_same_steps(digits):
    torch.manual_seed(0)
    config = TrainConfig(epochs=1, batch_size=4, device="cpu")
    trainer = Trainer(VAE(latent_dim=2, hidden_sizes=(8,)), digits[0], None, config, dist=OneOfTwoRanks())
    trainer.sync_every, trainer.sync_seconds = 4, 0.0    # by the clock alone it would read every step
    events, taken_at = record(trainer)
    assert trainer.run() == "finished" and trainer.step == 11   # 41 images of 83 on this rank
    assert taken_at == [4] * 4 + [8] * 4 + [11] * 3


def run_in_thread(trainer):
    worker = threading.Thread(target=trainer.run, daemon=True)
    worker.start()
    return worker


def test_a_pause_reads_the_waiting_steps_and_a_single_step_shows_at_once(digits):
    trainer = make_trainer(digits, sync_every=100, cls=Hooked)
    trainer.on_step = lambda t, step: t.request_pause() if step == 3 else None
    events, _ = record(trainer)
    held = threading.Event()
    trainer.add_listener(lambda e: held.set() if isinstance(e, StatusEvent) and e.status == "paused" else None)
    worker = run_in_thread(trainer)
    try:
        assert held.wait(30) and trainer.is_held
        assert [e.step for e in events if isinstance(e, StepEvent)] == [1, 2, 3]
        assert len(trainer.history.steps["step"]) == 3
        held.clear()
        assert trainer.request_step()
        assert held.wait(30) and trainer.step == 4
        assert isinstance(events[-2], StepEvent) and events[-2].step == 4 and events[-1].status == "paused"
    finally:
        trainer.request_stop()
        worker.join(30)
    assert trainer.status == "stopped" and [e.step for e in events if isinstance(e, StepEvent)] == [1, 2, 3, 4]


def test_a_speed_limited_step_shows_before_the_wait_for_the_next(digits):
    trainer = make_trainer(digits, sync_every=100)
    events, _ = record(trainer)
    trainer.set_speed_limit(0.001)
    worker = run_in_thread(trainer)
    try:
        assert trainer.gate.waiting.wait(30) and trainer.step == 1
        assert [e.step for e in events if isinstance(e, StepEvent)] == [1]
    finally:
        trainer.request_stop()
        worker.join(30)
    assert trainer.status == "stopped"


# -- the device ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["vae", "conv", "m2"])
def test_a_step_makes_no_tensor_off_the_training_device(digits, kind):
    """Every tensor a step makes is made on the trainer's device, so on a GPU nothing is copied from
    the host per step. Checked on the CPU by making the default device `meta`: a tensor made
    without naming its device (the usual way a host copy sneaks in) would be a meta tensor, and
    using it with the CPU's would fail. The first epoch runs outside, as Adam makes its step
    counters on the host by design when it first sees the weights."""
    torch.manual_seed(0)
    if kind == "vae":
        config = TrainConfig(epochs=1, batch_size=16, device="cpu", grad_clip=1.0, n_samples=2)
        trainer = Trainer(VAE(latent_dim=2, hidden_sizes=(32,)), digits[0], None, config)
    elif kind == "conv":
        config = TrainConfig(epochs=1, batch_size=16, device="cpu", binarize="grey")
        model = VAE(VAEConfig(latent_dim=2, architecture="conv", conv_channels=(4, 8), conv_hidden=16,
                              likelihood="gaussian", gaussian_variance="fixed"))
        trainer = Trainer(model, digits[0], None, config)
    else:
        model = PixelM2(M2Config(latent_dim=2, hidden_sizes=(16,), classifier_hidden=(16,)))
        config = TrainConfig(epochs=1, batch_size=16, device="cpu", labels=10)
        trainer = SemiSupervisedTrainer(model, digits[0], digits[2], None, None, config)
    trainer.sync_every = 4
    assert trainer.run() == "finished"
    trainer.config = trainer.config.replace(epochs=3)
    with torch.device("meta"):
        assert torch.empty(1).is_meta        # the trap is set
        assert trainer.run() == "finished"
    assert trainer.epoch == 3 and all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_bf16_autocast_is_off_by_default_and_trains_when_asked(digits):
    runs, outputs = {}, {}
    for dtype in (None, torch.bfloat16):
        trainer = make_trainer(digits, epochs=1)
        trainer.autocast_dtype = dtype
        first_linear = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Linear))
        first_linear.register_forward_hook(lambda m, i, out, seen=outputs.setdefault(dtype, []): seen.append(out.dtype))
        events, _ = record(trainer)
        assert trainer.run() == "finished"
        runs[dtype] = [e for e in events if isinstance(e, StepEvent)]
    assert Trainer.autocast_dtype is None and outputs[None] == [torch.float32] * 7   # 6 steps, 1 validation
    assert outputs[torch.bfloat16] == [torch.bfloat16] * 6 + [torch.float32]       # validation stays float32
    full, bf16 = runs[None], runs[torch.bfloat16]
    assert len(bf16) == 6 and all(isinstance(e.loss, float) for e in bf16)
    assert bf16[0].neg_elbo == pytest.approx(full[0].neg_elbo, rel=0.02)
    assert bf16[-1].neg_elbo < bf16[0].neg_elbo   # it learns


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_the_losses_are_read_in_batches_and_the_data_stays_there(digits):
    trainer = make_trainer(digits, device="cuda")
    trainer.sync_every = None   # the default on a GPU
    events, taken_at = record(trainer)
    assert trainer.train_images.is_cuda and trainer.run() == "finished"
    assert taken_at == [6] * 6 + [12] * 6    # fewer than 64 steps an epoch: read at each epoch's end
