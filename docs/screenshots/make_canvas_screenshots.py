"""Take the README's pictures of the latent canvas on the shipped MNIST 2-D model.

    python docs/screenshots/make_canvas_screenshots.py

* canvas-hover.png: the mouse over the canvas (marked with a ring, since offscreen grabs have no
  cursor) and the decoded image beside it.
* canvas-drop.png: three real test digits dropped on the canvas, each with its posterior mean and
  1- and 2-sigma ellipses to scale, plus a few draws from q(z|x) for the latest one.
* manifold.png: the canvas beside the AEVB Figure 4 manifold of the same model.

Runs offscreen; drives the explorer through the same calls a user's mouse and drops make.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from shots import save, wait_until  # this folder's shared helpers

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SIZE = (1100, 640)




def main() -> int:
    import pyqtgraph as pg
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from latentlab import load_checkpoint
    from latentlab.core.shipped import default_checkpoint
    from latentlab.gui.explorer import LatentExplorer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    ckpt = load_checkpoint(default_checkpoint())
    explorer = LatentExplorer()
    explorer.resize(*SIZE)
    explorer.show()
    shown = []
    explorer.imageShown.connect(lambda: shown.append(time.monotonic()))
    explorer.set_model(ckpt.model, ckpt.extras)
    wait_until(app, lambda: shown)
    for _ in range(20):
        app.processEvents()
    canvas = explorer.canvas

    # 1. Hovering: the mouse between the clusters, where the decoder morphs one digit into another;
    #    two pinned points with their images, and the prior samples figure open below.
    for pin in ((-1.2, -0.9), (0.2, 1.9)):
        explorer.pin(np.array(pin))
    explorer.tabs.setCurrentWidget(explorer.prior_samples)
    wait_until(app, lambda: explorer.prior_samples.array() is not None and len(explorer.pin_row.images()) == 2)
    u, v = 0.9, 0.35
    ring = pg.TargetItem(pos=(u, v), size=18, symbol="o", pen=pg.mkPen("#ffffff", width=2), movable=False)
    canvas.plot_item.addItem(ring)
    count = len(shown)
    QTest.mouseMove(canvas, canvas.map_from_canvas(u, v))
    wait_until(app, lambda: len(shown) > count)
    save(explorer, HERE / "canvas-hover.png")
    canvas.plot_item.removeItem(ring)

    explorer.clear_pins()
    explorer.tabs.setCurrentIndex(0)

    # 2. Dropping digits: posterior means with their ellipses to scale. Two 1s from the sparse rim
    #    of the code (wide posteriors) against digits from the dense middle (tight ones).
    samples = ROOT / "resources" / "samples" / "mnist"
    picks = [samples / name for name in ("1_0096.png", "1_0040.png", "4_0004.png", "7_0017.png")]
    picks = [p if p.exists() else next(samples.glob(p.name[:2] + "*.png")) for p in picks]
    explorer.encode_files([str(p) for p in picks])
    wait_until(app, lambda: len(explorer.encodings()) == len(picks) and all(e.posterior for e in explorer.encodings()))
    centres = np.array([e.posterior.mu for e in explorer.encodings()])
    (x0, y0), (x1, y1) = centres.min(axis=0) - 0.6, centres.max(axis=0) + 0.6
    canvas.plot_item.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    for _ in range(20):
        app.processEvents()
    save(explorer, HERE / "canvas-drop.png")

    # 3. The manifold beside the canvas it summarises.
    explorer.clear_canvas()
    canvas.reset_view(explorer.plane.project(explorer.state.scatter.means))
    explorer.tabs.setCurrentWidget(explorer.manifold)
    # As a user drags the splitters: room for the whole 560 px figure (it never shrinks below its
    # own size; it would scroll).
    explorer.resize(1300, 760)
    explorer.splitter.setSizes([660, 640])
    explorer.right_splitter.setSizes([60, 700])
    wait_until(app, lambda: explorer.manifold.array() is not None)
    for _ in range(20):
        app.processEvents()
    save(explorer, HERE / "manifold.png")
    explorer.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
