"""What exact evaluation in 2-D costs: the true posterior of one image, and log p(x) for a test set.

    LATENTLAB_DATA=/work/shared/datasets python benchmarks/exact_posterior.py

On the shipped `trained/mnist-2d.pt`, with one torch thread (as the app's worker uses), on the
MNIST test set when LATENTLAB_DATA is set (binarised as `latentlab eval` does, seed 0), else on
the 100 sample digits in resources/samples. Three measurements in one run, so they share the
machine's state:

(a) the plain cost of decoding 65,536 points (a 256 x 256 grid) in one batch, and per point: the
    unit the others are measured in (and the same in the quadrature's chunks of 8,192 points);
(b) `posterior_picture(coarse=True)` (the first look the canvas shows) and `posterior_picture()`
    (the full picture) per image, median and p95 over N images, with the decodes each took, as
    ratios against (a). Goals (issue 10): coarse within 100 ms, full within 1 s;
(c) `quadrature` (what `latentlab eval --exact` runs) over M images in batches that share the
    global grid: ms and decodes per image, and the time extrapolated to 10,000 images. Goal:
    under 15 minutes for the whole MNIST test set.

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

import numpy as np
import torch

from latentlab import load_checkpoint
from latentlab.core.data import binarize, to_float
from latentlab.core.exact import CHUNK_POINTS, posterior_picture, quadrature

ROOT = Path(__file__).resolve().parents[1]
GRID_POINTS = 256 * 256
TEST_SET = 10_000


def test_images(data_dir: str | None, binarize_mode: str) -> tuple[torch.Tensor, str]:
    """Float images as `latentlab eval` gives them to the model (binarised with seed 0)."""
    if data_dir:
        from latentlab.core.data import load_dataset

        images = load_dataset("mnist", "test", data_dir=data_dir, download=False).images
        source = f"MNIST test set from {data_dir}"
    else:
        from latentlab.core.images import load_image

        files = sorted((ROOT / "resources" / "samples" / "mnist").glob("*.png"))
        images = torch.from_numpy(np.stack([load_image(f).pixels for f in files]))
        source = f"the {len(files)} sample digits in resources/samples (set LATENTLAB_DATA for the MNIST test set)"
    g = torch.Generator().manual_seed(0)
    return binarize(to_float(images), binarize_mode, g), source


def decode_reference(model, chunk: int | None = None, repeats: int = 5) -> dict:
    """(a) model.decode of 65,536 points, in one batch or in chunks of `chunk` points (as the
    quadrature decodes): median seconds over `repeats`."""
    z = torch.randn(GRID_POINTS, 2)
    with torch.inference_mode():
        model.decode(z[:1000])                     # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for part in z.split(chunk or GRID_POINTS):
                model.decode(part)
            times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    return {"points": GRID_POINTS, "chunk": chunk or GRID_POINTS, "seconds": seconds,
            "us_per_point": seconds / GRID_POINTS * 1e6}


def pictures(model, images: torch.Tensor, coarse: bool) -> dict:
    """(b) posterior_picture per image: median and p95 seconds, mean decodes."""
    posterior_picture(model, images[0], coarse=coarse)    # warm-up (first calls allocate)
    times, decodes = [], []
    for x in images:
        t0 = time.perf_counter()
        picture = posterior_picture(model, x, coarse=coarse)
        times.append(time.perf_counter() - t0)
        decodes.append(picture.decodes)
    return {"images": len(images), "median_s": float(np.median(times)), "p95_s": float(np.percentile(times, 95)),
            "max_s": max(times), "decodes_mean": float(np.mean(decodes)), "decodes_max": max(decodes)}


def quadrature_run(model, images: torch.Tensor, batch: int) -> dict:
    """(c) quadrature over the images, `batch` of them sharing one global grid (as eval batches)."""
    quadrature(model, images[:2], batch=2)              # warm-up
    own, shared, batch_times = [], [], []
    t_start = time.perf_counter()
    for chunk in images.split(batch):
        t0 = time.perf_counter()
        found = quadrature(model, chunk, batch=len(chunk))
        batch_times.append((time.perf_counter() - t0) / len(chunk))
        own += [q.decodes for q in found]
        shared += [q.shared_decodes for q in found]
    seconds = time.perf_counter() - t_start
    per_image = seconds / len(images)
    return {"images": len(images), "batch": batch, "seconds": seconds, "ms_per_image": per_image * 1e3,
            "ms_per_image_by_batch": [round(t * 1e3, 1) for t in batch_times],
            "decodes_per_image": float(np.mean(own) + np.mean(shared)),
            "own_decodes_per_image": float(np.mean(own)), "own_decodes_max": max(own),
            "shared_decodes_per_image": float(np.mean(shared)),
            "extrapolated_minutes_10000": per_image * TEST_SET / 60}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "trained" / "mnist-2d.pt"))
    parser.add_argument("--pictures", type=int, default=20, help="images for (b) (default: 20)")
    parser.add_argument("--images", type=int, default=500, help="images for (c) (default: 500)")
    parser.add_argument("--batch", type=int, default=100,
                        help="images sharing one global grid in (c), as `latentlab eval --batch-size` (default: 100)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    if load > 1.5:
        print(f"warning: load average {load:.2f}: other work will slow these timings", file=sys.stderr)
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.model.eval()
    images, source = test_images(os.environ.get("LATENTLAB_DATA"), ckpt.data.get("binarize") or "dynamic")

    results = {"checkpoint": Path(args.checkpoint).name, "data": source, "torch": torch.__version__,
               "threads": torch.get_num_threads(), "cpu_cores": os.cpu_count(), "load_average_at_start": round(load, 2)}
    ref = results["decode_65536"] = decode_reference(model)
    chunked = results["decode_65536_chunked"] = decode_reference(model, CHUNK_POINTS)
    results["coarse_picture"] = pictures(model, images[: args.pictures], coarse=True)
    results["full_picture"] = pictures(model, images[: args.pictures], coarse=False)
    quad = results["quadrature"] = quadrature_run(model, images[: args.images], args.batch)

    print(f"{results['checkpoint']} on {source}; torch {torch.__version__}, 1 thread, {os.cpu_count()} cores, "
          f"load average {load:.2f} at start")
    print(f"{'':34} {'median':>9} {'p95':>9} {'decodes':>9} {'x (a) time':>11} {'x (a) decodes':>14}")
    print(f"{'(a) decode 65,536 points':34} {ref['seconds'] * 1e3:7.1f}ms {'':>9} {GRID_POINTS:9,d} {1:11.2f} "
          f"{1:14.2f}   ({ref['us_per_point']:.2f} us per point)")
    print(f"{'    the same in chunks of ' + format(CHUNK_POINTS, ',d'):34} {chunked['seconds'] * 1e3:7.1f}ms {'':>9} "
          f"{GRID_POINTS:9,d} {chunked['seconds'] / ref['seconds']:11.2f} {1:14.2f}   "
          f"({chunked['us_per_point']:.2f} us per point)")
    for key, label in (("coarse_picture", "(b) posterior_picture(coarse=True)"),
                       ("full_picture", "(b) posterior_picture()")):
        r = results[key]
        print(f"{label:34} {r['median_s'] * 1e3:7.1f}ms {r['p95_s'] * 1e3:7.1f}ms {r['decodes_mean']:9,.0f} "
              f"{r['median_s'] / ref['seconds']:11.2f} {r['decodes_mean'] / GRID_POINTS:14.2f}")
    per = quad["ms_per_image"] / 1e3
    print(f"{'(c) quadrature, per image':34} {quad['ms_per_image']:7.1f}ms {'':>9} {quad['decodes_per_image']:9,.0f} "
          f"{per / ref['seconds']:11.2f} {quad['decodes_per_image'] / GRID_POINTS:14.2f}")
    print(f"    {quad['images']} images in batches of {quad['batch']}: {quad['seconds']:.1f} s; decodes per image "
          f"{quad['shared_decodes_per_image']:,.0f} shared + {quad['own_decodes_per_image']:,.0f} own "
          f"(max {quad['own_decodes_max']:,d}); all {TEST_SET:,d} test images: about "
          f"{quad['extrapolated_minutes_10000']:.1f} min")
    print(f"    ms per image by batch: {', '.join(f'{t:.0f}' for t in quad['ms_per_image_by_batch'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
