"""Take the README's picture of File > Compare With… on three shipped models.

    python docs/screenshots/make_compare_screenshot.py

* compare.png: the comparison view at 1280 x 720 (a projector): the window's mnist-2d beside
  fashion-2d and mnist-5d, the mouse over the mnist-2d canvas (its point marked with a cross on
  both 2-D canvases, since offscreen grabs have no cursor) decoded by both 2-D models, the 5-D one
  saying why it shows nothing there, a dropped test digit encoded by all three (each canvas draws
  its ellipse), and the table of the three models' numbers from their model cards.
* compare-1920x1080.png: the same at 1920 x 1080.
* compare-elbo-iwae.png: the window's mnist-2d (trained on the ELBO) beside mnist-2d-iwae (the same
  network trained on the IWAE bound L_5), at 1280 x 720, the same hover and digit.

Runs offscreen with throw-away settings; drives the view through the calls a user's mouse and
drop make (`MainWindow.compare_with`, a mouse move on a canvas, a file dropped on a canvas).
"""

from __future__ import annotations

import sys
from pathlib import Path

from shots import open_window, save, wait_until  # this folder's shared helpers

HERE = Path(__file__).resolve().parent
# picture -> (window size, the shipped models compared with the window's mnist-2d)
SHOTS = {"compare.png": ((1280, 720), ("fashion-2d", "mnist-5d")),
         "compare-1920x1080.png": ((1920, 1080), ("fashion-2d", "mnist-5d")),
         "compare-elbo-iwae.png": ((1280, 720), ("mnist-2d-iwae",))}
HOVER = (-0.6, 1.1)          # between clusters, where both 2-D decoders draw something clear


def main() -> int:
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    from latentlab.core.shipped import samples_dir, shipped_models_dir

    app, window = open_window((1280, 720))
    digit = sorted((samples_dir() / "mnist").glob("3_*.png"))[0]
    for name, (size, others) in SHOTS.items():
        assert window.compare_with([shipped_models_dir() / f"{other}.pt" for other in others])
        count = 1 + len(others)
        two_d = 1 + sum(other.endswith("2d") or "2d-" in other for other in others)
        view, state = window.comparing.view, window.comparing.state
        view.resize(*size)
        ids = list(state.models)
        wait_until(app, lambda: len(state.rows) == count)
        view.encode_files([str(digit)])
        wait_until(app, lambda: len(state.posteriors) == count)
        for _ in range(30):      # laid out at the new size: pixel <-> latent mapping settled
            app.processEvents()
        canvas = view.panel(ids[0]).canvas
        pos = canvas.map_from_canvas(*HOVER)
        # To the view's own window: offscreen, every window sits at (0, 0) and a move aimed at a
        # widget would reach the main window on top of it.
        QTest.mouseMove(view.windowHandle(), canvas.mapTo(view, pos + QPoint(1, 1)))
        QTest.mouseMove(view.windowHandle(), canvas.mapTo(view, pos))
        wait_until(app, lambda: state.hover is not None and state.hover[0] == ids[0]
                   and abs(state.hover[1][0] - HOVER[0]) < 0.05 and len(state.hover_images) == two_d)
        for _ in range(30):
            app.processEvents()
        save(view, HERE / name)
        window.comparing.close_view()
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
