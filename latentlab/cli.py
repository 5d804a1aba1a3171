"""`latentlab` command line: gui (default), train, sweep, eval, sample, manifold, figure, export, replay, install-desktop.

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


def _number(kind: type, lo=None, hi=None, lo_exclusive: bool = False):
    """An argparse type: a number of `kind` within [lo, hi]; otherwise argparse's one-line error
    ("argument --n: must be between 1 and 200, got 0") and exit status 2."""
    from .core.config import Limits

    limits = Limits("", kind, lo, hi, None, lo_exclusive)

    def parse(text: str):
        try:
            value = kind(text) if kind is int else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a {'whole ' if kind is int else ''}number, got {text!r}")
        try:
            return limits.check(value)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e))
    parse.__name__ = kind.__name__
    return parse


def _setting_type(cls, name: str):
    lim = cls.limits(name)
    return _number(lim.kind, lim.min, lim.max, lim.min_exclusive) if lim.kind in (int, float) else str


def _device(text: str) -> str:
    """--device: checked against this machine at once, so a missing GPU is a one-line error."""
    from .core.trainer import resolve_device

    try:
        resolve_device(text)
    except (ValueError, RuntimeError) as e:
        raise argparse.ArgumentTypeError(str(e))
    return text


def _flag(cls, name: str) -> str:
    from dataclasses import fields

    f = {f.name: f for f in fields(cls)}[name]
    return f.metadata.get("flag") or "--" + name.replace("_", "-")


def _add_setting(group, cls, name: str, help: str | None = None, default_text: str | None = None, **kw) -> None:
    """A flag for a config field: type, range and choices from the dataclass; the default shown once.

    Flags default to argparse.SUPPRESS, so the namespace holds only what the user typed: that is
    what a resumed run changes (core.session.resumed_config)."""
    lim = cls.limits(name)
    default = cls.default(name) if default_text is None else default_text
    text = (help or cls.help(name)) + f" (default: {default})"
    if lim is not None and lim.choices:
        kw.setdefault("choices", lim.choices)
    else:
        kw.setdefault("type", _setting_type(cls, name))
        kw.setdefault("metavar", _flag(cls, name).lstrip("-").upper().replace("-", "_"))
    group.add_argument(_flag(cls, name), dest=name, default=argparse.SUPPRESS, help=text, **kw)


def _add_figure_file(p: argparse.ArgumentParser, stem: str) -> None:
    """--out, --scale and --format of a command that writes a pixel figure (core.figure_files)."""
    from .core.figure_files import DEFAULT_SCALE, FORMATS, MAX_SCALE, MIN_SCALE, PRINT_DPI

    p.add_argument("--out", help=f"file to write; its suffix gives the format (default: {stem}.png, or "
                   f"{stem}.svg / {stem}.pdf with --format)")
    p.add_argument("--scale", type=_number(int, MIN_SCALE, MAX_SCALE), default=DEFAULT_SCALE,
                   help=f"output pixels per image pixel, {MIN_SCALE}-{MAX_SCALE}, nearest neighbour so pixels stay "
                   f"crisp; 1 is the models' own size, 4 makes a 28-pixel digit 112 px (default: {DEFAULT_SCALE})")
    p.add_argument("--format", choices=FORMATS, help=f"png: the scaled pixels, tagged {PRINT_DPI} dpi; svg: the same "
                   "pixels as a PNG embedded in an SVG of that size in px (image-rendering: pixelated); pdf: the same "
                   f"pixels on one page at {PRINT_DPI} dpi, lossless (default: from the --out suffix, else png)")


def _figure_target(args, stem: str) -> tuple[str, str]:
    """(file, format) of a figure command, checked before any model work: an unknown suffix is an error."""
    from .core.figure_files import figure_format

    out = args.out or f"{stem}.{args.format or 'png'}"
    try:
        return out, figure_format(out, args.format)
    except ValueError as e:
        raise ValueError(f"--out {e}; or give --format") from None


def _write_figure(args, array, stem: str) -> None:
    """Save `array` as the command's --out/--scale/--format ask; too large a result names the flags."""
    from .core.figure_files import save_figure, scaled_size

    out, _ = _figure_target(args, stem)
    try:
        width, height = scaled_size(array.shape, args.scale)
    except ValueError as e:
        raise ValueError(f"--scale {args.scale} with --n {args.n}: {e}; use a smaller --scale or --n") from None
    save_figure(array, out, args.scale, args.format)
    print(f"wrote {out} ({width} x {height} px)", file=sys.stderr)


