"""The command line's semi-supervised part: `latentlab train --model m2|m1m2 --labels N [--m1 CKPT]`
and what `latentlab eval` prints for M2 and M1+M2 (test error, per-class accuracy, the bounds).

Kept beside cli.py, which stays about the VAE; cli.py calls in here when the model is not a VAE.
"""

from __future__ import annotations

import argparse
import json
import sys

MODEL_KINDS = ("vae", "m2", "m1m2")
M2_DEFAULT_HIDDEN = (500,)
UNLABELLED_DATA = ("frey-face", "folder")   # data sets without class labels     # the paper's M2: one hidden layer of 500 units per network


def add_train_flags(t: argparse.ArgumentParser, add_setting) -> None:
    from .core.trainer import TrainConfig

    s = t.add_argument_group("semi-supervised (M2, M1+M2: Kingma et al. 2014)")
    s.add_argument("--model", choices=MODEL_KINDS, default=argparse.SUPPRESS,
                   help="vae; m2: classifier, style z and class y on the pixels; m1m2: M2 on the latent of a "
                        "trained VAE (--m1) (default: vae)")
    add_setting(s, TrainConfig, "labels")
    add_setting(s, TrainConfig, "alpha")
    add_setting(s, TrainConfig, "class_balance")
    s.add_argument("--m1", metavar="CKPT", default=argparse.SUPPRESS,
                   help="m1m2: the trained VAE whose latent M2 models (it stays fixed), e.g. a 50-D MNIST VAE")
    s.add_argument("--m1-latent-dim", type=int, default=50, metavar="D",
                   help="m1m2 without --m1: latent dimension of the M1 trained first in the same run (default: 50)")
    s.add_argument("--m1-epochs", type=int, default=50, metavar="E",
                   help="m1m2 without --m1: epochs of that M1 (default: 50); it is saved beside --out as "
                        "<name>.m1.pt")
    s.add_argument("--classifier-hidden", type=int, nargs="+", metavar="H", default=argparse.SUPPRESS,
                   help="M2: hidden layer sizes of q(y|x) (default: 500)")
    s.add_argument("--classifier-architecture", choices=("mlp", "conv"), default=argparse.SUPPRESS,
                   help="M2 on pixels: q(y|x) as an MLP (the paper's, default) or convolutions "
                        "(conv: two stride-2 convolutions and a dense layer of the first --classifier-hidden size)")
    s.add_argument("--classifier-dropout", type=float, metavar="P", default=argparse.SUPPRESS,
                   help="M2: dropout on q(y|x)'s hidden units while training (default: 0)")


def new_model_config(args, spec, model_flags: dict, m1=None):
    """The M2Config and the M1 VAE (or None) of a new semi-supervised run, from the flags.
    (None, None) for M1+M2 without --m1 and without `m1`: the M1 must be trained first."""
    from .core.checkpoint import load_checkpoint
    from .core.m2 import M2Config
    from .core.models import VAE

    kind = args.model
    if spec.dataset in UNLABELLED_DATA:
        raise ValueError(f"--model {kind} needs class labels; {spec.name} has none (use mnist or fashion-mnist)")
    for flag in ("architecture", "likelihood", "gaussian_variance", "gaussian_fixed_std"):
        if flag in model_flags:
            raise ValueError(f"--{flag.replace('_', '-')} is a VAE setting; M2 and M1+M2 use MLPs with a "
                             "Bernoulli p(x|y,z) on pixels (M2) or a Gaussian on M1's latent (M1+M2)")
    settings = {"image_shape": tuple(spec.image_shape),
                "hidden_sizes": tuple(model_flags.get("hidden_sizes", M2_DEFAULT_HIDDEN)),
                "classifier_hidden": tuple(getattr(args, "classifier_hidden", M2_DEFAULT_HIDDEN)),
                "classifier_dropout": getattr(args, "classifier_dropout", 0.0),
                "classifier_architecture": getattr(args, "classifier_architecture", "mlp")}
    if "latent_dim" in model_flags:
        settings["latent_dim"] = model_flags["latent_dim"]
    if kind == "m1m2":
        if m1 is None and not hasattr(args, "m1"):
            return None, None
        if m1 is None:
            m1_ckpt = load_checkpoint(args.m1)
            if not isinstance(m1_ckpt.model, VAE):
                raise ValueError(f"--m1: {args.m1} holds an {m1_ckpt.kind} model; M1 must be a VAE")
            if (m1_ckpt.data or {}).get("dataset") not in (None, spec.dataset):
                raise ValueError(f"--m1: {args.m1} was trained on {m1_ckpt.data['dataset']}, this run is on "
                                 f"{spec.dataset}")
            m1 = m1_ckpt.model
        settings.update(likelihood="gaussian", m1=m1.config.to_dict())
    elif hasattr(args, "m1"):
        raise ValueError("--m1 belongs to --model m1m2")
    return M2Config(**settings), m1


