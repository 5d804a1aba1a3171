"""Helpers shared by the screenshot scripts in this folder."""

from __future__ import annotations

import sys
import time
from pathlib import Path

MAX_BYTES = 300_000


def wait_until(app, condition, timeout: float = 10.0) -> None:
    """Process Qt events until `condition()` holds (the screenshots are taken of a live window)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.005)


def settle(app, seconds: float = 1.0) -> None:
    """Let layouts, label placement and pending paints finish (the pictures are of a live window)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(widget, path: Path, max_bytes: int = MAX_BYTES) -> None:
    """PNG of the widget, quantised to 256 colours when the full-colour file is over `max_bytes`."""
    from PIL import Image

    raw = path.with_suffix(".raw.png")
    widget.grab().save(str(raw), "PNG")
    image = Image.open(raw).convert("RGB")
    image.save(path, optimize=True)
    if path.stat().st_size > max_bytes:
        # Octree keeps the few saturated colours (the digit classes' legend) that median cut merged
        # into the window's greys; no dithering, so text stays clean.
        image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(path, optimize=True)
    raw.unlink()
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)", file=sys.stderr)


def open_window(size: tuple[int, int], explorer_only: bool = True):
    """(app, window): the main window offscreen at `size`, with throw-away settings and runs folder
    (nothing of the user's is read or written); `explorer_only` hides the docks (training, curves,
    collapse, rate-distortion) so that the explorer gets the whole window."""
    import os
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="latentlab-shots-"))
    os.environ["LATENTLAB_RUNS"] = str(scratch / "runs")
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
    from latentlab.gui.app import make_application
    from latentlab.gui.main_window import MainWindow

    app = make_application()
    window = MainWindow()
    window.remember_layout = False
    window.resize(*size)
    if explorer_only:
        for dock in (window.training_dock, window.curves_dock, window.collapse_dock, window.rd_plane_dock):
            dock.hide()
    window.show()
    return app, window
