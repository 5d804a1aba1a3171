"""Training steps/s driven from the app's window against a plain PyTorch loop on every core, in one command.

The window is real (offscreen): Train is clicked, the worker thread trains with the app's own
settings, the curves redraw live (paced, at most ~30 times a second) and the explorer receives
model snapshots. Nobody touches the window, so the run has every core (app/core_share.py: it
gives one back only while someone hovers, drags, draws or types). The reference is the
pytorch/examples vae/main.py loop of benchmarks/train_throughput.py on the same config
(784-512-512-2 MLP, batch 128, Adam 1e-3, dynamically binarised MNIST), the same images, on every
core. The latentlab Trainer without a window is timed too, so the ratio splits into what the
trainer adds and what the window adds. Runs alternate so drifts of the machine hit all; medians
are reported. For scale, the plain loop on one core fewer (what the window's run uses while
someone interacts) is timed once.

    LATENTLAB_DATA=/path/to/datasets python benchmarks/gui_training_throughput.py

Without LATENTLAB_DATA the 100 sample digits of resources/ are repeated into a temporary MNIST
folder (same shapes, so the same speed).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from train_throughput import reference_steps_per_sec  # noqa: E402


def ensure_data(scratch: Path) -> str:
    """A data root with MNIST: $LATENTLAB_DATA, else the samples repeated to 60,000 images."""
    if os.environ.get("LATENTLAB_DATA"):
        return "MNIST (LATENTLAB_DATA)"
    from latentlab.core.data import load_image_folder

    samples = Path(__file__).resolve().parents[1] / "resources" / "samples" / "mnist"
    images = load_image_folder(samples).images[:, 0].numpy()
    labels = [int(p.name.split("_")[0]) for p in sorted(samples.glob("*.png"))]
    n = 60_000
    reps = -(-n // len(images))
    folder = scratch / "data" / "mnist"
    folder.mkdir(parents=True)
    for prefix, count in (("train", n), ("t10k", 10_000)):
        pixels = (images.tobytes() * reps)[: count * 784]
        tags = (bytes(labels) * reps)[:count]
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb", compresslevel=1) as f:
            f.write(struct.pack(">IIII", 2051, count, 28, 28) + pixels)
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb", compresslevel=1) as f:
            f.write(struct.pack(">II", 2049, count) + tags)
    # Not the publisher's files: list their checksums, as a data root of one's own does.
    import hashlib

    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  mnist/{p.name}" for p in sorted(folder.iterdir())]
    (scratch / "data" / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    os.environ["LATENTLAB_DATA"] = str(scratch / "data")
    return "resources/samples repeated to 60,000 images"


class StepClock:
    """A trainer listener (training thread) timing steps warmup..warmup+steps, then stopping the run.

    Besides wall time it reads the training thread's own CPU time: that part does not depend on
    what else the machine is doing, so it shows work the window adds to the training thread even
    when other processes make the wall-clock numbers jump.
    """

    def __init__(self, trainer, warmup: int, steps: int):
        self.trainer, self.first, self.last = trainer, trainer.step + warmup, trainer.step + warmup + steps
        self.marks: dict[int, tuple[float, float]] = {}
        self.threads = 0

    def __call__(self, event) -> None:
        from latentlab.core.trainer import StepEvent

        if isinstance(event, StepEvent) and event.step in (self.first, self.last):
            self.marks[event.step] = (time.perf_counter(), time.thread_time())
            if event.step == self.last:
                self.threads = torch.get_num_threads()   # on the training thread: what it used
                self.trainer.request_stop()

    @property
    def steps_per_sec(self) -> float:
        return (self.last - self.first) / (self.marks[self.last][0] - self.marks[self.first][0])

    @property
    def cpu_ms_per_step(self) -> float:
        return 1000 * (self.marks[self.last][1] - self.marks[self.first][1]) / (self.last - self.first)


def in_fresh_thread(threads: int, fn, *args):
    """fn(*args) on a new thread with `threads` torch threads, as the window's run is. A thread's
    OpenMP pool ends with it: one left behind on this (the GUI) thread would slow every later
    parallel region of the window's run, since GNU OpenMP stops spinning and sleeps between
    regions once it manages more threads than there are cores (measured: an element-wise op at
    2 threads, 21 us with no other pool in the process, 64-99 us with one)."""
    result = []

    def work():
        torch.set_num_threads(threads)
        result.append(fn(*args))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return result[0]


def trainer_alone(images, steps: int, warmup: int) -> StepClock:
    """latentlab's Trainer on the same config without a window (as in train_throughput.py)."""
    from latentlab import VAE
    from latentlab.core.trainer import TrainConfig, Trainer

    torch.manual_seed(0)
    trainer = Trainer(VAE(latent_dim=2), images, None, TrainConfig(epochs=1000, batch_size=128, device="cpu"))
    clock = StepClock(trainer, warmup, steps)
    trainer.add_listener(clock)
    trainer.run()
    return clock


