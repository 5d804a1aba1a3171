"""Training for the window: from the panel's settings to a running worker, and back to the widgets.

The controller turns the training panel's settings into a core TrainingSession (a new model,
this session's run continued, or the opened checkpoint resumed), runs it on a TrainingThread
(gui/training_thread.py), feeds what the run produces to the curves, the explorer and the panel,
and paces the costly redraws while the run trains.
The window owns the documents and the menus; it listens to the controller's signals.

An M1+M2 run starts from a trained VAE (its M1) read from the file the panel names. That file is
read on another thread while the window stays live (~65 ms for the shipped 20-D model on 2 busy
cores, longer from a slow disk); a Train or Step clicked meanwhile is ignored.

Step: one click is one optimisation step of a paused run (on an idle panel, the run starts paused
and takes one step). A click that comes while the previous step is still being taken or shown
(until the run reports "paused" again, with the canvas and curves updated) is ignored, so a burst
of clicks never queues a burst of steps.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from latentlab.app.core_share import shared as shared_cores
from latentlab.app.pacing import UpdatePacer
from latentlab.app.semi_setup import load_m1
from latentlab.core.checkpoint import Checkpoint
from latentlab.core.session import TrainingSession, is_own_autosave

from .off_thread import run_off_gui_thread
from .settings import is_inside, new_run_folder, runs_dir
from .interaction_watch import watch_interactions
from .training_thread import TrainingThread

PULL_INTERVAL_MS = 33        # how often the GUI takes the steps the trainer has produced
PROGRESS_INTERVAL_S = 0.25   # how often the progress texts change (each change is a repaint)
# While training, costly redraws (curves, explorer snapshots) may take this share of the time
# each; see app/pacing.py for why and for the measurements.
UPDATE_SHARE = 0.02
UPDATE_LIMITS = {"curves": (1 / 30, 2.0), "snapshot": (1.0, 10.0)}
RUN_CHECKPOINT_NAME = "model.pt"
# At or under this speed limit (steps/s) the curves are drawn as the steps come: the run waits
# between its steps anyway, so the pacing that protects a fast run's speed would only hide them.
SLOW_MOTION_MAX = 20
# How long a thread waiting for the interpreter lock (the GUI, the hover decode) may wait while
# another (the training thread, between its torch calls) holds it: CPython's default is 5 ms, a
# whole hover budget. Measured with benchmarks/hover_latency.py while the window trains: hover p95
# 5.70 ms at 5 ms, 3.28 ms at 1 ms, for no measurable training speed.
GIL_SWITCH_INTERVAL_S = 0.001


class TrainingController(QObject):
    message = Signal(str)        # the result of a step of the user's, for the status bar
    error = Signal(str)          # an error, for the status bar
    statusText = Signal(str)     # a short live state ("epoch 3 · step 981 · 39 steps/s")
    busyChanged = Signal(bool)   # a worker thread started (True) or ended (False)
    runReady = Signal(object)    # TrainingSession: its autosave is now the window's document
    saveStateChanged = Signal(str)  # the last autosave failed (its error) or worked again ("")
    runEnded = Signal(object)    # TrainingSession whose training ended (saved to its `out` unless
                                 # `save_error` says otherwise)

    def __init__(self, panel, curves, explorer, parent=None, collapse=None):
        super().__init__(parent)
        self.panel, self.curves, self.explorer = panel, curves, explorer
        self.collapse = collapse     # a gui/collapse_view.CollapseView, or None
        self.live_run: TrainingSession | None = None  # this window's run (kept between trainings)
        self.worker: TrainingThread | None = None
        self.autosave_failed = False
        self.pacer = UpdatePacer(UPDATE_SHARE, limits=UPDATE_LIMITS)
        # The run trains on every core while nobody uses the window, on one fewer while someone
        # does (app/core_share.py): the watch reports every mouse move, click and key in the app.
        self.cores = shared_cores()
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))   # for the whole process
        self._interaction_watch = watch_interactions(self, self.cores)
        self._total_steps = 0
        self._last_progress = 0.0
        self._pending_snapshot = None
        self.stepping = False    # a Step was accepted and its result has not been shown yet
        self._starting = False   # start() waits for a file (M1+M2's M1): a second start is refused
        self._shut_down = False
        self._pull_timer = QTimer(self, interval=PULL_INTERVAL_MS)
        self._pull_timer.timeout.connect(self.pull_steps)
        self._snapshot_timer = QTimer(self, singleShot=True)
        self._snapshot_timer.timeout.connect(self._apply_pending_snapshot)
        panel.pauseClicked.connect(self.toggle_pause)   # Train goes through the window: it knows
                                                         # which model is open
        panel.stopClicked.connect(self.stop)
        panel.stepClicked.connect(self.step)
        panel.speedLimitChanged.connect(self.set_speed_limit)

    @property
    def is_training(self) -> bool:
        return self.worker is not None

    # == starting ===================================================================================
    def start(self, checkpoint: Checkpoint | None = None, document: Path | None = None) -> bool:
        """Start a run with the panel's settings: a new model, or (with Continue ticked) the run
        of this window, else `checkpoint` (the opened file, `document`)."""
        if self.is_training or self._starting:
            return False
        panel = self.panel
        self._starting = True
        try:
            session = self._continue_session(checkpoint, document) if panel.continuing else self._new_session()
        except ValueError as e:
            self.error.emit(str(e))
            panel.show_message(str(e), error=True)
            return False
        finally:
            self._starting = False
        if self._shut_down:    # the window closed while the M1 was read
            return False
        panel.show_message("")
        session.set_speed_limit(panel.speed_limit.limit())
        if panel.start_paused:   # Step on an idle panel: the run starts paused and takes one step
            session.request_pause()
            self.stepping = session.request_step()
        worker = TrainingThread(session, num_threads=self.cores.training_threads(), share=self.cores)
        worker.ready.connect(self._on_trainer_ready)
        worker.statusChanged.connect(self._on_status)
        worker.epochEnded.connect(self._on_epoch)
        worker.snapshotReady.connect(self._on_snapshot)
        worker.downloadProgress.connect(panel.show_download)
        worker.autosaved.connect(self._on_autosaved)
        worker.saveFailed.connect(self._on_save_failed)
        worker.replayFailed.connect(self.error)       # the checkpoint is saved: only the status bar says it
        worker.failed.connect(self._on_failed)
        worker.runEnded.connect(self._on_run_ended)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        # The session exists and keeps any stop from now on: only now may Stop be pressed.
        panel.set_state("loading")
        panel.show_status("Loading the data…")
        worker.start()
        self._pull_timer.start()
        self.curves.pacer = self.pacer
        self.busyChanged.emit(True)
        self.message.emit(f"Training started; autosaving every epoch to {session.out}")
        return True

    def _new_session(self) -> TrainingSession:
        panel = self.panel
        spec = panel.data_spec()
        panel.check_model_kind()   # M2 on a data set without labels: said before any file is read
        train_config = panel.train_config(spec).replace(num_threads=self.cores.cores)
        m1 = None
        if panel.model_kind == "m1m2":
            path = panel.semi.m1_file()
            m1 = run_off_gui_thread(lambda: load_m1(path, spec.dataset))
        model_config = panel.model_config(spec, m1)
        kind = "" if panel.model_kind == "vae" else f"-{panel.model_kind}"
        folder = new_run_folder(spec.name + kind, model_config.latent_dim)
        return TrainingSession.new(spec, model_config, train_config, folder / RUN_CHECKPOINT_NAME, m1=m1)

    def _continue_session(self, checkpoint: Checkpoint | None, document: Path | None) -> TrainingSession:
        changes = {**self.panel.continue_changes(), "num_threads": self.cores.cores}
        if self.live_run is not None:
            return TrainingSession.continue_run(self.live_run, changes)
        if checkpoint is None or not checkpoint.data.get("dataset"):
            raise ValueError("The current model does not say which data it was trained on; train a new model.")
        if document is not None and is_inside(document, runs_dir()) and is_own_autosave(document, checkpoint):
            out = document   # continuing an autosaved run: keep writing to its folder
        else:   # never overwrite the user's own file, a copy (not into its run's folder) or a shipped one
            out = new_run_folder(Path(checkpoint.data.get("folder") or checkpoint.data["dataset"]).name,
                                 checkpoint.model.latent_dim) / RUN_CHECKPOINT_NAME
        copy = Checkpoint(**{**checkpoint.__dict__, "model": _copy_model(checkpoint.model)})
        return TrainingSession.resume(copy, out, changes)  # the window keeps showing the original

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

    def step(self) -> bool:
        """One step of the paused run; False (nothing happens) when not paused or while the previous
        step is still being taken or shown. An idle panel's Step starts a run instead (see start)."""
        if self.worker is None or self.panel.state != "paused" or self.stepping:
            return False
        self.stepping = self.worker.step()
        return self.stepping

    def set_speed_limit(self, steps_per_second) -> None:
        if self.worker is not None:
            self.worker.session.set_speed_limit(steps_per_second)

    def save(self, path: Path) -> str | None:
        """Save this window's run (while it trains, too); None on success, else the error."""
        run = self.worker.session if self.worker is not None else self.live_run
        if run is None:
            return "There is no training run to save."
        return run.request_save(path)

    @property
    def has_run(self) -> bool:
        return self.worker is not None or self.live_run is not None

    def shutdown(self, timeout_ms: int) -> bool:
        """Stop the training thread (it saves after its step) and wait at most `timeout_ms`;
        True if it ended. One that has not ended is left to finish on its own (it is a daemon
        thread: it never keeps the process alive, and its last good autosave stays on disk)."""
        self._shut_down = True
        self._pull_timer.stop()
        self._snapshot_timer.stop()
        worker, self.worker = self.worker, None
        if worker is None:
            return True
        # Its queued signals would arrive after the window is gone: cut them first.
        for signal in (worker.ready, worker.statusChanged, worker.epochEnded, worker.snapshotReady,
                       worker.downloadProgress, worker.autosaved, worker.saveFailed, worker.failed,
                       worker.runEnded, worker.finished):
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):
                pass
        worker.stop()
        ended = worker.join(timeout_ms / 1000)
        if not ended:
            worker.orphan()
        return ended

    # == from the worker (queued into the GUI thread) ===============================================
    def _on_trainer_ready(self, run: TrainingSession) -> None:
        if run.is_new_model:
            # A new model: the curves and the scatter shown so far belong to the previous one.
            # (The run may have taken steps already; they are still in the worker's buffer.)
            self.curves.clear()
            if self.collapse is not None:
                self.collapse.clear()
            self.explorer.set_scatter(None)
            self.explorer.set_examples_data(run.spec.to_dict())    # its test images, in the Examples tab
        self.live_run = run
        trainer = run.trainer
        self._total_steps = trainer.config.epochs * trainer.steps_per_epoch()
        self.panel.set_state("paused" if run.pause_requested else "running")
        self.panel.show_progress(trainer.epoch, trainer.config.epochs, trainer.step, self._total_steps, 0.0)
        self.runReady.emit(run)

    def _on_status(self, status: str, message: str) -> None:
        if status == "paused":
            # Also after each single step: its numbers and its canvas (the snapshot came first) show now.
            self.pull_steps(force=True)
            self.curves.schedule_redraw(urgent=True)
            self.panel.set_state("paused")
            self.panel.show_status(f"Paused at step {self.live_run.trainer.step:,}")
            self.statusText.emit("paused")
            self.stepping = False
        elif status in ("running", "resumed") and not (self.worker and self.worker.session.pause_requested):
            self.panel.set_state("running")

    def pull_steps(self, force: bool = False) -> None:
        """Take the steps the trainer produced since the last call into the curves and progress."""
        if self.worker is None:
            return
        events = self.worker.drain_steps()
        if not events:
            return
        self.curves.add_steps(events)
        limit = self.worker.session.speed_limit
        if limit is not None and limit <= SLOW_MOTION_MAX:
            self.curves.schedule_redraw(urgent=True)
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
        # The status line says when the set of collapsed dimensions changes (once, not every epoch).
        collapsed = self.collapse.add_epoch(event) if self.collapse is not None else None
        if collapsed:
            self.message.emit(collapsed)

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
        if self.autosave_failed:
            self.saveStateChanged.emit("")
        self.autosave_failed = False
        self.statusText.emit(f"autosaved {Path(path).parent.name}/{Path(path).name}")

    def _on_save_failed(self, message: str) -> None:
        self.autosave_failed = True
        self.error.emit(message)
        self.saveStateChanged.emit(message)

    def _on_failed(self, message: str) -> None:
        self.error.emit(message)
        self.panel.show_message(message, error=True)

    def _on_run_ended(self, status: str, message: str) -> None:
        self.pull_steps(force=True)
        run = self.live_run
        if status == "cancelled":
            self.panel.show_status("Not training")
            self.message.emit(message[:1].upper() + message[1:])
        elif run is not None:
            where = f"; saved to {run.out}" if run.save_error is None else f"; NOT saved: {run.save_error}"
            self.panel.show_status(f"{message[:1].upper()}{message[1:]}")
            self.message.emit(f"Training {status}: {message}{where}")
            trainer = run.trainer
            self.panel.set_run(trainer.model.config, trainer.config.to_dict(), trainer.data_info, trainer.epoch,
                               continue_now=True, diverged=trainer.diverged)
            self.runEnded.emit(run)
        if status == "diverged":
            self.panel.show_message(message, error=True)

    def _on_worker_finished(self) -> None:
        worker, self.worker = self.worker, None
        self._pull_timer.stop()
        self.curves.pacer = None
        self._apply_pending_snapshot()
        self.curves.schedule_redraw(urgent=True)
        self.stepping = False
        if worker is not None:
            worker.deleteLater()
        self.panel.set_state("idle")
        if self.live_run is None:
            self.panel.show_status("Not training")
        self.busyChanged.emit(False)


def _copy_model(model):
    import copy

    return copy.deepcopy(model)