def m1_path(out) -> "Path":
    from pathlib import Path

    out = Path(out)
    return out.with_name(f"{out.stem}.m1.pt")


def train_m1(args, spec, train_changes: dict, out, options: dict):
    """M1+M2 in one run: first the M1 VAE (--m1-latent-dim, --m1-epochs, the run's seed, batch size,
    device and threads), saved as <out>.m1.pt; returns it. A stop (Ctrl+C) ends the whole run."""
    from .core import pipeline
    from .core.session import TrainingSession
    from .core.trainer import EpochEvent, TrainConfig

    keep = {k: v for k, v in train_changes.items() if k in ("seed", "batch_size", "device", "num_threads",
                                                             "binarize", "lr")}
    if not 1 <= args.m1_epochs <= 100_000 or not 1 <= args.m1_latent_dim <= 256:
        raise ValueError("--m1-epochs must be 1 to 100000 and --m1-latent-dim 1 to 256")
    config = pipeline.default_model_config(spec, spec.image_shape, latent_dim=args.m1_latent_dim)
    path = m1_path(out)
    session = TrainingSession.new(spec, config, TrainConfig(**{**keep, "epochs": args.m1_epochs}), path, **options)
    print(f"M1+M2, step 1 of 2: training the M1, a {args.m1_latent_dim}-D VAE, for {args.m1_epochs} epochs "
          f"into {path}", file=sys.stderr)

    def report(ev):
        if isinstance(ev, EpochEvent):
            print(f"  M1 epoch {ev.epoch}: val -ELBO {ev.val_neg_elbo:.2f}", file=sys.stderr)
    session.add_listener(report)
    status = session.run()
    if status != "finished" or session.save_error:
        raise ValueError(f"the M1 did not finish ({status}: {session.message or session.save_error}); "
                         f"resume it with `latentlab train --resume {path}` and pass it as --m1")
    print("M1+M2, step 2 of 2: training M2 on its latent", file=sys.stderr)
    return session.trainer.model


def check_not_semi_flags(args) -> None:
    """A VAE run given a semi-supervised flag: an error, not a silently ignored flag."""
    for flag in ("labels", "alpha", "class_balance", "m1", "classifier_hidden", "classifier_dropout",
                 "classifier_architecture"):
        if hasattr(args, flag):
            raise ValueError(f"--{flag.replace('_', '-')} belongs to --model m2 or m1m2")


def describe(model) -> str:
    """'M2 with a 2-D style z' / 'M1+M2 (50-D M1, 10-D style z)', for the run's first line."""
    from .core.model_kinds import describe_model   # the wording lives with the model kinds
    return describe_model(model)


