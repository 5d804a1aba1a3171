"""Follow a run that another process is writing: its growing metrics file and its checkpoint.

`latentlab train` on a server appends to `<name>.metrics.csv` (flushed about once a second) and
rewrites its checkpoint atomically every epoch. The app, e.g. on a laptop with the run folder
mounted, reads only the new bytes of the metrics file (core.metrics.MetricsTail, which also
notices a replaced file and a file that now belongs to another run) and reloads the checkpoint
when it is replaced.

A QFileSystemWatcher gives quick notice on local disks; a polling timer covers network file
systems, where change notifications often never arrive, and atomic replacement, after which
the watcher has lost track of the path.

Reading happens on the GUI thread, a bounded slice at a time: a tick parses at most SLICE_BYTES
and, if more is waiting (a 40 MB append, or opening a long run), the next slice comes from a 0 ms
single-shot timer, so input and painting get their turn between slices. That was chosen over a
worker thread because the rows go to the curves on the GUI thread anyway, and it keeps the order
of "restarted" and new rows, stopping and closing trivially safe: no thread to join, no lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from latentlab.core.metrics import MetricsTail

POLL_INTERVAL_MS = 1000
SLICE_BYTES = 256 * 1024   # ~5,000 rows, ~15 ms of parsing: one slice never stalls the window


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class RunFollower(QObject):
    rowsArrived = Signal(dict)        # new rows, as read_metrics_csv returns them
    restarted = Signal()              # the metrics file was replaced (e.g. a resumed run rewrote it): from 0
    stoppedFollowing = Signal(str)    # the metrics file now belongs to another run: why
    checkpointChanged = Signal(str)   # the checkpoint file was rewritten

    def __init__(self, metrics_path, checkpoint_path=None, parent=None, interval_ms: int = POLL_INTERVAL_MS,
                 run_id: str | None = None, slice_bytes: int = SLICE_BYTES):
        """`run_id`: follow the file only while its first line names this run (None: any run)."""
        super().__init__(parent)
        self.metrics_path = Path(metrics_path)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.run_id = run_id
        self.slice_bytes = slice_bytes
        self.tail = MetricsTail(self.metrics_path, run_id)
        self._checkpoint_stamp = _stamp(self.checkpoint_path) if self.checkpoint_path else None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_file_changed)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)
        self._next_slice = QTimer(self)       # the rest of a long read, after the event loop breathes
        self._next_slice.setSingleShot(True)
        self._next_slice.setInterval(0)
        self._next_slice.timeout.connect(self._read_metrics)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    @property
    def offset(self) -> int:
        return self.tail.offset

    def start(self, offset: int = 0) -> None:
        """Follow from byte `offset` on (the rows before it are already shown)."""
        self.tail.offset = offset
        self._watch_paths()
        self._timer.start()
        self.poll()

    def stop(self) -> None:
        self._timer.stop()
        self._next_slice.stop()
        paths = self._watcher.files()
        if paths:
            self._watcher.removePaths(paths)

    def _watch_paths(self) -> None:
        wanted = [str(p) for p in (self.metrics_path, self.checkpoint_path) if p is not None and p.exists()]
        missing = [p for p in wanted if p not in self._watcher.files()]
        if missing:
            self._watcher.addPaths(missing)

    def _on_file_changed(self, _path: str) -> None:
        self.poll()

    def poll(self) -> None:
        if not self.active:
            return
        self._watch_paths()  # an atomic rename drops the path from the watcher
        if not self._next_slice.isActive():  # else a long read is under way and goes on by itself
            self._read_metrics()
        if self.checkpoint_path is not None and self.active:
            stamp = _stamp(self.checkpoint_path)
            if stamp is not None and stamp != self._checkpoint_stamp:
                self._checkpoint_stamp = stamp
                self.checkpointChanged.emit(str(self.checkpoint_path))

    def _read_metrics(self) -> None:
        """One bounded slice; schedules the next one if the file holds more."""
        if not self.active:
            return
        rows = self.tail.poll(self.slice_bytes)
        if self.tail.restarted:
            self.restarted.emit()
        if not self.tail.following:
            self.stop()
            self.stoppedFollowing.emit(self.tail.stop_reason or "")
            return
        if rows is not None:
            self.rowsArrived.emit(rows)
        if self.tail.more and self.active and not self._next_slice.isActive():
            self._next_slice.start()
