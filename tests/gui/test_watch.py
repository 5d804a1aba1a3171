"""Following a run that another process writes: RunFollower and the main window's following."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from PySide6.QtCore import QTimer

from latentlab import load_checkpoint, save_checkpoint
from latentlab.core.metrics import MetricsTail, MetricsWriter, metrics_path_for
from latentlab.core.shipped import default_checkpoint
from latentlab.core.trainer import StepEvent
from latentlab.gui.watch import RunFollower

HEADER = "split,step,epoch,loss,neg_elbo,kl,recon,active_units\n"


def step_event(step: int, epoch: int, loss: float) -> StepEvent:
    return StepEvent(step=step, epoch=epoch, epoch_fraction=0.5, loss=loss, neg_elbo=loss, kl=5.0, recon=loss - 5,
                     kl_per_dim=(5.0,), kl_weight=1.0, steps_per_sec=10.0)


def follow_files(folder: Path, run_id: str = "run1", metrics_run_id: str | None = None):
    """A run folder as `latentlab train` leaves it mid-run: checkpoint (with its run id) + its
    metrics file holding every step so far. Returns (checkpoint, metrics, writer still open)."""
    folder.mkdir()
    checkpoint = folder / "model.pt"
    ckpt = load_checkpoint(default_checkpoint())
    save_checkpoint(checkpoint, ckpt.model, train_config=ckpt.train_config, data=ckpt.data, history=ckpt.history,
                    trainer_state={**ckpt.trainer_state, "run_id": run_id}, extras=ckpt.extras)
    steps = ckpt.history["steps"]
    writer = MetricsWriter(metrics_path_for(checkpoint), metrics_run_id or run_id)
    for i in range(len(steps["step"])):
        writer(step_event(int(steps["step"][i]), int(steps["epoch"][i]), float(steps["loss"][i])))
    writer.flush()
    return checkpoint, metrics_path_for(checkpoint), writer


def shown_steps(window) -> list[float]:
    return window.curves.data.steps.values.tolist()


def test_following_a_run_written_by_another_process(make_window, qtbot, tmp_path):
    checkpoint, metrics, _ = follow_files(tmp_path / "run")
    window = make_window(checkpoint)
    assert "following its metrics" in window.statusBar().currentMessage()
    n = len(window.curves.data)
    with open(metrics, "a", newline="") as f:  # the server writes two more steps and an epoch,
        f.write(f"train,{n + 1},3,150.0,150.0,5.0,145.0,\ntrain,{n + 2},3,149.0,149.0,5.0,144.0,\n")
        f.write(f"val,{n + 2},3,148.0,148.0,5.5,142.5,2\ntrain,{n + 3},4,14")  # and half a line
    qtbot.waitUntil(lambda: len(window.curves.data) == n + 2, timeout=5_000)
    assert window.curves.data.steps.values[-1] == n + 2
    assert window.curves.data.val["val_neg_elbo"].values[-1] == 148.0
    with open(metrics, "a", newline="") as f:  # the half line is completed
        f.write("8.0,148.0,5.0,143.0,\n")
    qtbot.waitUntil(lambda: len(window.curves.data) == n + 3, timeout=5_000)
    assert shown_steps(window) == list(map(float, range(1, n + 4)))  # the file's first rows are not added twice

    model_before = window.model
    ckpt = load_checkpoint(checkpoint)  # the server rewrites its checkpoint (atomically) at the epoch
    with torch.no_grad():
        next(ckpt.model.parameters()).add_(0.5)
    save_checkpoint(checkpoint, ckpt.model, train_config=ckpt.train_config, data=ckpt.data,
                    history=ckpt.history, trainer_state={"epoch": 3, "step": n + 2, "run_id": "run1"},
                    extras=ckpt.extras)
    qtbot.waitUntil(lambda: window.model is not model_before, timeout=5_000)
    assert torch.equal(next(window.model.parameters()), next(ckpt.model.parameters()))
    assert window._follower is not None  # still following the same run


def test_a_metrics_file_of_another_run_is_never_followed(make_window, qtbot, tmp_path):
    checkpoint, metrics, writer = follow_files(tmp_path / "run", run_id="mine", metrics_run_id="theirs")
    for s in range(19_551, 19_600):  # the other run got further: its curves must not be shown
        writer(step_event(s, 51, 90.0))
    writer.close()
    window = make_window(checkpoint)
    assert window._follower is None and "following" not in window.statusBar().currentMessage()
    saved = load_checkpoint(checkpoint).history["steps"]["step"].tolist()
    assert shown_steps(window) == saved  # the checkpoint's own curves

    metrics.write_text(HEADER + "train,1,1,5,5,1,4,\n")  # a file without a run id: not followed either
    assert window.open_checkpoint(checkpoint) and window._follower is None


def test_a_second_run_into_the_same_name_stops_the_following(make_window, qtbot, tmp_path):
    checkpoint, metrics, writer = follow_files(tmp_path / "run")
    writer.close()
    window = make_window(checkpoint)
    shown = shown_steps(window)
    other = MetricsWriter(metrics, "run2")  # a new run replaces the file, longer than the old one
    for s in range(1, 25_000):
        other(step_event(s, 1, 500.0))
    other.close()
    qtbot.waitUntil(lambda: window._follower is None, timeout=5_000)
    assert "Stopped following" in window.statusBar().currentMessage()
    assert shown_steps(window) == shown  # none of the other run's rows
    assert 500.0 not in window.curves.data.train["neg_elbo"].raw.values


def test_kill_and_resume_draws_no_zigzag(make_window, qtbot, tmp_path):
    checkpoint, metrics, writer = follow_files(tmp_path / "run")
    n = int(load_checkpoint(checkpoint).trainer_state["step"])
    for s in range(n + 1, n + 40):  # the run gets past its last checkpoint, then is killed
        writer(step_event(s, 51, 80.0))
    writer.flush()
    window = make_window(checkpoint)
    qtbot.waitUntil(lambda: window.curves.data.last_step == n + 39, timeout=5_000)
    resumed = MetricsWriter(metrics, "run1", resume_step=n)  # `--resume` from the checkpoint at step n
    for s in range(n + 1, n + 11):
        resumed(step_event(s, 51, 70.0))
    resumed.flush()
    qtbot.waitUntil(lambda: window.curves.data.last_step == n + 10, timeout=5_000)
    assert shown_steps(window) == list(map(float, range(1, n + 11)))  # each step once, in order
    assert (window.curves.data.train["neg_elbo"].raw.values[n:] == 70.0).all()


def test_a_checkpoint_of_another_run_is_opened_afresh(make_window, qtbot, tmp_path):
    checkpoint, _, writer = follow_files(tmp_path / "run")
    writer.close()
    window = make_window(checkpoint)
    model_before = window.model
    ckpt = load_checkpoint(checkpoint)  # another run saves under the same name; its metrics are not there yet
    history = {"steps": {k: v[:100] for k, v in ckpt.history["steps"].items()}, "epochs": {}}
    save_checkpoint(checkpoint, ckpt.model, train_config=ckpt.train_config, data=ckpt.data, history=history,
                    trainer_state={"epoch": 1, "step": 100, "run_id": "run2"}, extras=ckpt.extras)
    qtbot.waitUntil(lambda: window.model is not model_before, timeout=5_000)
    assert window._follower is None  # the metrics file is still the first run's
    assert shown_steps(window) == list(map(float, range(1, 101)))  # the new checkpoint's own curves


# -- RunFollower on its own ---------------------------------------------------------------------------------
def test_follower_reads_only_new_rows_and_restarts_on_truncation(qtbot, tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(HEADER + "train,1,1,5,5,1,4,\n")
    follower = RunFollower(path, interval_ms=50)
    got, restarts = [], []
    follower.rowsArrived.connect(got.append)
    follower.restarted.connect(lambda: restarts.append(1))
    follower.start()
    qtbot.waitUntil(lambda: len(got) == 1)
    with open(path, "a") as f:
        f.write("train,2,1,4,4,1,3,\n")
    qtbot.waitUntil(lambda: len(got) == 2)
    assert got[1]["train"]["step"] == [2.0]
    path.write_text(HEADER)  # a new run, shorter file
    qtbot.waitUntil(lambda: restarts == [1])
    follower.stop()


def test_a_40mb_append_is_read_in_bounded_slices_with_the_event_loop_running_between(qtbot, tmp_path):
    path = tmp_path / "run.metrics.csv"
    MetricsWriter(path, "run1").close()
    follower = RunFollower(path, interval_ms=60_000, run_id="run1", slice_bytes=512 * 1024)
    follower.start()
    slices, turns = [], [0]
    heartbeat = QTimer()               # counts turns of the event loop
    heartbeat.timeout.connect(lambda: turns.__setitem__(0, turns[0] + 1))
    heartbeat.start(0)
    real_poll = follower.tail.poll

    def counted_poll(max_bytes):
        before = follower.tail.offset
        rows = real_poll(max_bytes)
        slices.append((follower.tail.offset - before, max_bytes, turns[0]))
        return rows

    follower.tail.poll = counted_poll
    steps = []
    follower.rowsArrived.connect(lambda rows: steps.extend(rows["train"]["step"]))
    # 40 MB at once: real rows between comment lines (which readers skip), so the test parses
    # 40 MB quickly; the slicing does not care what the bytes are.
    pad = "#" + "x" * 1000 + "\n"
    block = "".join(f"{pad}train,{s},1,100.5,100.5,5.25,95.25,\n" for s in range(1, 40_001))
    with open(path, "a") as f:
        f.write(block)
    size = path.stat().st_size
    follower.poll()                    # the timer's tick (its interval is long, so no other tick comes)
    qtbot.waitUntil(lambda: follower.offset == size, timeout=20_000)
    heartbeat.stop()
    follower.stop()
    assert steps == list(map(float, range(1, 40_001)))  # every row, once, in order
    assert all(0 < n <= limit == 512 * 1024 for n, limit, _ in slices)
    assert len(slices) >= size // (512 * 1024)
    assert len(set(turn for *_, turn in slices)) == len(slices)  # the event loop ran between any two slices


def test_the_follower_and_the_tail_agree_on_the_offset(qtbot, tmp_path):
    path = tmp_path / "run.metrics.csv"
    writer = MetricsWriter(path, "run1")
    writer(step_event(1, 1, 5.0))
    writer.close()
    follower = RunFollower(path, interval_ms=50, run_id="run1")
    assert isinstance(follower.tail, MetricsTail)
    follower.start()
    assert follower.offset == path.stat().st_size  # start reads at once
    follower.stop()
    assert not follower.active
