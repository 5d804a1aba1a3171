"""The command line, run as a user runs it: real subprocesses on real (tiny) data and files."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import load_checkpoint
from latentlab.cli import main


def run(*args, env=None, timeout=240):
    env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "latentlab", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture(scope="module")
def trained(tiny_data_root, tmp_path_factory):
    """`latentlab train` on the tiny MNIST, run once for the module (data found through LATENTLAB_DATA)."""
    out = tmp_path_factory.mktemp("run") / "mnist2.pt"
    r = run("train", "--data", "mnist", "--latent-dim", "2", "--hidden", "64", "--epochs", "2",
            "--batch-size", "16", "--out", str(out), "--no-download",
            env={"LATENTLAB_DATA": str(tiny_data_root)})
    assert r.returncode == 0, r.stderr
    return out, r


def test_train_writes_a_checkpoint_and_metrics_csv(trained):
    out, r = trained
    assert "finished: epoch 2" in r.stderr
    ck = load_checkpoint(out)
    assert ck.model.latent_dim == 2 and ck.data["dataset"] == "mnist" and ck.data["binarize"] == "dynamic"
    assert ck.trainer_state["epoch"] == 2 and len(ck.history["steps"]["step"]) == 12
    assert ck.extras["scatter_means"].shape == (100, 2) and ck.extras["scatter_labels"].shape == (100,)
    with open(out.with_name("mnist2.metrics.csv")) as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    assert [r["split"] for r in rows].count("train") == 12 and [r["split"] for r in rows].count("val") == 2
    assert float(rows[0]["neg_elbo"]) > float(rows[-2]["neg_elbo"])


def test_resume_continues_the_curves(trained, tiny_data_root, tmp_path):
    out, _ = trained
    resumed = tmp_path / "more.pt"
    r = run("train", "--resume", str(out), "--epochs", "3", "--batch-size", "16", "--out", str(resumed),
            "--data-dir", str(tiny_data_root), "--no-download", "--no-progress")
    assert r.returncode == 0, r.stderr
    ck = load_checkpoint(resumed)
    assert ck.trainer_state["epoch"] == 3
    assert ck.history["steps"]["step"].tolist() == list(range(1, 19))
    assert ck.history["epochs"]["epoch"].tolist() == [1, 2, 3]


def test_eval_prints_json_with_every_number(trained, tiny_data_root, capsys):
    out, _ = trained
    assert main(["eval", str(out), "--iw-samples", "20", "--json", "--no-progress",
                 "--data-dir", str(tiny_data_root), "--no-download"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("neg_elbo", "kl", "recon", "iw_nll", "active_units", "kl_per_dim"):
        assert key in report
    assert report["n_images"] == 100 and report["split"] == "test" and report["iw_samples"] == 20
    assert report["iw_nll"] < report["neg_elbo"] + 1  # L_k is at least as tight as the ELBO (up to noise)


@pytest.fixture(scope="module")
def folder_2d(tmp_path_factory):
    """A 2-D model of 8x8 images of the sample digits (a folder data set, labelled by subfolder):
    small enough for the quadrature of `eval --exact` to take a fraction of a second. (An untrained
    decoder's posteriors are as wide as the prior, which the quadrature handles image by image on
    a wider box, 17 times the work; scaling its weights makes them narrower.)"""
    root = tmp_path_factory.mktemp("folder2d")
    for f in sorted((Path(__file__).resolve().parents[1] / "resources" / "samples" / "mnist").glob("*.png")):
        (root / "digits" / f.name[0]).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, root / "digits" / f.name[0] / f.name)
    from latentlab import VAE, save_checkpoint

    torch.manual_seed(0)
    model = VAE(image_shape=(1, 8, 8), latent_dim=2, hidden_sizes=(16,))
    with torch.no_grad():   # a sharper decoder: p(z|x) narrower than the prior, as in a trained model
        for p in model.decoder.parameters():
            p.mul_(3)
    return save_checkpoint(root / "m.pt", model, data={"dataset": "folder", "folder": str(root / "digits"),
                                                       "image_shape": [1, 8, 8], "binarize": "dynamic"})


def _read_table(path: Path) -> tuple[str, list[dict]]:
    lines = path.read_text().splitlines()
    return lines[0], list(csv.DictReader(lines[1:]))


def test_eval_exact_reports_the_exact_nll_beside_the_bounds(folder_2d, tmp_path, capsys):
    table = tmp_path / "per-image.csv"
    assert main(["eval", str(folder_2d), "--exact", "--iw-samples", "2000", "--json", "--no-progress",
                 "--per-image", str(table)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_images"] == 17 and report["split"] == "validation"
    assert report["exact_nll_stderr"] > 0 and report["exact_decodes_per_image"] >= 256 * 256 / 17
    # -ELBO >= -L_k >= -log p(x): the IW bound approaches the exact value from above, up to its noise
    # (about 0.1 nats per image here: this encoder's q is far from the posterior)
    assert report["neg_elbo"] > report["exact_nll"] + 1 and report["iw_nll"] > report["exact_nll"] - 0.1
    comment, rows = _read_table(table)
    assert "iw_samples=2000" in comment and "exact=True" in comment and "binarize=dynamic" in comment
    assert [int(r["index"]) for r in rows] == list(range(17)) and all(r["label"] in "0123456789" for r in rows)
    for key in ("neg_elbo", "kl", "recon", "iw_nll", "exact_nll"):   # the means are the table's means
        assert np.mean([float(r[key]) for r in rows]) == pytest.approx(report[key], rel=1e-9), key
    gaps = [float(r["gap"]) for r in rows]
    assert gaps == pytest.approx([float(r["neg_elbo"]) - float(r["exact_nll"]) for r in rows], abs=1e-9)
    assert np.mean(gaps) == pytest.approx(report["neg_elbo"] - report["exact_nll"], rel=1e-9)
    assert all(float(r["iw_nll"]) > float(r["exact_nll"]) - 0.5 for r in rows)


def test_eval_exact_keeps_the_images_and_draws_of_the_other_numbers(folder_2d, tmp_path, capsys):
    """Same seed: the same binarisation and the same samples whether or not --exact is asked for."""
    plain, exact = tmp_path / "plain.csv", tmp_path / "exact.csv"
    assert main(["eval", str(folder_2d), "--iw-samples", "0", "--exact", "--limit", "6", "--batch-size", "4",
                 "--seed", "3", "--no-progress", "--per-image", str(exact)]) == 0
    out = capsys.readouterr().out
    assert "exact NLL" in out and "decodes per image" in out and "IW-NLL" not in out
    assert main(["eval", str(folder_2d), "--iw-samples", "0", "--limit", "6", "--batch-size", "4", "--seed", "3",
                 "--no-progress", "--per-image", str(plain)]) == 0
    assert "exact NLL" not in capsys.readouterr().out
    (_, with_exact), (_, without) = _read_table(exact), _read_table(plain)
    for a, b in zip(with_exact, without):
        assert {k: a[k] for k in ("index", "label", "neg_elbo", "kl", "recon")} == \
            {k: b[k] for k in ("index", "label", "neg_elbo", "kl", "recon")}
        assert a["iw_nll"] == b["iw_nll"] == "" and a["exact_nll"] and b["exact_nll"] == b["gap"] == ""


def test_per_image_without_exact_leaves_its_columns_empty(trained, tiny_data_root, tmp_path, capsys):
    from dataset_files import read_samples

    out, _ = trained
    table = tmp_path / "t.csv"
    assert main(["eval", str(out), "--iw-samples", "10", "--limit", "7", "--json", "--no-progress",
                 "--per-image", str(table), "--data-dir", str(tiny_data_root), "--no-download"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["exact_nll"] is report["exact_nll_stderr"] is report["exact_decodes_per_image"] is None
    comment, rows = _read_table(table)
    assert comment.startswith("# latentlab-eval ") and "iw_samples=10" in comment and "exact=False" in comment
    assert len(rows) == 7 and all(r["exact_nll"] == r["gap"] == "" and r["iw_nll"] for r in rows)
    assert [int(r["label"]) for r in rows] == read_samples("mnist")[1][:7].tolist()
    assert np.mean([float(r["iw_nll"]) for r in rows]) == pytest.approx(report["iw_nll"], rel=1e-9)


def test_eval_exact_of_a_5d_model_is_one_line_and_exit_status_2(tmp_path, capsys):
    from latentlab import VAE, save_checkpoint

    save_checkpoint(tmp_path / "m5.pt", VAE(latent_dim=5, hidden_sizes=(8,)), data={"dataset": "mnist"})
    assert main(["eval", str(tmp_path / "m5.pt"), "--exact", "--data-dir", str(tmp_path), "--no-download"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: --exact: exact evaluation needs a 2-D latent space; this model has 5")
    assert err.count("\n") == 1   # refused before looking for the data (there is none in tmp_path)


def test_a_per_image_table_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys):
    for target, why in ((tmp_path, "is a folder"), (tmp_path / "no" / "t.csv", "does not exist")):
        assert main(["eval", str(tmp_path / "missing.pt"), "--per-image", str(target)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("latentlab: error: --per-image: ") and why in err and err.count("\n") == 1


def test_sample_and_manifold_write_pngs_at_4x_by_default(trained, tmp_path):
    out, _ = trained
    assert main(["sample", str(out), "--n", "16", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["manifold", str(out), "--n", "5", "--out", str(tmp_path / "m.png")]) == 0
    assert Image.open(tmp_path / "s.png").size == ((4 * 29 + 1) * 4,) * 2
    assert Image.open(tmp_path / "m.png").size == (5 * 28 * 4, 5 * 28 * 4)        # 560 px
    assert main(["manifold", str(out), "--n", "5", "--scale", "1", "--out", str(tmp_path / "m1.png")]) == 0
    assert main(["sample", str(out), "--n", "16", "--scale", "1", "--out", str(tmp_path / "s1.png")]) == 0
    assert Image.open(tmp_path / "m1.png").size == (5 * 28, 5 * 28)               # the models' own size
    assert Image.open(tmp_path / "s1.png").size == (4 * 29 + 1, 4 * 29 + 1)
    small, big = np.asarray(Image.open(tmp_path / "m1.png")), np.asarray(Image.open(tmp_path / "m.png"))
    np.testing.assert_array_equal(big[::4, ::4], small)                          # crisp: nearest neighbour
    np.testing.assert_array_equal(big[3::4, 3::4], small)


def test_manifold_n20_scale4_is_2240_px(trained, tmp_path):
    out, _ = trained
    assert main(["manifold", str(out), "--n", "20", "--scale", "4", "--out", str(tmp_path / "m.png")]) == 0
    assert Image.open(tmp_path / "m.png").size == (2240, 2240)


def test_figures_as_svg_and_pdf_from_the_suffix_or_format(trained, tmp_path, monkeypatch, capsys):
    import xml.etree.ElementTree as ET

    out, _ = trained
    assert main(["manifold", str(out), "--n", "5", "--out", str(tmp_path / "m.svg")]) == 0
    root = ET.parse(tmp_path / "m.svg").getroot()
    assert (root.get("width"), root.get("height")) == ("560", "560")
    assert main(["sample", str(out), "--n", "4", "--scale", "2", "--out", str(tmp_path / "s.pdf")]) == 0
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF-")
    monkeypatch.chdir(tmp_path)                   # no --out: the default name takes the format's suffix
    assert main(["manifold", str(out), "--n", "3", "--format", "pdf"]) == 0
    assert (tmp_path / "manifold.pdf").read_bytes().startswith(b"%PDF-")
    assert "wrote manifold.pdf (336 x 336 px)" in capsys.readouterr().err


def test_figure_flags_that_cannot_work_are_one_line_and_write_nothing(trained, tmp_path, capsys):
    out, _ = trained
    assert main(["manifold", str(out), "--n", "200", "--scale", "32", "--out", str(tmp_path / "m.png")]) == 2
    err = capsys.readouterr().err
    assert "--scale 32 with --n 200" in err and "too large" in err and err.count("\n") == 1
    assert main(["sample", str(out), "--out", str(tmp_path / "s.xyz")]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "s.xyz" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_manifold_of_a_5d_model_is_a_clear_error(tmp_path, capsys):
    from latentlab import VAE, save_checkpoint

    save_checkpoint(tmp_path / "m5.pt", VAE(latent_dim=5, hidden_sizes=(8,)))
    assert main(["manifold", str(tmp_path / "m5.pt"), "--out", str(tmp_path / "x.png")]) == 2
    assert "needs a 2-D latent space" in capsys.readouterr().err


def test_bad_checkpoint_and_missing_data_give_one_clear_line(tmp_path, capsys):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint at all")
    assert main(["eval", str(tmp_path / "bad.pt")]) == 2
    assert "latentlab: error:" in capsys.readouterr().err
    assert main(["train", "--data", "mnist", "--data-dir", str(tmp_path), "--no-download",
                 "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and str(tmp_path) in err


def test_train_on_an_image_folder(tmp_path):
    src = Path(__file__).resolve().parents[1] / "resources" / "samples" / "mnist"
    for label in ("3", "7"):
        (tmp_path / "digits" / label).mkdir(parents=True)
        for f in sorted(src.glob(f"{label}_*.png")):
            shutil.copy(f, tmp_path / "digits" / label / f.name)
    out = tmp_path / "folder.pt"
    assert main(["train", "--data", str(tmp_path / "digits"), "--epochs", "1", "--hidden", "32",
                 "--batch-size", "8", "--out", str(out), "--no-progress"]) == 0
    ck = load_checkpoint(out)
    assert ck.data["dataset"] == "folder" and ck.extras["label_names"] == ["3", "7"]


@pytest.mark.parametrize("command", ["train", "eval", "sample", "manifold", "export", "install-desktop", "gui"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0 and "usage: latentlab" in capsys.readouterr().out


def test_torchrun_with_two_cpu_processes(tiny_data_root, tmp_path):
    """DistributedDataParallel over gloo: each rank trains on half of every epoch."""
    out = tmp_path / "ddp.pt"
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    r = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "latentlab", "train",
                        "--data", "mnist", "--data-dir", str(tiny_data_root), "--no-download", "--hidden", "32",
                        "--epochs", "2", "--batch-size", "8", "--threads", "1", "--out", str(out), "--no-progress"],
                       capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2 processes" in r.stderr
    ck = load_checkpoint(out)
    # 83 training images, 41 per rank, batches of 8 -> 6 steps per epoch on each rank
    assert ck.history["steps"]["step"].tolist() == list(range(1, 13))
    assert ck.trainer_state["epoch"] == 2


@pytest.mark.parametrize("argv, flag, allowed", [
    (["train", "--hidden", "-3"], "--hidden", "between 1 and 16384"),
    (["train", "--hidden", "0"], "--hidden", "between 1 and 16384"),
    (["train", "--latent-dim", "0"], "--latent-dim", "between 1 and 256"),
    (["train", "--device", "tpu"], "--device", "auto, cpu, cuda, cuda:N, mps"),
    (["train", "--mc-samples", "20000"], "--mc-samples", "between 1 and 1000"),
    (["train", "--image-size", "20000", "20000"], "--image-size", "between 4 and 256"),
    (["train", "--lr", "0"], "--lr", "greater than 0"),
    (["train", "--epochs", "x"], "--epochs", "whole number"),
    (["eval", "m.pt", "--batch-size", "0"], "--batch-size", "between 1 and 100000"),
    (["eval", "m.pt", "--limit", "-5"], "--limit", "at least 0"),
    (["sample", "m.pt", "--n", "0"], "--n", "between 1 and 10000"),
    (["sample", "m.pt", "--n", "-4"], "--n", "between 1 and 10000"),
    (["manifold", "m.pt", "--n", "0"], "--n", "between 1 and 200"),
    (["manifold", "m.pt", "--n", "100000"], "--n", "between 1 and 200"),
    (["manifold", "m.pt", "--scale", "0"], "--scale", "between 1 and 32"),
    (["sample", "m.pt", "--scale", "33"], "--scale", "between 1 and 32"),
    (["sample", "m.pt", "--scale", "2x"], "--scale", "whole number"),
    (["manifold", "m.pt", "--format", "jpg"], "--format", "invalid choice"),
])
def test_a_bad_flag_is_one_line_naming_it_and_its_range(argv, flag, allowed, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"argument {flag}" in err and allowed in err and "Traceback" not in err


def test_device_mps_without_mps_is_a_clear_error(capsys):
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(SystemExit) as e:
        main(["train", "--device", "mps"])
    assert e.value.code == 2 and "MPS" in capsys.readouterr().err


def test_train_help_shows_every_default_once_and_main_help_the_screenshot(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for default in ("(default: 30)", "(default: 128)", "(default: 0.001)", "(default: 2)", "(default: mlp)",
                    "(default: runs/model.pt;", "(default: 512 512)", "(default: mnist)"):
        assert text.count(default) == 1, default
    assert "(default: None)" not in text and "==SUPPRESS==" not in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--screenshot" in capsys.readouterr().out


def test_a_folder_as_out_is_refused_before_any_work(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path), "--no-download", "--data-dir", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_resume_refuses_other_data_or_model_flags_instead_of_ignoring_them(trained, tiny_data_root, capsys):
    out, _ = trained
    common = ["--data-dir", str(tiny_data_root), "--no-download", "--no-progress"]
    assert main(["train", "--resume", str(out), "--data", "fashion-mnist", *common]) == 2
    assert "cannot change when resuming" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--latent-dim", "5", *common]) == 2
    assert "--latent-dim cannot change when resuming" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--beta", "4", *common]) == 2
    assert "cannot change beta" in capsys.readouterr().err


def test_resume_without_flags_keeps_the_stored_settings(trained, tiny_data_root, tmp_path, capsys):
    out, _ = trained
    copy = tmp_path / "copy.pt"
    shutil.copy(out, copy)
    # The run trained with --batch-size 16 for 2 epochs; a bare resume must not reset it to 128/30.
    assert main(["train", "--resume", str(copy), "--data-dir", str(tiny_data_root), "--no-download",
                 "--no-progress"]) == 0
    assert "nothing to do" in capsys.readouterr().err
    assert main(["train", "--resume", str(copy), "--epochs", "3", "--data-dir", str(tiny_data_root),
                 "--no-download", "--no-progress"]) == 0
    ck = load_checkpoint(copy)
    assert ck.train_config["batch_size"] == 16 and ck.train_config["epochs"] == 3
    assert ck.history["steps"]["step"].tolist() == list(range(1, 19))


def test_a_fifo_or_a_wrongly_typed_checkpoint_is_one_line_in_every_command(trained, tmp_path, capsys):
    out, _ = trained
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    payload = torch.load(out, weights_only=True)
    payload["trainer_state"] = "epoch 3"
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    for path, words in ((fifo, "named pipe"), (bad, "field trainer_state must be")):
        for argv in (["eval", str(path)], ["sample", str(path), "--out", str(tmp_path / "s.png")],
                     ["train", "--resume", str(path), "--no-download"]):
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert words in err and "Traceback" not in err and err.count("\n") == 1, (argv, err)
