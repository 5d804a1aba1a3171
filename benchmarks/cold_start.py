"""Cold start of the app: from launching `latentlab` to the first decoded image painted.

Each run starts a fresh process, `python -m latentlab --screenshot X.png` (offscreen), and times
from just before the launch to the moments the process reports, on stderr, that

* a first decoded image was painted ("first decoded image painted"): for the shipped model that is
  the first look (gui/first_look.py: the scatter and a NumPy decoder, no torch yet);
* the full window painted its own first decoded image ("the full window painted"), after torch
  was imported and the main window built (the app then takes the picture and exits).

For scale, the same clock times two bare interpreters: `python -c "import PySide6.QtWidgets"`
(the floor: no window can be up before Qt's widgets are imported) and `python -c "import torch"`.

    python benchmarks/cold_start.py --runs 7

The goal (issue 14): the first decoded image in under 1.0 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

MARKER = "first decoded image painted"
FULL_MARKER = "the full window painted"
GOAL_S = 1.0


def time_app_start(scratch: str) -> tuple[float, float]:
    """(launch -> first decoded image, launch -> the full window's first decoded image) in seconds."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": os.path.join(scratch, "config")}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "latentlab", "--screenshot", os.path.join(scratch, "shot.png")],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    first = full = None
    for line in proc.stderr:
        now = time.perf_counter() - started
        if MARKER in line and first is None:
            first = now
        if FULL_MARKER in line and full is None:
            full = now
    if proc.wait() != 0 or first is None or full is None:
        raise RuntimeError(f"latentlab --screenshot failed (exit code {proc.returncode})")
    return first, full


def time_python(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def _line(label: str, values: list[float], extra: str = "") -> str:
    runs = ", ".join(f"{v:.2f}" for v in values)
    return f"{label:<52}: median {statistics.median(values):.2f} s  (runs: {runs}){extra}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="latentlab-cold-")
    time_app_start(scratch)  # the first run after an install also fills the OS file cache: not counted
    first, full, qt, torch_only = [], [], [], []
    for _ in range(args.runs):
        a, b = time_app_start(scratch)
        first.append(a)
        full.append(b)
        qt.append(time_python("import PySide6.QtWidgets"))
        torch_only.append(time_python("import torch"))
    m = statistics.median(first)
    print(f"{os.cpu_count()} CPU cores; {args.runs} runs each, after one warm-up run")
    print(_line("launch -> first decoded image painted", first,
                f"   goal < {GOAL_S:.1f} s: {'met' if m < GOAL_S else 'NOT met'}"))
    print(_line("launch -> the full window's first decoded image", full))
    print(_line("python -c 'import PySide6.QtWidgets' (the floor)", qt))
    print(_line("python -c 'import torch'", torch_only))
    print(f"first image over the floor: {m - statistics.median(qt):.2f} s; "
          f"first image / importing torch: {m / statistics.median(torch_only):.2f}")


if __name__ == "__main__":
    main()
