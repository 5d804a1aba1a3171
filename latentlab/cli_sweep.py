"""`latentlab sweep`: the flags, and the hand-over to core/sweep.py (which does the work).

    latentlab sweep --beta 0.25 0.5 1 2 4 [--latent-dim 2 10] --out DIR [--jobs N] [train flags ...]

Every flag the sweep does not know is a `latentlab train` flag for every run (--data, --epochs,
--lr, --objective, --k, ...), checked by train's own parser before anything starts.
"""

from __future__ import annotations

import argparse


def add_sweep_parser(sub, number) -> argparse.ArgumentParser:
    from .core.models import VAEConfig

    dims = VAEConfig.limits("latent_dim")
    w = sub.add_parser(
        "sweep", help="train a grid of beta x latent dimension, one process per run",
        usage="latentlab sweep --beta B [B ...] [--latent-dim D [D ...]] --out DIR [--jobs N] [train flags ...]",
        description="Train one `latentlab train` run per (beta, latent dimension), as many at once as --jobs, "
        "each with one torch thread, into DIR/beta-<B>-d<D>/model.pt (its output in train.log beside it). "
        "DIR/sweep.json holds the grid and each run's status and final -ELBO, KL and reconstruction; running "
        "the same command again skips finished runs and continues stopped ones. Ctrl+C stops every run after "
        "its current step (each saves). Under torchrun each rank trains its share of the grid. Any other flag "
        "is a `latentlab train` flag for every run (--data, --epochs, --lr, --objective, --k, ...). The window "
        "shows the runs on its rate-distortion plane (File > Add Sweep to Rate-Distortion Plane...).")
    w.add_argument("--beta", type=number(float, 0.0, 1000.0), nargs="+", required=True, metavar="B",
                   help="the KL weights to train (beta = 1 is the ELBO)")
    w.add_argument("--latent-dim", type=number(int, dims.min, dims.max), nargs="+", default=[2], metavar="D",
                   help="latent dimensions to train, each with every beta (default: 2)")
    w.add_argument("--out", required=True, metavar="DIR", help="the sweep's folder (new, empty, or a sweep to resume)")
    w.add_argument("--jobs", type=number(int, 1, 4096), default=None, metavar="N",
                   help="runs at once (default: one per core; under torchrun, per core of each rank)")
    return w


def _train_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    train = action.choices["train"]
    train.usage = "latentlab sweep --beta B [B ...] --out DIR [...] [train flags: see latentlab train --help]"
    return train


def cmd_sweep(args, extras: list[str], parser: argparse.ArgumentParser) -> int:
    from .core.sweep import check_train_args, run_sweep

    train_args, resume_args = check_train_args(_train_parser(parser), list(extras or []), args.beta)
    betas = list(dict.fromkeys(args.beta))            # a value given twice is one run
    dims = list(dict.fromkeys(args.latent_dim))
    return run_sweep(args.out, betas, dims, train_args, resume_args, jobs=args.jobs)
