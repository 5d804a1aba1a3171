"""TrainingSession: the one run that `latentlab train` and the window's training thread both use."""

from __future__ import annotations

import shutil
import threading

import pytest
import torch

from latentlab import load_checkpoint
from latentlab.core import pipeline
from latentlab.core.checkpoint import CheckpointError
from latentlab.core.metrics import metrics_path_for, read_metrics_csv, read_run_id
from latentlab.core.models import VAEConfig
from latentlab.core.session import SessionEvent, TrainingSession, is_own_autosave, new_model, resumed_config
from latentlab.core.trainer import EpochEvent, StatusEvent, StepEvent, TrainConfig, Trainer

SPEC = pipeline.DataSpec(dataset="mnist")
MODEL = VAEConfig(latent_dim=2, hidden_sizes=(32,))


def new_session(tiny_data_root, out, **cfg):
    config = TrainConfig(**{"epochs": 2, "batch_size": 16, "device": "cpu", **cfg})
    return TrainingSession.new(SPEC, MODEL, config, out, data_dir=tiny_data_root, download=False)


def record(session):
    events = []
    session.add_listener(events.append)
    return events


def test_a_new_run_saves_its_checkpoint_and_its_own_metrics_file(tiny_data_root, tmp_path):
    out = tmp_path / "run" / "mnist2.pt"
    session = new_session(tiny_data_root, out)
    events = record(session)
    assert session.run() == "finished"
    ckpt = load_checkpoint(out)
    assert ckpt.trainer_state["epoch"] == 2 and ckpt.data["dataset"] == "mnist" and ckpt.data["binarize"] == "dynamic"
    assert ckpt.extras["scatter_means"].shape == (100, 2)     # the final save has the full scatter
    run_id = ckpt.trainer_state["run_id"]
    metrics = metrics_path_for(out)
    assert metrics.name == "mnist2.metrics.csv" and read_run_id(metrics) == run_id
    rows, _ = read_metrics_csv(metrics)
    assert rows["train"]["step"] == list(range(1, 13))
    kinds = [e.kind for e in events if isinstance(e, SessionEvent)]
    assert kinds[:2] == ["loading", "ready"] and kinds.count("saved") == 3   # 2 epochs + the final save


def test_seed_fixes_the_initial_weights():
    a, b, c = new_model(MODEL, 7), new_model(MODEL, 7), new_model(MODEL, 8)
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(va, vb), k
    assert not all(torch.equal(va, vc) for va, vc in zip(a.state_dict().values(), c.state_dict().values()))


def test_two_runs_with_one_seed_agree_from_the_first_step(tiny_data_root, tmp_path):
    firsts = []
    for name in ("a", "b"):
        session = new_session(tiny_data_root, tmp_path / f"{name}.pt", epochs=1, seed=3)
        session.add_listener(lambda e: firsts.append(e.loss) if isinstance(e, StepEvent) and e.step == 1 else None)
        session.run()
    assert firsts[0] == firsts[1]


def test_resume_keeps_every_stored_setting_unless_changed():
    stored = TrainConfig(epochs=40, batch_size=64, lr=3e-4, beta=0.5, seed=5).to_dict()
    assert resumed_config(stored, {}) == TrainConfig.from_dict(stored)           # nothing silently reset
    changed = resumed_config(stored, {"epochs": 60, "lr": 1e-4})
    assert (changed.epochs, changed.lr, changed.batch_size, changed.beta) == (60, 1e-4, 64, 0.5)
    assert resumed_config(stored, {"beta": 0.5}).beta == 0.5                      # the same value is no change
    with pytest.raises(ValueError, match="beta"):
        resumed_config(stored, {"beta": 2.0})


