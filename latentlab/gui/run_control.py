"""Training for the window: from the panel's settings to a running worker, and back to the widgets.

The controller turns the training panel's settings into a TrainingJob (a new model, or one to
continue), drives the worker thread (gui/worker.py), feeds what the run produces to the curves,
the explorer and the panel, and paces the costly redraws while the run trains (gui/budget.py).
The window owns the documents and the menus; it listens to the controller's signals.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from latentlab.app.pacing import UpdatePacer
from latentlab.core.checkpoint import Checkpoint
from latentlab.core.pipeline import DataSpec
from latentlab.core.trainer import TrainConfig, default_gui_threads

from .settings import is_inside, new_run_folder, runs_dir
from .worker import LiveRun, TrainingJob, TrainingWorker, save_trainer

PULL_INTERVAL_MS = 33        # how often the GUI takes the steps the trainer has produced
PROGRESS_INTERVAL_S = 0.25   # how often the progress texts change (each change is a repaint)
# While training, costly redraws (curves, explorer snapshots) may take this share of the time
# each; see gui/budget.py for why and for the measurements.
UPDATE_SHARE = 0.02
UPDATE_LIMITS = {"curves": (1 / 30, 2.0), "snapshot": (1.0, 10.0)}
RUN_CHECKPOINT_NAME = "model.pt"


class TrainingController(QObject):
    message = Signal(str)        # the result of a step of the user's, for the status bar
    error = Signal(str)          # an error, for the status bar
    statusText = Signal(str)     # a short live state ("epoch 3 · step 981 · 39 steps/s")
    busyChanged = Signal(bool)   # a worker thread started (True) or ended (False)
    runReady = Signal(object)    # LiveRun: its autosave is now the window's document
    runEnded = Signal(object)    # LiveRun whose training ended (saved in its autosave)

    def __init__(self, panel, curves, explorer, parent=None):
        super().__init__(parent)
        self.panel, self.curves, self.explorer = panel, curves, explorer
        self.live_run: LiveRun | None = None      # the run of this session (idle between trainings)
        self.worker: TrainingWorker | None = None
        self.autosave_failed = False
        self.pacer = UpdatePacer(UPDATE_SHARE, limits=UPDATE_LIMITS)
        self._total_steps = 0
        self._last_progress = 0.0
        self._pending_snapshot = None
        self._pull_timer = QTimer(self, interval=PULL_INTERVAL_MS)
        self._pull_timer.timeout.connect(self.pull_steps)
        self._snapshot_timer = QTimer(self, singleShot=True)
        self._snapshot_timer.timeout.connect(self._apply_pending_snapshot)
        panel.pauseClicked.connect(self.toggle_pause)   # Train goes through the window: it knows
                                                         # which model is open
        panel.stopClicked.connect(self.stop)

    @property
    def is_training(self) -> bool:
        return self.worker is not None

    # == starting ===================================================================================
    def start(self, checkpoint: Checkpoint | None = None, document: Path | None = None) -> bool:
        """Start a run with the panel's settings: a new model, or (with Continue ticked) the run
        of this session, else `checkpoint` (the opened file, `document`)."""
        if self.is_training:
            return False
        panel = self.panel
        try:
            job = self._continue_job(checkpoint, document) if panel.continuing else self._new_job()
        except ValueError as e:
            self.error.emit(str(e))
            panel.show_message(str(e), error=True)
            return False
        panel.show_message("")
        worker = TrainingWorker(job, self)
        worker.trainerReady.connect(self._on_trainer_ready)
        worker.statusChanged.connect(self._on_status)
        worker.epochEnded.connect(self._on_epoch)
        worker.snapshotReady.connect(self._on_snapshot)
        worker.downloadProgress.connect(panel.show_download)
        worker.autosaved.connect(self._on_autosaved)
        worker.saveFailed.connect(self._on_save_failed)
        worker.failed.connect(self._on_failed)
        worker.runEnded.connect(self._on_run_ended)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        panel.set_state("loading")
        panel.show_status("Loading the data…")
        worker.start()
        self._pull_timer.start()
        self.curves.pacer = self.pacer
        self.busyChanged.emit(True)
        self.message.emit(f"Training started; autosaving every epoch to {job.autosave_path}")
        return True

    def _new_job(self) -> TrainingJob:
        panel = self.panel
        spec = panel.data_spec()
        model_config = panel.model_config(spec)
        folder = new_run_folder(spec.dataset if spec.dataset != "folder" else Path(spec.folder).name,
                                model_config.latent_dim)
        return TrainingJob(spec=spec, train_config=panel.train_config(spec),
                           autosave_path=folder / RUN_CHECKPOINT_NAME, model_config=model_config)

    def _continue_job(self, checkpoint: Checkpoint | None, document: Path | None) -> TrainingJob:
        overrides = self.panel.continue_overrides()
        if self.live_run is not None:
            run = self.live_run
            return TrainingJob(spec=DataSpec.from_dict(run.trainer.data_info), train_config=run.trainer.config,
                               autosave_path=run.autosave_path, run=run, overrides=overrides)
        if checkpoint is None or not checkpoint.data.get("dataset"):
            raise ValueError("The current model does not say which data it was trained on; train a new model.")
        spec = DataSpec.from_dict(checkpoint.data)
        device = self.panel.device.currentData()
        train_config = TrainConfig.from_dict({**checkpoint.train_config, **overrides, "device": device,
                                              "num_threads": default_gui_threads()})
        if document is not None and is_inside(document, runs_dir()):
            autosave = document   # continuing an autosaved run: keep writing to its folder
        else:   # never overwrite the user's own file (or a shipped one) behind their back
            autosave = new_run_folder(spec.dataset if spec.dataset != "folder" else "folder",
                                      checkpoint.model.latent_dim) / RUN_CHECKPOINT_NAME
        return TrainingJob(spec=spec, train_config=train_config, autosave_path=autosave, checkpoint=checkpoint,
                           overrides={**overrides, "device": device})

    def forget_run(self) -> None:
        """Another model was opened: Continue now means that one."""
        if not self.is_training:
            self.live_run = None
            self.autosave_failed = False

    # == steering ===================================================================================
    def toggle_pause(self) -> None:
        if self.panel.state == "paused":
            self.resume()
        else:
            self.pause()

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.pause()

    def resume(self) -> None:
        if self.worker is not None:
            self.worker.resume()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.panel.show_status("Stopping…")

    def save(self, path: Path) -> str | None:
        """Save this session's run (while it trains, too); None on success, else the error."""
        if self.worker is not None:
            return self.worker.save(path)
        if self.live_run is not None:
            return save_trainer(self.live_run.trainer, path)
        return "There is no training run to save."

    @property
    def has_run(self) -> bool:
        return self.worker is not None or self.live_run is not None

    def shutdown(self, timeout_ms: int) -> bool:
        """Stop the worker (it autosaves after its step) and wait; True if it ended."""
        self._pull_timer.stop()
        self._snapshot_timer.stop()
        worker, self.worker = self.worker, None
        if worker is None:
            return True
        # Its queued signals would arrive after the window is gone: cut them first.
        for signal in (worker.trainerReady, worker.statusChanged, worker.epochEnded, worker.snapshotReady,
                       worker.downloadProgress, worker.autosaved, worker.saveFailed, worker.failed,
                       worker.runEnded, worker.finished):
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):
                pass
        worker.stop()
        if worker.wait(timeout_ms):
            return True
        # Still inside a long step or a network read: wait for it rather than destroy a running
        # QThread (that aborts the process). The autosave follows the step.
        self.error.emit("Waiting for the training thread to finish its step…")
        return worker.wait()

    # == from the worker (queued into the GUI thread) ===============================================
    def _on_trainer_ready(self, run: LiveRun) -> None:
        job = self.worker.job if self.worker is not None else None
        if job is not None and job.run is None and job.checkpoint is None:
            # A new model: the curves and the scatter shown so far belong to the previous one.
            # (The run may have taken steps already; they are still in the worker's buffer.)
            self.curves.clear()
            self.explorer.set_scatter(None)
        self.live_run = run
        trainer = run.trainer
        self._total_steps = trainer.config.epochs * trainer.steps_per_epoch()
        self.panel.set_state("running")
        self.panel.show_progress(trainer.epoch, trainer.config.epochs, trainer.step, self._total_steps, 0.0)
        self.runReady.emit(run)

    def _on_status(self, status: str, message: str) -> None:
        if status == "paused":
            self.panel.set_state("paused")
            self.panel.show_status(f"Paused at step {self.live_run.trainer.step:,}")
            self.statusText.emit("paused")
        elif status in ("running", "resumed"):
            self.panel.set_state("running")

    def pull_steps(self, force: bool = False) -> None:
        """Take the steps the trainer produced since the last call into the curves and progress."""
        if self.worker is None:
            return
        events = self.worker.drain_steps()
        if not events:
            return
        self.curves.add_steps(events)
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        last = events[-1]
        epochs = self.live_run.trainer.config.epochs if self.live_run else last.epoch
        self.panel.show_progress(last.epoch, epochs, last.step, self._total_steps, last.steps_per_sec)
        self.statusText.emit(f"epoch {last.epoch} · step {last.step:,} · {last.steps_per_sec:,.0f} steps/s")

    def _on_epoch(self, event) -> None:
        self.pull_steps(force=True)  # the epoch's last steps come before its validation point
        self.curves.add_epoch(event)

    def _on_snapshot(self, model, scatter) -> None:
        """New weights for the explorer. Those of an epoch's end (with a new scatter) are shown
        at once; the ones in between only as often as their cost allows (latest wins)."""
        self._pending_snapshot = (model, scatter)
        wait = 0.0 if scatter is not None or not self.is_training else self.pacer.wait_time("snapshot")
        if wait <= 0:
            self._apply_pending_snapshot()
        elif not self._snapshot_timer.isActive():
            self._snapshot_timer.start(round(1000 * wait))

    def _apply_pending_snapshot(self) -> None:
        if self._pending_snapshot is None:
            return
        (model, scatter), self._pending_snapshot = self._pending_snapshot, None
        self._snapshot_timer.stop()
        started = self.pacer.begin("snapshot")
        self.explorer.set_model(model, scatter, reset_view=False)
        self.pacer.end("snapshot", started)

    def _on_autosaved(self, path: str) -> None:
        self.autosave_failed = False
        self.statusText.emit(f"autosaved {Path(path).parent.name}/{Path(path).name}")

    def _on_save_failed(self, message: str) -> None:
        self.autosave_failed = True
        self.error.emit(message)

    def _on_failed(self, message: str) -> None:
        self.error.emit(message)
        self.panel.show_message(message, error=True)

    def _on_run_ended(self, status: str, message: str) -> None:
        self.pull_steps(force=True)
        run = self.live_run
        if status == "cancelled":
            self.panel.show_status("Not training")
            self.message.emit(f"Training {status}: {message}")
        elif run is not None:
            where = f"; saved to {run.autosave_path}" if not self.autosave_failed else ""
            self.panel.show_status(f"{message[:1].upper()}{message[1:]}")
            self.message.emit(f"Training {status}: {message}{where}")
            trainer = run.trainer
            self.panel.set_run(trainer.model.config, trainer.config.to_dict(), trainer.data_info, trainer.epoch,
                               continue_now=True)
            self.runEnded.emit(run)
        if status == "diverged":
            self.panel.show_message(message, error=True)

    def _on_worker_finished(self) -> None:
        worker, self.worker = self.worker, None
        self._pull_timer.stop()
        self.curves.pacer = None
        self._apply_pending_snapshot()
        self.curves.schedule_redraw(urgent=True)
        if worker is not None:
            worker.deleteLater()
        self.panel.set_state("idle")
        if self.live_run is None:
            self.panel.show_status("Not training")
        self.busyChanged.emit(False)
