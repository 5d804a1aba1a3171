"""A run's replay as an animation (core/replay_export.py) and `latentlab replay`."""

from __future__ import annotations

import shutil
import subprocess
import threading

import numpy as np
import pytest
from PIL import Image, ImageSequence

from latentlab.cli import main
from latentlab.core.replay_export import (ExportCancelled, canvas_frame, export_replay, ffmpeg_exe,
                                          render_frames)
from latentlab.core.snapshots import list_snapshots, replay_dir




@pytest.mark.parametrize("what", ["canvas", "manifold"])
def test_a_gif_has_one_frame_per_snapshot_and_pillow_reads_it(replay_run, tmp_path, what):
    out, frames = export_replay(replay_run, tmp_path / "replay.gif", what=what, fps=5)
    snapshots = list_snapshots(replay_dir(replay_run))
    with Image.open(out) as gif:
        assert gif.format == "GIF" and frames == len(snapshots) == 4
        assert sum(1 for _ in ImageSequence.Iterator(gif)) == 4
        assert gif.info["loop"] == 0


def test_frames_differ_as_the_model_trains_and_show_the_epoch(replay_run):
    frames = render_frames(replay_run, "canvas")
    assert len({f.shape for f in frames}) == 1
    first, last = frames[0], frames[-1]
    assert not np.array_equal(first[40:], last[40:])         # the scatter moved
    assert not np.array_equal(first[:30], last[:30])         # "epoch 0 of 3" against "epoch 3 of 3"


def test_canvas_frame_colours_points_by_label():
    means = np.array([[0.0, 0.0], [2.0, 2.0]])
    frame = canvas_frame(means, np.array([0, 3]), (0, 1), 3.2, "epoch 1 of 1", side=101)
    plot = frame[-101:]
    assert tuple(plot[50, 50]) == (0x1f, 0x77, 0xb4)        # label 0: tab10 blue at the centre
    assert tuple(plot[50 - 31, 50 + 31]) == (0xd6, 0x27, 0x28)   # label 3: red at (2, 2), y up


def test_cancel_writes_nothing(replay_run, tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExportCancelled):
        export_replay(replay_run, tmp_path / "x.gif", cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_mp4_export(replay_run, tmp_path):
    if ffmpeg_exe() is None:
        pytest.skip("no ffmpeg binary: neither on PATH nor imageio-ffmpeg (pip install 'latentlab[video]')")
    out, frames = export_replay(replay_run, tmp_path / "replay.mp4", fps=4)
    assert frames == 4 and out.stat().st_size > 1000
    probe = subprocess.run([ffmpeg_exe(), "-i", str(out), "-f", "null", "-"], capture_output=True, text=True)
    assert probe.returncode == 0 and "Video: h264" in probe.stderr


def test_mp4_without_ffmpeg_says_what_to_install(replay_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("latentlab.core.replay_export.ffmpeg_exe", lambda: None)
    assert main(["replay", str(replay_run), "--out", str(tmp_path / "a.mp4")]) == 2
    err = capsys.readouterr().err
    assert "ffmpeg" in err and "latentlab[video]" in err and "GIF" in err
    assert main(["replay", str(replay_run), "--out", str(tmp_path / "a.gif")]) == 0    # GIF still works


def test_cli_replay_writes_a_gif(replay_run, tmp_path, capsys):
    assert main(["replay", str(replay_run), "--out", str(tmp_path / "m.gif"), "--what", "manifold", "--fps", "2"]) == 0
    assert "4 frames" in capsys.readouterr().err
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == 4


def _one_line_error(capsys, argv, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("latentlab: error:"), err
    for word in words:
        assert word in err, err


def test_cli_replay_bad_input_is_one_line(replay_run, tmp_path, capsys):
    lone = tmp_path / "lone.pt"
    shutil.copy(replay_run, lone)                                   # a checkpoint without a replay folder
    _one_line_error(capsys, ["replay", str(lone), "--out", str(tmp_path / "a.gif")], "no training replay",
                    "lone.replay")
    _one_line_error(capsys, ["replay", str(tmp_path), "--out", str(tmp_path / "a.gif")], str(tmp_path))
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes(replay_run.read_bytes()[:500])
    _one_line_error(capsys, ["replay", str(truncated), "--out", str(tmp_path / "a.gif")], "cut.pt")
    _one_line_error(capsys, ["replay", str(replay_run), "--out", str(tmp_path / "a.webm")], ".gif or .mp4")
    _one_line_error(capsys, ["replay", str(replay_run), "--out", str(tmp_path / "no" / "a.gif")], "does not exist")
    assert not any(p.suffix == ".gif" for p in tmp_path.rglob("*"))
