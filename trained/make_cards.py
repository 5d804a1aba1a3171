"""Write a model card (trained/<name>.json) for each shipped model from `latentlab eval`.

Evaluations per model, all on the test set with a fixed seed (so they reproduce exactly on the
same machine and to within noise elsewhere):
  * the ELBO terms and active units on the whole test set: `latentlab eval CKPT --iw-samples 0`;
    for a 2-D model the same run adds the exact test NLL, -log p(x) by quadrature, on the same
    images (`--exact`: it draws no random numbers, so the ELBO terms are those of the run without
    it), with its standard error and the decoder evaluations it took per image
  * the test NLL, -L_5000, on the first N test images: `latentlab eval CKPT --limit N`
    (N = 1000 here: k = 5000 on all 10,000 images takes about 17 minutes per model on 2 CPU cores;
    the standard error printed with it says how close the subset mean is)

    LATENTLAB_DATA=../shared/datasets python trained/make_cards.py [--iw-limit 1000] [names...]

Sections of an existing card that this script does not write (numbers measured by hand, such as
`test_nll_all_images`) are kept. `--limit N --out-dir DIR` tries the script quickly: every
evaluation on the first N test images, the cards written to DIR instead of trained/.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from latentlab import load_checkpoint

HERE = Path(__file__).resolve().parent

# How each model was trained, in words (trained/train_all.sh has the commands): a checkpoint keeps
# only its last learning rate, not the steps down to it.
SCHEDULES = {
    "mnist-2d-iwae": "IWAE objective L_5: 60 epochs at lr 1e-3, 20 at 3e-4, 10 at 1e-4",
    "mnist-20d": "IWAE objective L_5: 100 epochs at lr 1e-3, 40 at 3e-4, 20 at 1e-4",
    "mnist-50d": "IWAE objective L_5: 70 epochs at lr 1e-3, 20 at 3e-4, 10 at 1e-4",
}


def eval_json(ckpt: Path, *args: str) -> dict:
    cmd = [sys.executable, "-m", "latentlab", "eval", str(ckpt), "--json", "--no-progress", *args]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def _seconds(epochs: dict) -> float | None:
    """Training time, or None when the history does not have it (NaN for runs older than the
    column: written as null, since NaN is not JSON)."""
    total = float(epochs["seconds"].sum()) if "seconds" in epochs else math.nan
    return round(total, 1) if math.isfinite(total) else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--iw-limit", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=0, help="every evaluation on the first N test images only "
                        "(to try the script; 0 = the whole test set)")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where the cards go (default: trained/)")
    args = parser.parse_args()
    names = args.names or sorted(p.stem for p in HERE.glob("*.pt"))
    limit = ["--limit", str(args.limit)] if args.limit else []
    iw_limit = min(args.iw_limit, args.limit) if args.limit else args.iw_limit
    for name in names:
        ckpt_path = HERE / f"{name}.pt"
        ck = load_checkpoint(ckpt_path)
        if ck.kind != "vae":   # M2 and M1+M2 have their own cards: trained/make_semi_cards.py
            continue
        exact = ck.model.latent_dim == 2
        started = time.perf_counter()
        full = eval_json(ckpt_path, "--iw-samples", "0", *(["--exact"] if exact else []), *limit)
        full_seconds = time.perf_counter() - started
        iw = eval_json(ckpt_path, "--iw-samples", "5000", "--limit", str(iw_limit))
        epochs = ck.history.get("epochs", {})
        full_command = f"latentlab eval trained/{name}.pt --iw-samples 0{' --exact' if exact else ''}" \
                       f"{' --limit ' + str(args.limit) if args.limit else ''}"
        card = {
            "name": name,
            "file": f"trained/{name}.pt",
            "dataset": ck.data.get("dataset"),
            "binarize": ck.data.get("binarize"),
            "model": ck.model.config.to_dict(),
            "training": {k: ck.train_config.get(k) for k in ("epochs", "batch_size", "lr", "n_samples", "beta",
                                                             "kl_warmup_epochs", "objective", "iw_k", "seed")}
                        | {"steps": ck.trainer_state.get("step"),
                           "seconds": _seconds(epochs),
                           "final_val_neg_elbo": float(epochs["val_neg_elbo"][-1]) if "val_neg_elbo" in epochs else None}
                        | ({"schedule": SCHEDULES[name]} if name in SCHEDULES else {}),
            "test": {
                "split": full["split"], "images": full["n_images"], "seed": full["seed"],
                "neg_elbo": round(full["neg_elbo"], 2), "kl": round(full["kl"], 2), "recon": round(full["recon"], 2),
                "active_units": full["active_units"],
                "command": full_command,
            },
            "test_nll": {
                "k": 5000, "images": iw["n_images"], "iw_nll": round(iw["iw_nll"], 2),
                "stderr": round(iw["iw_nll_stderr"], 2), "neg_elbo_same_images": round(iw["neg_elbo"], 2),
                "command": f"latentlab eval trained/{name}.pt --iw-samples 5000 --limit {iw_limit}",
            },
        }
        if exact:   # -log p(x) by quadrature: no bound, no sampling; the keys of `latentlab eval --exact`
            card["test_exact_nll"] = {
                "images": full["n_images"], "exact_nll": round(full["exact_nll"], 2),
                "exact_nll_stderr": round(full["exact_nll_stderr"], 2),
                "exact_decodes_per_image": round(full["exact_decodes_per_image"]),
                "neg_elbo_same_images": round(full["neg_elbo"], 2),
                "seconds": round(full_seconds), "command": full_command,
            }
        card["note"] = "float16 weights (latentlab export); numbers measured on these exact weights"
        out = args.out_dir / f"{name}.json"
        if out.exists():   # keep what was measured by other means (e.g. test_nll_all_images)...
            old = json.loads(out.read_text())
            if iw["n_images"] == full["n_images"]:   # ...unless this run measured it on every image
                old.pop("test_nll_all_images", None)
            card |= {k: v for k, v in old.items() if k not in card}
        out.write_text(json.dumps(card, indent=2) + "\n")
        line = f"{name}: test -ELBO {card['test']['neg_elbo']}, IW-NLL(k=5000, {iw['n_images']} imgs) " \
               f"{card['test_nll']['iw_nll']} ± {card['test_nll']['stderr']}, AU {full['active_units']}"
        if exact:
            e = card["test_exact_nll"]
            line += f", exact NLL ({e['images']} imgs) {e['exact_nll']} ± {e['exact_nll_stderr']}, " \
                    f"{e['exact_decodes_per_image']} decodes/img, {e['seconds']} s"
        print(line, flush=True)


if __name__ == "__main__":
    main()
