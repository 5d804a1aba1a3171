"""Training from the window: real runs on the 100-image data root, real checkpoints on disk."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from latentlab import load_checkpoint
from latentlab.core import pipeline
from latentlab.core.data import DataError, DownloadCancelled

BATCH = 10
TRAIN_IMAGES = 100 - round(100 / 6)          # the tiny data root: 83 train, 17 validation
STEPS_PER_EPOCH = -(-TRAIN_IMAGES // BATCH)  # 9


def small_run(panel, epochs: int, dataset: str = "mnist") -> None:
    """A model small enough that a test trains it in a fraction of a second per epoch."""
    panel.continue_check.setChecked(False)
    panel.dataset.setCurrentIndex(panel.dataset.findData(dataset))
    panel.hidden.setText("64, 64")
    panel.batch_size.setValue(BATCH)
    panel.epochs.setValue(epochs)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.objectName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_for_steps(window, qtbot, n: int, timeout=30_000) -> None:
    """Until the new run has drawn n steps (the curves of the model shown before are gone)."""
    qtbot.waitUntil(lambda: window.training.live_run is not None and len(window.curves.data) >= n
                    and window.curves.data.steps.values[0] == 1, timeout=timeout)


def wait_until_idle(window, qtbot, timeout=30_000) -> None:
    qtbot.waitUntil(lambda: not window.is_training, timeout=timeout)


def test_train_pause_resume_stop_and_save(make_window, qtbot, tiny_data, tmp_path):
    window = make_window()
    panel = window.training_panel
    small_run(panel, epochs=5000)
    started = time.perf_counter()
    click(qtbot, panel.train_button)
    assert window.is_training and not panel.train_button.isEnabled()
    wait_for_steps(window, qtbot, 3 * STEPS_PER_EPOCH)
    run = window.training.live_run
    assert window.model is not run.trainer.model  # the explorer decodes from snapshots only
    # Validation points arrive per epoch, as queued signals; the steps are pulled from a buffer and
    # may be a few ahead of them on a busy machine: wait for them rather than assume the order.
    qtbot.waitUntil(lambda: len(window.curves.data.epoch_steps) >= 2, timeout=10_000)
    qtbot.waitUntil(lambda: "Epoch" in panel.progress_label.text() and "steps/s" in panel.rate_label.text(),
                    timeout=10_000)

    click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=5_000)
    assert panel.pause_button.text() == "Resume"
    paused_at = run.trainer.step
    qtbot.wait(300)   # a negative check needs some time to pass: nothing may happen in it
    window.training.pull_steps()
    assert run.trainer.step == paused_at and window.curves.data.last_step == paused_at
    assert window.save_checkpoint(tmp_path / "paused.pt")   # saving a paused run: the GUI thread saves it
    saved = load_checkpoint(tmp_path / "paused.pt")
    assert saved.trainer_state["step"] == paused_at
    assert saved.trainer_state["batch_in_epoch"] == paused_at - saved.trainer_state["epoch"] * STEPS_PER_EPOCH

    click(qtbot, panel.pause_button)  # Resume
    qtbot.waitUntil(lambda: run.trainer.step > paused_at + 5, timeout=10_000)
    assert panel.state == "running" and panel.pause_button.text() == "Pause"

    assert window.save_checkpoint(tmp_path / "running.pt")  # while running: saved between two steps
    mid = load_checkpoint(tmp_path / "running.pt")
    assert mid.trainer_state["step"] > paused_at
    assert len(mid.history["steps"]["step"]) == mid.trainer_state["step"]

    click(qtbot, panel.stop_button)
    wait_until_idle(window, qtbot)
    elapsed = time.perf_counter() - started
    trainer = run.trainer
    assert trainer.status == "stopped"
    assert window.curves.data.last_step == trainer.step == len(window.curves.data)
    # Redraws are throttled: at most ~30 a second, however many steps there were.
    assert window.curves.redraw_count <= 31 * elapsed + 5
    assert run.out.is_file() and run.out.parent.parent == Path(tmp_path / "runs")
    autosaved = load_checkpoint(run.out)  # the stop is autosaved
    assert autosaved.trainer_state["step"] == trainer.step
    assert (run.out.parent / "model.metrics.csv").is_file()

    assert window.save_checkpoint(tmp_path / "final.pt")
    final = load_checkpoint(tmp_path / "final.pt")
    assert final.history["steps"]["step"].tolist() == list(range(1, trainer.step + 1))
    assert "Saved" in window.statusBar().currentMessage()
    assert panel.continue_check.isChecked() and panel.train_button.isEnabled()


def test_a_finished_run_reopens_and_resumes_with_its_curves(make_window, qtbot, tiny_data, tmp_path):
    window = make_window()
    small_run(window.training_panel, epochs=2)
    click(qtbot, window.training_panel.train_button)
    wait_until_idle(window, qtbot)
    trainer = window.training.live_run.trainer
    assert trainer.status == "finished" and trainer.step == 2 * STEPS_PER_EPOCH
    assert window.curves.data.epochs.values.tolist() == [1.0, 2.0]
    assert "epoch 2" in window.curves.active_units.text()
    # The canvas shows the trained model's encoded test set (the full one at the end of a run).
    test_set = pipeline.load_splits(pipeline.DataSpec("mnist")).test
    expected = pipeline.scatter_extras(trainer.model, test_set, trainer.config.binarize)
    np.testing.assert_allclose(window.explorer.state.scatter.means, expected["scatter_means"].numpy(), rtol=1e-5,
                               atol=1e-6)
    path = tmp_path / "two-epochs.pt"
    assert window.save_checkpoint(path)
    window.close()

    again = make_window(path)
    panel = again.training_panel
    assert panel.continue_check.isChecked()
    assert panel.epochs.value() == 12  # a finished run is offered ten more epochs
    assert not panel.model_group.isEnabled()  # a continued run keeps its model
    panel.epochs.setValue(4)
    assert len(again.curves.data) == 2 * STEPS_PER_EPOCH
    click(qtbot, panel.train_button)
    wait_until_idle(again, qtbot)
    resumed = again.training.live_run.trainer
    assert resumed.epoch == 4 and resumed.step == 4 * STEPS_PER_EPOCH
    steps = again.curves.data.steps.values
    assert steps.tolist() == list(range(1, 4 * STEPS_PER_EPOCH + 1))  # continued, no gap, no repeat
    assert again.curves.data.epochs.values.tolist() == [1.0, 2.0, 3.0, 4.0]
    # The opened file is the user's: the continued run autosaves in its own run folder.
    assert load_checkpoint(path).trainer_state["epoch"] == 2
    autosave = again.training.live_run.out
    assert load_checkpoint(autosave).trainer_state["epoch"] == 4
    # Its metrics.csv holds only the continued epochs: opening the autosave shows the whole history.
    assert again.open_checkpoint(autosave)
    assert again.curves.data.steps.values.tolist() == list(range(1, 4 * STEPS_PER_EPOCH + 1))


def test_closing_mid_training_stops_the_thread_and_keeps_the_autosave(make_window, qtbot, tiny_data, qtlog):
    window = make_window()
    small_run(window.training_panel, epochs=5000)
    click(qtbot, window.training_panel.train_button)
    wait_for_steps(window, qtbot, 2 * STEPS_PER_EPOCH)
    worker, run = window.training.worker, window.training.live_run
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 2.0
    assert not worker.is_alive()
    autosaved = load_checkpoint(run.out)
    assert autosaved.trainer_state["step"] == run.trainer.step > 0
    assert not any("Destroyed while thread" in record.message for record in qtlog.records)


@pytest.mark.parametrize("when", ["at once", "data loaded"])
def test_stop_right_after_train_ends_the_run(make_window, qtbot, tiny_data, when):
    """Stop pressed in the gap between Train and the first step used to be erased by the trainer."""
    window = make_window()
    panel = window.training_panel
    small_run(panel, epochs=5000)
    click(qtbot, panel.train_button)
    steps_before = 0
    if when == "data loaded":
        qtbot.waitUntil(lambda: window.training.live_run is not None, timeout=10_000)
        steps_before = window.training.live_run.trainer.step
    started = time.perf_counter()
    click(qtbot, panel.stop_button)
    wait_until_idle(window, qtbot, timeout=10_000)
    assert time.perf_counter() - started < 5.0   # loading the tiny data + a step, not 5000 epochs
    run = window.training.live_run
    if when == "data loaded":
        # the step under way when Stop came (and at most one more read race) ends the run
        assert run.trainer.status == "stopped" and run.trainer.step <= steps_before + 2
    else:
        assert run is None or run.trainer is None or run.trainer.step <= 1
    assert panel.train_button.isEnabled()


@pytest.mark.parametrize("phase", ["loading", "paused"])
def test_closing_in_any_phase_is_quick(make_window, qtbot, tiny_data, phase):
    window = make_window()
    panel = window.training_panel
    small_run(panel, epochs=5000)
    click(qtbot, panel.train_button)
    if phase == "paused":
        wait_for_steps(window, qtbot, 2)
        click(qtbot, panel.pause_button)
        qtbot.waitUntil(lambda: panel.state == "paused", timeout=5_000)
    worker = window.training.worker
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 2.0
    assert worker.join(5.0)


def test_invalid_settings_are_reported_without_starting(make_window, qtbot, tiny_data):
    window = make_window()
    small_run(window.training_panel, epochs=1)
    window.training_panel.hidden.setText("512, lots")
    click(qtbot, window.training_panel.train_button)
    assert not window.is_training
    assert "Hidden sizes" in window.statusBar().currentMessage()


def test_missing_data_offline_says_where_to_put_the_files(make_window, qtbot, tmp_path, monkeypatch):
    empty = tmp_path / "no-data"
    monkeypatch.setenv("LATENTLAB_DATA", str(empty))

    def offline(*args, **kwargs):
        raise DataError("could not reach any server (test: offline)")

    monkeypatch.setattr("latentlab.core.datasets.download_file", offline)
    window = make_window()
    small_run(window.training_panel, epochs=1)
    click(qtbot, window.training_panel.train_button)
    wait_until_idle(window, qtbot)
    message = window.training_panel.message.text()
    assert "put the file at" in message and str(empty / "mnist") in message
    assert "Missing data file" in window.statusBar().currentMessage()
    assert window.training_panel.train_button.isEnabled()


def test_a_download_shows_progress_and_can_be_cancelled(make_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path / "no-data"))

    def slow_download(urls, dest, md5=None, sha256=None, progress=None, cancel=None, timeout=30, **kwargs):
        total = 10_000_000
        for done in range(0, total, 10_000):
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled()
            progress(done, total, Path(dest).name)
            time.sleep(0.005)
        raise AssertionError("the test cancels long before the end")

    monkeypatch.setattr("latentlab.core.datasets.download_file", slow_download)
    window = make_window()
    panel = window.training_panel
    shown_steps = len(window.curves.data)
    small_run(panel, epochs=1)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: panel.download_bar.value() > 0, timeout=10_000)
    assert panel.download_widget.isVisible() or not window.isVisible()
    assert "Downloading train-images-idx3-ubyte.gz" in panel.download_label.text()
    click(qtbot, panel.cancel_download)
    wait_until_idle(window, qtbot, timeout=5_000)
    assert "Download cancelled" in window.statusBar().currentMessage()
    assert window.model is not None and panel.train_button.isEnabled()
    assert len(window.curves.data) == shown_steps  # the shown model's curves stay


def test_training_on_an_image_folder(make_window, qtbot, tmp_path):
    from dataset_files import SAMPLES_DIR

    window = make_window()
    panel = window.training_panel
    small_run(panel, epochs=1, dataset="folder")
    panel.folder.setText(str(SAMPLES_DIR / "fashion-mnist"))
    click(qtbot, panel.train_button)
    wait_until_idle(window, qtbot)
    trainer = window.training.live_run.trainer
    assert trainer.status == "finished" and trainer.epoch == 1
    assert trainer.model.image_shape == (1, 28, 28)
    assert window.model is not None and window.model.latent_dim == 2


@pytest.mark.parametrize("latent_dim", [5])
def test_a_new_model_of_another_dimension_reaches_the_explorer(make_window, qtbot, tiny_data, latent_dim):
    window = make_window()
    panel = window.training_panel
    small_run(panel, epochs=1)
    panel.latent_dim.setValue(latent_dim)
    click(qtbot, panel.train_button)
    wait_until_idle(window, qtbot)
    assert window.model.latent_dim == latent_dim
    assert window.curves.data.kl_per_dim.values.shape == (latent_dim,)
    with torch.no_grad():
        final = window.training.live_run.trainer.model.state_dict().values()
        for a, b in zip(window.model.state_dict().values(), final):
            assert torch.equal(a, b.cpu())  # the last snapshot is the final model


def test_a_full_disk_keeps_a_warning_up_and_lists_no_unwritten_file(make_window, qtbot, tiny_data, monkeypatch):
    from latentlab.core.checkpoint import CheckpointError
    from latentlab.core.trainer import Trainer

    def full(self, path):
        raise CheckpointError(f"no space left on device: {path}")
    monkeypatch.setattr(Trainer, "save", full)
    window = make_window()
    small_run(window.training_panel, epochs=2)
    click(qtbot, window.training_panel.train_button)
    wait_until_idle(window, qtbot)
    run = window.training.live_run
    assert run.trainer.status == "finished" and run.trainer.epoch == 2      # training went on
    assert window.save_warning.isVisibleTo(window) and "no space left on device" in window.save_warning.text()
    assert "NOT saved" in window.statusBar().currentMessage()
    assert str(run.out) not in window.recent.paths() and not run.out.exists()
    monkeypatch.undo()
    window.training_panel.epochs.setValue(3)                                 # Continue: the next save works
    click(qtbot, window.training_panel.train_button)
    wait_until_idle(window, qtbot)
    assert not window.save_warning.isVisibleTo(window) and window.training.live_run.out.exists()
    assert str(window.training.live_run.out) in window.recent.paths()


def test_continue_after_a_divergence_suggests_a_smaller_rate(qtbot):
    from latentlab.core.models import VAEConfig
    from latentlab.core.trainer import TrainConfig
    from latentlab.gui.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    stored = TrainConfig(lr=0.05, epochs=30, batch_size=64).to_dict()
    panel.set_run(VAEConfig(), stored, {"dataset": "mnist"}, 3, continue_now=True,
                  diverged={"step": 1234, "lr": 0.05})
    assert panel.lr.value() == pytest.approx(0.005)
    assert "diverged at step 1234" in panel.message.text()
    changes = panel.continue_changes()
    assert changes["lr"] == pytest.approx(0.005) and "batch_size" not in changes and "epochs" not in changes
    panel.set_run(VAEConfig(), stored, {"dataset": "mnist"}, 3, continue_now=True)   # no divergence
    assert panel.lr.value() == pytest.approx(0.05) and "lr" not in panel.continue_changes()
    assert not panel.message.text()


def test_closing_while_training_asks_nothing_when_everything_is_autosaved(make_window, qtbot, tiny_data,
                                                                          monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    asked = []
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args) or answers.pop(0))
    window = make_window()
    small_run(window.training_panel, epochs=5000)
    click(qtbot, window.training_panel.train_button)
    wait_for_steps(window, qtbot, STEPS_PER_EPOCH + 1)   # an epoch autosaved, and training goes on
    run = window.training.live_run
    window.close()
    assert asked == [] and not window.isVisible() and not window.is_training
    assert load_checkpoint(run.out).trainer_state["step"] == run.trainer.step   # the stop saved the rest

    # Only when an autosave failed would closing lose something: then it asks, and No keeps it open.
    window = make_window()
    small_run(window.training_panel, epochs=5000)
    click(qtbot, window.training_panel.train_button)
    wait_for_steps(window, qtbot, 2)
    window.training.autosave_failed = True
    window.close()
    assert len(asked) == 1 and window.isVisible() and window.is_training
    window.close()
    assert len(asked) == 2 and not window.isVisible() and not window.is_training


def _files(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("copy_in", ["another folder", "the run's folder", "none: the autosave itself"])
def test_continuing_a_copy_saved_elsewhere_writes_a_new_run_folder(make_window, qtbot, tiny_data, tmp_path,
                                                                   copy_in):
    window = make_window()
    small_run(window.training_panel, epochs=1)
    click(qtbot, window.training_panel.train_button)
    wait_until_idle(window, qtbot)
    original = window.training.live_run.out
    if copy_in == "none: the autosave itself":
        reopened = original
    else:
        reopened = (tmp_path / "elsewhere" if copy_in == "another folder" else original.parent) / "copy.pt"
        reopened.parent.mkdir(exist_ok=True)
        assert window.save_checkpoint(reopened)                       # File > Save As
    run_folder = _files(original.parent)
    assert window.open_checkpoint(reopened)
    panel = window.training_panel
    assert panel.continue_check.isChecked()
    panel.epochs.setValue(2)
    click(qtbot, panel.train_button)
    wait_until_idle(window, qtbot)
    out = window.training.live_run.out
    assert load_checkpoint(out).trainer_state["epoch"] == 2
    if copy_in == "none: the autosave itself":
        assert out == original                                         # a run's own file continues in place
        return
    assert out.parent != original.parent and out.parent.parent == original.parent.parent   # a new run folder
    assert _files(original.parent) == run_folder          # untouched, its replay folder too
    assert load_checkpoint(reopened).trainer_state["epoch"] == 1      # and so is the copy
