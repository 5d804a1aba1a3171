"""`latentlab train --objective {elbo,iwae} --k K`: a run on the IWAE bound, what its checkpoint
records, what a resume keeps, and the one-line refusals of flags that do not fit."""

from __future__ import annotations

import pytest

from latentlab import load_checkpoint
from latentlab.cli import main

TINY = ["--data", "mnist", "--hidden", "16", "--batch-size", "16", "--no-download", "--no-progress"]


@pytest.fixture(scope="module")
def iwae_run(tiny_data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("iwae") / "iwae.pt"
    code = main(["train", *TINY, "--data-dir", str(tiny_data_root), "--epochs", "1", "--objective", "iwae",
                 "--k", "3", "--out", str(out)])
    assert code == 0
    return out


def test_train_on_the_iwae_bound_records_it_and_a_resume_keeps_it(iwae_run, tiny_data_root, tmp_path, capsys):
    ckpt = load_checkpoint(iwae_run)
    assert (ckpt.train_config["objective"], ckpt.train_config["iw_k"]) == ("iwae", 3)
    assert ckpt.history["steps"]["iw_k"].tolist() == [3.0] * 6 and len(ckpt.history["epochs"]["val_neg_iw_bound"]) == 1
    more = tmp_path / "more.pt"
    assert main(["train", "--resume", str(iwae_run), "--epochs", "2", "--out", str(more),
                 "--data-dir", str(tiny_data_root), "--no-download", "--no-progress"]) == 0
    assert "on the IWAE bound L_K, K = 3" in capsys.readouterr().err
    resumed = load_checkpoint(more)
    assert (resumed.train_config["objective"], resumed.train_config["iw_k"]) == ("iwae", 3)
    assert resumed.history["steps"]["iw_k"].tolist() == [3.0] * 12


def test_a_resume_refuses_another_objective_or_k(iwae_run, tiny_data_root, capsys):
    common = ["--data-dir", str(tiny_data_root), "--no-download", "--no-progress"]
    assert main(["train", "--resume", str(iwae_run), "--k", "5", *common]) == 2
    assert "cannot change iw_k (the run has 3, asked for 5)" in capsys.readouterr().err
    assert main(["train", "--resume", str(iwae_run), "--objective", "elbo", *common]) == 2
    assert "cannot change objective (the run has 'iwae', asked for 'elbo')" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--k", "5"], "--k is the K of --objective iwae; this run trains the ELBO"),
    (["--objective", "elbo", "--k", "5"], "--k is the K of --objective iwae"),
    (["--objective", "iwae", "--model", "m2"], "--objective: M2 and M1+M2 train their own bound"),
    (["--k", "5", "--model", "m1m2"], "--k: M2 and M1+M2 train their own bound"),
    (["--objective", "iwae", "--beta", "4"], "--beta must be 1 with the iwae objective"),
    (["--objective", "iwae", "--kl-warmup", "2"], "--kl-warmup must be 0 with the iwae objective"),
    (["--objective", "iwae", "--mc-samples", "5"], "--mc-samples must be 1 with the iwae objective"),
])
def test_flags_that_do_not_fit_the_objective_are_one_line_naming_them(flags, message, tmp_path, capsys):
    assert main(["train", *TINY, "--data-dir", str(tmp_path), "--out", str(tmp_path / "x.pt"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "x.pt").exists()


def test_an_elbo_run_cannot_be_resumed_with_k(tiny_data_root, tmp_path, capsys):
    out = tmp_path / "elbo.pt"
    common = ["--data-dir", str(tiny_data_root), "--no-download", "--no-progress"]
    assert main(["train", *TINY, *common[:2], "--epochs", "1", "--out", str(out)]) == 0
    assert load_checkpoint(out).train_config["objective"] == "elbo"
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--k", "5", *common]) == 2
    assert "--k is the K of --objective iwae; this run trains the ELBO" in capsys.readouterr().err


@pytest.mark.parametrize("value, allowed", [("0", "between 1 and 1000"), ("5000", "between 1 and 1000"),
                                            ("2.5", "whole number")])
def test_a_bad_k_is_argparses_one_line(value, allowed, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--objective", "iwae", "--k", value])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "argument --k" in err and allowed in err


def test_an_unknown_objective_is_refused_by_name(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--objective", "vae"])
    assert e.value.code == 2 and "argument --objective: invalid choice: 'vae'" in capsys.readouterr().err
