"""The main window without training: opening, errors, saving, menus, settings, exports, following."""

from __future__ import annotations

import csv
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox, QWidget

from latentlab import load_checkpoint
from latentlab.core.metrics import COLUMNS, read_metrics_csv
from latentlab.core.shipped import default_checkpoint

OBJECT_NAMES = ("latentCanvas", "decodedImage", "curvePlot", "trainButton", "pauseButton", "stopButton")


def image_of(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    buffer = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return buffer.reshape(image.height(), image.bytesPerLine())[:, : image.width()].copy()


def shown_window(make_window, qtbot, checkpoint=None):
    window = make_window(checkpoint, show=False)
    with qtbot.waitSignal(window.explorer.imageShown, timeout=10_000):
        window.show()
    return window


def test_window_opens_on_the_shipped_model(make_window, qtbot):
    window = shown_window(make_window, qtbot)
    for name in OBJECT_NAMES:
        assert window.findChild(QWidget, name) is not None, name
    shipped = load_checkpoint(default_checkpoint())
    assert window.model is not None and window.model.latent_dim == shipped.model.latent_dim
    assert len(window.curves.data) == len(shipped.history["steps"]["step"])  # its curves are shown
    assert "mnist-2d.pt" in window.windowTitle()
    assert "Opened mnist-2d.pt" in window.statusBar().currentMessage()
    assert not window.training_panel.continue_check.isChecked()  # one click on Train: a new model


def test_hover_changes_the_decoded_image(make_window, qtbot):
    window = shown_window(make_window, qtbot)
    canvas = window.findChild(QWidget, "latentCanvas")
    decoded = window.findChild(QWidget, "decodedImage")
    pictures = []
    for u, v in ((-2.0, 1.5), (2.0, -1.5)):
        with qtbot.waitSignal(window.explorer.imageShown, timeout=5_000):
            QTest.mouseMove(canvas.viewport(), canvas.map_from_canvas(u, v))
        pictures.append(image_of(decoded))
    assert np.abs(pictures[0].astype(int) - pictures[1].astype(int)).sum() > 0


def test_every_shipped_model_opens_from_the_menu(make_window, qtbot):
    from latentlab.core.shipped import shipped_models

    window = make_window()
    actions = {a.text(): a for a in window.shipped_menu.actions()}
    assert set(actions) == {p.stem for p in shipped_models()}
    for path in shipped_models():
        actions[path.stem].trigger()
        assert f"Opened {path.name}" in window.statusBar().currentMessage(), path
        assert window.model.latent_dim == load_checkpoint(path).model.latent_dim
        assert not window.training_panel.continue_check.isChecked()  # shipped: Train starts a new model


def test_malicious_checkpoint_is_refused_and_the_model_kept(make_window, qtbot, tmp_path):
    marker = tmp_path / "code-was-run"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    bad = tmp_path / "evil.pt"
    torch.save({"format": "latentlab-checkpoint", "payload": Exploit()}, bad)
    window = shown_window(make_window, qtbot)
    model_before = window.model
    assert window.open_checkpoint(bad) is False
    assert not marker.exists()
    assert "Refused" in window.statusBar().currentMessage()
    assert window.model is model_before
    assert "mnist-2d.pt" in window.windowTitle()


def test_truncated_and_foreign_files_show_an_error_and_keep_the_model(make_window, qtbot, tmp_path):
    data = default_checkpoint().read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    garbage = tmp_path / "notes.pt"
    garbage.write_text("not a checkpoint")
    window = shown_window(make_window, qtbot)
    model_before = window.model
    for path, words in ((truncated, "damaged"), (foreign, "not a latentlab checkpoint"),
                        (garbage, "not a"), (tmp_path / "missing.pt", "No such checkpoint")):
        assert window.open_checkpoint(path) is False
        assert words in window.statusBar().currentMessage(), path
        assert window.model is model_before
    # The error stays until the next action, which replaces it.
    window.export_curves_csv(tmp_path / "c.csv")
    assert "Exported" in window.statusBar().currentMessage()


def test_a_bad_checkpoint_on_the_command_line_falls_back_to_the_shipped_model(make_window, qtbot, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    window = make_window(bad)
    assert window.model is not None
    assert "bad.pt" in window.statusBar().currentMessage()


def test_save_then_open_gives_the_same_model_and_remembers_it(make_window, qtbot, tmp_path, isolated_app_state):
    window = shown_window(make_window, qtbot)
    path = tmp_path / "copy.pt"
    assert window.save_checkpoint(path)
    assert f"Saved {path}" in window.statusBar().currentMessage()
    saved = load_checkpoint(path)
    for a, b in zip(saved.model.state_dict().values(), window.model.state_dict().values()):
        assert torch.equal(a, b)
    assert window.open_checkpoint(path)
    assert window.training_panel.continue_check.isChecked()  # a user's run: Train continues it
    assert window.recent.paths()[0] == str(path.resolve())
    # Settings live in the test's folder, never in the user's.
    window.close()
    ini = isolated_app_state / "latentlab" / "latentlab.ini"
    assert ini.is_file()
    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    assert settings.value("lastOpened") == str(path.resolve())
    assert settings.value("window/state") is not None


def test_training_settings_and_layout_are_remembered(make_window, qtbot):
    window = make_window()
    window.training_panel.latent_dim.setValue(5)
    window.training_panel.epochs.setValue(7)
    window.training_dock.hide()
    window.close()
    again = make_window()  # the shipped model again: the form keeps the user's settings for a new model
    assert again.training_panel.latent_dim.value() == 5
    assert again.training_panel.epochs.value() == 7
    assert again.training_dock.isHidden()


def test_a_checkpoint_dropped_on_the_window_is_opened(make_window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    path = tmp_path / "dropped.pt"
    shutil.copy(default_checkpoint(), path)
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPoint(5, 5), *args)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(QPointF(5, 5), *args))
    assert "Opened dropped.pt" in window.statusBar().currentMessage()
    assert "dropped.pt" in window.windowTitle()


def test_menus_and_shortcuts(make_window, qtbot):
    window = make_window()
    shortcuts = {a.objectName(): a.shortcut().toString() for a in
                 (window.open_action, window.save_action, window.quit_action)}
    assert shortcuts == {"actionOpen": "Ctrl+O", "actionSave": "Ctrl+S", "actionQuit": "Ctrl+Q"}
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles[:2] == ["File", "View"] and "Help" in titles
    file_texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert any("Recent" in t for t in file_texts) and any(t.replace("&", "") == "Save As…" for t in file_texts)
    assert any("Encode" in t for t in file_texts)  # the explorer's actions are in the File menu


def test_about_and_help_do_not_block(make_window, qtbot):
    window = make_window()
    window.show_about()   # would hang the test (and time out) if it were a blocking exec()
    window.show_elbo_help()
    boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    assert len(boxes) == 2
    about = next(b for b in boxes if b.windowTitle() == "About latentlab")
    assert torch.__version__ in about.informativeText()
    for box in boxes:
        assert box.windowModality() == Qt.WindowModality.NonModal
        box.close()


def test_help_points_at_the_readme_section_on_the_elbo():
    from latentlab.gui.about import elbo_help_url, github_anchor, readme_path

    assert github_anchor(" How it works: the ELBO") == "how-it-works-the-elbo"
    if readme_path() is None:
        pytest.skip("no README.md beside the package (installed from a wheel)")
    url = elbo_help_url()
    assert url.isLocalFile() and url.toLocalFile().endswith("README.md")
    headings = [line for line in readme_path().read_text().splitlines() if line.startswith("#")]
    assert any(github_anchor(h.lstrip("#")) == url.fragment() and "ELBO" in h for h in headings)


def test_export_curves_as_csv_and_png(make_window, qtbot, tmp_path):
    window = shown_window(make_window, qtbot)
    csv_path, png_path = tmp_path / "curves.csv", tmp_path / "curves.png"
    assert window.export_curves_csv(csv_path) and window.export_curves_png(png_path)
    with open(csv_path) as f:
        assert tuple(next(csv.reader(f))) == COLUMNS
    rows, _ = read_metrics_csv(csv_path)  # the same reader as for `latentlab train`'s metrics.csv
    history = load_checkpoint(default_checkpoint()).history
    assert rows["train"]["step"] == history["steps"]["step"].tolist()
    np.testing.assert_allclose(rows["train"]["kl"], history["steps"]["kl"].numpy(), rtol=1e-5)
    assert rows["val"]["epoch"] == history["epochs"]["epoch"].tolist()
    picture = QImage(str(png_path))
    assert not picture.isNull() and picture.width() > 100


def test_smoothing_and_log_toggle_redraw_the_curves(make_window, qtbot):
    from latentlab.app.curve_data import mean_decimate, peak_decimate
    from latentlab.gui.curves import MAX_POINTS

    window = make_window()
    curves = window.curves
    qtbot.waitUntil(lambda: not curves._dirty)
    series = curves.data.train["neg_elbo"]
    drawn_before = curves.smooth_items["neg_elbo"].yData.copy()
    assert len(drawn_before) <= MAX_POINTS + len(series.raw) // (MAX_POINTS // 2)  # bounded drawing cost
    curves.smoothing_slider.setValue(0)
    qtbot.waitUntil(lambda: not curves._dirty)
    np.testing.assert_allclose(series.smooth.values, series.raw.values)  # weight 0: the raw data
    x, y = mean_decimate(curves.data.steps.values, series.raw.values, MAX_POINTS)   # the line: the trend
    np.testing.assert_allclose(curves.smooth_items["neg_elbo"].xData, x)
    np.testing.assert_allclose(curves.smooth_items["neg_elbo"].yData, y)
    assert not np.allclose(drawn_before, y)
    x, y = peak_decimate(curves.data.steps.values, series.raw.values, MAX_POINTS)    # raw points: the spikes
    np.testing.assert_allclose(curves.raw_items["neg_elbo"].yData, y)
    assert not curves.loss_plot.ctrl.logYCheck.isChecked()   # linear by default: the panels are zoomed
    curves.log_y.setChecked(True)
    assert curves.loss_plot.ctrl.logYCheck.isChecked() and curves.kl_curve_plot.ctrl.logYCheck.isChecked()
    curves.log_y.setChecked(False)
    assert not curves.loss_plot.ctrl.logYCheck.isChecked()


def test_screenshot_from_the_command_line(tmp_path):
    """`latentlab --screenshot out.png CKPT` as the docs use it: offscreen, waits for the first image."""
    out = tmp_path / "shot.png"
    checkpoint = tmp_path / "model.pt"
    shutil.copy(default_checkpoint(), checkpoint)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "latentlab", "--screenshot", str(out), str(checkpoint)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # the first look's image first (gui/first_look.py), then the main window's, which is the picture
    lines = result.stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if "first decoded image painted" in line)
    full = next(i for i, line in enumerate(lines) if "the full window painted its first decoded image" in line)
    assert first < full
    picture = QImage(str(out))
    assert (picture.width(), picture.height()) == (1280, 860)
    assert not (tmp_path / "config" / "latentlab").exists()  # a screenshot leaves the user's settings alone


