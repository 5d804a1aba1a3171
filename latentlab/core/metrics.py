"""Metrics files: the curves of a run as plain text, written while training and followed by the app.

A checkpoint's curves go to `<checkpoint stem>.metrics.csv` beside it (runs/mnist2.pt ->
runs/mnist2.metrics.csv), so two runs in one folder never share a file. One row per training step
(split "train") and one per epoch (split "val"). The first line names the run:

    # latentlab-metrics run_id=3f2a9c81d0b4
    split,step,epoch,loss,neg_elbo,kl,recon,active_units

The checkpoint stores the same id (`trainer_state["run_id"]`), so the app follows a metrics file only
while it belongs to the checkpoint it shows. Readers skip lines starting with '#'; with pandas that
is `pandas.read_csv(path, comment="#")`.

The file is written by the process that trains and may be read, while it grows, by the app on
another machine: readers use only whole lines (a last line still being written waits for the next
read), and `MetricsTail` follows the file a bounded slice at a time and notices when it is replaced.
"""

from __future__ import annotations

import csv
import errno
import math
import os
import re
import time
import uuid
import warnings
from collections import deque
from pathlib import Path

from .events import EpochEvent, StepEvent

COLUMNS = ("split", "step", "epoch", "loss", "neg_elbo", "kl", "recon", "active_units")
MAGIC = "# latentlab-metrics"
MAX_PENDING_ROWS = 100_000    # rows a writer keeps in memory while it cannot write (a full disk)
POLL_BYTES = 1 << 20          # MetricsTail.poll reads at most this much per call by default
_HEAD_BYTES = 256             # the first line (the run id) is read from this many bytes
_RUN_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def metrics_path_for(checkpoint_path) -> Path:
    """The metrics file of a checkpoint: runs/mnist2.pt -> runs/mnist2.metrics.csv."""
    path = Path(checkpoint_path)
    return path.with_name(f"{path.stem}.metrics.csv")


def new_run_id() -> str:
    """A fresh id for a run: 12 hex digits of a random UUID."""
    return uuid.uuid4().hex[:12]


def _first_line(head: bytes) -> bytes | None:
    """The first line of a file from its first bytes; None while it is still being written."""
    end = head.find(b"\n")
    if end < 0:
        return head if len(head) >= _HEAD_BYTES else None  # a line this long is not our header
    return head[:end]


def _run_id_of(first_line: bytes) -> str | None:
    text = first_line.decode("utf-8", errors="replace").strip()
    if not text.startswith(MAGIC):
        return None
    for field in text[len(MAGIC):].split():
        key, _, value = field.partition("=")
        if key == "run_id" and _RUN_ID.fullmatch(value):
            return value
    return None


