"""`latentlab figure CKPT --kind K`: one figure of a model as the window draws it (manifold, prior
samples, traversal, magnification map, aggregate posterior) and the numbers that go with it on
stdout. The flags are declared in cli.py's parser; the file is written by cli.py's figure writer
(core/figure_files.py), as for `sample` and `manifold`."""

from __future__ import annotations

from .cli import (MANIFOLD_MAX_N, MAP_DEFAULT_N, MAP_MAX_N, SAMPLE_MAX_N, TRAVERSAL_MAX_STEPS, _figure_target,
                  _write_figure)


def cmd_figure(args) -> int:
    """`latentlab figure CKPT --kind K`: the figure as the window draws it, and its numbers on stdout."""
    from .core.checkpoint import load_checkpoint

    _figure_target(args, args.kind)
    n = _figure_n(args)
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.model
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

        mu, logvar, about = _test_posteriors(args, ckpt)
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

        mu, logvar, about = _test_posteriors(args, ckpt)
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


def _figure_n(args) -> int:
    """--n for the kind: its default, checked against the kind's own limits before any work."""
    default, lo, hi = {"manifold": (20, 1, MANIFOLD_MAX_N), "samples": (64, 1, SAMPLE_MAX_N),
                       "traversal": (9, 2, TRAVERSAL_MAX_STEPS), "magnification": (MAP_DEFAULT_N, 1, MAP_MAX_N),
                       "aggregate": (MAP_DEFAULT_N, 1, MAP_MAX_N)}[args.kind]
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


def _test_posteriors(args, ckpt):
    """(mu, logvar, words) of q(z|x) for the test set (else the validation split), loaded and
    binarised as `latentlab eval` does."""
    import torch

    from .core import pipeline
    from .core.aggregate import encode_dataset

    if not ckpt.data:
        raise ValueError(f"{args.checkpoint} does not say which data it was trained on, so --kind {args.kind} "
                         "cannot encode its test set")
    spec = pipeline.DataSpec.from_dict(ckpt.data)
    splits = pipeline.load_splits(spec, args.data_dir, download=not args.no_download)
    ds = splits.test if splits.test is not None else splits.val
    mode = ckpt.data.get("binarize") or ckpt.train_config.get("binarize", "dynamic")
    g = torch.Generator().manual_seed(args.seed)
    mu, logvar = encode_dataset(ckpt.model, ds.images, binarize_mode=mode, generator=g)
    split = "test" if splits.test is not None else "validation"
    return mu, logvar, f"{spec.dataset} {split} set, {len(mu)} images"
