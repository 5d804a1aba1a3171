"""Metrics files: naming and run ids, resume without duplicate rows, a full disk, following in slices."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from latentlab.core import metrics
from latentlab.core.metrics import (
    COLUMNS,
    MetricsTail,
    MetricsWriter,
    describe_write_error,
    metrics_path_for,
    new_run_id,
    read_metrics_csv,
    read_run_id,
    rows_after,
)
from latentlab.core.trainer import EpochEvent, StepEvent


def step_event(step: int, epoch: int = 1, loss: float = 100.0) -> StepEvent:
    return StepEvent(step=step, epoch=epoch, epoch_fraction=0.5, loss=loss, neg_elbo=loss, kl=5.0, recon=loss - 5,
                     kl_per_dim=(5.0,), kl_weight=1.0, steps_per_sec=10.0)


def epoch_event(epoch: int, step: int) -> EpochEvent:
    return EpochEvent(epoch=epoch, step=step, train_neg_elbo=99.0, val_neg_elbo=98.0, val_kl=4.0, val_recon=94.0,
                      val_kl_per_dim=(4.0,), active_units=1, seconds=1.0)


def write_run(path, run_id: str, steps, resume_step: int = 0, per_epoch: int = 5, loss: float = 100.0,
              close: bool = True) -> MetricsWriter:
    """What a trainer sends: a step event per step, an epoch event every `per_epoch` steps."""
    writer = MetricsWriter(path, run_id, resume_step=resume_step)
    for s in steps:
        epoch = (s - 1) // per_epoch + 1
        writer(step_event(s, epoch, loss))
        if s % per_epoch == 0:
            writer(epoch_event(epoch, s))
    if close:
        writer.close()
    else:
        writer.flush()
    return writer


# -- 1. one metrics file per checkpoint, named by its run ------------------------------------------------------
def test_the_metrics_file_is_named_after_its_checkpoint():
    assert metrics_path_for("runs/mnist2.pt") == Path("runs/mnist2.metrics.csv")
    assert metrics_path_for(Path("/a/b/model.v2.pth")) == Path("/a/b/model.v2.metrics.csv")
    assert metrics_path_for("runs/a.pt") != metrics_path_for("runs/b.pt")  # two runs, one folder


def test_run_ids_are_12_hex_digits_and_fresh_each_time():
    ids = {new_run_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 12 and int(i, 16) >= 0 for i in ids)


def test_the_file_starts_with_its_run_id_then_the_header(tmp_path):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "abc123def456", range(1, 6))
    lines = path.read_text().splitlines()
    assert lines[0] == "# latentlab-metrics run_id=abc123def456"
    assert lines[1] == ",".join(COLUMNS)
    assert read_run_id(path) == "abc123def456"
    rows, offset = read_metrics_csv(path)  # the comment line is skipped
    assert rows["train"]["step"] == [1.0, 2.0, 3.0, 4.0, 5.0] and rows["val"]["step"] == [5.0]
    assert offset == path.stat().st_size


def test_read_run_id_is_none_without_an_id(tmp_path):
    assert read_run_id(tmp_path / "missing.csv") is None
    old = tmp_path / "metrics.csv"
    old.write_text(",".join(COLUMNS) + "\ntrain,1,1,5,5,1,4,\n")  # the format before run ids
    assert read_run_id(old) is None
    for bad in ("# latentlab-metrics run_id=\n", "# latentlab-metrics run_id=a/b\n", "# another program\n"):
        (tmp_path / "other.csv").write_text(bad)
        assert read_run_id(tmp_path / "other.csv") is None
    (tmp_path / "half.csv").write_text("# latentlab-metrics run_id=abc")  # the first line still being written
    assert read_run_id(tmp_path / "half.csv") is None


def test_a_run_id_that_would_break_the_header_is_refused(tmp_path):
    with pytest.raises(ValueError, match="run id"):
        MetricsWriter(tmp_path / "x.metrics.csv", "two\nlines")


# -- 2. kill + resume: no duplicate rows --------------------------------------------------------------------
def test_resume_drops_the_rows_after_the_resume_step_and_appends(tmp_path):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "run1", range(1, 13), close=False)  # killed at step 12; checkpoint saved at step 10
    with open(path, "a") as f:
        f.write("train,13,3,9")  # and a row cut off by the kill
    inode = path.stat().st_ino
    writer = write_run(path, "run1", range(11, 16), resume_step=10)
    assert writer.error is None
    rows, _ = read_metrics_csv(path)
    assert rows["train"]["step"] == list(map(float, range(1, 16)))  # steps never jump back
    assert rows["val"]["step"] == [5.0, 10.0, 15.0]
    assert path.read_text().splitlines()[0] == "# latentlab-metrics run_id=run1"
    assert path.stat().st_ino != inode  # rewritten beside and renamed: a reader sees old or new, never a mix
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_resume_into_another_runs_file_starts_fresh(tmp_path):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "run1", range(1, 11))
    write_run(path, "run2", range(6, 9), resume_step=5)  # a file of another run: none of its rows are ours
    assert read_run_id(path) == "run2"
    assert read_metrics_csv(path)[0]["train"]["step"] == [6.0, 7.0, 8.0]
    write_run(path, "run2", range(1, 3))  # resume_step 0: a new run always starts fresh
    assert read_metrics_csv(path)[0]["train"]["step"] == [1.0, 2.0]


def test_rewind_forgets_rows_after_a_step(tmp_path):
    path = tmp_path / "run.metrics.csv"
    writer = write_run(path, "run1", range(1, 9), close=False)
    writer(step_event(9))              # still in memory
    writer.rewind(6)                   # e.g. a divergence rolled the trainer back to step 6
    writer(step_event(7, loss=50.0))
    writer.close()
    rows, _ = read_metrics_csv(path)
    assert rows["train"]["step"] == list(map(float, range(1, 8)))
    assert rows["train"]["loss"][-1] == 50.0 and rows["val"]["step"] == [5.0]


def test_append_still_works_as_a_deprecated_alias(tmp_path):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "run1", range(1, 4))
    with pytest.warns(DeprecationWarning):
        writer = MetricsWriter(path, append=True)
    assert writer.run_id == "run1"  # the file's run goes on
    writer(step_event(4))
    writer.close()
    assert read_metrics_csv(path)[0]["train"]["step"] == [1.0, 2.0, 3.0, 4.0]
    with pytest.warns(DeprecationWarning):
        fresh = MetricsWriter(path, append=False)
    fresh.close()
    assert fresh.run_id != "run1" and read_metrics_csv(path)[0]["train"]["step"] == []


# -- 3. a failed write never stops training ------------------------------------------------------------------
class FlakyFile:
    """The writer's file, failing like a full disk while `full` (after writing `partial` bytes)."""

    def __init__(self, real, code: int = errno.ENOSPC):
        self.real, self.code = real, code
        self.full, self.partial, self.fsync_fails = True, 0, False

    def write(self, data) -> int:
        if self.full:
            if self.partial:
                n, self.partial = self.real.write(data[: self.partial]), 0
                return n  # a short write; the next call raises, as write(2) does
            raise OSError(self.code, os.strerror(self.code))
        return self.real.write(data)

    def fileno(self) -> int:
        if self.fsync_fails:
            raise OSError(self.code, os.strerror(self.code))
        return self.real.fileno()

    def __getattr__(self, name):
        return getattr(self.real, name)