def test_stop_before_the_data_has_loaded_trains_and_writes_nothing(tiny_data_root, tmp_path):
    out = tmp_path / "m.pt"
    session = new_session(tiny_data_root, out)
    session.add_listener(lambda e: session.request_stop() if isinstance(e, SessionEvent) and e.kind == "loading"
                         else None)
    assert session.run() == "cancelled"
    assert session.trainer is None and not out.exists() and not metrics_path_for(out).exists()


def test_stop_before_the_first_step_is_not_lost(tiny_data_root, tmp_path):
    session = new_session(tiny_data_root, tmp_path / "m.pt", epochs=50)
    session.add_listener(lambda e: session.request_stop() if isinstance(e, SessionEvent) and e.kind == "ready"
                         else None)
    assert session.run() == "stopped" and session.trainer.step == 0


def test_stop_from_another_thread_mid_epoch(tiny_data_root, tmp_path):
    session = new_session(tiny_data_root, tmp_path / "m.pt", epochs=1000)
    third = threading.Event()
    session.add_listener(lambda e: third.set() if isinstance(e, StepEvent) and e.step == 3 else None)
    thread = threading.Thread(target=session.run)
    thread.start()
    assert third.wait(60)
    session.request_stop()
    thread.join(30)
    assert not thread.is_alive() and session.status == "stopped"
    assert load_checkpoint(tmp_path / "m.pt").trainer_state["step"] == session.trainer.step


def test_a_failed_autosave_is_reported_and_training_goes_on(tiny_data_root, tmp_path, monkeypatch):
    out = tmp_path / "m.pt"
    real_save, calls = Trainer.save, []

    def flaky_save(self, path):
        calls.append(path)
        if len(calls) == 1:
            raise CheckpointError(f"no space left on device: {path}")
        real_save(self, path)
    monkeypatch.setattr(Trainer, "save", flaky_save)
    session = new_session(tiny_data_root, out, epochs=3)
    events = record(session)
    assert session.run() == "finished" and session.trainer.epoch == 3
    kinds = [(e.kind, e.message) for e in events if isinstance(e, SessionEvent) and e.kind.startswith("save")]
    assert kinds[0] == ("save_failed", f"no space left on device: {out}") and kinds[1][0] == "saved"
    assert session.save_error is None and load_checkpoint(out).trainer_state["epoch"] == 3


