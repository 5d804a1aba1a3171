"""The desktop app (PySide6 + pyqtgraph); the only part of latentlab that imports Qt.

    from latentlab.gui import MainWindow

`MainWindow` is imported on first use, so `latentlab.gui.app` can set up the QApplication
before torch and the widgets load.
"""

from . import pyside_fixes

# First thing on import of any GUI module, before a single Qt call: PySide6 6.12.0 on Python 3.11
# loses a reference to None/True/False per call, and a training window makes thousands a minute.
pyside_fixes.apply()

__all__ = ["MainWindow", "run_app"]


def __getattr__(name):
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    if name == "run_app":
        from .app import run_app

        return run_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
