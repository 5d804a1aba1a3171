"""The training thread of the window: runs a core TrainingSession and reports to the GUI thread.

The session (core/session.py) does the work: data, trainer, metrics, autosave, final save. This
wrapper only moves what it reports across threads:

* per-step numbers go into a locked list that the window drains on a timer (~30 times a
  second), so a fast run never queues one Qt event, let alone one redraw, per step;
* rare events (status, end of epoch, saves, model snapshots, download progress) are Qt signals,
  queued into the GUI thread because this QObject lives there;
* pause / resume / step / stop / save and the speed limit are the session's thread-safe
  requests; a stop asked for at any moment after Train, also while the data loads, is kept (the
  session makes it sticky);
* the explorer never sees the live model: about once a second (and at every epoch) the weights
  are copied into a fresh CPU model on this thread and sent over as a snapshot. Whenever the run
  pauses (so after every single step) and, in slow motion (a speed limit), with every snapshot,
  the test set is encoded again too, so the canvas's scatter follows the model step by step as it
  does epoch by epoch.

It is a plain Python thread (daemon), not a QThread: closing the window waits at most a couple
of seconds for it, and a thread stuck in a system call (a stalled network read) can never hold
the process open or abort it the way destroying a running QThread does.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import torch
from PySide6.QtCore import QObject, Signal

from latentlab.app.core_share import CoreShare
from latentlab.core.checkpoint import CheckpointError
from latentlab.core.data import DataError, DownloadCancelled
from latentlab.core.model_kinds import build_model
from latentlab.core.models import VAE
from latentlab.core.session import SessionEvent, TrainingSession
from latentlab.core.trainer import EpochEvent, StatusEvent, StepEvent

# The training thread runs at this nice value (Linux, where a thread's niceness is its own; its
# torch worker threads, started later, inherit it). The OS then gives the GUI and the decode
# thread the CPU the moment they wake, instead of after the training thread's time slice; a run
# alone on the machine loses nothing, since nobody else wants the cores. 0: leave it.
TRAINING_NICE = 10
# While someone uses the window the run also rests this long after each step, leaving both the
# CPU and the interpreter lock to the GUI and the hover decode. Measured with
# benchmarks/hover_latency.py while the window trains (2 cores): hover p95 6.2 ms without the rest,
# 4.0 ms with it, for 16 % fewer steps while the user hovers (none when they do not).
INTERACTIVE_REST_S = 0.010
SNAPSHOT_INTERVAL_S = 1.0       # how often the explorer gets fresh weights mid-epoch
DOWNLOAD_REPORT_INTERVAL_S = 0.1
SCATTER_KEYS = ("scatter_means", "scatter_labels", "label_names")

# Threads whose window went away before they ended: kept referenced until they do, so their
# QObject is never deleted under a thread that may still emit.
_orphans: set["TrainingThread"] = set()


def lower_priority(nice: int) -> None:
    """Raise the calling thread's nice value by `nice` (needs no privileges) where the OS keeps a
    niceness per thread (Linux); elsewhere do nothing."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError:   # a sandbox that forbids it: train at the normal priority
        pass


def snapshot_model(model: VAE) -> VAE:
    """A CPU copy of the weights in a fresh model that nothing else will ever modify.

    Built on the meta device and filled with `assign=True`, so no time is spent on a random
    initialisation that is overwritten at once.
    """
    with torch.device("meta"):
        clone = build_model(model.config)
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    clone.load_state_dict(state, assign=True)
    clone.eval().requires_grad_(False)
    return clone


