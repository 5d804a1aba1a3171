"""A training run from the data on disk to the saved checkpoint: what `latentlab train` and the
app's training thread both run, so a run started from either is the same run.

    session = TrainingSession.new(spec, model_config, train_config, out="runs/mnist2.pt")
    session = TrainingSession.resume(load_checkpoint(path), out=path, changes={"epochs": 50})
    session = TrainingSession.continue_run(previous_session, changes={"lr": 3e-4})
    session.add_listener(print)       # trainer events + SessionEvent (loading, ready, saved, save failed)
    status = session.run()            # on any thread; "finished", "stopped", "diverged" or "cancelled"

A session loads the data (downloads can be cancelled), builds the trainer, writes the run's
metrics file as it goes, autosaves atomically after every epoch (with the encoded scatter, so the
app can show a run it follows), keeps a replay snapshot of every epoch beside the checkpoint
(core/snapshots.py; `replay=False` keeps none) and saves the final checkpoint with the full scatter. A save that
fails (a full disk) is reported and retried at the next epoch; training goes on and the last good
file stays. Stop, pause, resume, a single step of a paused run and a speed limit may be asked for
from any thread at any moment, also before the data has loaded: a stop is never lost, and a run
asked to pause and step before it starts takes exactly that one step.

The resume rule lives here and only here (`resumed_config`): a resumed run keeps every setting
stored in its checkpoint except those the user explicitly changed; what a run cannot change (its
data, model, objective's data handling) is refused with a message that names the setting.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

import torch

from . import pipeline
from .checkpoint import Checkpoint, CheckpointError
from .metrics import MetricsWriter, metrics_path_for, new_run_id, read_run_id
from .m2 import M1M2, M2Config, SemiSupervised, build_semi_supervised
from .models import VAE, VAEConfig
from .semi_trainer import SemiSupervisedTrainer
from .snapshots import ReplayWriter, replay_dir
from .step_gate import check_speed_limit
from .trainer import EpochEvent, StatusEvent, Trainer, TrainConfig, resolve_device

LIVE_SCATTER_POINTS = 5_000   # encoded at every epoch's end (~20 ms for the MNIST MLP on 2 cores)

# Settings a resumed run may change. The rest of TrainConfig changes what is being optimised or
# how the data is seen; changing them mid-run is refused rather than silently half-applied.
RESUME_MAY_CHANGE = ("epochs", "lr", "batch_size", "weight_decay", "grad_clip", "device", "num_threads")


@dataclass(frozen=True)
class SessionEvent:
    """What the session itself reports, beside the trainer's Step/Epoch/Status events.

    kind: "loading" (reading or downloading the data), "ready" (the trainer exists; its first
    step follows), "saved" (path), "save_failed" (path, message: training goes on; the next
    epoch retries), "metrics_failed" (message: rows are kept in memory and retried),
    "replay_failed" (path, message: an epoch's replay snapshot could not be written; training goes on).
    """

    kind: str
    path: str = ""
    message: str = ""


Listener = Callable[[object], None]


def check_out_path(out: str | os.PathLike) -> Path:
    """The checkpoint path a run writes; refused at once if it cannot be a file."""
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; give the checkpoint's file name, e.g. {out / 'model.pt'}")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"cannot write {out}: {parent} is a file, not a folder")
            break
    return out


def resumed_config(stored: dict, changes: dict) -> TrainConfig:
    """The training settings of a resumed run: the checkpoint's, with the user's explicit changes.

    `changes` holds only what the user set (flags given, panel fields edited). A change to a
    setting that a resume cannot change raises ValueError naming it, unless it equals the stored
    value.
    """
    base = TrainConfig.from_dict(dict(stored)) if stored else TrainConfig()
    fixed = {k: v for k, v in changes.items()
             if k not in RESUME_MAY_CHANGE and v != getattr(base, k, object())}
    if fixed:
        names = ", ".join(f"{k} (the run has {getattr(base, k)!r}, asked for {v!r})" for k, v in sorted(fixed.items()))
        raise ValueError(f"a resumed run keeps its objective and data handling; cannot change {names}. "
                         "Train a new model to change them.")
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(changes) - known
    if unknown:
        raise ValueError(f"unknown training settings: {sorted(unknown)}")
    return base.replace(**changes)


def is_own_autosave(path, ckpt: Checkpoint) -> bool:
    """Whether `path` is the file its run writes, so that continuing it may keep writing there:
    the run's metrics file beside it carries the checkpoint's run id. A copy (File > Save As, to
    any folder, the run's own included) has no metrics file of its own, so a continued copy gets
    a new file in a new folder and never writes into the original run's folder."""
    run_id = ckpt.trainer_state.get("run_id")
    return bool(run_id) and read_run_id(metrics_path_for(path)) == run_id


def new_model(config: VAEConfig | M2Config, seed: int, m1: VAE | None = None) -> VAE | SemiSupervised:
    """A freshly initialised model whose weights depend only on `seed` (the caller's RNG untouched).
    For M1+M2, `m1` is the trained M1 whose weights it takes (its config must be config.m1)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(config, VAEConfig):
            return VAE(config)
        model = build_semi_supervised(config)
    if isinstance(model, M1M2):
        if m1 is None:
            raise ValueError("an M1+M2 model needs its trained M1 (latentlab train --model m1m2 --m1 CKPT)")
        model.m1.load_state_dict(m1.state_dict())
    return model


def build_trainer(model, splits: pipeline.Splits, config: TrainConfig, **kwargs) -> Trainer:
    """The trainer for `model`: the VAE's, or the semi-supervised one with the splits' labels."""
    if isinstance(model, SemiSupervised):
        return SemiSupervisedTrainer(model, splits.train.images, splits.train.labels, splits.val.images,
                                     splits.val.labels, config, **kwargs)
    return Trainer(model, splits.train.images, splits.val.images, config, **kwargs)


class TrainingSession:
    """See the module docstring. Build with `new`, `resume` or `continue_run`; then `run()` once."""

    def __init__(self, out: Path, spec: pipeline.DataSpec, build: Callable[[pipeline.Splits], Trainer], *,
                 splits: pipeline.Splits | None = None, trainer: Trainer | None = None,
                 data_dir=None, download: bool = True, progress=None, dist=None, replay: bool = True):
        self.out = check_out_path(out)
        self.replay = replay                     # keep per-epoch snapshots in <out>.replay/
        self._replay: ReplayWriter | None = None
        self.spec = spec
        self.splits = splits
        self.trainer = trainer
        self._build = build
        self.data_dir, self.download, self.progress, self.dist = data_dir, download, progress, dist
        self.status = "new"
        self.message = ""
        self.is_new_model = False                # built by `new`: no curves or scatter before it
        self.save_error: str | None = None      # the last save's error, None once one works
        self.metrics: MetricsWriter | None = None
        self._listeners: list[Listener] = []
        self._stop = threading.Event()           # also cancels a download: set from any thread
        self._pause = threading.Event()
        self._step_asked = False                 # a single step asked for before the trainer exists
        self._speed_limit: float | None = None   # steps per second, None: no limit
        self._lock = threading.Lock()            # guards the trainer handoff and save requests
        self._save_requests: list[tuple[Path, threading.Event, list]] = []
        self._parked = False                     # the training thread waits in a pause (set on it)
        if trainer is not None:
            trainer.clear_requests()             # a new run of a kept trainer: earlier stops are history

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def new(cls, spec: pipeline.DataSpec, model_config: VAEConfig | M2Config, train_config: TrainConfig,
            out, m1: VAE | None = None, **options) -> "TrainingSession":
        """A new run; `m1` is the trained M1 of an M1+M2 model (its weights are copied)."""
        spec = spec.replace(binarize=train_config.binarize)
        model = new_model(model_config, train_config.seed, m1)   # refused now, not after the data loaded

        def build(splits: pipeline.Splits) -> Trainer:
            data = spec.replace(label_names=tuple(splits.train.label_names or ()))
            return build_trainer(model, splits, train_config, data_info=data.to_dict(), dist=options.get("dist"),
                                 trainer_state={"run_id": new_run_id()})
        session = cls(Path(out), spec, build, **options)
        session.is_new_model = True
        return session

    @classmethod
    def resume(cls, ckpt: Checkpoint, out, changes: dict | None = None, **options) -> "TrainingSession":
        """Continue a saved run; `changes` are the settings the user explicitly set."""
        config = resumed_config(ckpt.train_config, changes or {})
        spec = ckpt.data_spec
        if spec is None:
            raise ValueError("the checkpoint does not say which data it was trained on, so it cannot be "
                             "resumed; train a new model")
        state = dict(ckpt.trainer_state)
        state.setdefault("run_id", new_run_id())   # files from before run ids: a new id from here on

        def build(splits: pipeline.Splits) -> Trainer:
            resumed = Checkpoint(**{**ckpt.__dict__, "trainer_state": state})
            if isinstance(ckpt.model, SemiSupervised):
                return SemiSupervisedTrainer.from_checkpoint(
                    resumed, splits.train.images, splits.val.images, config, dist=options.get("dist"),
                    train_labels=splits.train.labels, val_labels=splits.val.labels)
            return Trainer.from_checkpoint(resumed, splits.train.images, splits.val.images, config,
                                           dist=options.get("dist"))
        return cls(Path(out), spec, build, **options)

    @classmethod
    def continue_run(cls, previous: "TrainingSession", changes: dict | None = None,
                     out=None) -> "TrainingSession":
        """Train the run of an earlier session further (its data and trainer stay in memory)."""
        trainer = previous.trainer
        if trainer is None:
            raise ValueError("that run never started training, so there is nothing to continue")
        config = resumed_config(trainer.config.to_dict(), changes or {})
        if config.batch_size != trainer.config.batch_size:
            raise ValueError("the batch size of a run kept in memory cannot change; save it and resume the file")
        if resolve_device(config.device) != trainer.device:
            raise ValueError(f"a run kept in memory stays on {trainer.device}; save it and resume the file to "
                             f"train on {config.device}")
        trainer.config = config
        for group in trainer.optimizer.param_groups:
            group["lr"], group["weight_decay"] = config.lr, config.weight_decay
        return cls(Path(out or previous.out), previous.spec, lambda splits: trainer, splits=previous.splits,
                   trainer=trainer, data_dir=previous.data_dir, download=previous.download,
                   progress=previous.progress, dist=previous.dist, replay=previous.replay)

    # -- control, from any thread ---------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """`listener(event)` runs on the training thread; it must return quickly."""
        self._listeners.append(listener)

    def request_stop(self) -> None:
        with self._lock:
            self._stop.set()
            self._parked = False
            if self.trainer is not None:
                self.trainer.request_stop()

    def request_pause(self) -> None:
        with self._lock:
            self._pause.set()
            if self.trainer is not None:
                self.trainer.request_pause()

    def request_resume(self) -> None:
        with self._lock:
            self._pause.clear()
            self._parked = False
            if self.trainer is not None:
                self.trainer.request_resume()

    def request_step(self) -> bool:
        """One optimisation step of a paused run (see Trainer.request_step); also before the trainer
        exists, after `request_pause`: the run then starts paused and takes that one step. False when
        refused (not paused, stopping, or the previous single step not done yet)."""
        with self._lock:
            if self._stop.is_set() or not self._pause.is_set():
                return False
            if self.trainer is None:
                if self._step_asked:
                    return False
                self._step_asked = True
                return True
            accepted = self.trainer.request_step()
            if accepted:
                self._parked = False   # a step will run: saves must wait for it again
            return accepted

    def set_speed_limit(self, steps_per_second: float | None) -> None:
        """At most this many steps a second (None: no limit), for watching a run in slow motion.
        A wait for the next step ends at once on a stop, a pause or a new limit."""
        limit = check_speed_limit(steps_per_second)
        with self._lock:
            self._speed_limit = limit
            if self.trainer is not None:
                self.trainer.set_speed_limit(limit)

    @property
    def speed_limit(self) -> float | None:
        return self._speed_limit

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def pause_requested(self) -> bool:
        return self._pause.is_set()

    def request_save(self, path, timeout: float = 10.0) -> str | None:
        """Save the run as it is now into `path` (e.g. File > Save while it trains): the training
        thread writes it between two steps. Returns None, or the error for the user."""
        done, result = threading.Event(), []
        with self._lock:
            trainer = self.trainer
            if trainer is None:
                return "the training data are still loading; nothing to save yet"
            if self.status != "running" or self._parked:
                return self._save(trainer, Path(path), autosave=False)  # no step will come to do it
            self._save_requests.append((Path(path), done, result))
        if not done.wait(timeout):
            return f"saving {path} takes long; it will be written after the current step"
        return result[0]

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> str:
        """Load, train, save. Raises DataError / CheckpointError / ValueError / OSError when the run
        cannot start; everything after the first step is reported through events instead."""
        self.status = "running"
        if self.splits is None:
            self._emit(SessionEvent("loading", message=f"loading {self.spec.name}"))
            self.splits = pipeline.load_splits(self.spec, self.data_dir, download=self.download,
                                               progress=self.progress, cancel=self._stop)
        with self._lock:
            if self._stop.is_set():   # stopped while the data loaded: nothing trained, nothing saved
                return self._finish("cancelled", "stopped before training began; nothing was trained")
            if self.trainer is None:
                self.trainer = self._build(self.splits)
            self.trainer.set_speed_limit(self._speed_limit)
            if self._pause.is_set():
                self.trainer.request_pause()
                if self._step_asked:
                    self.trainer.request_step()
            self._step_asked = False
        trainer = self.trainer
        if trainer.epoch >= trainer.config.epochs:
            return self._finish("finished", f"nothing to do: the run has already trained {trainer.epoch} of "
                                            f"{trainer.config.epochs} epochs (--epochs is the total)")
        writes = self.dist is None or self.dist.rank == 0
        if writes:
            self.metrics = MetricsWriter(metrics_path_for(self.out), trainer.run_id, resume_step=trainer.step)
            trainer.add_listener(self._on_metrics)
            if self.replay:
                self._start_replay(trainer)
        trainer.add_listener(self._on_trainer_event)
        self._emit(SessionEvent("ready", message=f"training on {trainer.device}"))
        try:
            status = trainer.run()
        finally:
            trainer.remove_listener(self._on_trainer_event)
            if self.metrics is not None:
                trainer.remove_listener(self._on_metrics)
                self.metrics.close()
        if writes:
            if status in ("finished", "stopped") and trainer.step > 0:
                trainer.extras.update(pipeline.scatter_extras(trainer.model, self.scatter_dataset,
                                                              trainer.config.binarize))
            self._save(trainer, self.out)
            self._serve_save_requests()
        return self._finish(status, trainer.message)

    @property
    def scatter_dataset(self):
        return self.splits.test if self.splits.test is not None else self.splits.val

    def live_scatter(self) -> dict:
        """The encoded means of up to LIVE_SCATTER_POINTS images under the current weights."""
        return pipeline.scatter_extras(self.trainer.model, self.scatter_dataset, self.trainer.config.binarize,
                                       n=LIVE_SCATTER_POINTS)

    # -- on the training thread -----------------------------------------------------------------
    def _emit(self, event) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _finish(self, status: str, message: str) -> str:
        self.status, self.message = status, message
        return status

    def _on_metrics(self, event) -> None:
        before = self.metrics.error
        self.metrics(event)
        if self.metrics.error and self.metrics.error != before:
            self._emit(SessionEvent("metrics_failed", str(self.metrics.path), self.metrics.error))

    def _start_replay(self, trainer: Trainer) -> None:
        """The run's replay folder continues from its epoch; a new model's first snapshot is epoch 0."""
        self._replay = ReplayWriter(replay_dir(self.out))
        try:
            self._replay.start(trainer.epoch)
        except OSError as e:
            self._emit(SessionEvent("replay_failed", str(self._replay.folder), str(e)))
        if trainer.step == 0:
            self._write_replay(0, self.live_scatter())

    def _write_replay(self, epoch: int, scatter: dict) -> None:
        """One file of ~3 MB written whole (a few ms, beside the epoch's checkpoint save)."""
        if self._replay is None:
            return
        try:
            self._replay.write(epoch, self.trainer.step, self.trainer.model, scatter)
        except OSError as e:
            self._emit(SessionEvent("replay_failed", str(self._replay.folder), str(e)))

    def _on_trainer_event(self, event) -> None:
        if isinstance(event, EpochEvent) and (self.dist is None or self.dist.rank == 0):
            scatter = self.live_scatter()
            self.trainer.extras.update(scatter)
            self._write_replay(event.epoch, scatter)
            self._save(self.trainer, self.out)
        self._emit(event)
        if self._save_requests:
            self._serve_save_requests()
        if isinstance(event, StatusEvent) and event.status == "paused":
            with self._lock:
                # From now until resume or stop the trainer waits and a save may be written
                # directly; a resume that came first has already woken it (then it is not parked).
                self._parked = self.trainer.is_held and not self._stop.is_set()
                requests, self._save_requests = self._save_requests, []
            for path, done, result in requests:
                result.append(self._save(self.trainer, path, autosave=False))
                done.set()

    def _serve_save_requests(self) -> None:
        with self._lock:
            requests, self._save_requests = self._save_requests, []
        for path, done, result in requests:
            result.append(self._save(self.trainer, path, autosave=False))
            done.set()

    def _save(self, trainer: Trainer, path: Path, autosave: bool = True) -> str | None:
        try:
            trainer.save(path)
        except CheckpointError as e:
            if autosave:
                self.save_error = str(e)
                self._emit(SessionEvent("save_failed", str(path), str(e)))
            return str(e)
        if autosave:
            self.save_error = None
            self._emit(SessionEvent("saved", str(path)))
        return None
