import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch

from latentlab import VAE, CheckpointError, load_checkpoint, save_checkpoint
from latentlab.core.checkpoint import FORMAT_VERSION, export_compact
from latentlab.core.history import STEP_COLUMNS
from latentlab.core.pipeline import DataSpec
from latentlab.core.training_config import TrainConfig


def _model():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_sizes=(16,))


def test_round_trip_keeps_everything_resume_needs(tmp_path):
    model = _model()
    opt = torch.optim.Adam(model.parameters())
    model(torch.rand(2, 1, 28, 28))[0].sum().backward()
    opt.step()
    history = {"steps": {"loss": torch.tensor([3.0, 2.0])}, "epochs": {"epoch": torch.tensor([1.0])}}
    path = save_checkpoint(tmp_path / "run.pt", model, train_config={"lr": 0.001}, data={"dataset": "mnist"},
                           history=history, optimizer_state=opt.state_dict(),
                           trainer_state={"epoch": 1, "step": 2}, extras={"scatter_means": torch.ones(5, 3)})
    ck = load_checkpoint(path)
    for a, b in zip(model.state_dict().values(), ck.model.state_dict().values()):
        assert torch.equal(a, b)
    assert ck.model.config == model.config
    # the settings come back whole: what was stored, and the defaults of what was not
    assert ck.train_config == TrainConfig(lr=0.001).to_dict() and ck.data == DataSpec(dataset="mnist").to_dict()
    assert ck.train_settings == TrainConfig(lr=0.001) and ck.data_spec == DataSpec(dataset="mnist")
    assert ck.history["steps"]["loss"].tolist() == [3.0, 2.0]
    assert ck.trainer_state == {"epoch": 1, "step": 2}
    assert torch.equal(ck.extras["scatter_means"], torch.ones(5, 3))
    opt2 = torch.optim.Adam(ck.model.parameters())
    opt2.load_state_dict(ck.optimizer_state)
    assert ck.meta["format_version"] == 1 <= FORMAT_VERSION   # a VAE keeps format 1 (M2 files are 2)


def test_numpy_values_and_paths_are_stored_as_plain_values(tmp_path):
    import numpy as np

    save_checkpoint(tmp_path / "a.pt", _model(), extras={"path": tmp_path, "n": np.int64(3), "arr": np.ones(2)},
                    data={"dataset": "folder", "folder": tmp_path})
    ck = load_checkpoint(tmp_path / "a.pt")
    extras = ck.extras
    assert extras["path"] == str(tmp_path) and extras["n"] == 3 and extras["arr"].tolist() == [1.0, 1.0]
    assert ck.data["folder"] == str(tmp_path)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # creates a file when unpickled


@pytest.mark.parametrize("zip_container", [True, False])
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, zip_container):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pt"
    payload = {"format": "latentlab-checkpoint", "format_version": 1, "x": _RunsCode(str(marker))}
    if zip_container:
        torch.save(payload, bad)  # torch's own zip container around the malicious pickle
    else:
        bad.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(bad)
    assert not marker.exists()


def test_truncated_empty_foreign_and_garbage_files_give_clear_errors(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", _model())
    blob = good.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "garbage.pt").write_bytes(os.urandom(4096))
    torch.save(_model().state_dict(), tmp_path / "foreign.pt")  # a plain PyTorch state_dict
    expectations = {"trunc.pt": "damaged", "empty.pt": "empty", "garbage.pt": "not",
                    "foreign.pt": "not a latentlab checkpoint", "missing.pt": "No such checkpoint"}
    for name, words in expectations.items():
        with pytest.raises(CheckpointError, match=words):
            load_checkpoint(tmp_path / name)
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path)


def test_a_newer_format_version_asks_for_an_upgrade(tmp_path):
    payload = torch.load(save_checkpoint(tmp_path / "m.pt", _model()), weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="newer latentlab"):
        load_checkpoint(tmp_path / "future.pt")

def test_a_process_killed_mid_save_leaves_a_loadable_file(tmp_path):
    """Kill a process that saves in a loop at an arbitrary moment; the file must still load."""
    path = tmp_path / "run.pt"
    script = textwrap.dedent(f"""
        import sys, torch
        from latentlab import VAE, save_checkpoint
        model = VAE(latent_dim=2, hidden_sizes=(1024, 1024))
        i = 0
        while True:
            save_checkpoint({str(path)!r}, model, extras={{"i": i}})
            if i == 0:
                print("saved", flush=True)
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "saved"
    finally:
        proc.kill()  # SIGKILL: no cleanup handlers run, whatever the process was doing
        proc.wait()
    ck = load_checkpoint(path)
    assert ck.model.config.hidden_sizes == (1024, 1024)

def test_export_compact_halves_the_weights_and_drops_the_optimizer(tmp_path):
    model = _model()
    opt = torch.optim.Adam(model.parameters())
    steps = torch.arange(1, 20_001, dtype=torch.float64)
    src = save_checkpoint(tmp_path / "full.pt", model, optimizer_state=opt.state_dict(),
                          history={"steps": {c: 100 + 1 / steps for c in STEP_COLUMNS} | {"step": steps}})
    dst = export_compact(src, tmp_path / "small.pt")
    small = load_checkpoint(dst)
    assert small.optimizer_state is None
    assert torch.equal(small.history["steps"]["step"], steps)             # exact, read back as float64
    assert torch.allclose(small.history["steps"]["loss"], 100 + 1 / steps, rtol=1e-7, atol=0)
    stored = torch.load(dst, weights_only=True)["history"]["steps"]
    assert stored["loss"].dtype == torch.float32                           # half the bytes on disk
    for a, b in zip(model.parameters(), small.model.parameters()):
        assert b.dtype == torch.float32
        assert torch.allclose(a, b, atol=1e-3, rtol=1e-3)
    assert dst.stat().st_size < src.stat().st_size
