"""Take the README's pictures of the ground truth on the shipped MNIST 2-D model (issue 10).

    LATENTLAB_DATA=/path/to/datasets python docs/screenshots/make_ground_truth_screenshots.py

* examples-table.png: the window at 1920 x 1080 with the Examples tab sorted by the ELBO's gap,
  worst first, and the image with the largest gap selected: its true posterior as a heat map
  under its q ellipses, zoomed in.
* posterior.png: the canvas for test image 40 (a 1 from the sparse rim of the code, so its
  posterior is wide enough to see its shape), with the filled 39 % / 86 % contours of p(z|x),
  the encoder's q (solid 1σ, dashed 2σ) and the optimised q* (green, dashed and dotted).
* gap-panel.png: the Gaps tab for it: log p(x), ELBO*, ELBO, the two gaps and the L_k curve.

Without LATENTLAB_DATA (or without the MNIST files there) the examples are the 100 sample
images in resources/samples. Runs offscreen with throw-away settings; the table takes a few
minutes for 1,000 test images on two cores.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from shots import open_window, save, wait_until  # this folder's shared helpers

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
SIZE = (1920, 1080)
PICKED = 40                # test image 40: see the docstring


def main() -> int:
    from PySide6.QtCore import Qt

    from latentlab.app.examples import COLUMN_KEYS

    app, window = open_window(SIZE)
    explorer = window.explorer
    truth = explorer.truth
    explorer.right_splitter.setSizes([260, 820])
    explorer.splitter.setSizes([1040, 880])
    wait_until(app, lambda: truth.examples is not None)

    # The table, worst gap first, and the image with the largest gap selected.
    explorer.tabs.setCurrentWidget(explorer.examples)
    wait_until(app, lambda: truth.progress.phase == "done", timeout=1800)
    view = explorer.examples.view
    view.sortByColumn(COLUMN_KEYS.index("gap"), Qt.SortOrder.DescendingOrder)
    view.selectRow(0)
    wait_until(app, lambda: truth.gaps is not None and truth.picture is not None and not truth.picture.coarse,
               timeout=120)
    explorer.zoom_to_posterior()
    settle(app)
    save(window, HERE / "examples-table.png", max_bytes=900_000)   # 256 colours would merge the labels' colours

    # The canvas alone, for a wide posterior, with contours and q*.
    explorer.truth_work.select_example(truth.examples.row_of(PICKED))
    wait_until(app, lambda: truth.selected_name.startswith(f"test image {PICKED} ") and truth.gaps is not None
               and truth.picture is not None and not truth.picture.coarse, timeout=120)
    truth.set_display(style="contours", q_star=True)
    explorer.zoom_to_posterior()
    settle(app)
    left = explorer.canvas.parentWidget()
    save(left, HERE / "posterior.png", max_bytes=600_000)

    # The gap panel.
    explorer.tabs.setCurrentWidget(explorer.gap_panel)
    settle(app)
    save(explorer.gap_panel, HERE / "gap-panel.png")
    window.shutdown()
    return 0


def settle(app, rounds: int = 30) -> None:
    """Let the window lay itself out and paint (axes, tick labels) before it is grabbed."""
    for _ in range(rounds):
        app.processEvents()


if __name__ == "__main__":
    sys.exit(main())
