"""Hover latency of the latent canvas: from a mouse-move event to the new decoded image painted.

    QT_QPA_PLATFORM=offscreen LATENTLAB_DATA=/work/shared/datasets python benchmarks/hover_latency.py

Opens the explorer offscreen on the shipped MNIST 2-D model (the main window if it exists, else the
LatentExplorer alone, which is what does the work), sends N synthetic mouse moves across the canvas
(QTest.mouseMove, the same path a real mouse event takes through Qt) and times each from just
before the event to the end of the decoded image's paintEvent. Two phases, in one process:

* idle: nothing else running;
* training: Train is clicked in the window, so the app's own run trains (its thread, its live
  curves, its snapshots every second), on real MNIST if LATENTLAB_DATA is set, else on the
  sample images of resources/ repeated to 60,000. That run uses every core until the first move
  and one fewer from its next step on (app/core_share.py), as it does for a user. With
  `--widget explorer` there is no window: a core Trainer runs in a Python thread on one torch
  thread, and the explorer gets a snapshot every second.

As the reference, the plain cost of `model.decode` for one point is measured in the same run (one
torch thread, like the decode worker). Goals on 2 CPU cores: p95 < 4 ms idle, < 8 ms training.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
from PySide6.QtCore import QEventLoop, QPoint, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from latentlab import load_checkpoint  # noqa: E402
from latentlab.core.shipped import default_checkpoint  # noqa: E402


def percentiles(samples_s: list[float]) -> dict:
    ms = np.asarray(samples_s) * 1e3
    return {"n": len(ms), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}


def decode_reference(model, n: int = 2000) -> dict:
    """Plain `model.decode` of one point, one torch thread, no GUI (the floor for hover latency)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    z = torch.randn(n, 1, model.latent_dim)
    times = []
    with torch.inference_mode():
        for i in range(50):
            model.decode(z[i])
        for i in range(n):
            t0 = time.perf_counter()
            model.decode(z[i])
            times.append(time.perf_counter() - t0)
    torch.set_num_threads(before)
    return percentiles(times)


def open_explorer(checkpoint, widget: str = "window"):
    """The main window if it is there (its canvas is the same widget), else the explorer alone."""
    try:
        if widget != "window":
            raise ImportError("explorer asked for")
        from latentlab.gui import MainWindow  # type: ignore[attr-defined]

        window = MainWindow(checkpoint=str(checkpoint))
        explorer = window.findChild(QWidget, "latentCanvas").parent()
        while explorer is not None and not hasattr(explorer, "imageShown"):
            explorer = explorer.parent()
        if explorer is None:
            raise ImportError("no explorer in the main window")
        kind = "MainWindow"
    except Exception:  # noqa: BLE001 - the main window is optional for this benchmark
        from latentlab.gui.explorer import LatentExplorer

        ckpt = load_checkpoint(checkpoint)
        window = explorer = LatentExplorer()
        explorer.set_model(ckpt.model, ckpt.extras)
        kind = "LatentExplorer"
    window.resize(1280, 800)
    window.show()
    return window, explorer, kind


def hover_path(canvas, n: int) -> list[QPoint]:
    """n distinct pixel positions sweeping the canvas' plot area (a Lissajous figure)."""
    rect = canvas.plot_item.vb.sceneBoundingRect()
    top_left = canvas.mapFromScene(rect.topLeft())
    w, h = int(rect.width()) - 4, int(rect.height()) - 4
    points, seen, t = [], set(), 0
    while len(points) < n:
        x = top_left.x() + 2 + int((w - 1) * (0.5 + 0.5 * math.sin(0.013 * t)))
        y = top_left.y() + 2 + int((h - 1) * (0.5 + 0.5 * math.sin(0.021 * t + 0.7)))
        t += 1
        if (x, y) not in seen and (not points or (x, y) != (points[-1].x(), points[-1].y())):
            seen.add((x, y))
            points.append(QPoint(x, y))
    return points