def evaluate(args, ckpt, spec, ds, images, mode, device) -> int:
    """`latentlab eval` of an M2 / M1+M2: test error, per-class accuracy and the bounds."""
    import torch

    from .core.data import binarize, to_float
    from .core.m2_evaluation import evaluate_semi

    if ds.labels is None:
        raise ValueError(f"{spec.name} has no labels, so the test error of {args.checkpoint} cannot be measured")
    if args.exact or args.per_image:
        raise ValueError(f"--{'exact' if args.exact else 'per-image'} is for VAEs; {args.checkpoint} is "
                         f"{describe(ckpt.model)}")
    labels = ds.labels[: len(images)]
    g = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    batches = ((binarize(to_float(x), mode, g).to(device), y.to(device))
               for x, y in zip(images.split(args.batch_size), labels.split(args.batch_size)))
    result = evaluate_semi(ckpt.model, batches)
    report = {"checkpoint": str(args.checkpoint), "model_kind": ckpt.kind, "dataset": spec.dataset,
              "split": "test", "binarize": mode, "seed": args.seed,
              "labels": ckpt.train_config.get("labels"), "labels_seed": ckpt.train_config.get("seed"),
              **result.to_dict()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    names = ds.label_names or [str(c) for c in range(ckpt.model.num_classes)]
    print(f"{describe(ckpt.model)}, trained with {report['labels'] or 'all'} labels (seed {report['labels_seed']})")
    print(f"{spec.dataset} test set, {result.n_images} images, binarisation: {mode}")
    print(f"  test error       {result.error:9.2f} %")
    print("  per class        " + "  ".join(f"{n}: {a:.1f}%" for n, a in zip(names, result.class_accuracy)))
    unit = "pixels" if ckpt.kind == "m2" else "M1's latent"
    print(f"  -U(x) bound      {result.neg_elbo:9.2f} nats  (on {unit}; class unknown)")
    print(f"  -L(x, y) bound   {result.labelled_neg_elbo:9.2f} nats  (true class)")
    print(f"  KL               {result.kl:9.2f} nats")
    print(f"  reconstruction   {result.recon:9.2f} nats")
    print(f"  active units     {result.active_units} of {ckpt.model.latent_dim} (style z)")
    return 0


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2), file=sys.stdout)


# -- figures of M2 and M1+M2 (`sample`, `manifold`, `figure`) ---------------------------------------
def add_class_flag(p: argparse.ArgumentParser, all_classes: str | None = None) -> None:
    """--class K of a figure command: the figure of model.given(K) for an M2 / M1+M2 checkpoint."""
    from .cli import _number
    from .core.m2 import MAX_CLASSES

    without = f"without it, {all_classes}" if all_classes else "without it, class 0"
    p.add_argument("--class", dest="class_index", type=_number(int, 0, MAX_CLASSES - 1), metavar="K",
                   help=f"M2 and M1+M2 checkpoints: the figure of class K (0-based), the style z drawn as "
                        f"that class; {without}")


def drawn_model(args, ckpt, all_classes: bool = False):
    """The model a figure command draws: a VAE as it is; an M2's view of --class K
    (model.given(K)); without --class, None when the command draws every class (`all_classes`),
    else class 0, said on stderr. --class on a VAE is an error naming the flag."""
    from .core.model_kinds import is_semi_supervised

    k = getattr(args, "class_index", None)
    model = ckpt.model
    if not is_semi_supervised(model):
        if k is not None:
            raise ValueError(f"--class is for M2 and M1+M2 checkpoints; {args.checkpoint} is a VAE")
        return model
    if k is not None and k >= model.num_classes:
        raise ValueError(f"--class: {args.checkpoint} has classes 0..{model.num_classes - 1}, got {k}")
    if k is None:
        if all_classes:
            return None
        k = 0
        print(f"latentlab: note: {args.checkpoint} is {describe(model)}: drawing {class_words(ckpt, 0)}; "
              "--class K draws another", file=sys.stderr)
    return model.given(k)


def class_words(ckpt, k: int) -> str:
    """'class 3', or 'class 3 (Dress)' where the class has a name of its own."""
    names = (ckpt.data or {}).get("label_names") or []
    name = str(names[k]) if k < len(names) else str(k)
    return f"class {k}" + (f" ({name})" if name != str(k) else "")


def check_sample_x(args, ckpt) -> None:
    """--sample-x draws from p(x|y, z); M1+M2 has none on images (it passes through M1's z1)."""
    if getattr(args, "sample_x", False) and getattr(ckpt.model, "kind", "vae") == "m1m2":
        raise ValueError(f"--sample-x: {args.checkpoint} is {describe(ckpt.model)}, which has no p(x|y, z2) "
                         "on images to draw from (it passes through M1's latent); its figures show decoded means")
