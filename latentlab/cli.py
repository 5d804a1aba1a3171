"""`latentlab` command line: gui (default), train, eval, sample, manifold.

Every subcommand runs on the Qt-free core; only `gui` imports Qt.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from pathlib import Path

from . import __version__


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder holding mnist/, fashion-mnist/, frey-face/ (default: $LATENTLAB_DATA, "
                        "else the user cache folder, where missing files are downloaded)")
    p.add_argument("--no-download", action="store_true", help="never download; fail if the files are missing")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latentlab", description="Explore and train variational auto-encoders. "
        "With no command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"latentlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser("gui", help="open the desktop app (the default)")
    g.add_argument("checkpoint", nargs="?", help="checkpoint to open (default: the shipped MNIST 2-D model)")
    g.add_argument("--screenshot", metavar="PNG", help="save a picture of the window once drawn, then exit")

    t = sub.add_parser("train", help="train a VAE headless", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--data", default="mnist", help="mnist, fashion-mnist, frey-face, or a folder of images")
    _add_data_dir(t)
    t.add_argument("--out", default="runs/model.pt", help="checkpoint to write (saved atomically every epoch); "
                   "metrics.csv goes beside it")
    t.add_argument("--resume", metavar="CKPT", help="continue a run: weights, optimizer, curves")
    m = t.add_argument_group("model")
    m.add_argument("--latent-dim", type=int, default=2)
    m.add_argument("--arch", choices=["mlp", "conv"], default="mlp")
    m.add_argument("--hidden", type=int, nargs="+", default=[512, 512], help="MLP hidden layer sizes")
    m.add_argument("--likelihood", choices=["bernoulli", "gaussian"], default=None,
                   help="decoder (default: bernoulli; gaussian for frey-face)")
    m.add_argument("--gaussian-variance", choices=["learned", "fixed"], default="learned")
    m.add_argument("--gaussian-std", type=float, default=0.1, help="sigma of p(x|z) with --gaussian-variance fixed")
    m.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), default=[28, 28],
                   help="image-folder data: size images are converted to")
    m.add_argument("--channels", type=int, choices=[1, 3], default=1, help="image-folder data: grey or RGB")
    o = t.add_argument_group("objective and optimiser")
    o.add_argument("--epochs", type=int, default=30)
    o.add_argument("--batch-size", type=int, default=128)
    o.add_argument("--lr", type=float, default=1e-3)
    o.add_argument("--weight-decay", type=float, default=0.0)
    o.add_argument("--grad-clip", type=float, default=0.0, help="max gradient norm, 0 = off")
    o.add_argument("--mc-samples", type=int, default=1, help="N, samples of z per image")
    o.add_argument("--beta", type=float, default=1.0, help="weight of the KL term")
    o.add_argument("--kl-warmup", type=float, default=0.0, help="epochs of linear KL warm-up, 0 = off")
    o.add_argument("--binarize", choices=["dynamic", "threshold", "grey"], default=None,
                   help="default: dynamic for MNIST/Fashion, grey otherwise")
    o.add_argument("--val-fraction", type=float, default=1 / 6)
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    o.add_argument("--threads", type=int, default=0, help="CPU threads, 0 = PyTorch's default")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    e = sub.add_parser("eval", help="test-set ELBO, KL, reconstruction, IW-NLL, active units")
    e.add_argument("checkpoint")
    e.add_argument("--iw-samples", type=int, default=5000, help="k of the importance-weighted bound, 0 = skip")
    e.add_argument("--batch-size", type=int, default=100)
    e.add_argument("--limit", type=int, default=0, help="use only the first N test images (0 = all)")
    e.add_argument("--seed", type=int, default=0, help="seed of the binarisation and the samples")
    e.add_argument("--device", default="auto")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--no-progress", action="store_true")
    _add_data_dir(e)

    s = sub.add_parser("sample", help="a grid of images decoded from prior samples")
    s.add_argument("checkpoint")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--out", default="samples.png")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--sample-x", action="store_true", help="draw from p(x|z) instead of showing its mean")

    mf = sub.add_parser("manifold", help="the learned 2-D manifold (AEVB Figure 4)")
    mf.add_argument("checkpoint")
    mf.add_argument("--n", type=int, default=20, help="grid size n x n")
    mf.add_argument("--out", default="manifold.png")
    x = sub.add_parser("export", help="a compact copy of a checkpoint (float16 weights, no optimizer state)")
    x.add_argument("checkpoint")
    x.add_argument("--out", required=True)
    x.add_argument("--full-precision", action="store_true", help="keep float32 weights")
    return parser


COMMANDS = ("gui", "train", "eval", "sample", "manifold", "export")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `latentlab`, `latentlab CKPT` and `latentlab --screenshot x.png` all mean the app.
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "gui")
    args = build_parser().parse_args(argv)
    command = args.command
    try:
        return {"gui": cmd_gui, "train": cmd_train, "eval": cmd_eval,
                "sample": cmd_sample, "manifold": cmd_manifold, "export": cmd_export}[command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # user-facing errors of the core: one clear line, no traceback
        from .core.checkpoint import CheckpointError
        from .core.data import DataError

        if isinstance(e, (CheckpointError, DataError, ValueError, OSError)):
            print(f"latentlab: error: {e}", file=sys.stderr)
            return 2
        raise


# -- gui ------------------------------------------------------------------------------------------
def cmd_gui(args) -> int:
    try:
        from .gui.app import run_app
    except ImportError as e:
        print(f"latentlab: the desktop app cannot start: {e}", file=sys.stderr)
        return 1
    return run_app(checkpoint=getattr(args, "checkpoint", None), screenshot=getattr(args, "screenshot", None))


# -- train ----------------------------------------------------------------------------------------
def _data_spec(args):
    from .core.pipeline import DataSpec

    if Path(args.data).is_dir():
        return DataSpec(dataset="folder", folder=str(Path(args.data).resolve()),
                        image_shape=(args.channels, *args.image_size), val_fraction=args.val_fraction)
    return DataSpec(dataset=args.data, val_fraction=args.val_fraction)


def _download_progress(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    bars = {}

    def progress(done, total, name):
        bar = bars.get(name)
        if bar is None:
            bar = bars[name] = tqdm(total=total, unit="B", unit_scale=True, desc=f"download {name}", leave=False)
        bar.update(done - bar.n)
        if total and done >= total:
            bar.close()
    return progress


def cmd_train(args) -> int:
    from .core import distributed, pipeline
    from .core.checkpoint import load_checkpoint
    from .core.metrics import MetricsWriter, metrics_path_for
    from .core.trainer import EpochEvent, StatusEvent, TrainConfig

    dist = distributed.from_environment(args.device)
    is_main = dist is None or dist.rank == 0
    out = Path(args.out)
    ckpt = load_checkpoint(args.resume) if args.resume else None
    spec = pipeline.DataSpec.from_dict(ckpt.data) if ckpt else _data_spec(args)
    show = is_main and not args.no_progress
    splits = pipeline.load_splits(spec, args.data_dir, download=not args.no_download,
                                  progress=_download_progress(show))
    device = str(dist.device) if dist else args.device
    train_cfg = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                     grad_clip=args.grad_clip, n_samples=args.mc_samples, beta=args.beta,
                     kl_warmup_epochs=args.kl_warmup, seed=args.seed, device=device, num_threads=args.threads,
                     binarize=args.binarize or pipeline.default_binarize(spec))
    if ckpt:
        # A resumed run keeps its objective and data handling; the schedule and device may change.
        keep = ("n_samples", "beta", "kl_warmup_epochs", "binarize", "seed")
        overrides = {k: v for k, v in train_cfg.items() if k not in keep}
        trainer = pipeline.resume_trainer(ckpt, splits, dist=dist, **overrides)
    else:
        model_cfg = pipeline.default_model_config(
            spec, splits.train.image_shape, latent_dim=args.latent_dim, architecture=args.arch,
            hidden_sizes=tuple(args.hidden), likelihood=args.likelihood, gaussian_variance=args.gaussian_variance,
            gaussian_fixed_std=args.gaussian_std)
        trainer = pipeline.new_trainer(spec, splits, model_cfg, TrainConfig(**train_cfg), dist=dist)

    metrics = None
    if is_main:
        out.parent.mkdir(parents=True, exist_ok=True)
        metrics = MetricsWriter(metrics_path_for(out), append=ckpt is not None)
        trainer.add_listener(metrics)
        tb = _tensorboard_listener(out)
        if tb:
            trainer.add_listener(tb)
        trainer.add_listener(lambda ev: trainer.save(out) if isinstance(ev, EpochEvent) else None)
        print(f"training {trainer.model.latent_dim}-D {trainer.model.config.architecture} VAE on {spec.dataset} "
              f"({len(splits.train)} train / {len(splits.val)} val images) on {trainer.device}"
              + (f", {dist.world_size} processes" if dist else ""), file=sys.stderr)
    bar = _progress_bar(trainer) if show else None
    if bar:
        trainer.add_listener(bar)
    trainer.add_listener(lambda ev: print(f"latentlab: {ev.message}", file=sys.stderr)
                         if is_main and isinstance(ev, StatusEvent) and ev.status in ("diverged",) else None)

    # First Ctrl+C asks the trainer to stop after the current step (and the run is saved);
    # a second one interrupts at once.
    def on_sigint(signum, frame):
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nstopping after this step (Ctrl+C again to abort)", file=sys.stderr)
        trainer.request_stop()
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        status = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar:
            bar.close()
    if is_main:
        if splits.test is not None or splits.val is not None:
            trainer.extras.update(pipeline.scatter_extras(
                trainer.model, splits.test if splits.test is not None else splits.val, trainer.config.binarize))
        trainer.save(out)
        metrics.close()
        last = trainer.history.epochs["val_neg_elbo"][-1:] or [math.nan]
        print(f"{status}: epoch {trainer.epoch}, step {trainer.step}, validation -ELBO {last[0]:.2f} nats; "
              f"saved {out}", file=sys.stderr)
    if dist:
        dist.barrier()
        dist.close()
    return 0 if status in ("finished", "stopped") else 1


class _progress_bar:
    """tqdm bar over all steps of the run, refreshed at most ~10 times a second by tqdm itself."""

    def __init__(self, trainer):
        from tqdm import tqdm

        total = trainer.config.epochs * trainer.steps_per_epoch()
        self.bar = tqdm(total=total, initial=min(trainer.step, total), unit="step", dynamic_ncols=True)

    def __call__(self, ev) -> None:
        from .core.trainer import EpochEvent, StepEvent

        if isinstance(ev, StepEvent):
            self.bar.update(1)
            if ev.step % 20 == 0:
                self.bar.set_postfix_str(f"ep {ev.epoch} -ELBO {ev.neg_elbo:.1f} KL {ev.kl:.1f}", refresh=False)
        elif isinstance(ev, EpochEvent):
            self.bar.write(f"epoch {ev.epoch}: val -ELBO {ev.val_neg_elbo:.2f}  KL {ev.val_kl:.2f}  "
                           f"recon {ev.val_recon:.2f}  active units {ev.active_units}  ({ev.seconds:.1f} s)")

    def close(self) -> None:
        self.bar.close()


def _tensorboard_listener(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard not installed: optional
        return None
    from .core.trainer import EpochEvent, StepEvent

    writer = SummaryWriter(log_dir=str(out.with_suffix("")) + "-tensorboard")

    def listener(ev):
        if isinstance(ev, StepEvent):
            for k in ("neg_elbo", "kl", "recon"):
                writer.add_scalar(f"train/{k}", getattr(ev, k), ev.step)
        elif isinstance(ev, EpochEvent):
            for k in ("val_neg_elbo", "val_kl", "val_recon"):
                writer.add_scalar(f"val/{k[4:]}", getattr(ev, k), ev.step)
            writer.add_scalar("val/active_units", ev.active_units, ev.step)
            writer.flush()
    return listener


# -- eval, sample, manifold -----------------------------------------------------------------------
def cmd_eval(args) -> int:
    import torch

    from .core import pipeline
    from .core.checkpoint import load_checkpoint
    from .core.data import binarize, to_float
    from .core.evaluation import evaluate
    from .core.trainer import resolve_device

    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint, device=device)
    spec = pipeline.DataSpec.from_dict(ckpt.data)
    splits = pipeline.load_splits(spec, args.data_dir, download=not args.no_download)
    ds = splits.test if splits.test is not None else splits.val
    images = ds.images[: args.limit] if args.limit else ds.images
    mode = ckpt.data.get("binarize") or ckpt.train_config.get("binarize", "dynamic")
    torch.manual_seed(args.seed)  # the samples of z: fixed, so the model card reproduces
    g = torch.Generator().manual_seed(args.seed)
    batches = (binarize(to_float(chunk), mode, g).to(device) for chunk in images.split(args.batch_size))
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(images), unit="img", desc="eval", leave=False)
    result = evaluate(ckpt.model, batches, iw_samples=args.iw_samples,
                      progress=(lambda n: bar.update(n - bar.n)) if bar else None)
    if bar:
        bar.close()
    split = "test" if splits.test is not None else "validation"
    report = {"checkpoint": str(args.checkpoint), "dataset": spec.dataset, "split": split,
              "binarize": mode, "seed": args.seed, **result.to_dict()}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{spec.dataset} {split} set, {result.n_images} images, binarisation: {mode}")
        print(f"  -ELBO            {result.neg_elbo:9.2f} nats")
        print(f"  KL               {result.kl:9.2f} nats")
        print(f"  reconstruction   {result.recon:9.2f} nats")
        if result.iw_nll is not None:
            se = f" ± {result.iw_nll_stderr:.2f} (standard error)" if result.iw_nll_stderr else ""
            print(f"  IW-NLL (k={result.iw_samples}) {result.iw_nll:9.2f} nats{se}")
        print(f"  active units     {result.active_units} of {ckpt.model.latent_dim}")
    return 0


def cmd_sample(args) -> int:
    from .core.checkpoint import load_checkpoint
    from .core.figures import prior_samples, save_png

    ckpt = load_checkpoint(args.checkpoint)
    save_png(prior_samples(ckpt.model, args.n, seed=args.seed, sample_x=args.sample_x), args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_manifold(args) -> int:
    from .core.checkpoint import load_checkpoint
    from .core.figures import manifold, save_png

    ckpt = load_checkpoint(args.checkpoint)
    save_png(manifold(ckpt.model, args.n), args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    from .core.checkpoint import export_compact

    out = export_compact(args.checkpoint, args.out, half=not args.full_precision)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0
