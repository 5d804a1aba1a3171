"""Measure what the README and the issue-9 closing note say about sizes: the window's minimum, the
canvas and decoded image at 900x600, 1280x720 and 1920x1080, and export sizes (figures at 4x, the
canvas at 4x, the curves). Offscreen, throw-away settings:

    python docs/screenshots/measure_sizes.py
"""
import os, sys, tempfile, time
os.environ["QT_QPA_PLATFORM"]="offscreen"
from pathlib import Path
scratch = Path(tempfile.mkdtemp()); os.environ["LATENTLAB_RUNS"] = str(scratch / "runs")
from PySide6.QtCore import QSettings
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
from latentlab.gui.app import make_application
from latentlab.gui.main_window import MainWindow
from latentlab.app.figure_work import figure_shape
from latentlab.gui.canvas_export import render_png
from PIL import Image
app = make_application([])
for size in ((900, 600), (1280, 720), (1920, 1080)):
    w = MainWindow(); w.remember_layout = False; w.resize(*size); w.show()
    t = time.time()
    while time.time() - t < 1.5: app.processEvents()
    w.view.reset_layout()
    t = time.time()
    while time.time() - t < 0.5: app.processEvents()
    st = w.explorer.state
    print(size, "minimumSizeHint", w.minimumSizeHint().toTuple(), "minimumSize", w.minimumSize().toTuple(), "canvas", w.explorer.canvas.size().toTuple(), "decoded", w.explorer.decoded.size().toTuple(),
          "canvas png 4x", render_png(w.explorer.canvas, 4).shape[:2][::-1])
    if size == (1280, 720):
        for name in ("manifold", "samples"):
            h, ww = figure_shape(st, name); print(name, "1x", (ww, h), "4x", (4*ww, 4*h))
        p = scratch / "curves.png"; w.curves.export_figure(p); print("curves png", Image.open(p).size)
        for k in ("svg", "pdf"):
            q = scratch / f"curves.{k}"; w.curves.export_figure(q); print("curves", k, q.stat().st_size // 1024, "KB")
    w.close()
