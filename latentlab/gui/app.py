"""Starting the desktop app: `latentlab`, `latentlab gui [CKPT]`, `python -m latentlab`.

`run_app(checkpoint=None, screenshot=None)` is what the command line calls. For a model the first
look can show (an MLP VAE with its test set: the shipped one, most checkpoints) a window is up in
well under a second, before torch is imported (gui/first_look.py), and the main window takes over
when it is ready (gui/startup.py). Any other checkpoint, or one that cannot be read, opens in the
main window directly, as it always did.

With `screenshot`, the line "first decoded image painted" is printed when the first decoded image
reaches the screen (benchmarks/cold_start.py times it), and once the main window has painted its
own first decoded image the window is grabbed into a PNG and the app exits (works with
QT_QPA_PLATFORM=offscreen, so docs and smoke tests need no display).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from pathlib import Path

_IMPORTED = time.perf_counter()

SCREENSHOT_TIMEOUT_MS = 60_000
SCREENSHOT_SETTLE_MS = 100
SCREENSHOT_SIZE = (1280, 860)   # let the rest of the window finish its first layout and paint


def _needs_offscreen() -> bool:
    """No display to talk to (a server, CI): Qt would abort, so draw offscreen instead."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("darwin", "win32"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def make_application(argv=None):
    """The QApplication, named and with its icon, collecting garbage on the GUI thread only."""
    from .gc_guard import collect_on_gui_thread

    app = _make_bare_application(argv)
    collect_on_gui_thread(app)   # never in a worker thread: see gui/gc_guard.py
    return app


def _make_bare_application(argv=None):
    """make_application without the garbage collector's timer (which imports pyqtgraph)."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from latentlab import __version__
    from latentlab.core.shipped import icon_path

    from .settings import APPLICATION, ORGANIZATION

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("latentlab")
    if (icon := icon_path()) is not None:        # every window's title bar and the task bar
        app.setWindowIcon(QIcon(str(icon)))
    return app


class ScreenshotTaker:
    """Says when the first decoded image is painted; saves a picture of the main window once its
    own first decoded image is painted, then quits the app."""

    def __init__(self, path, app):
        from PySide6.QtCore import QTimer

        self.path, self.app = Path(path), app
        self.size = SCREENSHOT_SIZE
        self.window = None
        self.exit_code = 1
        self._announced = self._taken = False
        self._timeout = QTimer(singleShot=True, interval=SCREENSHOT_TIMEOUT_MS)
        self._timeout.timeout.connect(self._on_timeout)
        self._timeout.start()

    def announce(self) -> None:
        """A decoded image reached the screen (the first look's or the main window's)."""
        if not self._announced:
            self._announced = True
            # benchmarks/cold_start.py times the arrival of this line from outside the process.
            print(f"first decoded image painted ({time.perf_counter() - _IMPORTED:.2f} s after the app module "
                  "was imported)", file=sys.stderr, flush=True)

    def watch(self, window) -> None:
        """Take the picture of `window` (a MainWindow) when its explorer shows its first image."""
        self.window = window
        window.resize(*self.size)   # pictures for the docs all have one size
        window.explorer.imageShown.connect(self._on_image_shown)

    def _on_image_shown(self) -> None:
        from PySide6.QtCore import QTimer

        self.announce()
        if not self._taken:
            self._taken = True
            print(f"the full window painted its first decoded image ({time.perf_counter() - _IMPORTED:.2f} s after "
                  "the app module was imported)", file=sys.stderr, flush=True)
            QTimer.singleShot(SCREENSHOT_SETTLE_MS, self._grab)

    def _grab(self) -> None:
        self._timeout.stop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.window.grab().save(str(self.path), "PNG"):
            print(f"wrote {self.path}", file=sys.stderr)
            self.exit_code = 0
        else:
            print(f"latentlab: error: could not write {self.path}", file=sys.stderr)
        self.window.close()

    def _on_timeout(self) -> None:
        print("latentlab: error: no decoded image was painted; no screenshot taken", file=sys.stderr)
        self.app.quit()


def run_app(checkpoint=None, screenshot=None, argv=None) -> int:
    """Open the main window (on `checkpoint`, else the shipped model) and run until it closes."""
    if _needs_offscreen():
        if not screenshot:  # Qt would abort the process with a cryptic message
            print("latentlab: error: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not "
                  "set). On a server use `latentlab train`, or `xvfb-run latentlab`, or take a picture with "
                  "`latentlab --screenshot out.png`.", file=sys.stderr)
            return 1
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # Garbage is collected on the GUI thread only (gui/gc_guard.py); its timer comes with pyqtgraph,
    # after the first look. Until then nothing is collected automatically, in no thread.
    gc.disable()
    app = _make_bare_application(argv)

    from PySide6.QtCore import QTimer

    from latentlab.core.shipped import default_checkpoint

    from .first_look import open_first_look
    from .settings import app_settings
    from .startup import Startup

    settings = scratch = None
    if screenshot:
        # A picture for the docs shows the app as a newcomer sees it, and taking one changes
        # nothing the user has (layout, recent files): settings go to a throw-away file.
        import tempfile

        from PySide6.QtCore import QSettings

        scratch = tempfile.TemporaryDirectory(prefix="latentlab-screenshot-")
        settings = QSettings(os.path.join(scratch.name, "settings.ini"), QSettings.Format.IniFormat)
    taker = ScreenshotTaker(screenshot, app) if screenshot else None
    look = open_first_look(checkpoint if checkpoint is not None else default_checkpoint(),
                           settings if settings is not None else app_settings())
    startup = Startup(app, checkpoint, settings, taker, look)

    # Ctrl+C in the terminal closes the window like Quit does (Python only sees the signal
    # when the interpreter runs, hence the idle timer).
    previous = signal.signal(signal.SIGINT, lambda *_: startup.close())
    heartbeat = QTimer(interval=250)
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start()
    try:
        code = app.exec()
    finally:
        signal.signal(signal.SIGINT, previous)
        heartbeat.stop()
        startup.shutdown()  # no-op after a normal close; needed if the loop ended another way
    if startup.failed:
        return 1
    return taker.exit_code if taker is not None else code
