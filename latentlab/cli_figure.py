"""`latentlab figure CKPT --kind K`: one figure of a model as the window draws it (manifold, prior
samples, traversal, magnification map, aggregate posterior, an M2's analogies) and the numbers that
go with it on stdout. The flags are declared in cli.py's parser; the file is written by cli.py's
figure writer (core/figure_files.py), as for `sample` and `manifold`.

An M2 or M1+M2 checkpoint draws the VAE figures of one class, model.given(--class K) (class 0
without the flag, said on stderr; samples and manifold then show every class, as `latentlab
sample` and `manifold` do); traversal and aggregate then encode that class's test images."""

from __future__ import annotations

from .cli import (ANALOGY_MAX_ROWS, CLASS_ROWS_DEFAULT_N, MANIFOLD_MAX_N, MAP_DEFAULT_N, MAP_MAX_N, SAMPLE_MAX_N,
                  TRAVERSAL_MAX_STEPS, _figure_target, _write_figure)


def cmd_figure(args) -> int:
    """`latentlab figure CKPT --kind K`: the figure as the window draws it, and its numbers on stdout."""
    from .cli_semi import drawn_model
    from .core.checkpoint import load_checkpoint
    from .core.model_kinds import is_semi_supervised

    _figure_target(args, args.kind)
    ckpt = load_checkpoint(args.checkpoint)
    semi = is_semi_supervised(ckpt.model)
    if args.kind == "analogies":
        return _analogies(args, ckpt)
    model = drawn_model(args, ckpt, all_classes=args.kind in ("manifold", "samples"))
    n = _figure_n(args, every_class=model is None)
    if model is None:      # an M2's samples or manifolds of every class
        from .core.class_figures import class_manifolds, class_samples

        picture = class_manifolds(ckpt.model, n) if args.kind == "manifold" else \
            class_samples(ckpt.model, n, seed=args.seed)
        _write_figure(args, picture, args.kind)
        return 0
    klass = model.y if semi else None
    d = model.latent_dim
    anchor = _figure_anchor(args, d)
    if args.kind in ("magnification", "aggregate"):
        directions = _figure_plane(args, d)
        extent = (-args.extent, args.extent, -args.extent, args.extent)
    if args.kind == "manifold":
        from .core.figures import manifold

        picture = manifold(model, n)
    elif args.kind == "samples":
        from .core.figures import prior_samples

        picture = prior_samples(model, n, seed=args.seed)
    elif args.kind == "magnification":
        import numpy as np

        from .core.geometry import magnification_grid
        from .core.map_figures import magnification_picture

        grid = magnification_grid(model, extent, n, directions=directions, anchor=anchor)
        finite = grid.log_magnification[np.isfinite(grid.log_magnification)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (float("-inf"),) * 2
        print(f"log magnification  min {lo:.4f}  max {hi:.4f}  ({n} x {n} grid over [-{args.extent:g}, "
              f"{args.extent:g}]^2{_plane_text(args)})")
        picture = magnification_picture(grid.log_magnification)
    elif args.kind == "traversal":
        from .core.map_figures import traversal_figure
        from .core.traversal import dimension_kl, traversal

        mu, logvar, about = _test_posteriors(args, ckpt, model, klass)
        kl = dimension_kl(mu, logvar)
        rows = traversal(model, anchor if anchor is not None else [0.0] * d, steps=n, kl=kl)
        print(f"dimensions by KL, {about}; collapsed: KL < {kl.threshold:g} nats")
        for dim in rows.dims:
            mark = "" if kl.active[dim] else "  collapsed"
            print(f"  z{dim + 1:<4d} {float(kl.kl[dim]):9.4f} nats{mark}")
        print(f"  active: {kl.n_active} of {d}")
        picture = traversal_figure(rows.images, rows.dims, kl, latent_dim=d)
    else:  # aggregate
        from .core.aggregate import aggregate_density, elbo_surgery, holes, prior_density
        from .core.map_figures import aggregate_picture

        mu, logvar, about = _test_posteriors(args, ckpt, model, klass)
        density, z1, z2 = aggregate_density(mu, logvar, extent, n, directions=directions, anchor=anchor)
        prior = prior_density(z1, z2, anchor=anchor, directions=directions)
        centre = (0.0, 0.0)
        if anchor is not None:
            import torch

            p = torch.eye(2, dtype=torch.float64) if directions is None else torch.as_tensor(directions).double()
            centre = tuple((-(torch.as_tensor(anchor, dtype=torch.float64) @ p)).tolist())
        mask = holes(density, prior, z1, z2, centre=centre)
        s = elbo_surgery(mu, logvar)
        se = f" ± {s.stderr:.4f} (standard error, {s.samples} samples)" if s.stderr is not None else ""
        print(f"ELBO surgery, {about}, estimate: {s.method}")
        print(f"  mean KL            {s.mean_kl:9.4f} nats")
        print(f"  I(x; z)            {s.mutual_information:9.4f} nats{se} (at most log N = {s.log_n:.4f})")
        print(f"  KL(q(z) || p(z))   {s.marginal_kl:9.4f} nats{se}")
        print(f"  holes: {int(mask.sum())} of {n * n} cells{_plane_text(args)}")
        picture = aggregate_picture(density, prior, mask, z1, z2, centre=centre)
    _write_figure(args, picture, args.kind)
    return 0


def _figure_n(args, every_class: bool = False) -> int:
    """--n for the kind: its default, checked against the kind's own limits before any work.
    `every_class`: an M2's samples or manifolds of every class, 10 per class by default."""
    default, lo, hi = {"manifold": (20, 1, MANIFOLD_MAX_N), "samples": (64, 1, SAMPLE_MAX_N),
                       "traversal": (9, 2, TRAVERSAL_MAX_STEPS), "magnification": (MAP_DEFAULT_N, 1, MAP_MAX_N),
                       "aggregate": (MAP_DEFAULT_N, 1, MAP_MAX_N), "analogies": (10, 1, ANALOGY_MAX_ROWS)}[args.kind]
    if every_class:
        default = CLASS_ROWS_DEFAULT_N
    if args.n is None:
        args.n = default
    if not lo <= args.n <= hi:
        raise ValueError(f"--n: must be between {lo} and {hi} for --kind {args.kind}, got {args.n}")
    return args.n


def _figure_anchor(args, d: int):
    if args.anchor is None:
        return None
    if len(args.anchor) != d:
        raise ValueError(f"--anchor: this model has {d} latent dimensions, so give {d} numbers, "
                         f"got {len(args.anchor)}")
    return list(args.anchor)


def _figure_plane(args, d: int):
    """The (D, 2) directions of --plane I J, or None for a 2-D model shown whole."""
    if args.plane is None:
        if d == 2:
            return None
        raise ValueError(f"--kind {args.kind} of a {d}-D model needs --plane I J: the two latent dimensions "
                         f"(1..{d}) of the plane to draw, e.g. --plane 1 2")
    i, j = args.plane
    if i == j or not (1 <= i <= d and 1 <= j <= d):
        raise ValueError(f"--plane: two different dimensions between 1 and {d}, got {i} {j}")
    import torch

    eye = torch.eye(d, dtype=torch.float64)
    return eye[:, [i - 1, j - 1]]


def _plane_text(args) -> str:
    return f", plane z{args.plane[0]}-z{args.plane[1]}" if args.plane else ""


def _test_set(args, ckpt):
    """(dataset, split name, spec, binarisation) of the test set (else, for an image folder, the
    validation split), as `latentlab eval` reads them; a built-in data set's training split is
    not read."""
    from .core import pipeline
    from .core.data import DATASETS, load_dataset

    if not ckpt.data:
        raise ValueError(f"{args.checkpoint} does not say which data it was trained on, so --kind {args.kind} "
                         "cannot encode its test set")
    spec = pipeline.DataSpec.from_dict(ckpt.data)
    mode = ckpt.data.get("binarize") or ckpt.train_config.get("binarize", "dynamic")
    if spec.dataset in DATASETS:
        return load_dataset(spec.dataset, "test", data_dir=args.data_dir, download=not args.no_download), \
            "test", spec, mode
    splits = pipeline.load_splits(spec, args.data_dir, download=not args.no_download)
    return splits.val, "validation", spec, mode


def _test_posteriors(args, ckpt, model, klass=None):
    """(mu, logvar, words) of q(z|x) under `model` for the test set (else the validation split),
    binarised as `latentlab eval` does; with `klass` (an M2's view of one class) only the images
    labelled as that class."""
    import torch

    from .cli_semi import class_words
    from .core.aggregate import encode_dataset

    ds, split, spec, mode = _test_set(args, ckpt)
    images, of_class = ds.images, ""
    if klass is not None:
        if ds.labels is None:
            raise ValueError(f"the {spec.dataset} {split} set has no labels to pick the images of "
                             f"{class_words(ckpt, klass)} by")
        images = ds.images[ds.labels == klass]
        of_class = f" of {class_words(ckpt, klass)}, encoded as that class"
        if len(images) == 0:
            raise ValueError(f"the {spec.dataset} {split} set has no images of {class_words(ckpt, klass)}")
    g = torch.Generator().manual_seed(args.seed)
    mu, logvar = encode_dataset(model, images, binarize_mode=mode, generator=g)
    return mu, logvar, f"{spec.dataset} {split} set, {len(mu)} images{of_class}"


def _analogies(args, ckpt) -> int:
    """The paper's Figure 1: test images (the first --n, or --n drawn with --seed), each followed by
    every class decoded in its style; one line per row on stdout (which image, its label, what the
    classifier says). The images are binarised as the window's examples (seed 0, in test-set order),
    so the window shows the same rows for the same seed."""
    import torch

    from .app.examples import binarise
    from .cli_semi import describe
    from .core.analogies import analogies_figure, analogy_rows, example_rows
    from .core.model_kinds import is_semi_supervised

    if not is_semi_supervised(ckpt.model):
        raise ValueError(f"--kind analogies needs an M2 or M1+M2 checkpoint; {args.checkpoint} is a VAE")
    if getattr(args, "class_index", None) is not None:
        raise ValueError("--class does not apply to --kind analogies: its columns are every class")
    n = _figure_n(args)
    model = ckpt.model
    ds, split, spec, mode = _test_set(args, ckpt)
    rows = example_rows(len(ds), n, args.seed)
    pixels = binarise(ds.images, mode)[rows]
    labels = ds.labels[rows] if ds.labels is not None else None
    with torch.no_grad():
        result = analogy_rows(model, torch.from_numpy(pixels).float() / 255.0, labels=labels)
    names = ckpt.data.get("label_names") or ds.label_names or None
    with torch.no_grad():
        guesses = model.predict(result.inputs.to(model.device)).cpu()
    which = f"the first {len(rows)}" if args.seed == 0 else f"{len(rows)} drawn with seed {args.seed}"
    print(f"analogies of {describe(model)}: {which} of {len(ds):,} {spec.dataset} {split} images "
          f"(binarisation: {mode}, seed 0); columns: classes 0..{model.num_classes - 1}")
    print(f"  {'row':>3}  {'image':>6}  {'label':>8}  {'classifier':>10}  style read as")
    for r, index in enumerate(rows):
        label = "-" if labels is None else _name(names, int(labels[r]))
        how = "label" if bool(result.from_label[r]) else "classifier"
        print(f"  {r + 1:>3}  {int(index):>6}  {label:>8}  {_name(names, int(guesses[r])):>10}  "
              f"{_name(names, int(result.style_classes[r]))} ({how})")
    _write_figure(args, analogies_figure(result, names), "analogies")
    return 0


def _name(names, k: int) -> str:
    return str(names[k]) if names and k < len(names) else str(k)
