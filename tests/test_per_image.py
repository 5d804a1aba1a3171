"""The per-image table of `latentlab eval --per-image`: its CSV text and how it is written."""

from __future__ import annotations

import csv
import os

import pytest
import torch

from latentlab.core.evaluation import PerImage
from latentlab.core.per_image import COLUMNS, per_image_csv, write_per_image_csv


def _scores(n=3, iw=True, exact=True) -> PerImage:
    g = torch.Generator().manual_seed(0)
    kl = torch.rand(n, generator=g, dtype=torch.float64)
    recon = 90 + torch.rand(n, generator=g, dtype=torch.float64)
    return PerImage(neg_elbo=kl + recon, kl=kl, recon=recon,
                    iw_nll=(kl + recon - 0.5) if iw else None, exact_nll=(kl + recon - 0.7) if exact else None)


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


def test_one_row_per_image_with_every_number_in_full():
    scores = _scores()
    text = per_image_csv(scores, torch.tensor([7, 2, 1]), {"checkpoint": "my runs/m.pt", "iw_samples": 5000})
    first = text.splitlines()[0]
    assert first == '# latentlab-eval checkpoint="my runs/m.pt" iw_samples=5000'
    assert text.splitlines()[1] == ",".join(COLUMNS)
    rows = _rows(text)
    assert [r["index"] for r in rows] == ["0", "1", "2"] and [r["label"] for r in rows] == ["7", "2", "1"]
    for name in ("neg_elbo", "kl", "recon", "iw_nll", "exact_nll"):
        assert [float(r[name]) for r in rows] == getattr(scores, name).tolist()   # exact round trip
    assert [float(r["gap"]) for r in rows] == (scores.neg_elbo - scores.exact_nll).tolist()


def test_numbers_not_computed_and_missing_labels_are_empty_cells():
    rows = _rows(per_image_csv(_scores(iw=False, exact=False)))
    assert all(r["label"] == r["iw_nll"] == r["exact_nll"] == r["gap"] == "" for r in rows)
    assert all(r["neg_elbo"] for r in rows)
    with pytest.raises(ValueError, match="2 labels for 3 images"):
        per_image_csv(_scores(), torch.tensor([1, 2]))


def test_the_file_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "per-image.csv"
    write_per_image_csv(target, _scores())
    before = target.read_text()
    assert len(_rows(before)) == 3

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match=f"cannot write {target}: No space left on device"):
        write_per_image_csv(target, _scores(n=5))
    assert target.read_text() == before and os.listdir(tmp_path) == ["per-image.csv"]   # no temporary left


def test_a_folder_or_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        write_per_image_csv(tmp_path, _scores())
    with pytest.raises(ValueError, match="does not exist"):
        write_per_image_csv(tmp_path / "nowhere" / "x.csv", _scores())