def test_no_display_gives_a_clear_message_instead_of_a_crash(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    if sys.platform in ("darwin", "win32"):
        pytest.skip("there is always a display")
    result = subprocess.run([sys.executable, "-m", "latentlab"], env={**env, "HOME": str(tmp_path)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no display" in result.stderr and "xvfb-run" in result.stderr


def test_plain_pickle_files_are_refused(make_window, qtbot, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps(_Touch(marker)))
    window = make_window()
    assert not window.open_checkpoint(path)
    assert not marker.exists()


class _Touch:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_negative_nats_switch_the_curves_to_a_linear_axis(make_window, qtbot):
    """Frey Face's Gaussian decoder gives negative -ELBO: a log axis would draw a false floor."""
    from latentlab.core.shipped import shipped_models_dir

    window = shown_window(make_window, qtbot)
    log_check = window.findChild(QWidget, "logYCheck")
    log_check.setChecked(True)
    window.curves.redraw()
    assert log_check.isEnabled() and window.curves.loss_plot.ctrl.logYCheck.isChecked()
    window.open_checkpoint(shipped_models_dir() / "frey-2d.pt")
    window.curves.redraw()
    assert min(window.curves.data.train["neg_elbo"].raw.values) < 0
    assert not log_check.isEnabled()
    assert not window.curves.loss_plot.ctrl.logYCheck.isChecked()  # the plot really is linear
    window.open_checkpoint(shipped_models_dir() / "mnist-2d.pt")
    window.curves.redraw()
    assert log_check.isEnabled() and window.curves.loss_plot.ctrl.logYCheck.isChecked()


@pytest.mark.parametrize("section, value, field", [
    ("history", [1, 2, 3], "history"),
    ("trainer_state", "epoch 3", "trainer_state"),
    ("data.image_shape", [1, 28], "data.image_shape"),
    ("extras.label_names", 7, "extras.label_names"),
    ("train_config", ["lr"], "train_config"),
])
def test_a_wrongly_typed_section_switches_nothing(make_window, qtbot, tmp_path, section, value, field):
    """Opening switches the whole window or nothing: canvas, title, curves and panel stay."""
    from latentlab.core.shipped import shipped_models_dir

    payload = torch.load(shipped_models_dir() / "fashion-2d.pt", weights_only=True)
    *parents, last = section.split(".")
    target = payload
    for key in parents:
        target = target[key]
    target[last] = value
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    window = shown_window(make_window, qtbot)
    model, title, steps = window.model, window.windowTitle(), len(window.curves.data)
    assert window.open_checkpoint(bad) is False
    assert f"field {field}" in window.statusBar().currentMessage() and "bad.pt" in window.statusBar().currentMessage()
    assert window.model is model and window.windowTitle() == title and len(window.curves.data) == steps


def test_a_fifo_named_like_a_checkpoint_is_refused_at_once(make_window, qtbot, tmp_path):
    import os

    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    window = shown_window(make_window, qtbot)
    model = window.model
    assert window.open_checkpoint(fifo) is False        # returns: nothing waits for a writer
    assert "is a named pipe (FIFO), not a checkpoint file" in window.statusBar().currentMessage()
    assert window.model is model


def test_opening_reads_the_file_off_the_gui_thread(make_window, qtbot, monkeypatch):
    """While a (slow) file is read, the GUI thread keeps running its event loop: a timer fires."""
    import threading

    from PySide6.QtCore import QTimer

    from latentlab.core.checkpoint import load_checkpoint
    from latentlab.core.shipped import shipped_models_dir
    from latentlab.app import documents       # main_window reads checkpoints through app/documents.py

    window = shown_window(make_window, qtbot)
    fired, reader = threading.Event(), []

    def slow_read(path, *args, **kwargs):
        reader.append(threading.current_thread() is threading.main_thread())
        fired.wait(10)   # released by a GUI-thread timer: it can only fire if the GUI thread is free
        return load_checkpoint(path, *args, **kwargs)

    monkeypatch.setattr(documents, "load_checkpoint", slow_read)
    QTimer.singleShot(20, fired.set)
    assert window.open_checkpoint(shipped_models_dir() / "fashion-2d.pt")
    assert reader == [False] and fired.is_set()
    assert window.open_checkpoint(shipped_models_dir() / "mnist-2d.pt")   # and the next open works
