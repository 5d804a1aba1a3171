"""`latentlab sweep`: real runs (one `latentlab train` process each) of a tiny model on the tiny data."""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from latentlab.cli import main
from latentlab.core.rate_distortion import scan
from latentlab.core.sweep import SWEEP_FILE, read_sweep

TRAIN_FLAGS = ["--hidden", "16", "--epochs", "1", "--batch-size", "25", "--no-download"]


def sweep(*args):
    """`latentlab sweep ...` in this process: (exit status, what it printed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["sweep", *map(str, args)])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def swept(tiny_data_root, tmp_path_factory):
    """Two runs at once; beta-2-d2 cannot write its checkpoint (a folder is in the way)."""
    folder = tmp_path_factory.mktemp("sweep") / "betas"
    (folder / "beta-2-d2" / "model.pt").mkdir(parents=True)
    (folder / SWEEP_FILE).write_text(json.dumps({"format": "latentlab-sweep", "version": 1, "runs": [],
                                                 "train_args": [*TRAIN_FLAGS, "--data-dir", str(tiny_data_root)]}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LATENTLAB_DATA", str(tiny_data_root))
        code, text = sweep("--beta", 0.5, 2, "--out", folder, "--jobs", 2, *TRAIN_FLAGS,
                           "--data-dir", tiny_data_root)
    return folder, code, text


def test_a_sweep_trains_its_grid_and_records_it(swept):
    folder, code, text = swept
    data = read_sweep(folder)
    runs = {r["name"]: r for r in data["runs"]}
    assert list(runs) == ["beta-0.5-d2", "beta-2-d2"]
    assert data["grid"] == {"beta": [0.5, 2.0], "latent_dim": [2]}
    run = runs["beta-0.5-d2"]
    assert run["status"] == "finished" and run["beta"] == 0.5 and run["latent_dim"] == 2
    assert run["path"] == "beta-0.5-d2/model.pt" and (folder / run["path"]).is_file()
    assert run["neg_elbo"] == pytest.approx(run["kl"] + run["recon"]) and run["epoch"] == 1
    assert "finished beta-0.5-d2" in text and f"-ELBO {run['neg_elbo']:.2f}" in text
    assert "started beta-0.5-d2" in text and "started beta-2-d2" in text
    points = {p.name: p for p in scan([folder]).points}         # the plane reads what the sweep wrote
    assert points["beta-0.5-d2"].beta == 0.5 and points["beta-0.5-d2"].rate == runs["beta-0.5-d2"]["kl"]


def test_a_failing_run_is_reported_with_its_log_and_the_others_go_on(swept):
    folder, code, text = swept
    assert code == 1
    run = {r["name"]: r for r in read_sweep(folder)["runs"]}["beta-2-d2"]
    assert run["status"] == "failed" and run["exit_status"] == 2
    assert "FAILED beta-2-d2 (exit status 2)" in text and "is a folder" in text     # the tail of train.log
    assert "1 failed (beta-2-d2)" in text


def test_running_it_again_skips_finished_runs(swept, tiny_data_root, monkeypatch):
    folder, _, _ = swept
    (folder / "beta-2-d2" / "model.pt").rmdir()
    monkeypatch.setenv("LATENTLAB_DATA", str(tiny_data_root))
    code, text = sweep("--beta", 0.5, 2, "--out", folder, "--jobs", 2, *TRAIN_FLAGS, "--data-dir", tiny_data_root)
    assert code == 0, text
    assert "skipping 1 finished run(s): beta-0.5-d2" in text
    assert "started beta-2-d2" in text and "started beta-0.5-d2" not in text
    assert {r["status"] for r in read_sweep(folder)["runs"]} == {"finished"}


def test_other_train_flags_do_not_resume_a_sweep(swept, capsys):
    folder, _, _ = swept
    assert main(["sweep", "--beta", "1", "--out", str(folder), "--epochs", "9"]) == 2
    assert "holds a sweep trained with the train flags" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--lr", "-1"], "argument --lr: must be greater than 0"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--threads", "2"], "--threads is set by the sweep"),
    (["--objective", "iwae"], "needs --beta 1"),
])
def test_bad_flags_are_one_line_naming_them(args, message, tmp_path, capsys):
    with contextlib.suppress(SystemExit):
        code = main(["sweep", "--beta", "0.5", "--out", str(tmp_path / "s"), *args])
        assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_a_folder_with_other_files_is_never_written_over(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["sweep", "--beta", "1", "--out", str(tmp_path)]) == 2
    assert "already holds files and no sweep.json" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a process")
def test_ctrl_c_stops_every_run_and_they_save(tiny_data_root, tmp_path):
    """Runs long enough to be interrupted (500 epochs); SIGINT once the sweep says both started."""
    env = {**os.environ, "LATENTLAB_DATA": str(tiny_data_root)}
    proc = subprocess.Popen([sys.executable, "-m", "latentlab", "sweep", "--beta", "0.5", "1", "--out",
                             str(tmp_path / "s"), "--jobs", "2", "--hidden", "8", "--epochs", "500",
                             "--batch-size", "50", "--no-download"], stdout=subprocess.PIPE, text=True, env=env)
    lines = []
    try:
        while sum("started" in line for line in lines) < 2:
            lines.append(proc.stdout.readline())
            assert lines[-1], "".join(lines)
        # Wait until both have written a checkpoint (their first epoch), so there is a run to save.
        folder = tmp_path / "s"
        deadline = time.monotonic() + 120
        while not all((folder / f"beta-{b}-d2" / "model.pt").is_file() for b in ("0.5", "1")):
            assert time.monotonic() < deadline
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)        # a sweep that ends early ends this wait (and the test)
            assert proc.returncode is None
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    runs = read_sweep(tmp_path / "s")["runs"]
    assert [r["status"] for r in runs] == ["stopped", "stopped"]
    assert "interrupted: finished now: none" in rest
