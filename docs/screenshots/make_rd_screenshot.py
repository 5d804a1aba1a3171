"""Take the README's picture of the rate-distortion plane (issue 13).

    LATENTLAB_DATA=/path/to/datasets latentlab sweep --beta 0.25 0.5 1 2 4 --latent-dim 2 --epochs 3 \\
        --out /tmp/sweep-demo --jobs 1
    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_rd_screenshot.py [/tmp/sweep-demo]

* rate-distortion.png: the window at 1920 x 1080 with the Rate–Distortion tab raised: the shipped
  MNIST models (card numbers) and the sweep's five runs (validation numbers), coloured by beta,
  the lines of constant -ELBO, one point hovered.
* rate-distortion-1280x720.png: the same at 1280 x 720, where the tab is in the right-hand column.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from PySide6.QtCore import Qt  # noqa: E402

from shots import open_window, save, wait_until  # noqa: E402


def shoot(size: tuple[int, int], sweep: Path, out: Path, hover: str | None) -> None:
    app, window = open_window(size, explorer_only=False)
    view = window.rd_plane
    window.rd_plane_dock.show()
    window.rd_plane_dock.raise_()
    # A wide right-hand column, so the plane is large enough to read in the README.
    window.resizeDocks([window.rd_plane_dock], [int(size[0] * 0.42)], Qt.Orientation.Horizontal)
    wait_until(app, lambda: bool(view.points), timeout=60)
    scanned = []
    view.pointsChanged.connect(lambda: scanned.append(True))
    view.add_folder(sweep)
    wait_until(app, lambda: bool(scanned), timeout=60)
    wait_until(app, lambda: window.explorer.state.model is not None, timeout=60)
    for _ in range(20):
        app.processEvents()
    if hover:
        point = next((p for p in view._shown if p.name == hover), None)
        if point is not None:
            view._on_mouse_moved(view.scene_pos_of(point))
    app.processEvents()
    save(window, out)
    window.shutdown()
    window.close()


def main() -> None:
    sweep = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/sweep-demo")
    if not (sweep / "sweep.json").is_file():
        raise SystemExit(f"{sweep} holds no sweep.json: run the sweep in this file's docstring first")
    shoot((1920, 1080), sweep, HERE / "rate-distortion.png", hover="beta-4-d2")
    shoot((1280, 720), sweep, HERE / "rate-distortion-1280x720.png", hover="beta-0.25-d2")


if __name__ == "__main__":
    main()
