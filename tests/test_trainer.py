import math
import threading

import pytest
import torch

from latentlab import VAE, load_checkpoint
from latentlab.core import pipeline
from latentlab.core.data import load_dataset, split_train_val
from latentlab.core.trainer import (EpochEvent, History, StatusEvent, StepEvent, TrainConfig, Trainer,
                                    resolve_device)


@pytest.fixture(scope="module")
def digits(tiny_data_root):
    """Real MNIST digits (the 100 shipped samples): 83 to train on, 17 held out."""
    train, val = split_train_val(load_dataset("mnist", "train", data_dir=tiny_data_root, download=False))
    return train.images, val.images


def make_trainer(digits, **cfg):
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_sizes=(64,))
    config = TrainConfig(**{"epochs": 2, "batch_size": 16, "device": "cpu", **cfg})
    return Trainer(model, digits[0], digits[1], config, data_info={"dataset": "mnist"})


def collect(trainer):
    events = []
    trainer.add_listener(events.append)
    return events


def test_training_lowers_the_loss_and_reports_every_step_and_epoch(digits):
    trainer = make_trainer(digits, epochs=6, lr=3e-3)
    events = collect(trainer)
    assert trainer.run() == "finished"
    steps = [e for e in events if isinstance(e, StepEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert len(steps) == 6 * trainer.steps_per_epoch() == trainer.step == 36
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5, 6]
    first, last = sum(e.neg_elbo for e in steps[:6]) / 6, sum(e.neg_elbo for e in steps[-6:]) / 6
    assert last < first - 50  # nats: real digits, a real decrease
    s = steps[-1]
    assert s.neg_elbo == pytest.approx(s.kl + s.recon, rel=1e-5)
    assert len(s.kl_per_dim) == 2 and sum(s.kl_per_dim) == pytest.approx(s.kl, rel=1e-4)
    assert math.isfinite(epochs[-1].val_neg_elbo) and 0 <= epochs[-1].active_units <= 2
    assert trainer.history.steps["step"] == [float(i) for i in range(1, 37)]
    assert isinstance(events[0], StatusEvent) and events[-1] == StatusEvent("finished", trainer.message)


def test_same_seed_same_curve_and_different_seed_different_curve(digits):
    runs = []
    for seed in (3, 3, 4):
        trainer = make_trainer(digits, seed=seed)
        trainer.run()
        runs.append(trainer.history.steps["neg_elbo"])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_stop_takes_effect_before_the_next_step(digits):
    trainer = make_trainer(digits, epochs=5)
    trainer.add_listener(lambda e: trainer.request_stop() if isinstance(e, StepEvent) and e.step == 7 else None)
    assert trainer.run() == "stopped"
    assert trainer.step == 7


def test_a_stop_asked_for_before_run_is_kept(digits):
    """The window enables Stop before the training thread reaches run(): that stop must count."""
    trainer = make_trainer(digits, epochs=3)
    events = collect(trainer)
    trainer.request_stop()
    assert trainer.run() == "stopped" and trainer.step == 0
    assert not any(isinstance(e, StepEvent) for e in events)
    trainer.clear_requests()   # a new run of the same trainer (Continue) starts afresh
    assert trainer.run() == "finished" and trainer.epoch == 3


def test_pause_and_resume_from_another_thread(digits):
    trainer = make_trainer(digits, epochs=3)
    paused = threading.Event()
    steps_seen = []

    def listener(e):
        if isinstance(e, StepEvent):
            steps_seen.append(e.step)
            if e.step == 4:
                trainer.request_pause()
        elif isinstance(e, StatusEvent) and e.status == "paused":
            paused.set()

    trainer.add_listener(listener)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert paused.wait(30)
    assert steps_seen == [1, 2, 3, 4] and trainer.is_paused
    trainer.request_resume()
    worker.join(30)
    assert not worker.is_alive() and trainer.status == "finished"
    assert steps_seen == list(range(1, 3 * trainer.steps_per_epoch() + 1))


def test_stop_while_paused_ends_the_run(digits):
    trainer = make_trainer(digits, epochs=3)
    paused = threading.Event()
    trainer.add_listener(lambda e: trainer.request_pause() if isinstance(e, StepEvent) and e.step == 2 else None)
    trainer.add_listener(lambda e: paused.set() if isinstance(e, StatusEvent) and e.status == "paused" else None)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert paused.wait(30)
    trainer.request_stop()
    worker.join(30)
    assert trainer.status == "stopped" and trainer.step == 2


def test_a_diverging_run_stops_with_a_message_and_keeps_the_last_good_weights(digits):
    trainer = make_trainer(digits, epochs=4)
    good = {}

    def corrupt(e):
        if isinstance(e, EpochEvent) and e.epoch == 1:
            good.update({k: v.clone() for k, v in trainer.model.state_dict().items()})
        if isinstance(e, StepEvent) and e.step == 9:  # an update that blew the weights up
            with torch.no_grad():
                trainer.model.decoder[0][0].weight.fill_(float("nan"))
    trainer.add_listener(corrupt)
    events = collect(trainer)
    assert trainer.run() == "diverged"
    assert "diverged at step 10" in trainer.message and "end of epoch 1" in trainer.message
    assert isinstance(events[-1], StatusEvent) and events[-1].status == "diverged"
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, good[k]), k
    # counters and curves roll back with the weights, so a save now resumes from the good state
    assert (trainer.epoch, trainer.step) == (1, trainer.steps_per_epoch())
    assert len(trainer.history.steps["step"]) == trainer.steps_per_epoch() and trainer.history.epochs["epoch"] == [1.0]
    # the checkpoint says where and at which rate it diverged, so Continue can suggest less
    assert trainer.state_dict()["diverged"] == {"step": 10, "lr": trainer.config.lr}


