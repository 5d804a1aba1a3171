"""The training replay's time slider above the canvas, and File > Export Replay….

A run keeps a snapshot of every epoch beside its checkpoint (core/snapshots.py). Moving the slider
shows the model of that epoch through the explorer's own state (canvas scatter, the image under
the cursor, the figures): the snapshot is read and put into a fresh model on a latest-wins thread
of its own, so dragging never freezes the window and only the last position is shown. The right
end is the current model: the opened checkpoint, or the run training in the window, which it
follows live (snapshots of the live run arriving meanwhile are kept, not shown, until the slider
comes back). The slider's range grows as the run's epochs end.

The explorer routes every model it is given through `take_live` (gui/explorer_view.py); the
window names the run with `show_run(checkpoint path)` when it opens a file or starts training.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QProgressDialog, QSlider, QWidget

from latentlab.core.replay_export import ExportCancelled, export_replay
from latentlab.core.snapshots import list_snapshots, load_snapshot, model_at, replay_dir

from .latest_wins import LatestWinsWorker

NO_REPLAY_TIP = ("This model has no training replay. Runs trained with latentlab (in this window or with "
                 "`latentlab train`) keep a snapshot of every epoch in NAME.replay/ beside the checkpoint; "
                 "--no-replay turns it off.")
REPLAY_TIP = ("Training replay: drag to see the model at an earlier epoch (the canvas, the decoded image and the "
              "figures follow); the right end is the current model")
EXPORT_FILTERS = {"Canvas over training, GIF (*.gif)": "canvas", "Manifold over training, GIF (*.gif)": "manifold",
                  "Canvas over training, MP4 (*.mp4)": "canvas", "Manifold over training, MP4 (*.mp4)": "manifold"}


class _Relay(QObject):
    """Carries the export thread's progress and end into the GUI thread (queued signals)."""

    progress = Signal(int, int)
    done = Signal(str, str)          # path written ("" when not), message


