"""The training loop shared by the command line and the desktop app (no Qt here).

The trainer owns the model, the optimizer and the data. The training images are copied to the
training device once, as one uint8 tensor; every epoch's shuffle is drawn there, and each batch is
indexed, converted to floats and binarised there, so a step copies nothing from the host (and an
epoch never waits for a DataLoader). It reports through plain callables ("listeners") that
receive immutable events, and takes pause / resume / stop requests from any thread
(core/step_gate.py): they take effect before the next step, and so do single steps of a paused
run and a speed limit (steps per second, for watching a model learn in slow motion). A
non-finite loss stops the run and restores the weights and optimizer state of the last completed
epoch.

Reading a loss off a GPU waits for the GPU, so on a GPU the step numbers stay there and are read
in batches (core/pending_steps.py: every `sync_every` steps, 64 by default, or every 0.2 s); the
StepEvents of a batch are then handed out in order with the same float values. So on a GPU a
non-finite loss is noticed when its batch is read, up to `sync_every` steps late: the run then
stops and reports the step that diverged, and the steps taken after it are rolled back with the
rest of the epoch. Every pause, single step, stop, speed-limited step, end of epoch and save
reads the waiting steps first, so those see every step taken. On the CPU every step is read at
once by default (`sync_every` = 1). Under torchrun the reads go by count only, never by the
clock, so that every rank reads (and stops at a divergence) after the same step.

Reproducibility: every epoch reseeds the RNGs from (seed, epoch), so the same seed and config
on the CPU give the same curve, and a run resumed from a checkpoint replays the same shuffles.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time

import torch

from . import evaluation, objectives
from .checkpoint import Checkpoint, save_checkpoint
from .data import binarize, epoch_batches, to_float
from .events import STEP_BOUND, STEP_K, VAL_BOUND, EpochEvent, Listener, StatusEvent, StepEvent
from .history import EPOCH_COLUMNS, STEP_COLUMNS, History
from .iwae import IwaeForward
from .models import VAE
from .pending_steps import PendingStep, PendingSteps, READ_SECONDS, default_read_every
from .step_gate import PAUSED, STEP, STOP, StepGate
from .training_config import DEVICE_NAMES, TrainConfig, check_device_name, resolve_device

# Re-exported: the trainer's vocabulary, importable from here as before.
__all__ = ["Trainer", "TrainingDiverged", "TrainConfig", "History", "StepEvent", "EpochEvent", "StatusEvent",
           "Listener", "STEP_COLUMNS", "EPOCH_COLUMNS", "DEVICE_NAMES", "check_device_name", "resolve_device"]


class TrainingDiverged(RuntimeError):
    """A non-finite loss; `step` is the step it happened at (None: the one after the last taken)."""

    def __init__(self, message: str, step: int | None = None):
        super().__init__(message)
        self.step = step


# -- the trainer ----------------------------------------------------------------------------------
# The step columns of a run with the IWAE objective (core/events.py says why); its epochs add VAL_BOUND.
IWAE_STEP_COLUMNS = (STEP_BOUND, STEP_K)


class Trainer:
    """Trains a VAE on uint8 images (N, C, H, W); see the module docstring."""

    VAL_SEED = 1234  # validation binarisation is fixed, so epoch-to-epoch changes are the model's
    EXTRA_STEP_COLUMNS: tuple[str, ...] = ()   # a subclass's own step numbers (see _step_terms)
    # Steps whose numbers are read off the device together (module docstring); None: 1 on the CPU,
    # core.pending_steps.READ_EVERY_ON_A_DEVICE elsewhere. Set on an instance before `run()`.
    sync_every: int | None = None
    sync_seconds: float | None = READ_SECONDS   # ... or read after this long (None: count only)
    # torch.bfloat16: the forward pass under autocast (matrix products in bf16, the losses and the
    # backward pass as autocast keeps them); None, the default, trains in float32 throughout.
    autocast_dtype: torch.dtype | None = None

    def __init__(self, model: VAE, train_images: torch.Tensor, val_images: torch.Tensor | None = None,
                 config: TrainConfig | None = None, *, data_info: dict | None = None,
                 history: History | None = None, optimizer_state: dict | None = None,
                 trainer_state: dict | None = None, extras: dict | None = None, dist=None):
        self.config = config or TrainConfig()
        self.device = resolve_device(self.config.device)
        self.model = model.to(self.device)
        self.data_info = dict(data_info or {})
        self.data_info.setdefault("binarize", self.config.binarize)
        self.extras = dict(extras or {})
        self.dist = dist  # a distributed.DistContext when run under torchrun, else None
        self._iwae = self.config.objective == "iwae"
        if self._iwae:
            if not isinstance(model, VAE):
                raise ValueError("the IWAE objective is for VAEs; M2 and M1+M2 train their own bound "
                                 "(Kingma et al. 2014)")
            self.EXTRA_STEP_COLUMNS = IWAE_STEP_COLUMNS
        if train_images.dtype != torch.uint8 or train_images.dim() != 4:
            raise ValueError("train_images must be a uint8 tensor of shape (N, C, H, W)")
        if tuple(train_images.shape[1:]) != tuple(model.image_shape):
            raise ValueError(f"images of shape {tuple(train_images.shape[1:])} do not fit a model "
                             f"for {tuple(model.image_shape)}")
        self.train_images = train_images.to(self.device)
        self.val_images = val_images.to(self.device) if val_images is not None and len(val_images) else None
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.lr,
                                          weight_decay=self.config.weight_decay)
        if optimizer_state:
            self.optimizer.load_state_dict(optimizer_state)
            for group in self.optimizer.param_groups:  # a resumed run takes the new lr / decay
                group["lr"], group["weight_decay"] = self.config.lr, self.config.weight_decay
        self.history = history or History()
        state = trainer_state or {}
        self.epoch = int(state.get("epoch", 0))          # completed epochs
        self.step = int(state.get("step", 0))            # completed steps
        self._batch_in_epoch = int(state.get("batch_in_epoch", 0))
        self.run_id = state.get("run_id")                # names the run's metrics file rows (core.metrics)
        # A diverged run remembers where and at which learning rate, so a continuation can suggest less.
        self.diverged: dict | None = state.get("diverged")
        self._listeners: list[Listener] = []
        self.gate = StepGate()              # pause / resume / stop / single steps / speed limit
        self.status = "idle"
        self.message = ""
        self._good_state = self._snapshot()
        self._pending = PendingSteps()

    # -- control from any thread --------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """`listener(event)` is called on the training thread; it must return quickly."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def request_pause(self) -> None:
        self.gate.pause()

    def request_resume(self) -> None:
        self.gate.resume()

    def request_stop(self) -> None:
        """Sticky: a stop asked for before `run()` starts is kept, and `run()` returns at once.
        A paused or speed-limited run wakes up at once to stop."""
        self.gate.stop()

    def request_step(self) -> bool:
        """One optimisation step of a paused run, after which it is paused again (and reports
        "paused" again). Returns False, changing nothing, when the run is not paused or the
        previous single step is not done yet: clicks during a step never queue more steps."""
        return self.gate.step()

    def set_speed_limit(self, steps_per_second: float | None) -> None:
        """At most this many steps a second (None: as fast as it goes); applies to the next step."""
        self.gate.set_limit(steps_per_second)

    def clear_requests(self) -> None:
        """Forget an earlier stop or pause: call when the user asks for a new run of this trainer,
        before the controls that could stop it are enabled (so no stop can fall in between)."""
        self.gate.clear()

    @property
    def stop_requested(self) -> bool:
        return self.gate.stopped

    @property
    def is_paused(self) -> bool:
        return self.gate.paused

    @property
    def is_held(self) -> bool:
        """Paused with no single step asked for: no step starts until a request comes."""
        return self.gate.held

    # -- helpers ------------------------------------------------------------------------------
    def _emit(self, event) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _snapshot(self) -> dict:
        """The state a divergence rolls back to: weights, optimizer, counters, curve lengths."""
        return {"model": copy.deepcopy(self.model.state_dict()),
                "optimizer": copy.deepcopy(self.optimizer.state_dict()),
                "counters": (self.epoch, self.step, self._batch_in_epoch),
                "history_lengths": (len(self.history.steps["step"]), len(self.history.epochs["epoch"]))}

    def _restore(self, snap: dict) -> None:
        self.model.load_state_dict(snap["model"])
        self.optimizer.load_state_dict(snap["optimizer"])
        self.epoch, self.step, self._batch_in_epoch = snap["counters"]
        n_steps, n_epochs = snap["history_lengths"]
        for column in self.history.steps.values():
            del column[n_steps:]
        for column in self.history.epochs.values():
            del column[n_epochs:]
        del self.history.epoch_kl_per_dim[n_epochs:]

    @property
    def _rank(self) -> int:
        return self.dist.rank if self.dist else 0

    @property
    def _world(self) -> int:
        return self.dist.world_size if self.dist else 1

    def steps_per_epoch(self) -> int:
        per_rank = len(self.train_images) // self._world
        return max(1, math.ceil(per_rank / self.config.batch_size))

    def _epoch_batches(self, epoch: int):
        """Index batches of an epoch, on the device; the permutation depends only on (seed, epoch)."""
        return epoch_batches(len(self.train_images), self.config.batch_size, self.config.seed * 1_000_003 + epoch,
                             self.device, (self._rank, self._world))

    def _batch(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return binarize(to_float(images), self.config.binarize, generator)

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> str:
        """Train until `config.epochs` epochs are done, or stop/divergence. Returns the final status."""
        cfg = self.config
        if cfg.num_threads > 0 and self.device.type == "cpu":
            torch.set_num_threads(cfg.num_threads)  # per thread: this is the training thread
        self.status = "running"
        self._emit(StatusEvent("running", f"training on {self.device}"))
        net = IwaeForward(self.model, cfg.iw_k) if self._iwae else self.model   # what a step calls
        net = self.dist.wrap(net) if self.dist else net
        warmup_steps = round(cfg.kl_warmup_epochs * self.steps_per_epoch())
        rate = _RateMeter()
        every = self.sync_every if self.sync_every is not None else default_read_every(self.device)
        # Ranks must read at the same steps (a divergence stops them all at once): no clock under torchrun.
        self._pending = PendingSteps(every, None if self._world > 1 else self.sync_seconds)
        try:
            while self.epoch < cfg.epochs and not self.gate.stopped:
                self._train_epoch(net, warmup_steps, rate)
        except TrainingDiverged as e:
            diverged_at = e.step if e.step is not None else self.step + 1
            self._pending.clear()   # steps after the diverged one: rolled back below
            self._restore(self._good_state)
            self.diverged = {"step": diverged_at, "lr": self.config.lr}
            self.status, self.message = "diverged", str(e)
            self._emit(StatusEvent("diverged", self.message))
            return self.status
        self.status = "stopped" if self.epoch < cfg.epochs else "finished"
        self.message = (f"stopped at epoch {self.epoch + 1}, step {self.step}" if self.status == "stopped"
                        else f"finished {self.epoch} epochs ({self.step} steps)")
        self._emit(StatusEvent(self.status, self.message))
        return self.status

    def _train_epoch(self, net, warmup_steps: int, rate: "_RateMeter") -> None:
        cfg = self.config
        epoch_number = self.epoch + 1
        torch.manual_seed(cfg.seed * 1_000_003 + epoch_number)  # eps and binarisation of this epoch
        batches = self._epoch_batches(epoch_number)
        n_batches = len(batches)
        start = time.perf_counter()
        self.model.train()
        for i in range(self._batch_in_epoch, n_batches):
            turn = self._await_turn(rate)
            if turn == STOP:
                self._batch_in_epoch = i
                self._read_steps()
                return
            weight = objectives.kl_weight(self.step, cfg.beta, warmup_steps)
            with self._autocast():
                loss, stats = self._step_terms(net, batches[i], weight)
            stats = stats.float()   # a no-op unless autocast made some numbers bf16
            if self.dist:
                stats = self.dist.mean(stats)  # all ranks see the same numbers, NaN included
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.optimizer.step()
            self.step += 1
            self._batch_in_epoch = i + 1  # so a save between steps (e.g. from a listener) resumes here
            due = self._pending.add(PendingStep(step=self.step, epoch=epoch_number, epoch_fraction=(i + 1) / n_batches,
                                                kl_weight=weight, steps_per_sec=rate.tick(), stats=stats))
            if due or turn == STEP or self.gate.limit is not None:  # a single or slow step shows at once
                self._read_steps()
        self._read_steps()
        self._batch_in_epoch = 0
        self.epoch = epoch_number
        self._end_epoch(epoch_number, time.perf_counter() - start)

    def _read_steps(self) -> None:
        """Read the waiting steps' numbers (one transfer), then report them: all go into the
        history first, then their StepEvents go out in order, so that a save a listener makes
        holds every step the weights have taken. A non-finite loss raises TrainingDiverged for its
        step after the events of the steps before it (as when every step is read at once)."""
        read = self._pending.take()
        n_extra = len(self.EXTRA_STEP_COLUMNS)
        events, diverged = [], None
        for pending, values in read:
            if not all(math.isfinite(v) for v in values[:4]):
                diverged = TrainingDiverged(
                    f"Training diverged at step {pending.step} (epoch {pending.epoch}): the loss became "
                    f"{values[0]}. The weights from the end of epoch {self.epoch} were kept. "
                    "Try a smaller learning rate or gradient clipping.", step=pending.step)
                break
            events.append(StepEvent(step=pending.step, epoch=pending.epoch, epoch_fraction=pending.epoch_fraction,
                                    loss=values[0], neg_elbo=values[1], kl=values[2], recon=values[3],
                                    kl_per_dim=tuple(values[4 + n_extra:]), kl_weight=pending.kl_weight,
                                    steps_per_sec=pending.steps_per_sec,
                                    extras=tuple(zip(self.EXTRA_STEP_COLUMNS, values[4:4 + n_extra]))))
        for event in events:
            self.history.add_step(event)
        for event in events:
            self._emit(event)
        if diverged is not None:
            raise diverged

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def _step_terms(self, net, batch: torch.Tensor, kl_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss to minimise for the images at indices `batch`, and the step's numbers for the
        curves, detached: [loss, -ELBO, KL, recon, *EXTRA_STEP_COLUMNS, *KL per dimension].

        With the IWAE objective the loss is -L_K and the ELBO's columns are those of the first of
        the K samples, so the curves show both (the KL weight is 1: TrainConfig refuses beta and
        warm-up with it)."""
        x = self._batch(self.train_images[batch])
        if self._iwae:
            iw = objectives.iwae_terms(*net(x))
            t = iw.elbo
            numbers = [iw.loss, t.neg_elbo, t.kl, t.recon, iw.loss, torch.full_like(iw.loss, iw.k)]
            return iw.loss, torch.cat([torch.stack([n.float() for n in numbers]).detach(), t.kl_per_dim.detach()])
        terms = objectives.elbo_terms(*net(x, self.config.n_samples), beta=kl_weight)
        return terms.loss, torch.cat([torch.stack([terms.loss, terms.neg_elbo, terms.kl, terms.recon]).detach(),
                                      terms.kl_per_dim.detach()])

    def _await_turn(self, rate: "_RateMeter") -> str:
        """Before each step: wait while paused or held back by the speed limit. Returns GO, STEP
        (a single step of a paused run, taken without "resumed": the run stays paused) or STOP.
        The waiting steps are read before "paused" is reported."""
        while True:
            turn = self.gate.next_turn()
            if turn == PAUSED:
                self._read_steps()
                self.status = "paused"
                self._emit(StatusEvent("paused", f"paused at step {self.step}"))
                continue
            if turn == STOP:
                return STOP
            if self.status == "paused":
                rate.reset()  # time spent paused is not training time
                if turn != STEP:
                    self.status = "running"
                    self._emit(StatusEvent("resumed", f"resumed at step {self.step}"))
            return turn

    def _end_epoch(self, epoch: int, seconds: float) -> None:
        steps = self.history.steps
        n_this_epoch = sum(1 for e in steps["epoch"][-self.steps_per_epoch():] if e == epoch)
        train_neg_elbo = (sum(steps["neg_elbo"][-n_this_epoch:]) / n_this_epoch) if n_this_epoch else math.nan
        ev = self.validate() if self.val_images is not None else None
        event = EpochEvent(
            epoch=epoch, step=self.step, train_neg_elbo=train_neg_elbo,
            val_neg_elbo=ev.neg_elbo if ev else math.nan, val_kl=ev.kl if ev else math.nan,
            val_recon=ev.recon if ev else math.nan,
            val_kl_per_dim=tuple(ev.kl_per_dim) if ev else (), active_units=ev.active_units if ev else -1,
            seconds=seconds, extras=self._epoch_extras(ev))
        if ev is not None and not math.isfinite(ev.neg_elbo):
            raise TrainingDiverged(f"Training diverged in epoch {epoch}: the validation loss is "
                                   f"{ev.neg_elbo}. The weights from the end of epoch {epoch - 1} were kept.")
        self.history.add_epoch(event)
        self.diverged = None  # an epoch completed: the last divergence no longer describes the run
        self._good_state = self._snapshot()
        self._emit(event)

    def _epoch_extras(self, ev) -> tuple[tuple[str, float], ...]:
        """A subclass's own per-epoch numbers, from its validation report; an IWAE run's -L_K."""
        if self._iwae and ev is not None and ev.iw_nll is not None:
            return ((VAL_BOUND, ev.iw_nll),)
        return ()

    @torch.no_grad()
    def validate(self, batch_size: int = 1000) -> evaluation.Evaluation:
        """ELBO terms and active units on the validation images (fixed binarisation); with the
        IWAE objective also -L_K with the run's K (`iw_nll`: K more decodes per image)."""
        g = torch.Generator(device=self.device).manual_seed(self.VAL_SEED)
        batches = (self._batch(chunk, g) for chunk in self.val_images.split(batch_size))
        return evaluation.evaluate(self.model, batches, iw_samples=self.config.iw_k if self._iwae else 0)

    # -- checkpoints --------------------------------------------------------------------------
    def save(self, path) -> None:
        """Atomic checkpoint of everything resume needs (only rank 0 writes under torchrun)."""
        if self._rank != 0:
            return
        if len(self._pending):
            self._read_steps()   # the file holds every step the weights have taken
        save_checkpoint(path, self.model, train_config=self.config.to_dict(), data=self.data_info,
                        history=self.history.to_dict(), optimizer_state=self.optimizer.state_dict(),
                        trainer_state=self.state_dict(),
                        extras=self.extras)

    def state_dict(self) -> dict:
        """Where the run stands: what a checkpoint's `trainer_state` holds."""
        state = {"epoch": self.epoch, "step": self.step, "batch_in_epoch": self._batch_in_epoch}
        if self.run_id:
            state["run_id"] = self.run_id
        if self.diverged:
            state["diverged"] = dict(self.diverged)
        return state

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, train_images: torch.Tensor, val_images: torch.Tensor | None,
                        config: TrainConfig, dist=None) -> "Trainer":
        """Continue a saved run with `config` (see core.session for which settings a resume may
        change): same weights, optimizer state, counters and curves."""
        return cls(ckpt.model, train_images, val_images, config, data_info=ckpt.data,
                   history=History.from_dict(ckpt.history), optimizer_state=ckpt.optimizer_state,
                   trainer_state=ckpt.trainer_state, extras=ckpt.extras, dist=dist)


class _RateMeter:
    """Steps per second, smoothed over the last couple of seconds."""

    def __init__(self, window: float = 2.0):
        self.window = window
        self.reset()

    def reset(self) -> None:
        self._times: list[float] = []

    def tick(self) -> float:
        now = time.perf_counter()
        self._times.append(now)
        while len(self._times) > 2 and now - self._times[0] > self.window:
            self._times.pop(0)
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / (now - self._times[0])