def measure(canvas, explorer, points, timeout_s: float = 1.0, interval_ms: int = 0) -> tuple[list[float], int]:
    """Latency of each move: event sent -> new decoded image painted. Returns (latencies, missed).
    With `interval_ms`, one move every so often: the rest of the interval runs the event loop, as
    between real moves (benchmarks/posterior_responsiveness.py; 0: the next move at once).

    Between moves the GUI thread waits in a Qt event loop (as the app does, with the GIL released),
    not in a Python busy loop that would starve the decode thread of the GIL.
    """
    painted_at: list[float] = []
    loop = QEventLoop()

    def on_painted():
        painted_at.append(time.perf_counter())
        loop.quit()

    explorer.imageShown.connect(on_painted)
    timeout = QTimer(singleShot=True, interval=int(timeout_s * 1000))
    timeout.timeout.connect(loop.quit)
    latencies, missed = [], 0
    for pos in points:
        painted_at.clear()
        t0 = time.perf_counter()
        QTest.mouseMove(canvas, pos)
        if not painted_at:
            timeout.start()
            loop.exec()
            timeout.stop()
        if painted_at:
            latencies.append(painted_at[0] - t0)
        else:
            missed += 1
        rest = interval_ms / 1000 - (time.perf_counter() - t0)
        if rest > 0:
            timeout.start(int(rest * 1000))
            loop.exec()
            timeout.stop()
            timeout.setInterval(int(timeout_s * 1000))
    explorer.imageShown.disconnect(on_painted)
    return latencies, missed


class WindowTraining:
    """Train clicked in the main window: the app's own run, curves and snapshots."""

    def __init__(self, window, source: str):
        self.window, self.source = window, source

    def start(self):
        from PySide6.QtCore import QEventLoop

        panel = self.window.training_panel
        panel.continue_check.setChecked(False)
        panel.epochs.setValue(1000)
        panel.train_button.click()
        loop, t0 = QEventLoop(), time.perf_counter()
        wait = QTimer(interval=20)
        wait.timeout.connect(lambda: loop.quit() if self.steps() >= 30 or time.perf_counter() - t0 > 120 else None)
        wait.start()
        loop.exec()   # past loading and start-up, into the steady loop
        wait.stop()
        if self.steps() < 30:
            raise RuntimeError("the window's training run did not start")
        self.steps_at_start, self.t_start = self.steps(), time.perf_counter()

    def steps(self) -> int:
        worker = self.window.training.worker
        trainer = getattr(getattr(worker, "session", None), "trainer", None)
        return trainer.step if trainer is not None else 0

    def stop(self) -> float:
        steps_per_s = (self.steps() - self.steps_at_start) / (time.perf_counter() - self.t_start)
        worker = self.window.training.worker
        self.window.training.stop()
        worker.join(30)
        QApplication.processEvents()
        return steps_per_s


