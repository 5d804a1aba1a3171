"""The per-image table of `latentlab eval --per-image`: one CSV row per evaluated image.

    # latentlab-eval checkpoint=trained/mnist-2d.pt dataset=mnist split=test binarize=dynamic seed=0 iw_samples=5000 exact=yes
    index,label,neg_elbo,kl,recon,iw_nll,exact_nll,gap
    0,7,101.2,5.83,95.37,98.96,98.41,2.79

The comment line says what the numbers are (iw_nll is -L_k with k = iw_samples), so pandas reads
it with `read_csv(path, comment="#")`, as it does the metrics files. A column that was not
computed (iw_nll with --iw-samples 0; exact_nll and gap without --exact) is empty. `gap` is
neg_elbo - exact_nll = log p(x) - ELBO. Numbers are written in full (Python's shortest exact
float text), so the mean of a column is the mean `latentlab eval` reports.
The file is replaced whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import torch

from .atomic_write import check_target as atomic_check_target
from .atomic_write import replace_file
from .evaluation import PerImage

COLUMNS = ("index", "label", "neg_elbo", "kl", "recon", "iw_nll", "exact_nll", "gap")


def check_target(path: str | os.PathLike) -> Path:
    """The file to write, checked before any work: not a folder, and its folder exists."""
    return atomic_check_target(path, "per-image table")


def _word(value) -> str:
    """A value of the comment line: as is, or JSON-quoted when it holds a space (a path may)."""
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() for c in text) else text


def _cell(values: torch.Tensor | None, i: int) -> str:
    return "" if values is None else repr(float(values[i]))


def per_image_csv(scores: PerImage, labels: torch.Tensor | None = None, about: dict | None = None) -> str:
    """The table as CSV text: rows in data order, `index` from 0; `about` (checkpoint, dataset,
    iw_samples, ...) becomes the comment line."""
    if labels is not None and len(labels) != len(scores):
        raise ValueError(f"{len(labels)} labels for {len(scores)} images")
    out = io.StringIO()
    words = " ".join(f"{key}={_word(value)}" for key, value in (about or {}).items())
    out.write(f"# latentlab-eval {words}".rstrip() + "\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    gap = scores.gap
    for i in range(len(scores)):
        writer.writerow([i, "" if labels is None else int(labels[i]),
                         _cell(scores.neg_elbo, i), _cell(scores.kl, i), _cell(scores.recon, i),
                         _cell(scores.iw_nll, i), _cell(scores.exact_nll, i), _cell(gap, i)])
    return out.getvalue()


def write_per_image_csv(path: str | os.PathLike, scores: PerImage, labels: torch.Tensor | None = None,
                        about: dict | None = None) -> Path:
    """Write the table to `path`, replacing it whole or not at all (a temporary file beside it,
    then an atomic rename). OSError naming the file when it cannot be written."""
    path = check_target(path)
    text = per_image_csv(scores, labels, about)
    return replace_file(path, text.encode("utf-8"))
