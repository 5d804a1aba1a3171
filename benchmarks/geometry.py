"""What latent geometry costs: the magnification map and a geodesic of the shipped 2-D model.

    python benchmarks/geometry.py [--threads 2]

On `trained/mnist-2d.pt` (784-512-512-2 MLP, Bernoulli), with 2 torch threads by default (the
issue's goal is stated for 2 cores). Measured in one run, so they share the machine's state:

(a) the plain cost of decoding 16,384 points (the 128 x 128 grid) in one batch: the unit;
(b) `magnification_grid` at 128 x 128 over [-3, 3]^2 (jacfwd + vmap in batches of 4,096 and a
    2 x 2 log-determinant per point), median over repeats, and its ratio to (a). Goal (issue 11):
    under 1 s;
(c) `geodesic` with 32 segments between pairs of latent points a few units apart, median over
    the pairs, with L-BFGS iterations and the decoded lengths of the straight line, slerp and the
    geodesic. Goal: under 2 s.

Run it on an otherwise idle machine (load average below about 1.5): on a shared 2-core machine
other jobs move single timings by a factor of two. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from latentlab import load_checkpoint
from latentlab.core.figures import interpolate
from latentlab.core.geometry import decoded_length, geodesic, magnification_grid

ROOT = Path(__file__).resolve().parents[1]
GRID = 128
EXTENT = (-3.0, 3.0, -3.0, 3.0)
PAIRS = [((-2.0, -1.0), (1.5, 2.0)), ((-2.5, 0.5), (2.0, -0.5)), ((0.0, -2.5), (0.5, 2.5)),
         ((-1.0, 1.5), (2.0, 1.0)), ((1.8, -1.8), (-1.5, 1.2))]


def decode_reference(model, repeats: int) -> float:
    """(a) model.decode of GRID^2 points in one batch: median seconds."""
    z = torch.randn(GRID * GRID, 2, generator=torch.Generator().manual_seed(0))
    times = []
    with torch.inference_mode():
        model.decode(z[:1000])                                  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.decode(z)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def magnification_map(model, repeats: int) -> dict:
    """(b) the 128 x 128 map: median seconds and its range (natural log)."""
    magnification_grid(model, EXTENT, 8)      # warm-up: the first jacfwd loads torch's jvp rules (~1.5 s once)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        grid = magnification_grid(model, EXTENT, GRID)
        times.append(time.perf_counter() - t0)
    log_m = grid.log_magnification
    return {"seconds": statistics.median(times), "max_s": max(times),
            "log_magnification_min": float(log_m.min()), "log_magnification_max": float(log_m.max())}


def geodesics(model) -> dict:
    """(c) 32-segment geodesics between PAIRS: median seconds, iterations, decoded lengths."""
    geodesic(model, torch.tensor(PAIRS[0][0]), torch.tensor(PAIRS[0][1]), steps=5)   # warm-up
    rows = []
    for a, b in PAIRS:
        z0, z1 = torch.tensor(a), torch.tensor(b)
        t0 = time.perf_counter()
        path = geodesic(model, z0, z1, segments=32)
        seconds = time.perf_counter() - t0
        slerp = decoded_length(model, interpolate(z0, z1, 33, "spherical"))
        rows.append({"z0": a, "z1": b, "seconds": seconds, "iterations": path.iterations,
                     "straight": path.straight_length, "slerp": slerp, "geodesic": path.length,
                     "energy_ratio": path.energy / path.straight_energy})
    return {"pairs": rows, "median_s": statistics.median(r["seconds"] for r in rows),
            "max_s": max(r["seconds"] for r in rows)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "trained" / "mnist-2d.pt"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2, as the goal's 2 cores)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of (a) and (b) (default: 5)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    if load > 1.5:
        print(f"warning: load average {load:.2f}: other work will slow these timings", file=sys.stderr)
    model = load_checkpoint(args.checkpoint).model.eval()
    ref = decode_reference(model, args.repeats)
    mag = magnification_map(model, args.repeats)
    geo = geodesics(model)
    results = {"checkpoint": Path(args.checkpoint).name, "torch": torch.__version__, "threads": args.threads,
               "cpu_cores": os.cpu_count(), "load_average_at_start": round(load, 2),
               "decode_16384_s": ref, "magnification_128": mag, "geodesic_32": geo}

    print(f"{results['checkpoint']}; torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} cores, "
          f"load average {load:.2f} at start")
    print(f"(a) decode {GRID * GRID:,} points:          {ref * 1e3:8.1f} ms  (the unit)")
    print(f"(b) magnification map {GRID}x{GRID}:        {mag['seconds'] * 1e3:8.1f} ms  median of {args.repeats} "
          f"(max {mag['max_s'] * 1e3:.0f} ms), {mag['seconds'] / ref:.2f}x (a); goal < 1 s: "
          f"{'met' if mag['seconds'] < 1 else 'MISSED'}; log magnification {mag['log_magnification_min']:.1f} "
          f"to {mag['log_magnification_max']:.1f}")
    print(f"(c) geodesic, 32 segments:           {geo['median_s'] * 1e3:8.1f} ms  median of {len(PAIRS)} pairs "
          f"(max {geo['max_s'] * 1e3:.0f} ms); goal < 2 s: {'met' if geo['max_s'] < 2 else 'MISSED'}")
    print(f"    {'z0':>13} {'z1':>13} {'ms':>7} {'iter':>5} {'straight':>9} {'slerp':>8} {'geodesic':>9} {'E/E_line':>9}")
    for r in geo["pairs"]:
        print(f"    {str(r['z0']):>13} {str(r['z1']):>13} {r['seconds'] * 1e3:7.0f} {r['iterations']:5d} "
              f"{r['straight']:9.2f} {r['slerp']:8.2f} {r['geodesic']:9.2f} {r['energy_ratio']:9.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
