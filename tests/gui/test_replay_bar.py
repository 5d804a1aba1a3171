"""The training replay in the window (gui/replay_bar.py): the slider, following a run, the export."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSlider

from latentlab import load_checkpoint
from latentlab.app import jobs
from latentlab.core.snapshots import list_snapshots, load_snapshot, model_at, replay_dir




def test_the_slider_moves_the_canvas_and_the_decoded_image_through_training(make_window, qtbot, replay_run):
    window = make_window(replay_run)
    bar, state = window.explorer.replay, window.explorer.state
    slider = window.findChild(QSlider, "replaySlider")
    assert slider is bar.slider and bar.isEnabled() and slider.isVisible()
    assert slider.maximum() == 4 and slider.value() == 4          # 4 snapshots, then the current model
    assert window.findChild(type(bar.label), "replayLabel").text() == "epoch 3 of 3 · now"
    final = state.model
    qtbot.waitUntil(lambda: state.hover_image is not None, timeout=10_000)

    ckpt = load_checkpoint(replay_run)
    snapshot = load_snapshot(list_snapshots(replay_dir(replay_run))[0][1], ckpt.model)
    expected_model = model_at(snapshot, ckpt.model)
    with qtbot.waitSignal(bar.shown, timeout=10_000) as shown:
        slider.setValue(0)
    assert shown.args == [0] and bar.label.text() == "epoch 0 of 3"
    assert state.model is not final
    np.testing.assert_allclose(state.scatter.means, snapshot.means)                 # the canvas' points
    expected = jobs.decode_point(expected_model, state.shown_latent())
    qtbot.waitUntil(lambda: np.array_equal(state.hover_image, expected), timeout=10_000)   # the decoded image
    assert not np.array_equal(jobs.decode_point(final, state.shown_latent()), expected)

    with qtbot.waitSignal(bar.shown, timeout=10_000) as shown:
        qtbot.keyClick(slider, Qt.Key.Key_End)                     # back to the right end: the current model
    assert shown.args == [-1] and state.model is final


def test_a_model_without_replay_has_a_disabled_slider_that_says_why(make_window, replay_run, tmp_path):
    lone = tmp_path / "lone.pt"
    lone.write_bytes(replay_run.read_bytes())
    window = make_window(lone)
    bar = window.explorer.replay
    assert not bar.isEnabled() and "no training replay" in bar.toolTip() and bar.label.text() == "no replay"
    assert not bar.export(tmp_path / "x.gif")
    assert "no training replay" in window.statusBar().currentMessage()


def test_a_window_trained_run_grows_its_slider_and_exports_a_gif(make_window, qtbot, tiny_data, tmp_path):
    from test_training_gui import small_run, wait_until_idle

    window = make_window()
    panel = window.training_panel
    small_run(panel, epochs=2)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    bar = window.explorer.replay
    qtbot.waitUntil(lambda: bar.slider.maximum() >= 2, timeout=30_000)      # epoch 0, epoch 1, the live end
    assert bar.at_end and bar.isEnabled()
    wait_until_idle(window, qtbot)
    qtbot.waitUntil(lambda: bar.slider.maximum() == 3, timeout=10_000)     # epochs 0, 1, 2 and now
    assert bar.at_end and bar.label.text() == "epoch 2 of 2 · now"

    out = tmp_path / "replay.gif"
    action = next(a for a in window.findChildren(type(window.open_action)) if a.objectName() == "actionExportReplay")
    assert action.text().startswith("Export &Replay")
    with qtbot.waitSignal(bar.exportFinished, timeout=30_000) as done:
        assert bar.export(out, "canvas")
    assert done.args[0] == str(out)
    with Image.open(out) as gif:
        assert gif.n_frames == 3
    assert "3 frames" in window.statusBar().currentMessage()


def test_live_snapshots_wait_while_an_earlier_epoch_is_shown(make_window, qtbot, replay_run):
    window = make_window(replay_run)
    bar, explorer = window.explorer.replay, window.explorer
    with qtbot.waitSignal(bar.shown, timeout=10_000):
        bar.slider.setValue(1)
    past = explorer.state.model
    newer = load_checkpoint(replay_run).model
    explorer.set_model(newer, None, reset_view=False)                 # what a training run sends
    assert explorer.state.model is past and bar.label.text() == "epoch 1 of 3"
    with qtbot.waitSignal(bar.shown, timeout=10_000):
        bar.slider.setValue(bar.slider.maximum())
    assert explorer.state.model is newer


def test_a_snapshot_that_cannot_be_written_is_said_and_training_goes_on(make_window, qtbot, tiny_data, monkeypatch):
    from test_training_gui import small_run, wait_until_idle

    from latentlab.core import snapshots

    def full_disk(self, *args, **kwargs):
        raise OSError(f"no space left on device: {self.folder}")

    monkeypatch.setattr(snapshots.ReplayWriter, "write", full_disk)
    window = make_window()
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    small_run(window.training_panel, epochs=1)
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    wait_until_idle(window, qtbot)
    assert any("replay snapshot not saved (no space left on device" in m for m in messages), messages
    run = window.training.live_run
    assert run.out.is_file() and run.trainer.epoch == 1          # the run itself trained and saved
    assert not window.training.autosave_failed                   # the checkpoint is fine: no close warning
