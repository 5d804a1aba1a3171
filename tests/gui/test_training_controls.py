"""The training panel's controls for teaching: Step, the speed limit, and buttons that stay put.

Driven by objectName (stepButton, speedLimit) on real runs of the 100-image data root."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPoint, QRect
from PySide6.QtWidgets import QApplication, QPushButton, QSlider

from latentlab.core import pipeline
from latentlab.core.session import LIVE_SCATTER_POINTS

from test_training_gui import click, small_run, wait_until_idle


def step_button(window) -> QPushButton:
    return window.findChild(QPushButton, "stepButton")


def wait_held_at(window, qtbot, n: int, timeout=30_000) -> None:
    """Until the run is paused after step n with nothing more asked for, and the window shows it.
    Held means no step can start until another request: the count is final, no waiting needed."""
    def shown():
        run = window.training.live_run
        return (run is not None and run.trainer is not None and run.trainer.is_held
                and window.training_panel.state == "paused" and not window.training.stepping
                and len(window.curves.data) == n)
    qtbot.waitUntil(shown, timeout=timeout)


def assert_window_shows_the_model_of_step(window, n: int) -> None:
    trainer = window.training.live_run.trainer
    assert trainer.step == n and window.curves.data.last_step == n == len(window.curves.data)
    assert window.curves.data.steps.values.tolist() == list(range(1, n + 1))
    np.testing.assert_allclose(window.curves.data.train["neg_elbo"].raw.values, trainer.history.steps["neg_elbo"])
    assert len(window.curves.data.kl_per_dim) == n                       # the per-dimension KL bars too
    # The canvas decodes these very weights, and its scatter is the test set encoded by them.
    for a, b in zip(window.model.state_dict().values(), trainer.model.state_dict().values()):
        assert torch.equal(a, b.cpu())
    test_set = pipeline.load_splits(pipeline.DataSpec("mnist")).test
    expected = pipeline.scatter_extras(trainer.model, test_set, trainer.config.binarize, n=LIVE_SCATTER_POINTS)
    np.testing.assert_allclose(window.explorer.state.scatter.means, expected["scatter_means"].numpy(),
                               rtol=1e-5, atol=1e-6)


def test_step_takes_exactly_one_step_per_click_and_shows_it(make_window, qtbot, tiny_data):
    window = make_window()
    panel = window.training_panel
    small_run(panel, epochs=5000)
    click(qtbot, step_button(window))      # idle: the run starts paused and takes one step
    wait_held_at(window, qtbot, 1)
    assert_window_shows_the_model_of_step(window, 1)
    kl = window.training.live_run.trainer.history.steps["kl"][0]
    assert window.curves.data.kl_per_dim.values.sum() == pytest.approx(kl, rel=1e-4)
    assert panel.pause_button.text() == "Resume" and "Paused at step 1" in panel.progress_label.text()

    click(qtbot, step_button(window))
    wait_held_at(window, qtbot, 2)
    assert_window_shows_the_model_of_step(window, 2)

    # A burst of clicks while a step is being taken and shown is that one step, never a queue.
    for _ in range(10):
        step_button(window).click()
    wait_held_at(window, qtbot, 3)
    assert_window_shows_the_model_of_step(window, 3)

    click(qtbot, panel.pause_button)       # Resume: it trains on, and Step waits for a pause
    qtbot.waitUntil(lambda: window.training.live_run.trainer.step > 5 and panel.state == "running", timeout=10_000)
    assert not step_button(window).isEnabled()
    click(qtbot, panel.stop_button)
    wait_until_idle(window, qtbot)
    assert step_button(window).isEnabled()


def test_the_speed_limit_slider_paces_the_run_and_a_stop_still_ends_it(make_window, qtbot, tiny_data):
    window = make_window()
    panel = window.training_panel
    slider = window.findChild(QSlider, "speedLimit")
    assert slider.value() == slider.maximum() and panel.speed_limit.limit() is None   # unlimited by default
    slider.setValue(0)
    assert panel.speed_limit.limit() == 1 and panel.speed_limit.value_label.text() == "1 step/s"
    small_run(panel, epochs=5000)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: window.training.live_run is not None and window.training.live_run.trainer.step >= 1,
                    timeout=30_000)
    trainer = window.training.live_run.trainer
    assert trainer.gate.limit == 1.0
    assert trainer.gate.waiting.wait(10)   # waits out the second between two steps
    slider.setValue(slider.maximum() - 1)  # a new limit reaches the running trainer
    assert trainer.gate.limit == 100.0
    slider.setValue(0)
    assert trainer.gate.waiting.wait(10)
    click(qtbot, panel.stop_button)
    wait_until_idle(window, qtbot, timeout=10_000)
    assert trainer.status == "stopped"


def settle() -> None:
    for _ in range(3):
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        QApplication.processEvents()


def control_geometry(window) -> list[QRect]:
    panel = window.training_panel
    widgets = (panel.train_button, step_button(window), panel.pause_button, panel.stop_button,
               window.findChild(QSlider, "speedLimit"))
    return [QRect(w.mapTo(window, QPoint(0, 0)), w.size()) for w in widgets]


def test_the_buttons_never_move_when_the_texts_change(make_window, qtbot):
    window = make_window()
    panel = window.training_panel
    settle()
    before = control_geometry(window)
    long_text = "Epoch 12,345/99,999 · step 123,456,789/987,654,321 · " * 8
    panel.set_state("running")
    panel.show_progress(3, 30, 981, 11_730, 39.0)           # the progress bar appears
    panel.progress_label.setText(long_text)                  # a very long progress text
    panel.rate_label.setText("123,456.7 steps/s · ETA 123 h 59 min " * 5)
    settle()
    assert control_geometry(window) == before
    panel.set_state("paused")                                # Pause -> Resume
    status = "Paused at step 123,456,789 " * 10
    panel.show_status(status)
    panel.speed_limit.set_limit(1)                           # "unlimited" -> "1 step/s"
    settle()
    assert control_geometry(window) == before
    panel.show_message("Training diverged at step 1234: the loss became nan. " * 6, error=True)
    panel.show_download(5_000_000, 10_000_000, "train-images-idx3-ubyte.gz")
    settle()
    assert control_geometry(window) == before
    assert panel.progress_label.height() == panel.progress_label.fontMetrics().height()   # one line, elided
    assert panel.progress_label.text() == status and panel.progress_label.shown_text().endswith("…")


@pytest.mark.parametrize("limit", [None, 5.0])
def test_in_slow_motion_every_snapshot_brings_the_scatter_too(qtbot, limit):
    """Unlimited, the scatter is encoded at epoch ends and pauses only (it costs the run time);
    with a speed limit the thread has time to spare, so the canvas's scatter follows each snapshot."""
    from types import SimpleNamespace

    from latentlab.core.models import VAE, VAEConfig
    from latentlab.core.trainer import StatusEvent, StepEvent
    from latentlab.gui.training_thread import TrainingThread

    scatter = {"scatter_means": torch.zeros(3, 2)}
    session = SimpleNamespace(trainer=SimpleNamespace(model=VAE(VAEConfig(hidden_sizes=(8,)))), speed_limit=limit,
                              live_scatter=lambda: scatter, add_listener=lambda listener: None)
    thread = TrainingThread(session)
    sent = []
    thread.snapshotReady.connect(lambda model, extras: sent.append(extras))
    thread._last_snapshot = float("-inf")        # a snapshot is due
    thread._on_event(StepEvent(step=7, epoch=1, epoch_fraction=0.5, loss=1.0, neg_elbo=1.0, kl=0.5, recon=0.5,
                               kl_per_dim=(0.25, 0.25), kl_weight=1.0, steps_per_sec=5.0))
    thread._on_event(StatusEvent("paused", "paused at step 7"))
    assert sent == [scatter if limit else None, scatter]
