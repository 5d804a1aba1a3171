"""The file-system side of checkpoints (checkpoint_files.py), through the public API: special and
huge files refused before reading."""

import os
import socket
import threading

import pytest
import torch

from latentlab import CheckpointError, VAE, load_checkpoint, save_checkpoint
from latentlab.core.checkpoint import MAX_CHECKPOINT_BYTES, check_checkpoint_file, read_payload


def _model():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_sizes=(16,))


def _special_file(kind: str, tmp_path):
    if kind == "folder":
        return tmp_path
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        os.mkfifo(tmp_path / "model.pt")
        return tmp_path / "model.pt"
    if kind == "socket":
        if not hasattr(socket, "AF_UNIX"):
            pytest.skip("no Unix sockets on this platform")
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.bind(str(tmp_path / "model.pt"))
        except OSError as e:
            pytest.skip(f"cannot make a socket here: {e}")
        return tmp_path / "model.pt"
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    return "/dev/null"


@pytest.mark.parametrize("kind, words", [("fifo", "is a named pipe (FIFO), not a checkpoint file"),
                                         ("socket", "is a socket, not a checkpoint file"),
                                         ("device", "is a character device, not a checkpoint file"),
                                         ("folder", "is a folder, not a checkpoint file")])
def test_a_file_that_is_not_a_regular_file_is_refused_at_once(tmp_path, kind, words):
    path = _special_file(kind, tmp_path)
    with pytest.raises(CheckpointError, match=words.replace("(", r"\(").replace(")", r"\)")):
        check_checkpoint_file(path)
    outcome = []

    def load():
        try:
            load_checkpoint(path)
        except Exception as e:
            outcome.append(e)
    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=20)
    try:
        assert not worker.is_alive(), "loading a special file blocked"
    finally:
        if worker.is_alive() and kind == "fifo":  # a regression: open a writer end so the reader wakes up
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            worker.join(timeout=20)
    assert len(outcome) == 1 and isinstance(outcome[0], CheckpointError) and words in str(outcome[0])


def test_a_file_above_the_size_bound_is_refused_before_it_is_read(tmp_path, monkeypatch):
    good = save_checkpoint(tmp_path / "good.pt", _model())
    size = good.stat().st_size
    assert load_checkpoint(good, max_bytes=size).model.latent_dim == 3
    with pytest.raises(CheckpointError, match="too large to be a latentlab checkpoint"):
        load_checkpoint(good, max_bytes=size - 1)
    huge = tmp_path / "huge.pt"
    with open(huge, "wb") as f:
        f.truncate(MAX_CHECKPOINT_BYTES + 1)  # sparse: no disk space used
    assert huge.stat().st_size > MAX_CHECKPOINT_BYTES

    def must_not_read(*a, **k):
        raise AssertionError("the file was read")
    monkeypatch.setattr(torch, "load", must_not_read)
    for check in (check_checkpoint_file, read_payload, load_checkpoint):
        with pytest.raises(CheckpointError, match=r"huge.pt is too large to be a latentlab checkpoint "
                                                  r"\(2.0 GiB; the limit is 2.0 GiB\); it was not read"):
            check(huge)


def test_check_checkpoint_file_returns_the_path_of_a_good_file_without_opening_it(tmp_path, monkeypatch):
    good = save_checkpoint(tmp_path / "good.pt", _model())

    def no_open(*a, **k):
        raise AssertionError("opened")
    monkeypatch.setattr(os, "open", no_open)
    assert check_checkpoint_file(str(good)) == good
    with pytest.raises(CheckpointError, match="No such checkpoint"):
        check_checkpoint_file(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="No such checkpoint"):
        check_checkpoint_file(good / "inside.pt")  # a file used as a folder