def flaky_writer(path, monkeypatch, **kwargs) -> tuple[MetricsWriter, FlakyFile]:
    code = kwargs.pop("code", errno.ENOSPC)
    writer = MetricsWriter(path, "run1", **kwargs)
    flaky = FlakyFile(writer._file, code)
    monkeypatch.setattr(writer, "_file", flaky)
    return writer, flaky


def test_a_full_disk_keeps_the_rows_and_the_run_goes_on(tmp_path, monkeypatch):
    path = tmp_path / "run.metrics.csv"
    writer, disk = flaky_writer(path, monkeypatch)
    for s in range(1, 6):
        writer(step_event(s))
    writer(epoch_event(1, 5))          # flushes: fails, but nothing is raised
    writer.flush()
    assert writer.error == f"no space left on device: {path}"
    assert writer.unwritten_rows == 6
    assert read_metrics_csv(path)[0]["train"]["step"] == []
    disk.full = False                  # space again
    writer(step_event(6))
    writer.flush()
    assert writer.error is None and writer.unwritten_rows == 0
    writer.close()
    rows, _ = read_metrics_csv(path)
    assert rows["train"]["step"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] and rows["val"]["step"] == [5.0]


def test_a_write_cut_short_leaves_no_torn_or_repeated_row(tmp_path, monkeypatch):
    path = tmp_path / "run.metrics.csv"
    writer, disk = flaky_writer(path, monkeypatch)
    for s in range(1, 5):
        writer(step_event(s))
    row = len(b"train,1,1,100,100,5,95,\n")
    disk.partial = row + 7             # one whole row and part of the next land, then the disk is full
    writer.flush()
    assert writer.error is not None and writer.unwritten_rows == 3
    assert path.read_bytes().endswith(b"train,1,1,100,100,5,95,\n")  # the torn row is cut off again
    disk.full = False
    writer.close()
    text = path.read_text()
    assert read_metrics_csv(path)[0]["train"]["step"] == [1.0, 2.0, 3.0, 4.0]
    assert len(text.splitlines()) == 2 + 4  # comment, header, four rows: nothing torn, nothing twice