class TrainingThread(QObject):
    statusChanged = Signal(str, str)          # trainer status ("running", "paused", ...), message
    ready = Signal(object)                    # the session, once its trainer exists
    epochEnded = Signal(object)               # EpochEvent
    snapshotReady = Signal(object, object)    # VAE copy, scatter dict or None
    downloadProgress = Signal(int, int, str)  # bytes done, total (0 if unknown), file name
    autosaved = Signal(str)
    saveFailed = Signal(str)                  # autosave or metrics write failed; training goes on
    replayFailed = Signal(str)                # an epoch's replay snapshot was not written; training goes on
    failed = Signal(str)                      # the run could not start or crashed; message for the user
    runEnded = Signal(str, str)               # "finished", "stopped", "diverged", "cancelled"; message
    finished = Signal()                       # the thread is done (always the last signal)

    def __init__(self, session: TrainingSession, num_threads: int = 0, parent=None,
                 share: CoreShare | None = None):
        super().__init__(parent)
        self.session = session
        self.num_threads = num_threads
        # With a share, the run's torch threads follow it between steps (every core while the
        # window is left alone, one fewer while it is used); `num_threads` is then the start.
        self.share = share
        self.rest = time.sleep     # tests replace it
        self._steps: list[StepEvent] = []
        self._steps_lock = threading.Lock()
        self._last_snapshot = 0.0
        self._last_download_report = 0.0
        self._thread = threading.Thread(target=self._run, name="latentlab-training", daemon=True)
        session.progress = self._on_download
        session.add_listener(self._on_event)

    # -- requests from the GUI thread -------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        self.session.request_pause()

    def resume(self) -> None:
        self.session.request_resume()

    def step(self) -> bool:
        """One step of the paused run; False if refused (see TrainingSession.request_step)."""
        return self.session.request_step()

    def stop(self) -> None:
        """Stop after the current step, or cancel the data loading; the run is then saved."""
        self.session.request_stop()

    def save(self, path) -> str | None:
        return self.session.request_save(path)

    def drain_steps(self) -> list[StepEvent]:
        with self._steps_lock:
            steps, self._steps = self._steps, []
        return steps

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True if it ended."""
        if self._thread.ident is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def orphan(self) -> None:
        """The window is going away while the thread may still run: keep this object alive until
        it ends (no signal reaches the window: the caller has disconnected them)."""
        self.setParent(None)
        if self._thread.is_alive():
            _orphans.add(self)

    # -- the thread -------------------------------------------------------------------------
    def _run(self) -> None:
        lower_priority(TRAINING_NICE)
        if self.num_threads > 0:
            torch.set_num_threads(self.num_threads)  # per thread: this one only
        try:
            status = self.session.run()
            if status != "cancelled":
                trainer = self.session.trainer
                self.snapshotReady.emit(snapshot_model(trainer.model), _scatter_of(trainer.extras))
            self.runEnded.emit(status, self.session.message)
        except DownloadCancelled:
            self.runEnded.emit("cancelled", "Download cancelled; nothing was trained.")
        except (DataError, CheckpointError, ValueError, OSError) as e:
            self.failed.emit(str(e))
        except Exception as e:  # a crash in training must end the thread cleanly, never the app
            self.failed.emit(f"Training stopped by an unexpected error: {type(e).__name__}: {e}")
        finally:
            self.finished.emit()
            _orphans.discard(self)

    # -- listeners, on the training thread --------------------------------------------------
    def _on_event(self, event) -> None:
        if isinstance(event, StepEvent):
            if self.share is not None and self.session.trainer.device.type == "cpu":
                wanted = self.share.training_threads()
                if wanted != torch.get_num_threads():   # per thread: this one, between two steps
                    torch.set_num_threads(wanted)
                if self.share.interactive:
                    self.rest(INTERACTIVE_REST_S)
            with self._steps_lock:
                self._steps.append(event)
            now = time.monotonic()
            if now - self._last_snapshot >= SNAPSHOT_INTERVAL_S:
                self._last_snapshot = now
                # Slow motion leaves the thread time to spare: the scatter follows too.
                scatter = self.session.live_scatter() if self.session.speed_limit is not None else None
                self.snapshotReady.emit(snapshot_model(self.session.trainer.model), scatter)
        elif isinstance(event, EpochEvent):
            self._last_snapshot = time.monotonic()
            trainer = self.session.trainer
            self.snapshotReady.emit(snapshot_model(trainer.model), _scatter_of(trainer.extras))
            self.epochEnded.emit(event)
        elif isinstance(event, StatusEvent):
            if event.status == "paused":   # before "paused" reaches the window: it shows this model
                self._last_snapshot = time.monotonic()
                self.snapshotReady.emit(snapshot_model(self.session.trainer.model), self.session.live_scatter())
            self.statusChanged.emit(event.status, event.message)
        elif isinstance(event, SessionEvent):
            self._on_session_event(event)

    def _on_session_event(self, event: SessionEvent) -> None:
        if event.kind == "ready":
            session = self.session
            trainer = session.trainer
            # Show the starting point at once: an untrained decoder and its jumbled scatter, so the
            # user sees the manifold organise itself from the first step.
            scatter = session.live_scatter() if trainer.step == 0 else None
            self._last_snapshot = time.monotonic()
            self.ready.emit(session)
            self.snapshotReady.emit(snapshot_model(trainer.model), scatter)
        elif event.kind == "saved":
            self.autosaved.emit(event.path)
        elif event.kind in ("save_failed", "metrics_failed"):
            self.saveFailed.emit(event.message)
        elif event.kind == "replay_failed":
            self.replayFailed.emit(f"replay snapshot not saved ({event.message}); training goes on")

    def _on_download(self, done: int, total: int | None, filename: str) -> None:
        now = time.monotonic()
        finished = bool(total) and done >= total
        if finished or now - self._last_download_report >= DOWNLOAD_REPORT_INTERVAL_S:
            self._last_download_report = now
            self.downloadProgress.emit(int(done), int(total or 0), filename)


def _scatter_of(extras: dict) -> dict | None:
    return {k: extras[k] for k in SCATTER_KEYS} if all(k in extras for k in SCATTER_KEYS) else None