class ReplayBar(QWidget):
    statusMessage = Signal(str)
    shown = Signal(int)              # the epoch now shown (-1: the current model), after the explorer has it
    exportFinished = Signal(str, str)   # path written ("" if none), message

    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("replayBar")
        self.state = state                       # app/explorer_state.ExplorerState
        self.worker = LatestWinsWorker("latentlab-replay", torch_threads=1, parent=self)
        self.checkpoint: Path | None = None
        self.snapshots: list[tuple[int, Path]] = []
        self._live = None                        # the current model, and its last scatter
        self._live_scatter = None
        self._held = False                       # a live model arrived while the past was shown
        self._document = 0                       # counts the models opened: late results of another are dropped
        self._export: threading.Event | None = None
        self.slider = QSlider(Qt.Orientation.Horizontal, self, objectName="replaySlider")
        self.slider.setPageStep(1)
        # Narrow at the least: at 1280x720 the explorer's column is ~550 px, and the row it shares
        # with the view controls must not need a scroll bar.
        self.slider.setMinimumWidth(60)
        self.slider.valueChanged.connect(self._show_index)
        self.label = QLabel(self, objectName="replayLabel")
        # Wide enough for its longest text, so the slider does not jump as the label changes. The
        # label says what the slider is ("epoch 4 of 8", "no replay"; the bar's tooltip explains):
        # a "Replay:" title too would not fit the row at 1280x720.
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance("epoch 000 of 000 · now"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self._render()

    # ===================================================================== from the explorer/window
    def take_live(self, model, scatter, new_document: bool) -> bool:
        """A model given to the explorer. Returns True when it must not be shown now: a newer state
        of the live run while an earlier epoch is shown (it is shown when the slider comes back)."""
        self._live = model
        if scatter is not None or new_document:
            self._live_scatter = scatter
        if new_document:
            self._document += 1
            self._held = False
            self.checkpoint, self.snapshots = None, []
            self.worker.cancel("replay")
            self._render(to_end=True)
            return False
        if scatter is not None:                  # an epoch ended: its snapshot is on disk now
            self.refresh()
        if self.at_end:
            return False
        self._held = True
        return True

    def show_run(self, checkpoint_path) -> None:
        """The replay of the run whose checkpoint is (or will be) `checkpoint_path`."""
        self.checkpoint = Path(checkpoint_path)
        self.snapshots = list_snapshots(replay_dir(self.checkpoint))
        self._render(to_end=True)
        if self._held:                           # a new run began while an earlier epoch was shown
            self._show_index(self.slider.value())

    def refresh(self) -> None:
        """Read the replay folder again (a new epoch); at the right end the slider stays there."""
        if self.checkpoint is None:
            return
        end = self.at_end
        self.snapshots = list_snapshots(replay_dir(self.checkpoint))
        self._render(to_end=end)

    @property
    def at_end(self) -> bool:
        return self.slider.value() >= self.slider.maximum()

    @property
    def has_replay(self) -> bool:
        return bool(self.snapshots) and self._live is not None

    def shutdown(self) -> None:
        if self._export is not None:
            self._export.set()
        self.worker.shutdown()

    # ============================================================================ the slider
    def _render(self, to_end: bool = False) -> None:
        available = self.has_replay
        self.slider.blockSignals(True)
        # Positions 0..n-1 are the snapshots; n, the right end, is the current model.
        self.slider.setRange(0, len(self.snapshots) if available else 0)
        if to_end:
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        self.setEnabled(available)
        self.setToolTip(REPLAY_TIP if available else NO_REPLAY_TIP)
        self._render_label()

    def _render_label(self) -> None:
        if not self.has_replay:
            self.label.setText("no replay")
            return
        last = self.snapshots[-1][0]
        i = self.slider.value()
        self.label.setText(f"epoch {last} of {last} · now" if i >= len(self.snapshots)
                           else f"epoch {self.snapshots[i][0]} of {last}")

    def _show_index(self, i: int) -> None:
        self._render_label()
        if i >= len(self.snapshots):
            self.worker.cancel("replay")
            self.state.set_model(self._live, self._live_scatter, reset_view=False)
            self._held = False
            self.shown.emit(-1)
            return
        epoch, path = self.snapshots[i]
        template, document = self._live, self._document

        def load():
            snapshot = load_snapshot(path, template)
            return model_at(snapshot, template), snapshot.scatter()

        def show(result) -> None:
            if self.slider.value() != i or document != self._document:
                return               # moved on meanwhile, or another model was opened
            model, scatter = result
            self.state.set_model(model, scatter, reset_view=False)
            self.shown.emit(epoch)
        self.worker.submit("replay", load, show, on_error=lambda e: self.statusMessage.emit(str(e)))

    # ============================================================================ export
    def export_dialog(self, start_folder: str) -> None:
        if not self._check_exportable():
            return
        start = str(Path(start_folder) / f"{self.checkpoint.stem}-replay.gif")
        path, chosen = QFileDialog.getSaveFileName(self.window(), "Export training replay", start,
                                                   ";;".join(EXPORT_FILTERS))
        if path:
            suffix = ".mp4" if "MP4" in chosen else ".gif"
            self.export(path if Path(path).suffix else path + suffix, EXPORT_FILTERS.get(chosen, "canvas"))

    def _check_exportable(self) -> bool:
        if self.checkpoint is None or not self.snapshots:
            self.statusMessage.emit("This model has no training replay to export (train it with latentlab; "
                                    "--no-replay keeps none).")
            return False
        if self._export is not None:
            self.statusMessage.emit("A replay is being exported already.")
            return False
        return True

    def export(self, path, what: str = "canvas", fps: float = 4) -> bool:
        """Render and write the animation on another thread, with a progress dialog and Cancel;
        `exportFinished` says how it ended. False when it cannot start."""
        if not self._check_exportable():
            return False
        cancel = self._export = threading.Event()
        relay = _Relay(self)
        dialog = QProgressDialog(f"Exporting the {what} over training…", "Cancel", 0, 1, self.window())
        dialog.setWindowTitle("Export Replay")
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(cancel.set)
        relay.progress.connect(lambda done, total: (dialog.setMaximum(total), dialog.setValue(done)))
        relay.done.connect(lambda written, message: self._export_done(dialog, relay, written, message))
        checkpoint = self.checkpoint

        def work() -> None:
            try:
                out, frames = export_replay(checkpoint, path, what, fps, progress=relay.progress.emit, cancel=cancel)
                relay.done.emit(str(out), f"Exported the replay ({frames} frames) to {out}")
            except ExportCancelled as e:
                relay.done.emit("", str(e).capitalize())
            except Exception as e:   # noqa: BLE001 - every failure is a message, never a traceback
                relay.done.emit("", f"Could not export the replay: {e}")
        threading.Thread(target=work, name="latentlab-replay-export", daemon=True).start()
        return True

    def _export_done(self, dialog: QProgressDialog, relay: _Relay, written: str, message: str) -> None:
        self._export = None
        dialog.reset()
        dialog.deleteLater()
        relay.deleteLater()
        self.statusMessage.emit(message)
        self.exportFinished.emit(written, message)