def read_run_id(path) -> str | None:
    """The run id in a metrics file's first line; None if it has none (an older file, another
    program's CSV) or the file cannot be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError:
        return None
    line = _first_line(head)
    return _run_id_of(line) if line is not None else None


def _header(run_id: str) -> bytes:
    return f"{MAGIC} run_id={run_id}\n{','.join(COLUMNS)}\n".encode()


def describe_write_error(error: OSError, path) -> str:
    """A one-line message for a failed write, naming the file."""
    if error.errno == errno.ENOSPC:
        return f"no space left on device: {path}"
    if error.errno == getattr(errno, "EDQUOT", None):
        return f"no space left on device (disk quota exceeded): {path}"
    return f"cannot write {path}: {error.strerror or error}"


def _row_step(line: bytes) -> float | None:
    """The step of a whole data row, None for anything else (header, comment, garbage)."""
    parts = line.split(b",")
    if len(parts) != len(COLUMNS) or parts[0] not in (b"train", b"val") or not line.endswith(b"\n"):
        return None
    try:
        return float(parts[1])
    except ValueError:
        return None


class MetricsWriter:
    """A trainer listener that writes a run's rows to its metrics file.

    `MetricsWriter(path, run_id, resume_step=0)`: with `resume_step` > 0 and an existing file of the
    same run id (a run resumed from its checkpoint, e.g. after a kill), the rows after
    `resume_step` are dropped, since the resumed run writes those steps again, and new rows are
    appended; otherwise a fresh file replaces whatever was there. Both are done atomically
    (temporary file + os.replace), so a reader sees the old file or the new one, never a mix.

    Rows are written at most once every `flush_every` seconds and at each epoch. Writing never
    raises OSError out of `__call__`, `flush` or `close` (a full disk must not kill a training
    run): the rows not written stay in memory, at most the last `max_pending` (100,000 rows by
    default, a few MB; older ones are dropped and counted in `dropped_rows`, leaving a gap in the
    file), `error` says why ("no space left on device: PATH"), and the next flush tries again.
    `error` is None again once a write works.
    """

    def __init__(self, path, run_id: str | None = None, resume_step: int = 0, *, append: bool | None = None,
                 flush_every: float = 1.0, max_pending: int = MAX_PENDING_ROWS):
        self.path = Path(path)
        keep_through: float = resume_step if resume_step > 0 else 0
        if append is not None:
            # Deprecated: the old `MetricsWriter(path, append=True)` kept every row of the file.
            warnings.warn("MetricsWriter(append=...) is deprecated: pass run_id and resume_step",
                          DeprecationWarning, stacklevel=2)
            if run_id is None and append:
                run_id = read_run_id(self.path)
                keep_through = math.inf if run_id else 0
        self.run_id = run_id if run_id is not None else new_run_id()
        if not _RUN_ID.fullmatch(self.run_id):
            raise ValueError(f"run id {self.run_id!r}: use 1 to 64 letters, digits, '-' or '_'")
        self.error: str | None = None
        self.dropped_rows = 0
        self._keep_through = keep_through
        self._pending: deque[tuple[float, bytes]] = deque(maxlen=max(1, max_pending))
        self._file = None          # unbuffered, append-only: each write says how much landed
        self._size = 0             # the file's length after the last whole row written
        self._torn = False         # a failed write left part of a row after _size
        self._closed = False
        self._flush_every = flush_every
        self.flush()               # the header now, so a reader sees the run at once

    @property
    def unwritten_rows(self) -> int:
        """Rows waiting in memory for a write that works."""
        return len(self._pending)

    # -- listener --------------------------------------------------------------------------------
    def __call__(self, event) -> None:
        if self._closed:
            return
        if isinstance(event, StepEvent):
            self._add(event.step, ["train", event.step, event.epoch, f"{event.loss:.6g}", f"{event.neg_elbo:.6g}",
                                   f"{event.kl:.6g}", f"{event.recon:.6g}", ""])
            if time.monotonic() - self._last_flush > self._flush_every:
                self.flush()
        elif isinstance(event, EpochEvent):
            self._add(event.step, ["val", event.step, event.epoch, f"{event.val_neg_elbo:.6g}",
                                   f"{event.val_neg_elbo:.6g}", f"{event.val_kl:.6g}", f"{event.val_recon:.6g}",
                                   event.active_units])
            self.flush()

    def _add(self, step: int, row: list) -> None:
        if len(self._pending) == self._pending.maxlen:
            self.dropped_rows += 1  # the deque drops the oldest row
        self._pending.append((step, (",".join(map(str, row)) + "\n").encode()))

    # -- writing ---------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the rows waiting in memory; on OSError keep them, set `error`, try again next time."""
        self._last_flush = time.monotonic()
        if self._closed:
            return
        try:
            if self._file is None:
                self._open()
            self._write_pending()
        except OSError as e:
            self.error = describe_write_error(e, self.path)
            return
        self.error = None

    def rewind(self, step: int) -> None:
        """Forget the rows after `step`, in memory and in the file (e.g. a divergence rolled the
        trainer back to `step`): the same atomic rewrite as a resume."""
        if self._closed:
            return
        self._pending = deque(((s, line) for s, line in self._pending if s <= step), maxlen=self._pending.maxlen)
        self._close_file()
        self._keep_through = step
        self.flush()

    def close(self) -> None:
        """A last flush, then fsync and close. Rows still unwritten are counted in `unwritten_rows`
        and `error` says why."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        if self._file is not None:
            try:
                os.fsync(self._file.fileno())
            except OSError as e:
                self.error = describe_write_error(e, self.path)
            self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as e:
                self.error = describe_write_error(e, self.path)
            self._file = None

    def _open(self) -> None:
        """Start the file: keep the rows up to `_keep_through` of a file of this run, or start fresh."""
        keep = self._keep_through if read_run_id(self.path) == self.run_id else 0
        self._replace_atomically(keep)
        self._file = open(self.path, "ab", buffering=0)
        self._size = os.fstat(self._file.fileno()).st_size
        self._torn = False

    def _replace_atomically(self, keep_through: float) -> None:
        """Header + the old file's whole rows with step <= keep_through, via a temporary file."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as out:
                out.write(_header(self.run_id))
                if keep_through > 0:
                    with open(self.path, "rb") as old:
                        for line in old:
                            step = _row_step(line)
                            if step is not None and step <= keep_through:
                                out.write(line)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise

    def _write_pending(self) -> None:
        if self._torn:  # cut off the part of a row a failed write left, so rows never run together
            self._file.truncate(self._size)
            self._torn = False
        if not self._pending:
            return
        data = b"".join(line for _, line in self._pending)
        view, written = memoryview(data), 0
        try:
            while written < len(data):
                written += self._file.write(view[written:]) or 0
        finally:
            self._account(written)

    def _account(self, written: int) -> None:
        """Forget the rows that landed whole; remember to cut a torn one."""
        used = 0
        while self._pending and used + len(self._pending[0][1]) <= written:
            used += len(self._pending.popleft()[1])
        self._size += used
        if used < written:
            self._torn = True
            try:
                self._file.truncate(self._size)
                self._torn = False
            except OSError:
                pass  # tried again before the next write


