"""The file-system side of checkpoints (checkpoint_files.py), through the public API: special and
huge files refused before reading, full disks named as such, temporary files of killed saves
removed by the next save and by nothing else."""

import errno
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
import types

import pytest
import torch

from latentlab import CheckpointError, VAE, load_checkpoint, save_checkpoint
from latentlab.core import checkpoint_files
from latentlab.core.checkpoint import (MAX_CHECKPOINT_BYTES, check_checkpoint_file, read_payload,
                                       remove_stale_temp_files)


def _model():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_sizes=(16,))


NO_SPACE_ERRORS = [(errno.ENOSPC, "No space left on device: could not save checkpoint")]
if hasattr(errno, "EDQUOT"):
    NO_SPACE_ERRORS.append((errno.EDQUOT, "No space left on device (disk quota exceeded): could not save checkpoint"))


@pytest.mark.parametrize("code, words", NO_SPACE_ERRORS, ids=["ENOSPC", "EDQUOT"][:len(NO_SPACE_ERRORS)])
def test_a_save_that_runs_out_of_space_says_so_and_leaves_the_previous_file(tmp_path, monkeypatch, code, words):
    path = save_checkpoint(tmp_path / "run.pt", _model())
    before = path.read_bytes()

    def disk_full(obj, f, *a, **k):
        f.write(b"partial data")
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(path, VAE(latent_dim=3, hidden_sizes=(16,)))
    assert str(info.value).startswith(f"{words} {path}")
    assert "previous file, if any, is unchanged" in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


TORCH_SHORT_WRITE = "[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598"  # torch 2.x, disk full


@pytest.mark.parametrize("free, says_no_space", [(0, True), (None, False)], ids=["disk-full", "disk-has-room"])
def test_torch_s_own_write_error_is_reported_as_a_full_disk_only_when_the_disk_is_full(
        tmp_path, monkeypatch, free, says_no_space):
    """torch.save's C++ writer reports a short write without an errno; the free space decides."""
    path = save_checkpoint(tmp_path / "run.pt", _model())
    before = path.read_bytes()

    def short_write(obj, f, *a, **k):
        f.write(b"partial data")
        raise RuntimeError(TORCH_SHORT_WRITE)
    monkeypatch.setattr(torch, "save", short_write)
    if free is not None:
        full = types.SimpleNamespace(total=10**9, used=10**9, free=free)
        monkeypatch.setattr(checkpoint_files.shutil, "disk_usage", lambda folder: full)
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(path, _model())
    expected = "No space left on device: could not save checkpoint" if says_no_space else "Could not save checkpoint"
    assert str(info.value).startswith(f"{expected} {path}"), str(info.value)
    if says_no_space:  # the sizes, counting the partial file as free (it is deleted)
        assert f"{path} (it needs at least " in str(info.value) and "; 12 bytes free there)" in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


def test_a_save_above_the_size_bound_is_refused_and_leaves_the_previous_file(tmp_path):
    path = save_checkpoint(tmp_path / "run.pt", _model())
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="more than the 1.0 KiB latentlab reads"):
        save_checkpoint(path, VAE(latent_dim=4, hidden_sizes=(16,)), max_bytes=1024)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


def test_the_next_save_removes_the_temp_file_of_a_save_that_was_killed(tmp_path):
    """A process killed in the middle of torch.save leaves its temporary file; the next save of
    the same checkpoint (here by another process, as after a crash and `train --resume`) removes it."""
    path = save_checkpoint(tmp_path / "run.pt", _model())
    script = textwrap.dedent(f"""
        import sys, torch
        from latentlab import VAE, save_checkpoint
        def stuck(obj, f, *a, **k):  # write half a file, then hang until killed
            f.write(b"partial" * 1000)
            f.flush()
            print("writing", flush=True)
            sys.stdin.read()
        torch.save = stuck
        save_checkpoint({str(path)!r}, VAE(latent_dim=2, hidden_sizes=(8,)))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.kill()
        proc.wait()
    left = [p.name for p in tmp_path.iterdir() if p.name != "run.pt"]
    assert len(left) == 1 and left[0].startswith(".run.pt.") and left[0].endswith(".tmp")
    assert load_checkpoint(path).model.latent_dim == 3  # the previous file is intact
    save_checkpoint(path, _model())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()  # reaped: no process has this pid now (until the system reuses it)
    return proc.pid


def test_stale_temp_files_are_removed_only_when_their_writer_is_gone(tmp_path):
    writer = checkpoint_files.writer_id()
    other_machine = "0" * 8 if writer != "0" * 8 else "1" * 8
    dead, alive = _dead_pid(), os.getppid()
    files = {  # name: (kept?, hours since last written)
        f".run.pt.{writer}-{dead}.abc_12xy.tmp": (False, 0),         # killed save of this checkpoint
        f".run.pt.{writer}-{alive}.abc_12xy.tmp": (True, 0),         # a live process is writing it
        f".run.pt.{writer}-{os.getpid()}.abc_12xy.tmp": (True, 0),   # this process (another thread) is
        f".run.pt.{other_machine}-{dead}.abc_12xy.tmp": (True, 23),  # another machine's: pids mean nothing here
        f".run.pt.{other_machine}-{dead}.zz_12xy.tmp": (False, 25),  # ... but untouched for over a day
        f".run.pt.{writer}-{alive}.yy_12xy.tmp": (False, 25),        # (whoever has that pid now)
        f".run.pt.{writer}-{2**70}.abc_12xy.tmp": (True, 0),         # a pid no system has: cannot tell, kept
        ".run.pt.k2j4_9zq.tmp": (True, 1),                           # old-style name (no pid), recent
        ".run.pt.a8f3kq0w.tmp": (False, 25),                         # old-style name, untouched for a day
        f".other.pt.{writer}-{dead}.abc_12xy.tmp": (True, 25),       # another checkpoint's
        f".run.pt.x.{writer}-{dead}.abc_12xy.tmp": (True, 25),       # checkpoint "run.pt.x"'s
        "run.pt": (True, 25),
    }
    for name, (_, hours) in files.items():
        (tmp_path / name).write_bytes(b"x")
        then = time.time() - hours * 3600
        os.utime(tmp_path / name, (then, then))
    removed = remove_stale_temp_files(tmp_path / "run.pt")
    assert sorted(p.name for p in removed) == sorted(name for name, (kept, _) in files.items() if not kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(name for name, (kept, _) in files.items() if kept)


def test_a_save_names_its_temp_file_after_its_writer(tmp_path, monkeypatch):
    seen = []
    real_save = torch.save

    def spy(obj, f, *a, **k):
        seen.extend(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp")
        real_save(obj, f, *a, **k)
    monkeypatch.setattr(torch, "save", spy)
    save_checkpoint(tmp_path / "run.pt", _model())
    assert len(seen) == 1
    match = checkpoint_files.TEMP_MIDDLE.fullmatch(seen[0].removeprefix(".run.pt.").removesuffix(".tmp"))
    assert match and match["writer"] == checkpoint_files.writer_id() and int(match["pid"]) == os.getpid()


# -- files that are not checkpoints: refused before reading ----------------------------------------
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


def test_a_saved_checkpoint_gets_ordinary_file_permissions(tmp_path):
    """mkstemp makes owner-only files; a checkpoint is an ordinary file (others may read it)."""
    mask = os.umask(0)
    os.umask(mask)
    path = save_checkpoint(tmp_path / "run.pt", _model())
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
