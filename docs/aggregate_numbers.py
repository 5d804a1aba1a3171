"""The ELBO surgery of the shipped models on their test sets: mean KL = I(x; z) + KL(q(z) || p(z)).

    LATENTLAB_DATA=/path/to/datasets python docs/aggregate_numbers.py [trained/mnist-2d.pt ...]

Each test set is binarised as `latentlab eval` does (the checkpoint's mode, seed 0), encoded,
and split by latentlab.core.aggregate.elbo_surgery: on a grid for 2-D models, by Monte Carlo
(10,000 draws, seed 0) for the others (e.g. trained/mnist-20d.pt). Also prints the active dimensions (KL >= 0.01 nats) and
the time of q(z) on a 256 x 256 grid. The README's notes quote its output.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from latentlab import load_checkpoint
from latentlab.core import pipeline
from latentlab.core.aggregate import aggregate_density, elbo_surgery, encode_dataset
from latentlab.core.traversal import dimension_kl

DEFAULT = ["trained/mnist-2d.pt", "trained/fashion-2d.pt", "trained/frey-2d.pt"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoints", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    for path in args.checkpoints:
        ckpt = load_checkpoint(path)
        spec = pipeline.DataSpec.from_dict(ckpt.data)
        splits = pipeline.load_splits(spec, download=False)
        ds = splits.test if splits.test is not None else splits.val
        mode = ckpt.data.get("binarize") or ckpt.train_config.get("binarize", "dynamic")
        torch.manual_seed(0)
        mu, logvar = encode_dataset(ckpt.model, ds.images, binarize_mode=mode,
                                    generator=torch.Generator().manual_seed(0))
        start = time.perf_counter()
        s = elbo_surgery(mu, logvar, generator=torch.Generator().manual_seed(0))
        took = time.perf_counter() - start
        dims = dimension_kl(mu, logvar)
        split = "test" if splits.test is not None else "validation"
        print(f"{path}: {spec.dataset} {split} set, {s.n_images} images, binarisation {mode}")
        if s.method == "grid":
            n1, n2, e = s.grid
            how = (f"grid {n1} x {n2} over z1 [{e[0]:.2f}, {e[1]:.2f}], z2 [{e[2]:.2f}, {e[3]:.2f}], "
                   f"mass {s.grid_mass:.6f}")
            start = time.perf_counter()
            aggregate_density(mu, logvar, (-4, 4, -4, 4), 256)
            how += f"; q(z) at 256 x 256 in {time.perf_counter() - start:.2f} s"
        else:
            how = f"Monte Carlo, {s.samples} draws, standard error {s.stderr:.3f}"
            centred = mu - mu.mean(0)       # the PCA plane of the means, as the canvas shows it
            plane = torch.linalg.svd(centred, full_matrices=False).Vh[:2].T
            start = time.perf_counter()
            aggregate_density(mu, logvar, (-4, 4, -4, 4), 256, directions=plane)
            how += f"; q(z) on the PCA plane at 256 x 256 in {time.perf_counter() - start:.2f} s"
        print(f"  mean KL {s.mean_kl:.3f} = I(x;z) {s.mutual_information:.3f} + KL(q(z)||p(z)) "
              f"{s.marginal_kl:.3f} nats   (log N = {math.log(s.n_images):.3f}; {how}; split in {took:.2f} s)")
        print(f"  active dimensions (KL >= 0.01 nats): {dims.n_active} of {len(dims.kl)}, by KL: "
              + ", ".join(f"z{i + 1} {float(dims.kl[i]):.2f}" for i in dims.order.tolist()))


if __name__ == "__main__":
    main()
