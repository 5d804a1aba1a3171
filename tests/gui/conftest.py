"""Fixtures for the GUI tests: offscreen Qt, settings and run folders in temporary places.

Every test gets its own QSettings location and run folder, so no test reads or writes the
user's real settings or fills their data folder with runs.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def gc_on_gui_thread(qapp):
    """As the app does (gui/app.py): garbage is collected on the GUI thread only, never in a
    training or decoding thread, where destroying a Qt object deadlocks (gui/gc_guard.py)."""
    from latentlab.gui.gc_guard import collect_on_gui_thread

    return collect_on_gui_thread(qapp)


@pytest.fixture(autouse=True)
def isolated_app_state(tmp_path, monkeypatch, qapp):
    """Settings in tmp_path/settings, runs autosaved under tmp_path/runs."""
    settings_dir = tmp_path / "settings"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir))
    monkeypatch.setenv("LATENTLAB_RUNS", str(tmp_path / "runs"))
    qapp.setOrganizationName("latentlab")
    qapp.setApplicationName("latentlab")
    yield settings_dir


@pytest.fixture
def tiny_data(tiny_data_root, monkeypatch):
    """The 100-image data root from resources/samples as the app's data folder (no download)."""
    monkeypatch.setenv("LATENTLAB_DATA", str(tiny_data_root))
    monkeypatch.setenv("LATENTLAB_MIRRORS", "http://127.0.0.1:9/")  # never the internet
    return tiny_data_root


@pytest.fixture
def make_window(qtbot):
    """MainWindow factory; every window is closed (its threads stopped) at the end of the test."""
    from latentlab.gui import MainWindow

    windows = []

    def make(checkpoint=None, show: bool = True):
        window = MainWindow(checkpoint=checkpoint)
        qtbot.addWidget(window, before_close_func=lambda w: w.shutdown())
        windows.append(window)
        if show:  # laid out, so clicks land on real buttons
            window.show()
            qtbot.waitExposed(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
