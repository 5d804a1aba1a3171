"""Cold start of the app: from launching `latentlab` to the first decoded image painted.

Each run starts a fresh process, `python -m latentlab --screenshot X.png` (offscreen), and times
from just before the launch to the moment the process reports that the explorer painted its first
decoded image (the app prints one line then, before it takes the picture and exits). So the time
includes the interpreter, every import (torch, Qt, pyqtgraph), building the window, loading the
shipped checkpoint and decoding. For scale, the same is timed for a bare `python -c "import torch"`.

    python benchmarks/cold_start.py --runs 7
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


def time_app_start(scratch: str) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": os.path.join(scratch, "config")}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "latentlab", "--screenshot", os.path.join(scratch, "shot.png")],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    seconds = None
    for line in proc.stderr:
        if MARKER in line and seconds is None:
            seconds = time.perf_counter() - started
    if proc.wait() != 0 or seconds is None:
        raise RuntimeError(f"latentlab --screenshot failed (exit code {proc.returncode})")
    return seconds


def time_import_torch() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="latentlab-cold-")
    time_app_start(scratch)  # the first run after an install also fills the OS file cache: not counted
    app, torch_only = [], []
    for _ in range(args.runs):
        app.append(time_app_start(scratch))
        torch_only.append(time_import_torch())
    m, t = statistics.median(app), statistics.median(torch_only)
    print(f"{os.cpu_count()} CPU cores; {args.runs} runs each, after one warm-up run")
    print(f"launch -> first decoded image painted : median {m:.2f} s  (runs: {', '.join(f'{v:.2f}' for v in app)})"
          f"   goal < 2 s")
    print(f"python -c 'import torch' alone         : median {t:.2f} s  "
          f"(runs: {', '.join(f'{v:.2f}' for v in torch_only)})")
    print(f"the app's own share (start minus importing torch): {m - t:.2f} s")


if __name__ == "__main__":
    main()
