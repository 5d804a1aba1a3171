"""The command line's semi-supervised part: `latentlab train --model m2|m1m2 --labels N [--m1 CKPT]`
and what `latentlab eval` prints for M2 and M1+M2 (test error, per-class accuracy, the bounds).

Kept beside cli.py, which stays about the VAE; cli.py calls in here when the model is not a VAE.
"""

from __future__ import annotations

import argparse
import json
import sys

MODEL_KINDS = ("vae", "m2", "m1m2")
M2_DEFAULT_HIDDEN = (500,)     # the paper's M2: one hidden layer of 500 units per network


def add_train_flags(t: argparse.ArgumentParser, add_setting) -> None:
    from .core.trainer import TrainConfig

    s = t.add_argument_group("semi-supervised (M2, M1+M2: Kingma et al. 2014)")
    s.add_argument("--model", choices=MODEL_KINDS, default=argparse.SUPPRESS,
                   help="vae; m2: classifier, style z and class y on the pixels; m1m2: M2 on the latent of a "
                        "trained VAE (--m1) (default: vae)")
    add_setting(s, TrainConfig, "labels")
    add_setting(s, TrainConfig, "alpha")
    s.add_argument("--m1", metavar="CKPT", default=argparse.SUPPRESS,
                   help="m1m2: the trained VAE whose latent M2 models (it stays fixed), e.g. a 50-D MNIST VAE")
    s.add_argument("--classifier-hidden", type=int, nargs="+", metavar="H", default=argparse.SUPPRESS,
                   help="M2: hidden layer sizes of q(y|x) (default: 500)")


def new_model_config(args, spec, model_flags: dict):
    """The M2Config and the M1 VAE (or None) of a new semi-supervised run, from the flags."""
    from .core.checkpoint import load_checkpoint
    from .core.m2 import M2Config
    from .core.models import VAE

    kind = args.model
    for flag in ("architecture", "likelihood", "gaussian_variance", "gaussian_fixed_std"):
        if flag in model_flags:
            raise ValueError(f"--{flag.replace('_', '-')} is a VAE setting; M2 and M1+M2 use MLPs with a "
                             "Bernoulli p(x|y,z) on pixels (M2) or a Gaussian on M1's latent (M1+M2)")
    settings = {"image_shape": tuple(spec.image_shape),
                "hidden_sizes": tuple(model_flags.get("hidden_sizes", M2_DEFAULT_HIDDEN)),
                "classifier_hidden": tuple(getattr(args, "classifier_hidden", M2_DEFAULT_HIDDEN))}
    if "latent_dim" in model_flags:
        settings["latent_dim"] = model_flags["latent_dim"]
    m1 = None
    if kind == "m1m2":
        if not hasattr(args, "m1"):
            raise ValueError("--model m1m2 needs --m1 CKPT: a VAE trained on the same images (for example "
                             "`latentlab train --latent-dim 50 --out m1.pt`)")
        m1_ckpt = load_checkpoint(args.m1)
        if not isinstance(m1_ckpt.model, VAE):
            raise ValueError(f"--m1: {args.m1} holds an {m1_ckpt.kind} model; M1 must be a VAE")
        if (m1_ckpt.data or {}).get("dataset") not in (None, spec.dataset):
            raise ValueError(f"--m1: {args.m1} was trained on {m1_ckpt.data['dataset']}, this run is on {spec.dataset}")
        m1 = m1_ckpt.model
        settings.update(likelihood="gaussian", m1=m1.config.to_dict())
    elif hasattr(args, "m1"):
        raise ValueError("--m1 belongs to --model m1m2")
    elif spec.dataset in ("frey-face",) or spec.dataset == "folder":
        raise ValueError(f"M2 needs class labels; {spec.name} has none (use mnist or fashion-mnist)")
    return M2Config(**settings), m1


def check_not_semi_flags(args) -> None:
    """A VAE run given a semi-supervised flag: an error, not a silently ignored flag."""
    for flag in ("labels", "alpha", "m1", "classifier_hidden"):
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
