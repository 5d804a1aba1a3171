"""Responsiveness while true posteriors are computed: hover latency beside the idle one (issue 10).

    QT_QPA_PLATFORM=offscreen python benchmarks/posterior_responsiveness.py

Opens the main window offscreen on the shipped MNIST 2-D model and measures, in one process:

* picture latency: for 10 test images picked from the examples, the time from the image's
  posterior arriving (it is encoded) to its first (coarse) picture of p(z|x) on the canvas, and
  to the full one; beside the plain cost of decoding 65,536 points (a dense 256 x 256 grid) with
  one torch thread;
* hover -> painted latency (as benchmarks/hover_latency.py measures it: a synthetic mouse move to
  the end of the decoded image's paintEvent), p50/p95, one move every 10 ms (a mouse's rate; the
  event loop runs in between, so background results are delivered as in use), in three phases:
  - idle: nothing else running;
  - drawing: the drawing pad's image changes every 30 ms (a stroke growing pixel by pixel, as
    drawing does), so the coarse picture of p(z|x) follows it on its thread, and whenever it
    rests long enough the full picture and the gaps run on theirs;
  - drawing, hidden: the same with the true posterior hidden (no pictures computed; the ellipse,
    the reconstruction and the gaps still follow the drawing), to tell its share from drawing's;
  - table: the Examples tab computing its table (-ELBO, IW-NLL with k = 1,000, exact NLL) in the
    background, chunk after chunk.
  Also how many coarse pictures the drawing phase got per second.

Run it when nothing else heavy runs (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from hover_latency import hover_path, percentiles  # noqa: E402
from hover_latency import measure as hover_measure  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

STROKE_MS = 30
MOVE_MS = 10


def measure(canvas, explorer, points, interval_ms: int = MOVE_MS):
    """Latency of each move, one move every `interval_ms` (hover_latency.py's measurement)."""
    return hover_measure(canvas, explorer, points, interval_ms=interval_ms)


def decode_grid_reference(model, side: int = 256) -> float:
    """Seconds to decode side x side latent points in chunks of 8,192, one torch thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    z = torch.randn(side * side, model.latent_dim)
    with torch.inference_mode():
        model.decode(z[:8192])
        t0 = time.perf_counter()
        for chunk in z.split(8192):
            model.decode(chunk)
        elapsed = time.perf_counter() - t0
    torch.set_num_threads(before)
    return elapsed


def wait(app, condition, timeout: float = 60.0) -> bool:
    deadline = time.perf_counter() + timeout
    while not condition() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    return condition()


def picture_latency(app, explorer, rows) -> dict:
    """Encoded (its posterior arrives) -> coarse picture shown, and -> full picture shown."""
    truth, state = explorer.truth, explorer.state
    coarse, full = [], []
    for row in rows:
        marks = {}
        state.events.posterior.connect(on_posterior := lambda _id: marks.setdefault("encoded", time.perf_counter()))
        truth.events.picture.connect(on_picture := lambda: truth.picture is not None and marks.setdefault(
            "coarse" if truth.picture.coarse else "full", time.perf_counter()))
        explorer.truth_work.select_example(row)
        wait(app, lambda: "full" in marks)
        wait(app, lambda: explorer.exact_thread.idle() and truth.gaps is not None)   # the gaps done too
        state.events.posterior.disconnect(on_posterior)
        truth.events.picture.disconnect(on_picture)
        coarse.append(marks["coarse"] - marks["encoded"])
        full.append(marks["full"] - marks["encoded"])
    return {"coarse": percentiles(coarse), "full": percentiles(full)}


class Drawing:
    """Feeds the drawing pad's path a growing stroke every STROKE_MS, as a user drawing does."""

    def __init__(self, explorer, image: np.ndarray):
        self.explorer = explorer
        ys, xs = np.nonzero(image > 127)
        order = np.argsort(ys * 100 + xs)
        self.points = list(zip(ys[order], xs[order]))
        self.image = image
        self.step = 0
        self.pictures = 0
        explorer.truth.events.picture.connect(self._count)
        self.timer = QTimer(interval=STROKE_MS)
        self.timer.timeout.connect(self.stroke)

    def _count(self) -> None:
        if self.explorer.truth.picture is not None and self.explorer.truth.picture.coarse:
            self.pictures += 1

    def stroke(self) -> None:
        self.step = self.step % len(self.points) + 1
        grey = np.zeros_like(self.image)
        for y, x in self.points[: max(self.step, 8)]:
            grey[y, x] = 255
        self.explorer.work.set_drawing(grey)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=1000, help="per phase, one every 10 ms")
    args = parser.parse_args(argv)
    os.environ.setdefault("LATENTLAB_DATA", str(Path(os.devnull)))   # no data folder: the sample images
    app = QApplication.instance() or QApplication(sys.argv[:1])
    torch.set_num_threads(1)
    from latentlab.gui import MainWindow

    load = os.getloadavg()[0]
    window = MainWindow()
    window.resize(1280, 860)
    window.show()
    explorer = window.explorer
    truth = explorer.truth
    wait(app, lambda: explorer.decoded.image() is not None and truth.examples is not None)
    canvas = window.findChild(QWidget, "latentCanvas")
    points = hover_path(canvas, 2 * args.moves + 1)
    forward, backward = points[1:args.moves + 1], points[args.moves + 1:][::-1]
    phases = [forward, backward, forward[::-1], backward[::-1]]

    grid_s = decode_grid_reference(explorer.model)
    latency = picture_latency(app, explorer, range(10))

    results = {}
    measure(canvas, explorer, points[:100], interval_ms=0)          # warm-up
    lat, missed = measure(canvas, explorer, phases[0])
    results["idle"] = {**percentiles(lat), "missed": missed}

    explorer.tabs.setCurrentWidget(explorer.drawpad)
    for phase, shown, moves in (("drawing", True, phases[1]), ("drawing, hidden", False, phases[2])):
        truth.set_display(shown=shown)
        drawing = Drawing(explorer, truth.examples.pixels[0][0])
        drawing.timer.start()
        t0 = time.perf_counter()
        lat, missed = measure(canvas, explorer, moves)
        seconds = time.perf_counter() - t0
        drawing.timer.stop()
        results[phase] = {**percentiles(lat), "missed": missed,
                          "coarse_pictures_per_s": round(drawing.pictures / seconds, 1),
                          "strokes_per_s": round(1000 / STROKE_MS, 1)}
        explorer.work.set_drawing(np.zeros_like(truth.examples.pixels[0][0]))
        wait(app, lambda: explorer.exact_thread.idle() and explorer.live_thread.idle())
    truth.set_display(shown=True)

    explorer.tabs.setCurrentWidget(explorer.examples)
    wait(app, lambda: truth.progress.running)
    started = truth.progress
    lat, missed = measure(canvas, explorer, phases[3])
    results["table"] = {**percentiles(lat), "missed": missed,
                        "table_progress": f"from '{started.text()}' to '{truth.progress.text()}'"}
    window.shutdown()

    print(f"MainWindow on mnist-2d.pt, {os.cpu_count()} cores, load average {load:.2f} at start, torch {torch.__version__}")
    print(f"  decode 65,536 points (256 x 256), 1 torch thread: {grid_s * 1000:.0f} ms")
    for name in ("coarse", "full"):
        r = latency[name]
        print(f"  encoded -> {name:6s} picture shown: p50 {r['p50_ms']:.0f} ms   max {r['max_ms']:.0f} ms   (10 images)")
    for phase in ("idle", "drawing", "drawing, hidden", "table"):
        r = results[phase]
        extra = (f"   {r['coarse_pictures_per_s']} coarse pictures/s for {r['strokes_per_s']} strokes/s"
                 if phase.startswith("drawing") else f"   (table: {r['table_progress']})" if phase == "table" else "")
        print(f"  hover -> painted, {phase:15s} p50 {r['p50_ms']:.2f} ms   p95 {r['p95_ms']:.2f} ms   "
              f"p99 {r['p99_ms']:.2f} ms   missed {r['missed']}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