MANIFOLD_MAX_N = 200      # a 200 x 200 grid of 28-pixel images is already 5,600 pixels wide
SAMPLE_MAX_N = 10_000
FIGURE_KINDS = ("manifold", "samples", "traversal", "magnification", "aggregate", "analogies")
FIGURE_MAX_N = SAMPLE_MAX_N
MAP_DEFAULT_N = 128
MAP_MAX_N = 1024           # cells per side of a magnification or aggregate grid
TRAVERSAL_MAX_STEPS = 50
ANALOGY_MAX_ROWS = 100
CLASS_ROWS_DEFAULT_N = 10  # an M2's samples and manifolds of every class: 10 per class


def _parser_with_gui() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The top-level parser with its `gui` command. Alone it is what `latentlab [CKPT]` parses
    with: the other commands' flags come from the core's settings classes, which import torch,
    and the app's first look comes up before torch is imported (gui/app.py)."""
    parser = argparse.ArgumentParser(
        prog="latentlab", description="Explore and train variational auto-encoders. With no command, opens the "
        "desktop app: `latentlab [CKPT]`; `latentlab --screenshot out.png [CKPT]` saves a picture of the window "
        "once the first image is decoded, then exits.")
    parser.add_argument("--version", action="version", version=f"latentlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser("gui", help="open the desktop app (the default)")
    g.add_argument("checkpoint", nargs="?", help="checkpoint to open (default: the shipped MNIST 2-D model)")
    g.add_argument("--screenshot", metavar="PNG", help="save a picture of the window once drawn, then exit")
    return parser, sub


def build_parser() -> argparse.ArgumentParser:
    from .core.models import MAX_IMAGE_SIDE, MAX_LAYER_WIDTH, VAEConfig
    from .core.pipeline import DataSpec
    from .core.trainer import TrainConfig

    parser, sub = _parser_with_gui()

    t = sub.add_parser("train", help="train a VAE headless",
                       description="Train a VAE. With --resume, every setting stored in the checkpoint is kept "
                       "except the flags given here; --epochs is the total, so a run resumed after epoch 30 "
                       "with --epochs 50 trains 20 more.")
    t.add_argument("--data", default=argparse.SUPPRESS,
                   help="mnist, fashion-mnist, frey-face, or a folder of images (default: mnist)")
    _add_data_dir(t)
    t.add_argument("--out", default=argparse.SUPPRESS, help="checkpoint to write, saved atomically every epoch; "
                   "its metrics file goes beside it (default: runs/model.pt; with --resume: the resumed file)")
    t.add_argument("--resume", metavar="CKPT", help="continue a run: weights, optimizer, curves and settings")
    m = t.add_argument_group("model (fixed once a run has started)")
    _add_setting(m, VAEConfig, "latent_dim")
    _add_setting(m, VAEConfig, "architecture")
    m.add_argument("--hidden", dest="hidden_sizes", type=_number(int, 1, MAX_LAYER_WIDTH), nargs="+", metavar="H",
                   default=argparse.SUPPRESS, help="MLP hidden layer sizes (default: 512 512)")
    _add_setting(m, VAEConfig, "likelihood", default_text="bernoulli; gaussian for frey-face")
    _add_setting(m, VAEConfig, "gaussian_variance")
    _add_setting(m, VAEConfig, "gaussian_fixed_std")
    m.add_argument("--image-size", type=_number(int, 4, MAX_IMAGE_SIDE), nargs=2, metavar=("H", "W"),
                   default=argparse.SUPPRESS, help="image-folder data: size images are converted to (default: 28 28)")
    m.add_argument("--channels", type=int, choices=[1, 3], default=argparse.SUPPRESS,
                   help="image-folder data: 1 grey or 3 RGB (default: 1)")
    o = t.add_argument_group("objective and optimiser")
    for name in ("epochs", "batch_size", "lr", "weight_decay", "grad_clip", "n_samples", "beta",
                 "kl_warmup_epochs", "objective", "iw_k"):
        _add_setting(o, TrainConfig, name)
    _add_setting(o, TrainConfig, "binarize", default_text="dynamic for MNIST and Fashion-MNIST, grey otherwise")
    _add_setting(o, DataSpec, "val_fraction", default_text="1/6")
    _add_setting(o, TrainConfig, "seed")
    _add_setting(o, TrainConfig, "device", type=_device)
    _add_setting(o, TrainConfig, "num_threads")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--no-replay", action="store_true", help="keep no per-epoch snapshots (by default each "
                   "epoch's weights and scatter go to NAME.replay/ beside the checkpoint, at most 60 of them)")
    from .cli_semi import add_train_flags

    add_train_flags(t, _add_setting)

    e = sub.add_parser("eval", help="test-set ELBO, KL, reconstruction, IW-NLL, active units")
    e.add_argument("checkpoint")
    e.add_argument("--iw-samples", type=_number(int, 0, 1_000_000), default=5000,
                   help="k of the importance-weighted bound, 0 = skip (default: 5000)")
    e.add_argument("--batch-size", type=_number(int, 1, 100_000), default=100, help="(default: 100)")
    e.add_argument("--limit", type=_number(int, 0), default=0, help="use only the first N test images (0 = all)")
    e.add_argument("--seed", type=_number(int, 0, 2**63 - 1), default=0,
                   help="seed of the binarisation and the samples (default: 0)")
    e.add_argument("--device", type=_device, default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    e.add_argument("--exact", action="store_true",
                   help="also the exact test NLL, -log p(x) by quadrature over the latent space (2-D models only), "
                        "on the same images, with its standard error and the decodes it took per image")
    e.add_argument("--per-image", metavar="CSV",
                   help="write one row per test image (index, label, neg_elbo, kl, recon, iw_nll, exact_nll, gap) "
                        "to this CSV file")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--no-progress", action="store_true")
    _add_data_dir(e)

    s = sub.add_parser("sample", help="a grid of images decoded from prior samples")
    s.add_argument("checkpoint")
    s.add_argument("--n", type=_number(int, 1, SAMPLE_MAX_N), help="number of samples (default: 64); an M2 "
                   f"without --class: samples per class (default: {CLASS_ROWS_DEFAULT_N})")
    _add_figure_file(s, "samples")
    s.add_argument("--seed", type=_number(int, 0, 2**63 - 1), default=0, help="(default: 0)")
    s.add_argument("--sample-x", action="store_true", help="draw from p(x|z) instead of showing its mean")
    from .cli_semi import add_class_flag

    add_class_flag(s, "one row per class, the same styles z in every row (column j: z_j drawn as each class)")

    mf = sub.add_parser("manifold", help="the learned 2-D manifold (AEVB Figure 4)")
    mf.add_argument("checkpoint")
    mf.add_argument("--n", type=_number(int, 1, MANIFOLD_MAX_N), help="grid size n x n (default: 20; an M2 "
                    f"without --class: {CLASS_ROWS_DEFAULT_N} per class)")
    _add_figure_file(mf, "manifold")
    add_class_flag(mf, "the manifold of every class, five in a row (the paper's Figure 1 (a))")
    fg = sub.add_parser("figure", help="one figure of a model: manifold, samples, traversal, magnification, aggregate, "
                        "analogies",
                        description="Write one figure of a checkpoint and print the numbers that go with it. "
                        "traversal and aggregate encode the test set (as `latentlab eval` loads it). Latent "
                        "dimensions are numbered 1..D (z1..zD). A model with D > 2 shows magnification and "
                        "aggregate on the axis plane of --plane, through --anchor. An M2 or M1+M2 checkpoint "
                        "draws the figure of one class (--class K, default 0; traversal and aggregate then "
                        "encode the test images of that class as that class), or, with --kind analogies, the "
                        "paper's Figure 1: test images, each followed by every class decoded in its style.")
    fg.add_argument("checkpoint")
    fg.add_argument("--kind", required=True, choices=FIGURE_KINDS, help="which figure")
    fg.add_argument("--n", type=_number(int, 1, FIGURE_MAX_N), help="manifold: grid n x n (default 20); samples: "
                    "how many (default 64); traversal: steps per row, at least 2 (default 9); magnification and "
                    f"aggregate: grid cells per side, one pixel each before --scale (default {MAP_DEFAULT_N}); "
                    f"analogies: rows, test images (default 10, at most {ANALOGY_MAX_ROWS})")
    fg.add_argument("--extent", type=_number(float, 0, 100, lo_exclusive=True), default=3.0,
                    help="magnification and aggregate: the square [-R, R]^2 of the plane shown (default: 3)")
    fg.add_argument("--plane", type=_number(int, 1, 256), nargs=2, metavar=("I", "J"),
                    help="D > 2: the plane of dimensions zI and zJ for magnification and aggregate")
    fg.add_argument("--anchor", type=_number(float), nargs="+", metavar="Z",
                    help="D numbers: the latent point the plane passes through (magnification, aggregate) or "
                    "that a traversal sweeps from (default: 0, the prior's mean)")
    fg.add_argument("--seed", type=_number(int, 0, 2**63 - 1), default=0,
                    help="samples: their seed; traversal, aggregate: the binarisation's; analogies: which test "
                    "images, 0 the first N, else N drawn with this seed (default: 0)")
    add_class_flag(fg, "class 0, said on stderr (samples: one row per class; manifold: every class's)")
    _add_figure_file(fg, "KIND")
    _add_data_dir(fg)
    x = sub.add_parser("export", help="a compact copy of a checkpoint (float16 weights, no optimizer state)")
    x.add_argument("checkpoint")
    x.add_argument("--out", required=True)
    x.add_argument("--full-precision", action="store_true", help="keep float32 weights")

    r = sub.add_parser("replay", help="a run's training replay as an animated GIF or MP4",
                       description="Animate the per-epoch snapshots a run keeps in NAME.replay/ beside its "
                       "checkpoint: the encoded scatter (canvas) or the learned manifold (2-D VAEs), one frame per "
                       "snapshot, each showing its epoch. MP4 needs ffmpeg or `pip install 'latentlab[video]'`.")
    r.add_argument("checkpoint", help="the run's checkpoint (its replay folder is beside it)")
    r.add_argument("--out", required=True, help="the animation to write: .gif or .mp4")
    r.add_argument("--what", choices=("canvas", "manifold"), default="canvas", help="(default: canvas)")
    r.add_argument("--fps", type=_number(float, 0, 60, lo_exclusive=True), default=4.0,
                   help="frames (epochs) per second (default: 4)")

    d = sub.add_parser("install-desktop", help="add latentlab to the desktop's menus (Linux, freedesktop)",
                       description="Write a menu entry (applications/latentlab.desktop) that starts this "
                       "installation's latentlab, its icon (icons/hicolor/scalable/apps/latentlab.svg) and a MIME "
                       "type for checkpoints (mime/packages/latentlab.xml: *.pt files, weakly, since any PyTorch "
                       "file has that suffix) so that double-clicking one opens it in latentlab; all under "
                       "$XDG_DATA_HOME (default: ~/.local/share). Then runs update-desktop-database and "
                       "update-mime-database when they are installed.")
    d.add_argument("--uninstall", action="store_true", help="remove exactly those three files")
    from .cli_sweep import add_sweep_parser

    add_sweep_parser(sub, _number)
    return parser


COMMANDS = ("gui", "train", "sweep", "eval", "sample", "manifold", "figure", "export", "replay", "install-desktop")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `latentlab`, `latentlab CKPT` and `latentlab --screenshot x.png` all mean the app.
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "gui")
    parser = _parser_with_gui()[0] if argv[0] == "gui" else build_parser()
    args, extras = parser.parse_known_args(argv) if argv[0] == "sweep" else (parser.parse_args(argv), None)
    command = args.command
    try:
        if command == "sweep":    # its unknown flags are train flags for every run (cli_sweep.py)
            from .cli_sweep import cmd_sweep

            return cmd_sweep(args, extras, parser)
        return {"gui": cmd_gui, "train": cmd_train, "eval": cmd_eval,
                "sample": cmd_sample, "manifold": cmd_manifold, "figure": _cmd_figure, "export": cmd_export,
                "replay": cmd_replay, "install-desktop": cmd_install_desktop}[command](args)
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
MODEL_FLAGS = ("latent_dim", "architecture", "hidden_sizes", "likelihood", "gaussian_variance", "gaussian_fixed_std")
DATA_FLAGS = ("data", "image_size", "channels", "val_fraction")


def _given(args, names) -> dict:
    """The flags among `names` that the user typed (the others are absent: argparse.SUPPRESS)."""
    return {n: getattr(args, n) for n in names if hasattr(args, n)}


def _data_spec(args):
    from .core.pipeline import DataSpec

    data = getattr(args, "data", "mnist")
    val = getattr(args, "val_fraction", DataSpec.default("val_fraction"))
    if Path(data).is_dir():
        shape = (getattr(args, "channels", 1), *getattr(args, "image_size", (28, 28)))
        return DataSpec(dataset="folder", folder=str(Path(data).resolve()), image_shape=shape, val_fraction=val)
    if data not in DataSpec.limits("dataset").choices or data == "folder":
        raise ValueError(f"--data: {data!r} is neither a built-in data set (mnist, fashion-mnist, frey-face) "
                         "nor an existing folder of images")
    return DataSpec(dataset=data, val_fraction=val)


def _check_resume_flags(args, ckpt) -> None:
    """A resumed run cannot change its model or its data: a flag that tries is an error, not ignored."""
    config = ckpt.model.config.to_dict()
    for name, value in _given(args, MODEL_FLAGS).items():
        stored = config.get(name)
        if (list(value) if isinstance(value, (list, tuple)) else value) != stored:
            flag = "--hidden" if name == "hidden_sizes" else "--" + name.replace("_", "-")
            flag = {"--architecture": "--arch", "--gaussian-fixed-std": "--gaussian-std"}.get(flag, flag)
            raise ValueError(f"{flag} cannot change when resuming: {args.resume} has {stored}")
    given = _given(args, DATA_FLAGS)
    if given:
        wanted, stored = _data_spec(args), ckpt.data
        for name in ("dataset", "folder", "image_shape", "val_fraction"):
            ours = getattr(wanted, name)
            theirs = stored.get(name)
            same = (list(ours) == list(theirs)) if name == "image_shape" else ours == theirs
            if not same and (name != "val_fraction" or "val_fraction" in given):
                raise ValueError(f"{args.resume} was trained on {stored.get('dataset')}"
                                 f"{' ' + stored['folder'] if stored.get('folder') else ''}; the data "
                                 f"({', '.join('--' + n.replace('_', '-') for n in given)}) cannot change "
                                 "when resuming")


def _check_objective_flags(args, stored: dict | None = None) -> None:
    """--objective and --k: VAE settings (M2 and M1+M2 train their own bound), and --k only where
    the run's objective (given, or `stored` in a resumed checkpoint) is iwae."""
    given = [flag for name, flag in (("objective", "--objective"), ("iw_k", "--k")) if hasattr(args, name)]
    kind = (stored or {}).get("model_kind") or getattr(args, "model", "vae")
    if given and kind != "vae":
        raise ValueError(f"{' and '.join(given)}: M2 and M1+M2 train their own bound (Kingma et al. 2014); "
                         "the ELBO / IWAE choice is for --model vae")
    objective = getattr(args, "objective", (stored or {}).get("objective", "elbo"))
    if hasattr(args, "iw_k") and objective != "iwae":
        raise ValueError(f"--k is the K of --objective iwae; this run trains the {objective.upper()} "
                         "(add --objective iwae, or leave --k out)")


def _train_config(changes: dict):
    """The TrainConfig of a new run; a setting it refuses is named by its flag."""
    from .core.config import SettingError
    from .core.trainer import TrainConfig

    try:
        return TrainConfig(**changes)
    except SettingError as e:
        raise ValueError(f"{_flag(TrainConfig, e.field)} {e.problem}") from None


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
    from . import cli_semi
    from .core import distributed, pipeline
    from .core.checkpoint import load_checkpoint
    from .core.checkpoint import model_kind as ckpt_kind
    from .core.session import SessionEvent, TrainingSession, check_out_path
    from .core.trainer import TrainConfig

    dist = distributed.from_environment(getattr(args, "device", "auto"))
    is_main = dist is None or dist.rank == 0
    changes = _given(args, TrainConfig.__dataclass_fields__)
    if dist:
        changes["device"] = str(dist.device)
    out = check_out_path(getattr(args, "out", None) or args.resume or "runs/model.pt")
    show = is_main and not args.no_progress
    options = dict(data_dir=args.data_dir, download=not args.no_download, progress=_download_progress(show),
                   dist=dist, replay=not args.no_replay)
    if args.resume:
        ckpt = load_checkpoint(args.resume)
        _check_resume_flags(args, ckpt)
        _check_objective_flags(args, {**ckpt.train_config, "model_kind": ckpt.kind})
        if getattr(args, "model", ckpt.kind) != ckpt.kind or hasattr(args, "m1"):
            raise ValueError(f"--model and --m1 cannot change when resuming: {args.resume} is an {ckpt.kind} model")
        session = TrainingSession.resume(ckpt, out, changes, **options)
        if ckpt.trainer_state.get("diverged") and "lr" not in changes and is_main:
            d = ckpt.trainer_state["diverged"]
            print(f"latentlab: note: this run diverged at step {d.get('step')} with learning rate {d.get('lr')}; "
                  "resuming with the same rate may diverge again (--lr sets a smaller one)", file=sys.stderr)
    else:
        _check_objective_flags(args)
        spec = _data_spec(args)
        changes.setdefault("binarize", pipeline.default_binarize(spec))
        model = _given(args, MODEL_FLAGS)
        if "hidden_sizes" in model:
            model["hidden_sizes"] = tuple(model["hidden_sizes"])
        m1 = None
        if getattr(args, "model", "vae") == "vae":
            cli_semi.check_not_semi_flags(args)
            model_cfg = pipeline.default_model_config(spec, spec.image_shape, **model)
        else:
            model_cfg, m1 = cli_semi.new_model_config(args, spec, model)
            if model_cfg is None:   # M1+M2 without --m1: its M1 is trained first, in this run
                m1 = cli_semi.train_m1(args, spec, changes, out, options)
                model_cfg, m1 = cli_semi.new_model_config(args, spec, model, m1)
        session = TrainingSession.new(spec, model_cfg, _train_config(changes), out, m1=m1, **options)

    bar = None

    def on_event(ev):
        nonlocal bar
        if isinstance(ev, SessionEvent) and ev.kind == "ready":
            trainer = session.trainer
            what = (f"{trainer.model.latent_dim}-D {trainer.model.config.architecture} VAE"
                    if ckpt_kind(trainer.model) == "vae" else cli_semi.describe(trainer.model) +
                    f" with {len(trainer.labelled)} labels")
            if trainer.config.objective == "iwae":
                what += f" on the IWAE bound L_K, K = {trainer.config.iw_k}"
            print(f"training {what} on "
                  f"{session.spec.name} ({len(session.splits.train)} train / {len(session.splits.val)} val "
                  f"images) on {trainer.device}" + (f", {dist.world_size} processes" if dist else ""),
                  file=sys.stderr)
            if show:
                bar = _progress_bar(trainer)
        elif bar is not None:
            bar(ev)
    if is_main:
        tb = _tensorboard_listener(out)
        if tb:
            session.add_listener(tb)
        session.add_listener(_report_session_events)
        session.add_listener(on_event)

    # First Ctrl+C asks the session to stop after the current step (and the run is saved);
    # a second one interrupts at once.
    def on_sigint(signum, frame):
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nstopping after this step (Ctrl+C again to abort)", file=sys.stderr)
        session.request_stop()
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        status = session.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar:
            bar.close()
    trainer = session.trainer
    if is_main:
        if status == "cancelled" or session.message.startswith("nothing to do"):
            print(f"latentlab: {session.message}; {out} is unchanged", file=sys.stderr)
        else:
            last = trainer.history.epochs["val_neg_elbo"][-1:] or [math.nan]
            saved = f"saved {out}" if session.save_error is None else f"NOT saved: {session.save_error}"
            error = trainer.history.epochs.get("val_error", [])[-1:]
            error_text = f", validation error {error[0]:.2f} %" if error else ""
            print(f"{status}: epoch {trainer.epoch}, step {trainer.step}, validation -ELBO {last[0]:.2f} nats"
                  f"{error_text}; {saved}", file=sys.stderr)
    if dist:
        dist.barrier()
        dist.close()
    if session.save_error is not None:
        return 1
    return 0 if status in ("finished", "stopped", "cancelled") else 1


def _report_session_events(ev) -> None:
    from .core.session import SessionEvent
    from .core.trainer import StatusEvent

    if isinstance(ev, SessionEvent) and ev.kind in ("save_failed", "metrics_failed", "replay_failed"):
        print(f"latentlab: warning: {ev.message} (training goes on; the next epoch tries again)", file=sys.stderr)
    elif isinstance(ev, StatusEvent) and ev.status == "diverged":
        print(f"latentlab: {ev.message}", file=sys.stderr)


EPOCH_EXTRA_NAMES = {"val_neg_iw_bound": "val -L_K"}   # how the epoch line names a model's own numbers


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
            extra = "".join(f"  {EPOCH_EXTRA_NAMES.get(name, name.replace('_', ' '))} {value:.2f}"
                            for name, value in ev.extras)
            self.bar.write(f"epoch {ev.epoch}:{extra} val -ELBO {ev.val_neg_elbo:.2f}  KL {ev.val_kl:.2f}  "
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
    from .core.evaluation import check_exact_possible, evaluate
    from .core.per_image import check_target, write_per_image_csv
    from .core.trainer import resolve_device

    if args.per_image:  # before any work: a table that cannot be written is found out now
        try:
            check_target(args.per_image)
        except ValueError as e:
            raise ValueError(f"--per-image: {e}") from None
    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint, device=device)
    if args.exact and ckpt.kind == "vae":
        try:
            check_exact_possible(ckpt.model)
        except ValueError as e:
            raise ValueError(f"--exact: {e}") from None
    if not ckpt.data:
        raise ValueError(f"{args.checkpoint} does not say which data it was trained on, so it cannot be evaluated")
    spec = pipeline.DataSpec.from_dict(ckpt.data)
    splits = pipeline.load_splits(spec, args.data_dir, download=not args.no_download)
    ds = splits.test if splits.test is not None else splits.val
    images = ds.images[: args.limit] if args.limit else ds.images
    mode = ckpt.data.get("binarize") or ckpt.train_config.get("binarize", "dynamic")
    torch.manual_seed(args.seed)  # the samples of z: fixed, so the model card reproduces
    g = torch.Generator().manual_seed(args.seed)
    if ckpt.kind != "vae":
        from . import cli_semi

        return cli_semi.evaluate(args, ckpt, spec, ds, images, mode, device)
    # one binarisation of every image, shared by the ELBO, the IW bound and the exact NLL
    batches = (binarize(to_float(chunk), mode, g).to(device) for chunk in images.split(args.batch_size))
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(images), unit="img", desc="eval", leave=False)
    result = evaluate(ckpt.model, batches, iw_samples=args.iw_samples, exact=args.exact,
                      progress=(lambda n: bar.update(n - bar.n)) if bar else None)
    if bar:
        bar.close()
    split = "test" if splits.test is not None else "validation"
    report = {"checkpoint": str(args.checkpoint), "dataset": spec.dataset, "split": split,
              "binarize": mode, "seed": args.seed, **result.to_dict()}
    if args.per_image:
        labels = ds.labels[: len(images)] if ds.labels is not None else None
        about = {key: report[key] for key in ("checkpoint", "dataset", "split", "binarize", "seed", "iw_samples")}
        written = write_per_image_csv(args.per_image, result.per_image, labels, about | {"exact": args.exact})
        print(f"wrote {written} ({result.n_images} rows)", file=sys.stderr)
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
        if result.exact_nll is not None:
            se = f" ± {result.exact_nll_stderr:.2f} (standard error)" if result.exact_nll_stderr else ""
            print(f"  exact NLL        {result.exact_nll:9.2f} nats{se}, "
                  f"{result.exact_decodes_per_image:,.0f} decodes per image")
        print(f"  active units     {result.active_units} of {ckpt.model.latent_dim}")
    return 0