class BackgroundTraining:
    """A core Trainer in a Python thread, as the app's training worker runs it."""

    def __init__(self, model, data_dir: str | None):
        from latentlab.core.trainer import TrainConfig, Trainer
        from latentlab.app.core_share import CoreShare

        from latentlab.core.model_kinds import is_semi_supervised
        from latentlab.core.semi_trainer import SemiSupervisedTrainer

        images, labels, self.source = self._images(data_dir)
        config = TrainConfig(epochs=1000, batch_size=128, num_threads=CoreShare().cores_while_in_use(), device="cpu",
                             labels=100)
        if is_semi_supervised(model):   # an M2 checkpoint: its own trainer (100 labels, as shipped)
            self.trainer = SemiSupervisedTrainer(copy.deepcopy(model), images, labels, None, None, config)
        else:
            self.trainer = Trainer(copy.deepcopy(model), images, None, config)
        self.steps_at_start = 0
        self.nice = 0
        self.thread = threading.Thread(target=self._run, name="benchmark-training", daemon=True)

    def _run(self):
        if self.nice and hasattr(os, "setpriority"):
            # Linux: a thread's nice value is its own (the TID is a PRIO_PROCESS id); raising it needs no
            # privileges. The GUI and decode threads then win the CPU whenever they want it.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        self.trainer.run()

    @staticmethod
    def _images(data_dir):
        if data_dir:
            from latentlab.core.data import load_dataset

            ds = load_dataset("mnist", "train", data_dir=data_dir, download=False)
            return ds.images, ds.labels, f"MNIST train ({len(ds.images)} images) from {data_dir}"
        from latentlab.core.images import load_image

        files = sorted((Path(__file__).resolve().parents[1] / "resources" / "samples" / "mnist").glob("*.png"))
        images = torch.from_numpy(np.stack([load_image(f).pixels for f in files]))
        labels = torch.tensor([int(f.name[0]) for f in files])     # files are named <label>_<index>.png
        return images.repeat(20, 1, 1, 1), labels.repeat(20), f"{len(files)} sample PNGs from resources/ (x20)"

    def start(self):
        self.thread.start()
        while self.trainer.step < 5:   # past start-up, into the steady loop
            time.sleep(0.01)
        self.steps_at_start, self.t_start = self.trainer.step, time.perf_counter()

    def snapshot(self):
        return copy.deepcopy(self.trainer.model).eval()

    def stop(self) -> float:
        steps_per_s = (self.trainer.step - self.steps_at_start) / (time.perf_counter() - self.t_start)
        self.trainer.request_stop()
        self.thread.join(10)
        return steps_per_s


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=1000)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--widget", choices=("window", "explorer"), default="window",
                        help="time the whole main window (default) or the LatentExplorer alone")
    parser.add_argument("--switch-interval", type=float, default=5.0, metavar="MS",
                        help="also measure while training with sys.setswitchinterval(MS / 1000), for comparison "
                             "with what the app sets (1 ms); default 5 = CPython's default; 0 = skip")
    parser.add_argument("--train-nice", type=int, default=None, metavar="N",
                        help="run the training thread at nice N (Linux, per thread); default: what the app "
                             "uses (gui/training_thread.py TRAINING_NICE) with the window, 0 with --widget explorer")
    parser.add_argument("--layers", default="", metavar="L[,L]",
                        help="measure with canvas layers on: magnification, aggregate (issue 11); each is "
                             "computed before the idle phase, and again for every snapshot while training")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    layers = [name for name in args.layers.split(",") if name]
    unknown = set(layers) - {"magnification", "aggregate"}
    if unknown:
        parser.error(f"--layers: no layer called {', '.join(sorted(unknown))} (magnification, aggregate)")

    app = QApplication.instance() or QApplication(sys.argv[:1])
    torch.set_num_threads(1)   # the GUI thread does no torch work; keep it off the training core
    if args.widget == "window":   # the window trains: data (real MNIST, or the samples), and no trace left
        import tempfile

        from PySide6.QtCore import QSettings

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from gui_training_throughput import ensure_data

        scratch = Path(tempfile.mkdtemp(prefix="latentlab-hover-"))
        data_source = ensure_data(scratch)
        os.environ["LATENTLAB_RUNS"] = str(scratch / "runs")
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
    window, explorer, kind = open_explorer(args.checkpoint, args.widget)
    first = [False]
    explorer.imageShown.connect(lambda: first.__setitem__(0, True))
    t0 = time.perf_counter()
    while not first[0] and time.perf_counter() - t0 < 10:
        app.processEvents()
    canvas = window.findChild(QWidget, "latentCanvas")
    model = explorer.model
    if layers:          # on, and computed, before anything is measured
        explorer.geometry.set_shown(**dict.fromkeys(layers, True))
        t0 = time.perf_counter()
        while (any(getattr(explorer.geometry, name) is None for name in layers) or explorer.geometry.computing) \
                and time.perf_counter() - t0 < 120:
            app.processEvents()
    # Each phase starts where the previous one ended, and Qt sends no event for a "move" to where
    # the cursor already is: so every phase skips its first point (n + 1 points for n moves).
    points = hover_path(canvas, args.moves + 1)
    forward, backward = points[1:], points[::-1][1:]

    results = {"widget": kind, "moves": args.moves, "cpu_cores": os.cpu_count(),
               "load_average_at_start": round(os.getloadavg()[0], 2),
               "torch": torch.__version__, "model": Path(args.checkpoint).name, "layers": layers}
    results["decode_one_point"] = decode_reference(model)
    measure(canvas, explorer, backward[-101:])                    # warm-up, ends on points[0]
    latencies, missed = measure(canvas, explorer, forward)
    results["idle"] = {**percentiles(latencies), "missed": missed}

    snapshots = QTimer()
    from latentlab.gui import training_thread

    if args.train_nice is None:
        args.train_nice = training_thread.TRAINING_NICE if kind == "MainWindow" else 0
    if kind == "MainWindow":
        training_thread.TRAINING_NICE = args.train_nice
        training = WindowTraining(window, data_source)
    else:
        # an M2 is shown as one class (a ClassConditioned view): train the whole M2, as the window would
        semi = getattr(explorer.state, "semi_model", None)
        training = BackgroundTraining(semi if semi is not None else model, os.environ.get("LATENTLAB_DATA"))
        training.nice = args.train_nice
        snapshots.timeout.connect(lambda: explorer.set_model(training.snapshot(), reset_view=False))
        snapshots.start(1000)
    training.start()
    latencies, missed = measure(canvas, explorer, backward)
    if args.switch_interval:
        # Same again with another GIL switch interval (the window sets 1 ms): a thread waiting for the GIL while the
        # training thread runs Python code waits up to this long (CPython's default is 5 ms).
        default_interval = sys.getswitchinterval()
        sys.setswitchinterval(args.switch_interval / 1000)
        short, short_missed = measure(canvas, explorer, forward)
        sys.setswitchinterval(default_interval)
        results["training_short_switch_interval"] = {**percentiles(short), "missed": short_missed,
                                                     "switch_interval_ms": args.switch_interval}
    snapshots.stop()
    results["switch_interval_ms"] = round(sys.getswitchinterval() * 1000, 3)
    results["decode_one_point_while_training"] = decode_reference(model, 500)
    steps_per_s = training.stop()
    results["training"] = {**percentiles(latencies), "missed": missed, "train_steps_per_s": round(steps_per_s, 1),
                           "data": training.source, "training_thread_nice": args.train_nice}
    explorer.shutdown()

    ref = results["decode_one_point"]
    print(f"{kind}, {args.moves} moves, {os.cpu_count()} cores (load average {results['load_average_at_start']} "
          f"at start), torch {torch.__version__}" + (f", layers on: {', '.join(layers)}" if layers else ""))
    print(f"  model.decode, 1 point:    p50 {ref['p50_ms']:.3f} ms   p95 {ref['p95_ms']:.3f} ms")
    for phase in ("idle", "training", "training_short_switch_interval"):
        if phase not in results:
            continue
        r = results[phase]
        if phase == "training_short_switch_interval":
            phase = f"training, GIL switch interval {args.switch_interval:g} ms\n                          "
        print(f"  hover -> painted, {phase:8s} p50 {r['p50_ms']:.2f} ms   p95 {r['p95_ms']:.2f} ms   "
              f"p99 {r['p99_ms']:.2f} ms   max {r['max_ms']:.1f} ms   missed {r['missed']}"
              f"   (p95 / decode p50 = {r['p95_ms'] / ref['p50_ms']:.0f}x)")
    print(f"  (the training phase ran at the GIL switch interval the app sets: {results['switch_interval_ms']:g} ms)")
    print(f"  training ran at {results['training']['train_steps_per_s']} steps/s on {results['training']['data']}"
          + (f" (training thread at nice {args.train_nice})" if args.train_nice else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