def test_close_on_a_full_disk_does_not_raise(tmp_path, monkeypatch):
    path = tmp_path / "run.metrics.csv"
    writer, disk = flaky_writer(path, monkeypatch, code=getattr(errno, "EDQUOT", errno.ENOSPC))
    writer(step_event(1))
    disk.fsync_fails = True
    writer.close()
    assert writer.error.startswith("no space left on device") and str(path) in writer.error
    assert writer.unwritten_rows == 1
    writer(step_event(2))              # events after close are ignored, not raised
    writer.flush()


def test_unwritten_rows_are_bounded(tmp_path, monkeypatch):
    path = tmp_path / "run.metrics.csv"
    writer, disk = flaky_writer(path, monkeypatch, max_pending=5)
    for s in range(1, 9):
        writer(step_event(s))
    writer.flush()
    assert writer.unwritten_rows == 5 and writer.dropped_rows == 3
    disk.full = False
    writer.close()
    assert read_metrics_csv(path)[0]["train"]["step"] == [4.0, 5.0, 6.0, 7.0, 8.0]  # the latest are kept


def test_a_folder_that_cannot_be_written_is_reported_and_retried(tmp_path):
    path = tmp_path / "not-yet" / "run.metrics.csv"
    writer = MetricsWriter(path, "run1")  # no exception from the constructor either
    assert writer.error.startswith(f"cannot write {path}: ")
    writer(step_event(1))
    path.parent.mkdir()
    writer.flush()
    assert writer.error is None
    writer.close()
    assert read_run_id(path) == "run1" and read_metrics_csv(path)[0]["train"]["step"] == [1.0]


def test_write_error_messages_name_the_file():
    assert describe_write_error(OSError(errno.ENOSPC, "No space left on device"), "/r/a.csv") == \
        "no space left on device: /r/a.csv"
    if hasattr(errno, "EDQUOT"):
        assert describe_write_error(OSError(errno.EDQUOT, "Disk quota exceeded"), "/r/a.csv").startswith(
            "no space left on device")
    assert describe_write_error(OSError(errno.EACCES, "Permission denied"), "/r/a.csv") == \
        "cannot write /r/a.csv: Permission denied"


# -- 4. following a file in bounded slices ---------------------------------------------------------------
def spy_reads(monkeypatch) -> list[int]:
    """The sizes of the reads core.metrics makes."""
    sizes: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            data = self.f.read(n)
            sizes.append(len(data))
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(metrics, "open", lambda *a, **k: Spy(real_open(*a, **k)), raising=False)
    return sizes


def test_a_large_append_is_read_in_bounded_slices(tmp_path, monkeypatch):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "run1", range(1, 3))
    tail = MetricsTail(path, "run1")
    assert tail.poll()["train"]["step"] == [1.0, 2.0] and not tail.more
    with open(path, "a") as f:  # ~2 MB at once (the slicing is the same for 40 MB)
        f.writelines(f"train,{s},1,100.123,100.123,5.4321,95.6789,\n" for s in range(3, 50_003))
    sizes = spy_reads(monkeypatch)
    steps, polls = [], 0
    while True:
        rows = tail.poll(max_bytes=64 * 1024)
        polls += 1
        if rows:
            steps += rows["train"]["step"]
        if not tail.more:
            break
    assert max(sizes) <= 64 * 1024
    assert polls >= (path.stat().st_size - 100) // (64 * 1024)
    assert steps == list(map(float, range(3, 50_003)))  # every row once, in order


def test_a_half_written_line_waits_for_the_next_poll(tmp_path):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "run1", range(1, 3))
    tail = MetricsTail(path, "run1")
    tail.poll()
    with open(path, "a") as f:
        f.write("train,3,1,9")
    assert tail.poll() is None and not tail.more
    with open(path, "a") as f:
        f.write("9,99,5,94,\n")
    assert tail.poll()["train"]["step"] == [3.0]


