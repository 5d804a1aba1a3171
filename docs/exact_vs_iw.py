"""How far the importance-weighted bound L_k stays below the exact log p(x) (2-D models).

    LATENTLAB_DATA=/path/to/datasets python docs/exact_vs_iw.py [trained/mnist-2d.pt] [--images 16]

For the first N test images (binarised with a fixed seed for a Bernoulli decoder): -log p(x) by
quadrature (latentlab.core.exact), -L_5000 and -L_100000, per image and on average. The README's
"Shipped models" notes quote its output for the shipped MNIST 2-D model. About 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from latentlab import load_checkpoint
from latentlab.core.data import load_dataset
from latentlab.core.evaluation import iw_log_likelihood
from latentlab.core.exact import log_marginal


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint", nargs="?", default="trained/mnist-2d.pt")
    parser.add_argument("--images", type=int, default=16)
    args = parser.parse_args()
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.model.eval().float()
    data = load_dataset(ckpt.data["dataset"], "test", download=False)
    x = torch.as_tensor(np.asarray(data.images[:args.images])).float()
    x = (x / 255 if x.max() > 1 else x).reshape(-1, *model.image_shape)
    if model.likelihood == "bernoulli":
        x = torch.bernoulli(x, generator=torch.Generator().manual_seed(1))
    exact = -log_marginal(model, x)
    torch.manual_seed(0)
    with torch.no_grad():
        iw = {k: -iw_log_likelihood(model, x, k).double() for k in (5000, 100_000)}
    print("image  -log p(x)   -L_5000  -L_100000")
    for i in range(len(x)):
        print(f"{i:5d} {exact[i]:10.3f} {iw[5000][i]:9.3f} {iw[100_000][i]:10.3f}")
    print(f"mean  {exact.mean():10.3f} {iw[5000].mean():9.3f} {iw[100_000].mean():10.3f}")
    print(f"-L_k + log p(x): k = 5000 {(iw[5000] - exact).mean():.2f} nats, k = 100000 {(iw[100_000] - exact).mean():.2f}")


if __name__ == "__main__":
    main()