# -- reading --------------------------------------------------------------------------------------
def _empty_rows() -> dict[str, dict[str, list[float]]]:
    return {"train": {c: [] for c in COLUMNS[1:]}, "val": {c: [] for c in COLUMNS[1:]}}


def _parse(data: bytes) -> tuple[dict[str, dict[str, list[float]]], int]:
    """The rows in `data` up to its last newline, and how many bytes that was."""
    out = _empty_rows()
    end = data.rfind(b"\n") + 1  # ignore a last line still being written
    text = data[:end].decode("utf-8", errors="replace")
    lines = (line for line in text.splitlines() if not line.startswith("#"))
    for row in csv.reader(lines):
        if not row or row[0] not in out or len(row) != len(COLUMNS):
            continue  # the header, or garbage
        cols = out[row[0]]
        for name, value in zip(COLUMNS[1:], row[1:]):
            try:
                cols[name].append(float(value) if value != "" else math.nan)
            except ValueError:
                cols[name].append(math.nan)
    return out, end


def has_rows(rows: dict) -> bool:
    return bool(rows["train"]["step"] or rows["val"]["step"])


def read_metrics_csv(path, start: int = 0) -> tuple[dict[str, dict[str, list[float]]], int]:
    """Rows from byte offset `start` on: ({"train": cols, "val": cols}, offset after the last full line).

    Reading from the returned offset next time gives only the new rows, so a growing file can be
    followed cheaply (MetricsTail does that in bounded slices and notices replacement). Comment
    lines ('#') and the header are skipped.
    """
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    rows, used = _parse(data)
    return rows, start + used


def rows_after(rows: dict, train_step: float, val_step: float) -> dict:
    """The train rows after `train_step` and the val rows after `val_step` (the rest are shown already)."""
    out = _empty_rows()
    for split, after in (("train", train_step), ("val", val_step)):
        cols = rows[split]
        keep = [i for i, s in enumerate(cols["step"]) if s > after]
        for name, values in cols.items():
            out[split][name] = [values[i] for i in keep]
    return out


class MetricsTail:
    """Follow a metrics file that another process writes, a bounded slice per `poll`. No Qt.

    `poll(max_bytes)` returns the new whole rows (as read_metrics_csv does), or None if there are
    none, reading at most `max_bytes`; `more` then says whether bytes are left for the next call.
    A replaced file (another inode or device, shorter than what was read, or another run id in its
    first line) is read again from the start and `restarted` is True after that poll: the caller
    forgets the rows it had. With `expected_run_id` (the run of the checkpoint shown), a file that
    belongs to another run (or to none) is not read: `following` turns False and `stop_reason` says why.
    """

    def __init__(self, path, expected_run_id: str | None = None, offset: int = 0):
        self.path = Path(path)
        self.expected_run_id = expected_run_id
        self.offset = offset
        self.run_id: str | None = None     # the id in the file being read
        self.following = True
        self.stop_reason: str | None = None
        self.restarted = False             # the last poll started the file over
        self.more = False                  # the last poll left bytes unread
        self._identity: tuple | None = None
        self._skip_line = False            # inside a line longer than a slice: drop it

    def poll(self, max_bytes: int = POLL_BYTES) -> dict | None:
        self.restarted = self.more = False
        if not self.following:
            return None
        try:
            f = open(self.path, "rb")
        except OSError:
            return None  # not there yet, or for a moment while it is replaced
        with f:
            st = os.fstat(f.fileno())
            first = _first_line(f.read(_HEAD_BYTES))
            if first is None:
                return None  # still being created
            run_id = _run_id_of(first)
            if self.expected_run_id is not None and run_id != self.expected_run_id:
                self.following = False
                self.stop_reason = (f"{self.path.name} now holds another run's metrics" if run_id
                                    else f"{self.path.name} has no run id")
                return None
            identity = (st.st_dev, st.st_ino, run_id)
            if self._identity is not None and (identity != self._identity or st.st_size < self.offset):
                self.offset, self._skip_line, self.restarted = 0, False, True
            self._identity, self.run_id = identity, run_id
            available = st.st_size - self.offset
            if available <= 0:
                return None
            f.seek(self.offset)
            data = f.read(min(available, max(1, max_bytes)))
        self.more = len(data) < available
        start = 0
        if self._skip_line:
            start = data.find(b"\n") + 1
            if start == 0:
                self.offset += len(data)
                return None
            self._skip_line = False
        rows, used = _parse(data[start:])
        consumed = start + used
        if consumed == 0 and len(data) >= max_bytes:  # one line longer than a slice: garbage
            consumed, self._skip_line = len(data), True
        self.offset += consumed
        return rows if has_rows(rows) else None
