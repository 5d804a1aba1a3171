"""Take the README's pictures of latent geometry and posterior collapse (issue 11).

    LATENTLAB_DATA=/path/to/datasets python docs/screenshots/make_geometry_screenshots.py

* magnification.png: the canvas of the shipped MNIST 2-D model with the magnification layer
  (log sqrt(det J^T J) of the decoder, with its colour key) under the test set.
* aggregate.png: the same canvas with the aggregate posterior q(z) of the test images, the
  holes outlined in red inside the prior's 2σ circle, and I(x; z) and KL(q(z) || p(z)) in its key.
* paths.png: the canvas with the straight line, slerp and the geodesic between a 0 and a 1 of the
  shipped samples, with their decoded lengths; the strip follows the geodesic.
* traversal-20d.png: the traversal figure of the shipped 20-D model (the Traversal tab's picture,
  2x), rows by KL, the collapsed dimensions grey under the line.
* collapse-20d.png: the Collapse tab for the 20-D model: KL per dimension over its training.

Without LATENTLAB_DATA (or without the MNIST files there) q(z) and the traversal's KL come from
the 100 sample images in resources/samples. Runs offscreen with throw-away settings (~1 minute).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from shots import open_window, save, wait_until  # this folder's shared helpers

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SIZE = (1600, 900)


def settle(app, rounds: int = 40) -> None:
    for _ in range(rounds):
        app.processEvents()


def main() -> int:
    from PIL import Image

    app, window = open_window(SIZE)
    explorer = window.explorer
    layers = explorer.geometry
    canvas_area = explorer.canvas.parentWidget()
    window.open_checkpoint(str(ROOT / "trained" / "mnist-2d.pt"))
    wait_until(app, lambda: explorer.model is not None and explorer.truth.examples is not None, timeout=60)
    explorer.splitter.setSizes([900, 700])
    settle(app)

    # The magnification layer.
    layers.set_shown(magnification=True)
    wait_until(app, lambda: layers.magnification is not None and not layers.computing, timeout=120)
    settle(app)
    save(canvas_area, HERE / "magnification.png", max_bytes=600_000)

    # The aggregate posterior with its holes and the ELBO surgery.
    layers.set_shown(magnification=False, aggregate=True)
    wait_until(app, lambda: layers.aggregate is not None and layers.surgery is not None and not layers.computing,
               timeout=120)
    settle(app)
    save(canvas_area, HERE / "aggregate.png", max_bytes=600_000)
    layers.set_shown(aggregate=False)

    # Three paths between a 0 and a 1, the strip along the geodesic.
    samples = sorted((ROOT / "resources" / "samples" / "mnist").glob("*.png"))
    zero = next(p for p in samples if p.name.startswith("0_"))
    one = next(p for p in samples if p.name.startswith("1_"))
    explorer.encode_files([zero, one])
    wait_until(app, lambda: sum(e.posterior is not None for e in explorer.encodings()) == 2, timeout=60)
    explorer.tabs.setCurrentWidget(explorer.interpolation)
    strip = explorer.interpolation
    strip.mode.setCurrentIndex(strip.mode.findData("geodesic"))
    wait_until(app, lambda: explorer.path_presenter.layer.legend.isVisible()
               and explorer.state.path is not None and "geodesic" in strip.caption.text(), timeout=60)
    explorer.truth.set_display(shown=False)            # the paths, not the posterior of the 1
    settle(app)
    save(explorer, HERE / "paths.png", max_bytes=700_000)
    print("paths:", explorer.path_presenter.layer.texts(), file=sys.stderr)

    # The 20-D model: its traversal and its collapse over training.
    window.open_checkpoint(str(ROOT / "trained" / "mnist-20d.pt"))
    wait_until(app, lambda: explorer.model is not None and explorer.model.latent_dim == 20
               and explorer.truth.examples is not None, timeout=60)
    explorer.tabs.setCurrentWidget(explorer.traversal)
    wait_until(app, lambda: explorer.traversal.array() is not None
               and "test images" in explorer.traversal.caption.text(), timeout=60)
    array = explorer.traversal.array()
    big = Image.fromarray(array).resize((array.shape[1] * 2, array.shape[0] * 2), Image.Resampling.NEAREST)
    big.save(HERE / "traversal-20d.png", optimize=True)
    print(f"wrote {HERE / 'traversal-20d.png'}; {explorer.traversal.caption.text()}", file=sys.stderr)
    window.collapse_dock.show()
    window.collapse_dock.setFloating(True)
    window.collapse_dock.resize(760, 560)
    settle(app)
    save(window.collapse, HERE / "collapse-20d.png")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