def test_a_folder_as_out_is_refused_at_once(tiny_data_root, tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        new_session(tiny_data_root, tmp_path)


def test_resume_after_a_kill_drops_the_metrics_rows_past_the_checkpoint(tiny_data_root, tmp_path):
    out = tmp_path / "m.pt"
    session = new_session(tiny_data_root, out, epochs=3)
    session.add_listener(lambda e: shutil.copy(out, tmp_path / "after1.pt")
                         if isinstance(e, EpochEvent) and e.epoch == 1 else None)
    session.run()
    # As if the process had been killed after epoch 1's autosave, its metrics file written on.
    shutil.copy(tmp_path / "after1.pt", out)
    ckpt = load_checkpoint(out)
    resumed = TrainingSession.resume(ckpt, out, {}, data_dir=tiny_data_root, download=False)
    assert resumed.run() == "finished"
    rows, _ = read_metrics_csv(metrics_path_for(out))
    assert rows["train"]["step"] == list(range(1, 19)) and rows["val"]["epoch"] == [1, 2, 3]


def test_resume_without_changes_keeps_the_stored_schedule(tiny_data_root, tmp_path):
    out = tmp_path / "m.pt"
    new_session(tiny_data_root, out, epochs=1, lr=3e-3, batch_size=20).run()
    ckpt = load_checkpoint(out)
    session = TrainingSession.resume(ckpt, out, {"epochs": 2}, data_dir=tiny_data_root, download=False)
    assert session.run() == "finished"
    cfg = session.trainer.config
    assert (cfg.lr, cfg.batch_size, cfg.epochs) == (3e-3, 20, 2)
    again = TrainingSession.resume(load_checkpoint(out), out, {}, data_dir=tiny_data_root, download=False)
    assert again.run() == "finished" and "nothing to do" in again.message and again.trainer.epoch == 2


def test_continue_run_trains_the_kept_trainer_further(tiny_data_root, tmp_path):
    first = new_session(tiny_data_root, tmp_path / "m.pt", epochs=1)
    first.request_stop()                       # a stop of the first run...
    assert first.run() == "cancelled"
    first = new_session(tiny_data_root, tmp_path / "m.pt", epochs=1)
    first.run()
    more = TrainingSession.continue_run(first, {"epochs": 2, "lr": 5e-4})   # ...never stops the next one
    assert more.run() == "finished"
    assert more.trainer is first.trainer and more.trainer.step == 12 and more.trainer.optimizer.param_groups[0]["lr"] == 5e-4


def test_save_while_training_is_written_between_steps(tiny_data_root, tmp_path):
    session = new_session(tiny_data_root, tmp_path / "m.pt", epochs=1000)
    going = threading.Event()
    session.add_listener(lambda e: going.set() if isinstance(e, StepEvent) and e.step == 2 else None)
    thread = threading.Thread(target=session.run)
    thread.start()
    try:
        assert going.wait(60)
        assert session.request_save(tmp_path / "copy.pt") is None
        assert load_checkpoint(tmp_path / "copy.pt").trainer_state["step"] >= 2
    finally:
        session.request_stop()
        thread.join(30)


def test_a_run_asked_to_pause_and_step_before_it_starts_takes_exactly_that_step(tiny_data_root, tmp_path):
    """Step on an idle window: the session exists, the data have not loaded, one step is asked for."""
    session = new_session(tiny_data_root, tmp_path / "m.pt", epochs=50)
    assert not session.request_step()                  # not paused: nothing to step
    session.request_pause()
    assert session.request_step() and not session.request_step()   # one step, never a queue of them
    session.set_speed_limit(5)
    held = threading.Event()
    session.add_listener(lambda e: held.set() if isinstance(e, StatusEvent) and e.status == "paused" else None)
    thread = threading.Thread(target=session.run, daemon=True)
    thread.start()
    try:
        assert held.wait(60) and session.trainer.step == 1 and session.trainer.is_held
        assert session.trainer.gate.limit == 5.0
        # Parked again after the step: a save is written at once, with that one step.
        assert session.request_save(tmp_path / "one.pt") is None
        assert load_checkpoint(tmp_path / "one.pt").trainer_state["step"] == 1
        held.clear()
        assert session.request_step()
        assert held.wait(60) and session.trainer.step == 2
    finally:
        session.request_stop()
        thread.join(30)
    assert session.status == "stopped" and load_checkpoint(tmp_path / "m.pt").trainer_state["step"] == 2


def test_a_bad_speed_limit_is_refused_and_the_old_one_kept(tiny_data_root, tmp_path):
    session = new_session(tiny_data_root, tmp_path / "m.pt")
    session.set_speed_limit(20)
    with pytest.raises(ValueError, match="speed limit"):
        session.set_speed_limit(-3)
    assert session.speed_limit == 20.0


def test_only_a_runs_own_autosave_counts_as_its_file_not_a_copy(tiny_data_root, tmp_path):
    run = tmp_path / "runs" / "a" / "model.pt"
    assert new_session(tiny_data_root, run, epochs=1).run() == "finished"
    ckpt = load_checkpoint(run)
    assert is_own_autosave(run, ckpt)
    for copy in (tmp_path / "elsewhere" / "copy.pt", run.with_name("copy.pt")):   # File > Save As
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(run, copy)
        assert not is_own_autosave(copy, load_checkpoint(copy))
    other = tmp_path / "runs" / "b" / "model.pt"      # another run's metrics file beside it
    other.parent.mkdir()
    shutil.copyfile(run, other)
    metrics_path_for(other).write_text("# latentlab-metrics run_id=0123456789ab\nstep\n")
    assert not is_own_autosave(other, ckpt)
