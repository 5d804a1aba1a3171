"""Follow a run that another process is writing: its growing metrics.csv and its checkpoint.

`latentlab train` on a server appends to metrics.csv (flushed about once a second) and rewrites
its checkpoint atomically every epoch. The app, e.g. on a laptop with the run folder mounted,
reads only the new bytes of the CSV each time (core.metrics.read_metrics_csv returns the
offset to continue from) and reloads the checkpoint when it is replaced.

A QFileSystemWatcher gives quick notice on local disks; a polling timer covers network file
systems, where change notifications often never arrive, and atomic replacement, after which
the watcher has lost track of the path.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from latentlab.core.metrics import read_metrics_csv

POLL_INTERVAL_MS = 1000


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class RunFollower(QObject):
    rowsArrived = Signal(dict)        # new rows, as read_metrics_csv returns them
    restarted = Signal()              # metrics.csv was replaced by a shorter file: a new run
    checkpointChanged = Signal(str)   # the checkpoint file was rewritten

    def __init__(self, metrics_path, checkpoint_path=None, parent=None, interval_ms: int = POLL_INTERVAL_MS):
        super().__init__(parent)
        self.metrics_path = Path(metrics_path)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.offset = 0
        self._checkpoint_stamp = _stamp(self.checkpoint_path) if self.checkpoint_path else None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_file_changed)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def start(self, offset: int = 0) -> None:
        """Follow from byte `offset` on (the rows before it are already shown)."""
        self.offset = offset
        self._watch_paths()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
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
        self._watch_paths()  # an atomic rename drops the path from the watcher
        self._read_metrics()
        if self.checkpoint_path is not None:
            stamp = _stamp(self.checkpoint_path)
            if stamp is not None and stamp != self._checkpoint_stamp:
                self._checkpoint_stamp = stamp
                self.checkpointChanged.emit(str(self.checkpoint_path))

    def _read_metrics(self) -> None:
        stamp = _stamp(self.metrics_path)
        if stamp is None:
            return
        if stamp[1] < self.offset:  # truncated or replaced: a new run writes into this folder
            self.offset = 0
            self.restarted.emit()
        if stamp[1] == self.offset:
            return
        try:
            rows, self.offset = read_metrics_csv(self.metrics_path, self.offset)
        except OSError:
            return  # vanished between stat and open; the next poll will tell
        if rows["train"]["step"] or rows["val"]["step"]:
            self.rowsArrived.emit(rows)
