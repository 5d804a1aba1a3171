"""Write a model card (trained/<name>.json) for each shipped model from `latentlab eval`.

Two evaluations per model, both on the test set with a fixed seed (so they reproduce exactly on
the same machine and to within noise elsewhere):
  * the ELBO terms and active units on the whole test set: `latentlab eval CKPT --iw-samples 0`
  * the test NLL, -L_5000, on the first N test images: `latentlab eval CKPT --limit N`
    (N = 1000 here: k = 5000 on all 10,000 images takes about 17 minutes per model on 2 CPU cores;
    the standard error printed with it says how close the subset mean is)

    LATENTLAB_DATA=../shared/datasets python trained/make_cards.py [--iw-limit 1000] [names...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from latentlab import load_checkpoint

HERE = Path(__file__).resolve().parent


def eval_json(ckpt: Path, *args: str) -> dict:
    cmd = [sys.executable, "-m", "latentlab", "eval", str(ckpt), "--json", "--no-progress", *args]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--iw-limit", type=int, default=1000)
    args = parser.parse_args()
    names = args.names or sorted(p.stem for p in HERE.glob("*.pt"))
    for name in names:
        ckpt_path = HERE / f"{name}.pt"
        ck = load_checkpoint(ckpt_path)
        full = eval_json(ckpt_path, "--iw-samples", "0")
        iw = eval_json(ckpt_path, "--iw-samples", "5000", "--limit", str(args.iw_limit))
        epochs = ck.history.get("epochs", {})
        card = {
            "name": name,
            "file": f"trained/{name}.pt",
            "dataset": ck.data.get("dataset"),
            "binarize": ck.data.get("binarize"),
            "model": ck.model.config.to_dict(),
            "training": {k: ck.train_config.get(k) for k in ("epochs", "batch_size", "lr", "n_samples", "beta",
                                                             "kl_warmup_epochs", "seed")}
                        | {"steps": ck.trainer_state.get("step"),
                           "seconds": round(float(epochs["seconds"].sum()), 1) if "seconds" in epochs else None,
                           "final_val_neg_elbo": float(epochs["val_neg_elbo"][-1]) if "val_neg_elbo" in epochs else None},
            "test": {
                "split": full["split"], "images": full["n_images"], "seed": full["seed"],
                "neg_elbo": round(full["neg_elbo"], 2), "kl": round(full["kl"], 2), "recon": round(full["recon"], 2),
                "active_units": full["active_units"],
                "command": f"latentlab eval trained/{name}.pt --iw-samples 0",
            },
            "test_nll": {
                "k": 5000, "images": iw["n_images"], "iw_nll": round(iw["iw_nll"], 2),
                "stderr": round(iw["iw_nll_stderr"], 2), "neg_elbo_same_images": round(iw["neg_elbo"], 2),
                "command": f"latentlab eval trained/{name}.pt --iw-samples 5000 --limit {args.iw_limit}",
            },
            "note": "float16 weights (latentlab export); numbers measured on these exact weights",
        }
        (HERE / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
        print(f"{name}: test -ELBO {card['test']['neg_elbo']}, IW-NLL(k=5000, {iw['n_images']} imgs) "
              f"{card['test_nll']['iw_nll']} ± {card['test_nll']['stderr']}, AU {full['active_units']}", flush=True)


if __name__ == "__main__":
    main()
