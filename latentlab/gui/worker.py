"""The training thread: loads the data, drives core.trainer.Trainer, and reports to the GUI.

The GUI thread only draws. What crosses threads, and how:

* per-step numbers go into a locked list that the window drains on a timer (~30 times a
  second), so a fast run never queues one Qt event, let alone one redraw, per step;
* rare events (status, end of epoch, model snapshots, download progress) are Qt signals,
  which Qt queues into the GUI thread because this QThread object lives there;
* pause / resume / stop / cancel are thread-safe requests, effective before the next step;
* the explorer never sees the live model: about once a second (and at every epoch) the
  weights are copied into a fresh CPU model on this thread and sent over as a snapshot.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PySide6.QtCore import QThread, Signal

from latentlab.core import pipeline
from latentlab.core.checkpoint import Checkpoint, CheckpointError
from latentlab.core.data import DataError, DownloadCancelled
from latentlab.core.metrics import MetricsWriter, metrics_path_for
from latentlab.core.models import VAE, VAEConfig
from latentlab.core.trainer import EpochEvent, StatusEvent, StepEvent, Trainer, TrainConfig

LIVE_SCATTER_POINTS = 5_000     # encoded every epoch while training (~20 ms for the MNIST MLP)
SNAPSHOT_INTERVAL_S = 1.0       # how often the explorer gets fresh weights mid-epoch
DOWNLOAD_REPORT_INTERVAL_S = 0.1


@dataclass
class LiveRun:
    """A trainer together with the data it trains on and where it autosaves; survives a stop,
    so Train can continue it without loading the data again."""

    trainer: Trainer
    splits: pipeline.Splits
    autosave_path: Path

    @property
    def scatter_dataset(self):
        return self.splits.test if self.splits.test is not None else self.splits.val


@dataclass
class TrainingJob:
    """What to train. Exactly one of `run`, `checkpoint` or `model_config` says where from."""

    spec: pipeline.DataSpec
    train_config: TrainConfig
    autosave_path: Path
    model_config: VAEConfig | None = None   # a new model
    checkpoint: Checkpoint | None = None    # continue a saved run (its model is copied, not trained)
    run: LiveRun | None = None              # continue a run of this session
    data_dir: str | None = None
    overrides: dict = field(default_factory=dict)  # train settings a continued run takes anew


def snapshot_model(model: VAE) -> VAE:
    """A CPU copy of the weights in a fresh model that nothing else will ever modify.

    Built on the meta device and filled with `assign=True`, so no time is spent on a random
    initialisation that is overwritten at once.
    """
    with torch.device("meta"):
        clone = VAE(model.config)
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    clone.load_state_dict(state, assign=True)
    clone.eval().requires_grad_(False)
    return clone


class TrainingWorker(QThread):
    statusChanged = Signal(str, str)          # trainer status ("running", "paused", ...), message
    trainerReady = Signal(object)             # the LiveRun, once the data is loaded
    epochEnded = Signal(object)               # EpochEvent
    snapshotReady = Signal(object, object)    # VAE copy, scatter dict or None
    downloadProgress = Signal(int, int, str)  # bytes done, total (0 if unknown), file name
    autosaved = Signal(str)
    saveFailed = Signal(str)
    failed = Signal(str)                      # the run could not start or crashed; message for the user
    runEnded = Signal(str, str)               # final status ("finished", "stopped", "diverged",
                                              # "cancelled" before a step), message

    def __init__(self, job: TrainingJob, parent=None):
        super().__init__(parent)
        self.job = job
        self.live_run: LiveRun | None = job.run
        self._steps: list[StepEvent] = []
        self._steps_lock = threading.Lock()
        self._cancel = threading.Event()          # stops a download or data loading
        self._control = threading.Lock()           # guards _parked / _pending_save
        self._parked = False                       # the training thread is blocked in pause
        self._pending_save: Path | None = None
        self._save_done = threading.Event()
        self._save_error: str | None = None
        self._last_snapshot = 0.0
        self._last_download_report = 0.0
        self._stop_requested = False
        self._done = False                         # run() has left the training loop for good
        self._metrics: MetricsWriter | None = None

    # -- requests from the GUI thread -------------------------------------------------------
    def pause(self) -> None:
        if self.live_run:
            self.live_run.trainer.request_pause()

    def resume(self) -> None:
        with self._control:
            self._parked = False
            if self.live_run:
                self.live_run.trainer.request_resume()

    def stop(self) -> None:
        """Stop after the current step (or cancel the download); the run is then autosaved."""
        self._stop_requested = True
        self._cancel.set()
        with self._control:
            self._parked = False
            if self.live_run:
                self.live_run.trainer.request_stop()

    def drain_steps(self) -> list[StepEvent]:
        with self._steps_lock:
            steps, self._steps = self._steps, []
        return steps

    def save(self, path, timeout: float = 10.0) -> str | None:
        """Save the run as it is now; returns None on success, else an error message.

        A running trainer is saved by the training thread between two steps (we wait for it,
        usually a few milliseconds); a paused one is blocked, so this thread saves it directly.
        """
        path = Path(path)
        with self._control:
            run = self.live_run
            if run is None:
                return "The training data are still loading; nothing to save yet."
            if self._parked or self._done or not self.isRunning():
                return save_trainer(run.trainer, path)
            self._save_done.clear()
            self._save_error = None
            self._pending_save = path
        if not self._save_done.wait(timeout):
            return f"Saving {path} takes long; it will be written after the current step."
        return self._save_error

    # -- the thread -------------------------------------------------------------------------
    def run(self) -> None:  # noqa: D401 - QThread API
        cfg = self.job.train_config
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)  # per thread: this one only
        try:
            if self.live_run is None:
                run = self._prepare()
                with self._control:
                    if self._stop_requested:  # while the data loaded: nothing to train, nothing to save
                        self.runEnded.emit("cancelled", "stopped before training began; nothing was trained")
                        return
                    self.live_run = run
            else:
                run = self.live_run
                _apply_overrides(run.trainer, self.job.overrides)
            self.trainerReady.emit(run)
            self._train(run)
        except DownloadCancelled:
            self.failed.emit("Download cancelled. Nothing was trained.")
        except (DataError, CheckpointError, ValueError, OSError) as e:
            self.failed.emit(str(e))
        except Exception as e:  # a crash in training must end the thread cleanly, never the app
            self.failed.emit(f"Training stopped by an unexpected error: {type(e).__name__}: {e}")
        finally:
            if self._metrics:
                self._metrics.close()
            with self._control:
                self._parked = False
                self._done = True
                if self._pending_save is not None and self.live_run is not None:  # asked for as the run ended
                    self._service_pending_save()

    def _prepare(self) -> LiveRun:
        job = self.job
        if self._cancel.is_set():
            raise DownloadCancelled()
        splits = pipeline.load_splits(job.spec, job.data_dir, download=True,
                                      progress=self._on_download, cancel=self._cancel)
        if job.checkpoint is not None:
            ckpt = copy.copy(job.checkpoint)
            ckpt.model = copy.deepcopy(job.checkpoint.model)  # the GUI keeps showing the original
            trainer = pipeline.resume_trainer(ckpt, splits, **{**job.overrides, "device": job.train_config.device,
                                                               "num_threads": job.train_config.num_threads})
        else:
            trainer = pipeline.new_trainer(job.spec, splits, job.model_config, job.train_config)
        return LiveRun(trainer, splits, Path(job.autosave_path))

    def _train(self, run: LiveRun) -> None:
        trainer = run.trainer
        run.autosave_path.parent.mkdir(parents=True, exist_ok=True)
        metrics_path = metrics_path_for(run.autosave_path)
        self._metrics = MetricsWriter(metrics_path, append=trainer.step > 0 and metrics_path.exists())
        trainer.add_listener(self._metrics)
        trainer.add_listener(self._on_event)
        # Show the starting point at once: an untrained decoder and its jumbled scatter, so the
        # user sees the manifold organise itself from the first step.
        fresh = trainer.step == 0
        scatter = self._live_scatter(run) if fresh else None
        self._last_snapshot = time.monotonic()
        self.snapshotReady.emit(snapshot_model(trainer.model), scatter)
        try:
            status = trainer.run()
        finally:
            trainer.remove_listener(self._on_event)
            trainer.remove_listener(self._metrics)
        if status in ("finished", "stopped") and trainer.step > 0:
            # The run's final picture: the full scatter, as `latentlab train` stores it.
            trainer.extras.update(pipeline.scatter_extras(trainer.model, run.scatter_dataset, trainer.config.binarize))
        self._autosave(run)
        self.snapshotReady.emit(snapshot_model(trainer.model), _scatter_of(trainer))
        self.runEnded.emit(status, trainer.message)

    # -- listeners, on the training thread --------------------------------------------------
    def _on_event(self, event) -> None:
        if isinstance(event, StepEvent):
            with self._steps_lock:
                self._steps.append(event)
            now = time.monotonic()
            if now - self._last_snapshot >= SNAPSHOT_INTERVAL_S:
                self._last_snapshot = now
                self.snapshotReady.emit(snapshot_model(self.live_run.trainer.model), None)
        elif isinstance(event, EpochEvent):
            self._end_of_epoch(event)
        elif isinstance(event, StatusEvent):
            self.statusChanged.emit(event.status, event.message)
        with self._control:
            if self._pending_save is not None:
                self._service_pending_save()
            if isinstance(event, StatusEvent) and event.status == "paused" and self.live_run.trainer.is_paused:
                # From now until resume/stop the GUI thread may save directly. (A resume that came
                # before this point has already woken the trainer: then it is not parked.)
                self._parked = True

    def _end_of_epoch(self, event: EpochEvent) -> None:
        run = self.live_run
        trainer = run.trainer
        scatter = self._live_scatter(run)
        trainer.extras.update(scatter)
        self._autosave(run)
        self._last_snapshot = time.monotonic()
        self.snapshotReady.emit(snapshot_model(trainer.model), scatter)
        self.epochEnded.emit(event)

    @staticmethod
    def _live_scatter(run: LiveRun) -> dict:
        trainer = run.trainer
        scatter = pipeline.scatter_extras(trainer.model, run.scatter_dataset, trainer.config.binarize,
                                          n=LIVE_SCATTER_POINTS)
        trainer.model.train()  # scatter_extras switched to eval mode
        return scatter

    def _autosave(self, run: LiveRun) -> None:
        error = save_trainer(run.trainer, run.autosave_path)
        if error:
            self.saveFailed.emit(error)
        else:
            self.autosaved.emit(str(run.autosave_path))

    def _service_pending_save(self) -> None:
        """Called with self._control held."""
        self._save_error = save_trainer(self.live_run.trainer, self._pending_save)
        self._pending_save = None
        self._save_done.set()

    def _on_download(self, done: int, total: int | None, filename: str) -> None:
        now = time.monotonic()
        finished = bool(total) and done >= total
        if finished or now - self._last_download_report >= DOWNLOAD_REPORT_INTERVAL_S:
            self._last_download_report = now
            self.downloadProgress.emit(int(done), int(total or 0), filename)


def save_trainer(trainer: Trainer, path: Path) -> str | None:
    """trainer.save, with the user-facing error message returned instead of raised."""
    try:
        trainer.save(path)
        return None
    except CheckpointError as e:
        return str(e)


def _scatter_of(trainer: Trainer) -> dict | None:
    keys = ("scatter_means", "scatter_labels", "label_names")
    return {k: trainer.extras[k] for k in keys} if all(k in trainer.extras for k in keys) else None


def _apply_overrides(trainer: Trainer, overrides: dict) -> None:
    """A continued run may get more epochs or a new learning rate; the rest stays as it was."""
    if "epochs" in overrides:
        trainer.config.epochs = int(overrides["epochs"])
    if "lr" in overrides:
        trainer.config.lr = float(overrides["lr"])
        for group in trainer.optimizer.param_groups:
            group["lr"] = trainer.config.lr