def test_a_line_longer_than_a_slice_is_skipped(tmp_path):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "run1", range(1, 2))
    tail = MetricsTail(path, "run1")
    tail.poll()
    with open(path, "a") as f:
        f.write("train,2," + "9" * 5000 + "\ntrain,3,1,9,9,5,4,\n")
    got = []
    for _ in range(10):
        rows = tail.poll(max_bytes=1024)
        got += rows["train"]["step"] if rows else []
    assert got == [3.0]


def test_a_longer_file_of_another_run_is_not_merged(tmp_path):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "run1", range(1, 6))
    tail, anyone = MetricsTail(path, "run1"), MetricsTail(path)
    assert tail.poll()["train"]["step"] == anyone.poll()["train"]["step"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    write_run(path, "run2", range(1, 21))  # a second run into the same name, longer than the first
    assert tail.poll() is None and not tail.following
    assert "another run" in tail.stop_reason
    assert tail.poll() is None  # stays stopped
    rows = anyone.poll()        # a tail for any run starts over with the new run's rows alone
    assert anyone.restarted and anyone.run_id == "run2"
    assert rows["train"]["step"] == list(map(float, range(1, 21)))


def test_another_run_written_in_place_is_noticed_too(tmp_path):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "run1", range(1, 6))
    tail = MetricsTail(path)
    tail.poll()
    other = (tmp_path / "other.csv")
    write_run(other, "run2", range(1, 21))
    with open(path, "wb") as f:  # truncated and rewritten: same inode, longer than before
        f.write(other.read_bytes())
    rows = tail.poll()
    assert tail.restarted and rows["train"]["step"] == list(map(float, range(1, 21)))


def test_a_resumed_run_rewriting_its_file_restarts_the_tail(tmp_path):
    path = tmp_path / "run.metrics.csv"
    write_run(path, "run1", range(1, 13), close=False)
    tail = MetricsTail(path, "run1")
    assert tail.poll()["train"]["step"][-1] == 12.0
    write_run(path, "run1", range(11, 31), resume_step=10)  # the same run, resumed: longer than before
    rows = tail.poll()
    assert tail.restarted and tail.following
    assert rows["train"]["step"] == list(map(float, range(1, 31)))


def test_a_file_without_a_run_id_is_not_followed_for_a_checkpoint(tmp_path):
    path = tmp_path / "run.metrics.csv"
    path.write_text(",".join(COLUMNS) + "\ntrain,1,1,5,5,1,4,\n")
    tail = MetricsTail(path, "run1")
    assert tail.poll() is None and not tail.following and "no run id" in tail.stop_reason


def test_a_truncated_file_restarts_the_tail(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(",".join(COLUMNS) + "\ntrain,1,1,5,5,1,4,\ntrain,2,1,5,5,1,4,\n")
    tail = MetricsTail(path)
    assert tail.poll()["train"]["step"] == [1.0, 2.0]
    path.write_text(",".join(COLUMNS) + "\n")
    assert tail.poll() is None and tail.restarted and tail.offset == len(",".join(COLUMNS)) + 1


def test_a_missing_file_is_waited_for(tmp_path):
    tail = MetricsTail(tmp_path / "later.metrics.csv", "run1")
    assert tail.poll() is None and tail.following
    write_run(tmp_path / "later.metrics.csv", "run1", range(1, 3))
    assert tail.poll()["train"]["step"] == [1.0, 2.0]


# -- 5. read_metrics_csv ------------------------------------------------------------------------------------
def test_read_metrics_csv_continues_from_its_offset_and_skips_comments(tmp_path):
    path = tmp_path / "run.metrics.csv"
    path.write_text("# latentlab-metrics run_id=run1\n" + ",".join(COLUMNS) + "\ntrain,1,1,5,5,1,4,\n# a note\n"
                    "val,1,1,4,4,1,3,2\ntrain,2,1,")
    rows, offset = read_metrics_csv(path)
    assert rows["train"]["step"] == [1.0] and rows["val"]["active_units"] == [2.0]
    assert offset == path.stat().st_size - len("train,2,1,")
    with open(path, "a") as f:
        f.write("5,5,1,4,\n")
    rows, _ = read_metrics_csv(path, offset)
    assert rows["train"]["step"] == [2.0] and rows["val"]["step"] == []


def test_rows_after_keeps_only_new_rows():
    rows = {"train": {c: [1.0, 2.0, 3.0] if c == "step" else [0.0, 0.0, 0.0] for c in COLUMNS[1:]},
            "val": {c: [2.0] for c in COLUMNS[1:]}}
    new = rows_after(rows, 2, 2)
    assert new["train"]["step"] == [3.0] and len(new["train"]["kl"]) == 1 and new["val"]["step"] == []
