"""Write the model card (trained/<name>.json) of each shipped M2 / M1+M2 from `latentlab eval`.

    LATENTLAB_DATA=../shared/datasets python trained/make_semi_cards.py [names...]

The card holds the test error on all 10,000 test images, the per-class accuracy, the bounds, the
labels (how many, and the seed that drew them: `latentlab train --labels N --seed S`), how the model
was trained, its time per epoch on the machine that trained it, and the commands that reproduce it.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

from latentlab import load_checkpoint

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    names = args.names or sorted(p.stem for p in HERE.glob("*.pt") if load_checkpoint(p).kind != "vae")
    for name in names:
        path = HERE / f"{name}.pt"
        ck = load_checkpoint(path)
        cmd = [sys.executable, "-m", "latentlab", "eval", str(path), "--json"]
        report = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        epochs = ck.history.get("epochs", {})
        seconds = [float(s) for s in epochs.get("seconds", []) if math.isfinite(float(s))]
        val_error = [round(float(e), 2) for e in epochs.get("val_error", [])]
        config = ck.model.config.to_dict()
        card = {
            "name": name,
            "file": f"trained/{name}.pt",
            "kind": ck.kind,
            "dataset": ck.data.get("dataset"),
            "binarize": ck.data.get("binarize"),
            "model": config,
            "labels": {"count": ck.train_config.get("labels"), "seed": ck.train_config.get("seed"),
                       "draw": "class-balanced, core/labels.py draw_labelled(train labels, count, seed)",
                       "validation": "the last 10,000 training images (labelled), used for the val_error curve"},
            "training": {k: ck.train_config.get(k) for k in ("epochs", "batch_size", "lr", "alpha", "class_balance",
                                                             "seed")}
                        | {"steps": ck.trainer_state.get("step"),
                           "seconds_per_epoch_median": sorted(seconds)[len(seconds) // 2] if seconds else None,
                           "val_error_by_epoch": val_error},
            "test": {"images": report["n_images"], "error_percent": round(report["error"], 2),
                     "class_accuracy_percent": [round(a, 2) for a in report["class_accuracy"]],
                     "neg_U_nats": round(report["neg_elbo"], 2),
                     "neg_L_true_class_nats": round(report["labelled_neg_elbo"], 2),
                     "kl": round(report["kl"], 2), "recon": round(report["recon"], 2),
                     "active_units": report["active_units"],
                     "command": f"latentlab eval trained/{name}.pt"},
            "note": "float16 weights (latentlab export); numbers measured on these exact weights",
        }
        if ck.kind == "m1m2":
            card["m1"] = {"latent_dim": ck.model.m1.latent_dim, "hidden_sizes": list(ck.model.m1.config.hidden_sizes),
                          "note": "a 50-D MNIST VAE (MLP 512-512) trained 73 epochs at lr 1e-3, seed 0, on all 50,000 training images (no labels), "
                                  "kept fixed while M2 trains on its latent"}
        out = HERE / f"{name}.json"
        previous = json.loads(out.read_text()) if out.exists() else {}
        out.write_text(json.dumps({**previous, **card}, indent=2) + "\n")
        print(f"{name}: test error {card['test']['error_percent']} % ({report['n_images']} images)")


if __name__ == "__main__":
    main()