def cmd_sample(args) -> int:
    """Prior samples; an M2's of --class K, or without it one row per class in the same styles."""
    from .cli_semi import check_sample_x, drawn_model
    from .core.checkpoint import load_checkpoint
    from .core.class_figures import class_samples
    from .core.figures import prior_samples

    _figure_target(args, "samples")
    ckpt = load_checkpoint(args.checkpoint)
    check_sample_x(args, ckpt)
    model = drawn_model(args, ckpt, all_classes=True)
    if model is None:
        args.n = args.n or CLASS_ROWS_DEFAULT_N
        picture = class_samples(ckpt.model, args.n, seed=args.seed, sample_x=args.sample_x)
    else:
        args.n = args.n or 64
        picture = prior_samples(model, args.n, seed=args.seed, sample_x=args.sample_x)
    _write_figure(args, picture, "samples")
    return 0


def cmd_manifold(args) -> int:
    """The 2-D manifold; an M2's of --class K, or without it every class's, tiled."""
    from .cli_semi import drawn_model
    from .core.checkpoint import load_checkpoint
    from .core.class_figures import class_manifolds
    from .core.figures import manifold

    _figure_target(args, "manifold")
    ckpt = load_checkpoint(args.checkpoint)
    model = drawn_model(args, ckpt, all_classes=True)
    if model is None:
        args.n = args.n or CLASS_ROWS_DEFAULT_N
        picture = class_manifolds(ckpt.model, args.n)
    else:
        args.n = args.n or 20
        picture = manifold(model, args.n)
    _write_figure(args, picture, "manifold")
    return 0


def _cmd_figure(args) -> int:
    from .cli_figure import cmd_figure   # its own module: the figure kinds and their numbers

    return cmd_figure(args)


def cmd_export(args) -> int:
    from .core.checkpoint import export_compact

    out = export_compact(args.checkpoint, args.out, half=not args.full_precision)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


def cmd_replay(args) -> int:
    from .core.replay_export import export_replay

    out, frames = export_replay(args.checkpoint, args.out, what=args.what, fps=args.fps)
    print(f"wrote {out} ({frames} frames, {out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


def cmd_install_desktop(args) -> int:
    from .core import desktop

    if args.uninstall:
        removed = desktop.uninstall()
        for path in removed:
            print(f"removed {path}", file=sys.stderr)
        if not removed:
            print(f"nothing to remove: latentlab is not installed under {desktop.data_home()}", file=sys.stderr)
        return 0
    for path in desktop.install():
        print(f"wrote {path}", file=sys.stderr)
    return 0