def test_resume_from_a_checkpoint_continues_the_same_curve(digits, tmp_path):
    straight = make_trainer(digits, epochs=3)
    straight.run()

    first = make_trainer(digits, epochs=3)
    first.add_listener(lambda e: first.request_stop() if isinstance(e, EpochEvent) and e.epoch == 1 else None)
    first.run()
    first.save(tmp_path / "run.pt")
    ckpt = load_checkpoint(tmp_path / "run.pt")
    resumed = Trainer.from_checkpoint(ckpt, digits[0], digits[1], TrainConfig.from_dict(ckpt.train_config))
    assert resumed.epoch == 1 and resumed.step == 6 and len(resumed.history.steps["step"]) == 6
    assert resumed.run() == "finished"
    assert resumed.history.steps == straight.history.steps
    assert resumed.history.epochs["val_neg_elbo"] == straight.history.epochs["val_neg_elbo"]
    for a, b in zip(resumed.model.parameters(), straight.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_a_run_stopped_mid_epoch_resumes_at_the_next_batch(digits, tmp_path):
    first = make_trainer(digits, epochs=2)
    first.add_listener(lambda e: first.request_stop() if isinstance(e, StepEvent) and e.step == 4 else None)
    first.run()
    first.save(tmp_path / "run.pt")
    ckpt = load_checkpoint(tmp_path / "run.pt")
    resumed = Trainer.from_checkpoint(ckpt, digits[0], digits[1], TrainConfig.from_dict(ckpt.train_config))
    events = collect(resumed)
    resumed.run()
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert steps[0].step == 5 and steps[0].epoch == 1 and resumed.step == 12


def test_kl_warmup_beta_and_mc_samples(digits):
    trainer = make_trainer(digits, epochs=1, kl_warmup_epochs=1.0, beta=0.5, n_samples=4)
    events = collect(trainer)
    trainer.run()
    weights = [e.kl_weight for e in events if isinstance(e, StepEvent)]
    assert weights == pytest.approx([0.5 * i / 6 for i in range(6)])
    last = [e for e in events if isinstance(e, StepEvent)][-1]
    assert last.loss == pytest.approx(last.recon + weights[-1] * last.kl, rel=1e-5)


def test_history_round_trips_through_a_checkpoint_dict(digits):
    trainer = make_trainer(digits, epochs=1)
    trainer.run()
    again = History.from_dict(trainer.history.to_dict())
    assert again.steps == trainer.history.steps and again.epochs == trainer.history.epochs


def test_devices_and_bad_inputs():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            resolve_device("cuda")
    with pytest.raises(ValueError):
        Trainer(VAE(), torch.zeros(4, 1, 28, 28), config=TrainConfig(device="cpu"))  # float, not uint8
    with pytest.raises(ValueError, match="do not fit"):
        Trainer(VAE(), torch.zeros(4, 1, 20, 20, dtype=torch.uint8), config=TrainConfig(device="cpu"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_on_cuda_keeps_the_data_on_the_device(digits):
    trainer = make_trainer(digits, epochs=1, device="cuda")
    assert trainer.train_images.is_cuda and trainer.run() == "finished"


def run_in_thread(trainer):
    worker = threading.Thread(target=trainer.run, daemon=True)
    worker.start()
    return worker


def test_single_steps_of_a_paused_run_take_exactly_one_step_each(digits):
    trainer = make_trainer(digits, epochs=3)
    events = collect(trainer)
    held = threading.Event()
    refused_in_flight = []

    def listener(e):
        if isinstance(e, StepEvent):
            refused_in_flight.append(trainer.request_step())   # a click while the step is handled
        if isinstance(e, StatusEvent) and e.status == "paused":
            held.set()

    trainer.add_listener(listener)
    trainer.request_pause()                 # paused before it starts, as Step on an idle window does
    worker = run_in_thread(trainer)
    try:
        for expected in (1, 2, 3):
            assert held.wait(30) and trainer.is_held
            assert trainer.step == expected - 1 == len(trainer.history.steps["step"])
            held.clear()
            assert trainer.request_step()
        assert held.wait(30) and trainer.step == 3
        assert refused_in_flight == [False, False, False]
        statuses = [e.status for e in events if isinstance(e, StatusEvent)]
        assert statuses == ["running", "paused", "paused", "paused", "paused"]   # no "resumed" around a step
        assert [e.step for e in events if isinstance(e, StepEvent)] == [1, 2, 3]
    finally:
        trainer.request_stop()
        worker.join(30)
    assert trainer.status == "stopped" and trainer.step == 3


def test_a_single_step_at_the_end_of_an_epoch_ends_the_epoch(digits):
    trainer = make_trainer(digits, epochs=2)
    per_epoch = trainer.steps_per_epoch()
    events = collect(trainer)
    held = threading.Event()
    trainer.add_listener(lambda e: held.set() if isinstance(e, StatusEvent) and e.status == "paused" else None)
    trainer.add_listener(lambda e: trainer.request_pause()
                         if isinstance(e, StepEvent) and e.step == per_epoch - 1 else None)
    worker = run_in_thread(trainer)
    try:
        assert held.wait(30) and trainer.step == per_epoch - 1
        held.clear()
        assert trainer.request_step()
        assert held.wait(30) and trainer.step == per_epoch and trainer.epoch == 1
        assert isinstance(events[-2], EpochEvent) and events[-2].epoch == 1   # validated, then paused
    finally:
        trainer.request_stop()
        worker.join(30)


def test_a_stop_ends_a_speed_limited_wait_at_once(digits):
    """At 1 step per 1000 s a sleep would hold the run for 1000 s; the stop must wake it."""
    trainer = make_trainer(digits, epochs=3)
    trainer.set_speed_limit(0.001)
    worker = run_in_thread(trainer)
    assert trainer.gate.waiting.wait(30)      # the first step is taken, then it waits for the second
    assert trainer.step == 1
    trainer.request_stop()
    worker.join(30)
    assert not worker.is_alive() and trainer.status == "stopped" and trainer.step == 1


def test_lifting_the_speed_limit_lets_the_run_go_on_at_once(digits):
    trainer = make_trainer(digits, epochs=1)
    trainer.set_speed_limit(0.001)
    worker = run_in_thread(trainer)
    assert trainer.gate.waiting.wait(30) and trainer.step == 1
    trainer.set_speed_limit(None)
    worker.join(30)
    assert trainer.status == "finished" and trainer.step == trainer.steps_per_epoch()