def window_run(app, window, steps: int, warmup: int) -> tuple[StepClock, int, float]:
    """Click Train in the window: the clock of the run (timed on the training thread), the number of
    curve redraws, and the GUI thread's CPU time as a share of the wall time of the whole run
    (loading the data included)."""
    from PySide6.QtCore import QEventLoop, Qt

    panel = window.training_panel
    panel.continue_check.setChecked(False)
    panel.epochs.setValue(30)
    clocks = []

    def on_ready(run):
        # Queued into the GUI thread, so the run has begun: time from the steps still to come.
        clock = StepClock(run.trainer, warmup, steps)
        run.trainer.add_listener(clock)
        clocks.append(clock)

    window_redraws = window.curves.redraw_count
    cpu_start, wall_start = time.thread_time(), time.perf_counter()   # this is the GUI thread
    panel.train_button.click()
    worker = window.training.worker
    worker.ready.connect(on_ready)
    loop = QEventLoop()   # the app's own kind of event loop, sleeping between events
    worker.finished.connect(loop.quit, Qt.ConnectionType.QueuedConnection)
    if worker.is_alive():   # `finished` is emitted on the training thread: queued, so never missed here
        loop.exec()
    app.processEvents()
    gui_share = (time.thread_time() - cpu_start) / (time.perf_counter() - wall_start)
    assert clocks and len(clocks[0].marks) == 2, "the run ended before the timed steps"
    return clocks[0], window.curves.redraw_count - window_redraws, gui_share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="latentlab-bench-"))
    source = ensure_data(scratch)
    os.environ["LATENTLAB_RUNS"] = str(scratch / "runs")
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
    from latentlab.core.data import load_dataset
    from latentlab.gui.app import make_application
    from latentlab.gui.main_window import MainWindow

    torch.set_num_threads(1)   # this is the GUI thread: as in the app, it never runs a parallel region
    app = make_application()
    window = MainWindow()
    window.remember_layout = False
    window.resize(1280, 860)
    window.show()
    app.processEvents()
    images = load_dataset("mnist", "train").images[:50_000]

    cores = os.cpu_count() or 1
    runs = {key: [] for key in ("ref", "trainer", "window", "ref_one_fewer")}
    cpu = {"trainer": [], "window": []}
    redraws, gui_cpu, window_threads = [], [], []
    for _ in range(args.repeats):
        runs["ref"].append(in_fresh_thread(cores, reference_steps_per_sec, images, args.steps, args.warmup))
        clock = in_fresh_thread(cores, trainer_alone, images, args.steps, args.warmup)
        runs["trainer"].append(clock.steps_per_sec)
        cpu["trainer"].append(clock.cpu_ms_per_step)
        clock, n_redraws, share = window_run(app, window, args.steps, args.warmup)
        runs["window"].append(clock.steps_per_sec)
        cpu["window"].append(clock.cpu_ms_per_step)
        window_threads.append(clock.threads)
        redraws.append(n_redraws)
        gui_cpu.append(share)
    runs["ref_one_fewer"].append(in_fresh_thread(max(1, cores - 1), reference_steps_per_sec, images, args.steps,
                                                 args.warmup))
    window.close()

    med = {key: statistics.median(values) for key, values in runs.items()}

    def line(label: str, key: str) -> str:
        return f"{label:<48}: {med[key]:7.1f} steps/s  (runs: {', '.join(f'{v:.1f}' for v in runs[key])})"

    print(f"data: {source}; 784-512-512-2 MLP, batch 128; {args.steps} timed steps x {args.repeats} repeats; "
          f"{cores} CPU cores")
    print(line(f"plain PyTorch loop, {cores} thread(s) (every core)", "ref"))
    print(line(f"latentlab Trainer alone, {cores} thread(s)", "trainer"))
    print(line("app window, nobody touching it", "window")
          + f"; training thread on {', '.join(map(str, window_threads))} thread(s); curve redraws per run: "
          f"{', '.join(map(str, redraws))}; GUI thread CPU {', '.join(f'{100 * c:.0f}%' for c in gui_cpu)} "
          "of each run's wall time")
    per_repeat = [w / r for w, r in zip(runs["window"], runs["ref"])]
    print(f"ratio window / plain loop on every core = {med['window'] / med['ref']:.3f}   (goal >= 0.90; per repeat "
          f"{', '.join(f'{v:.2f}' for v in per_repeat)}); window / Trainer alone = "
          f"{med['window'] / med['trainer']:.3f}")
    print(line(f"for scale: plain loop on {max(1, cores - 1)} thread(s) (the window's run while in use)",
               "ref_one_fewer"))
    c_t, c_w = statistics.median(cpu["trainer"]), statistics.median(cpu["window"])
    print(f"training thread CPU per step (independent of other load): Trainer alone {c_t:.2f} ms, "
          f"in the window {c_w:.2f} ms ({100 * (c_w / c_t - 1):+.1f}%)")


if __name__ == "__main__":
    main()
