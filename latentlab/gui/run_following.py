"""Following a run that another process writes (`latentlab train` on a server, say): the window's
curves grow with its metrics file and the explorer reloads its checkpoint after every epoch.

Only the opened checkpoint's own run is followed: the metrics file must carry the checkpoint's
run id (core/metrics.py). The reading itself is gui/watch.py's RunFollower (bounded slices);
this object decides what the rows and reloads mean for the window's curves and explorer.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from latentlab.core.checkpoint import CheckpointError, load_checkpoint
from latentlab.core.metrics import has_rows, metrics_path_for, read_run_id, rows_after
from latentlab.core.trainer import History

from .off_thread import run_off_gui_thread
from .watch import RunFollower


class RunFollowing(QObject):
    message = Signal(str)                 # for the status bar
    label = Signal(str)                   # the short live state ("following a run · epoch 3 reloaded")
    checkpointReloaded = Signal(object)   # the followed checkpoint, read again after its run saved it
    takenOver = Signal(str)               # another run now writes the followed checkpoint's path

    def __init__(self, curves, explorer, parent=None, collapse=None):
        super().__init__(parent)
        self.curves, self.explorer = curves, explorer
        self.collapse = collapse     # a gui/collapse_view.CollapseView, or None: fed the checkpoint's history
        self.follower: RunFollower | None = None
        self._checkpoint = None
        self._reloading = False

    def follow_if_same_run(self, path: Path, ckpt) -> bool:
        """Follow the checkpoint's metrics file if it belongs to the same run (its run id is the
        checkpoint's `trainer_state["run_id"]`), e.g. `latentlab train` still writing on a server.
        The checkpoint's own curves stay; the file's rows after them are added as they arrive.
        A file without a run id or with another run's id is never followed."""
        run_id = ckpt.trainer_state.get("run_id")
        metrics = metrics_path_for(path)
        if not run_id or read_run_id(metrics) != run_id:
            return False
        self.follow(metrics, path, run_id=run_id, checkpoint=ckpt)
        return True

    def follow(self, metrics_path, checkpoint_path=None, offset: int = 0, run_id: str | None = None,
               checkpoint=None) -> None:
        self.stop()
        self._checkpoint = checkpoint
        follower = RunFollower(metrics_path, checkpoint_path, self, run_id=run_id)
        follower.rowsArrived.connect(self._add_rows)
        follower.restarted.connect(self._restart_curves)
        follower.stoppedFollowing.connect(self._lost_run)
        follower.checkpointChanged.connect(self._reload_checkpoint)
        self.follower = follower
        follower.start(offset)

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
            self.follower.deleteLater()
            self.follower = None

    def _add_rows(self, rows: dict) -> None:
        """Only rows after those shown: the checkpoint's curves cover the start of the file."""
        data = self.curves.data
        shown_val = data.epoch_steps.values[-1] if len(data.epoch_steps) else 0
        new = rows_after(rows, data.last_step, shown_val)
        if has_rows(new):
            self.curves.add_metrics_rows(new)

    def _restart_curves(self) -> None:
        """The metrics file was rewritten (a resumed run drops the rows after its checkpoint): start
        again from the checkpoint's curves; the file's rows after them follow."""
        if self._checkpoint is not None and self.follower is not None and self.follower.checkpoint_path:
            history, dims = History.from_dict(self._checkpoint.history), self._checkpoint.model.latent_dim
            self.curves.load_history(history, dims)
            if self.collapse is not None:
                self.collapse.load_history(history, dims)
        else:
            self.curves.clear()

    def _lost_run(self, reason: str) -> None:
        self.stop()
        self.label.emit("")
        self.message.emit(f"Stopped following: {reason}")

    def _reload_checkpoint(self, path: str) -> None:
        if self._reloading:
            return  # the previous change is still being read; the follower reports the next one
        self._reloading = True
        try:
            ckpt = run_off_gui_thread(lambda: load_checkpoint(path))
        except CheckpointError:
            return  # being replaced right now; the next change brings it
        finally:
            self._reloading = False
        if self.follower is None:
            return  # following stopped (another model opened) while the file was read
        if self.follower.run_id and ckpt.trainer_state.get("run_id") != self.follower.run_id:
            self.takenOver.emit(path)
            return
        self._checkpoint = ckpt
        self.checkpointReloaded.emit(ckpt)
        self.explorer.set_model(ckpt.model, ckpt.extras or None, reset_view=False)
        self._reload_collapse(ckpt)
        self.label.emit(f"following a run · epoch {ckpt.trainer_state.get('epoch', 0)} reloaded")

    def _reload_collapse(self, ckpt) -> None:
        """The KL per dimension is in the checkpoint's history only (not in the metrics file): the
        collapse view follows the reloaded checkpoint, and says when the collapsed set changed."""
        if self.collapse is None:
            return
        try:
            history = History.from_dict(ckpt.history)
        except (ValueError, TypeError, KeyError):
            return    # a damaged history: the view keeps what it showed
        collapsed = self.collapse.reload_history(history, ckpt.model.latent_dim)
        if collapsed:
            self.message.emit(collapsed)
