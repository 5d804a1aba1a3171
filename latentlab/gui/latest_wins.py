"""A background thread for model work, where the newest request of each kind wins.

Hovering produces a mouse event every few milliseconds; a queue of decodes would fall behind and
show stale images. Here every request has a key ("hover", "pad", "encode:3", ...); submitting a
key that is still waiting replaces the waiting request, so the thread always works on the newest
one. Results come back on the GUI thread through the `finished` signal (a queued connection,
because this QObject lives in the GUI thread and the worker emits from its own thread).

The thread is a plain Python thread rather than a QThread: it needs no Qt event loop, it cannot
abort the process if its QObject is deleted while it runs, and stopping it is a flag and a join.
It runs PyTorch with one CPU thread: on 2 cores a training thread plus this one use both cores;
more threads oversubscribe them and make hover latency spiky (see the team's qt-notes).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal


@dataclass(frozen=True)
class JobResult:
    key: str
    ticket: int                 # increases with every submit; compare with `latest_ticket(key)`
    value: Any = None
    error: BaseException | None = None
    submitted_at: float = 0.0   # time.perf_counter() at submit, for latency measurements


class LatestWinsWorker(QObject):
    """Runs callables on one background thread; per key, only the newest waiting call runs."""

    finished = Signal(object)   # JobResult, delivered on the thread this QObject lives in

    def __init__(self, name: str = "latentlab-decoder", torch_threads: int = 1, parent: QObject | None = None):
        super().__init__(parent)
        self._torch_threads = torch_threads
        self._lock = threading.Condition()
        self._pending: dict[str, tuple[int, int, Callable[[], Any], float]] = {}  # key -> (priority, ticket, fn, t)
        self._tickets: dict[str, int] = {}
        self._counter = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, key: str, fn: Callable[[], Any], priority: int = 10) -> int:
        """Queue `fn()` under `key`, replacing a waiting call with the same key. Lower priority runs first."""
        with self._lock:
            self._counter += 1
            ticket = self._counter
            self._tickets[key] = ticket
            self._pending[key] = (priority, ticket, fn, time.perf_counter())
            self._lock.notify()
        return ticket

    def cancel(self, key: str) -> None:
        """Drop a waiting call and make any result still in flight for `key` stale."""
        with self._lock:
            self._pending.pop(key, None)
            self._counter += 1
            self._tickets[key] = self._counter

    def is_latest(self, result: JobResult) -> bool:
        """False for a result overtaken by a newer submit (or a cancel) with the same key."""
        with self._lock:
            return self._tickets.get(result.key) == result.ticket

    def idle(self) -> bool:
        with self._lock:
            return not self._pending and not self._busy

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop after the running call; waiting calls are dropped. Safe to call twice."""
        with self._lock:
            self._stopping = True
            self._pending.clear()
            self._lock.notify()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    _busy = False

    def _run(self) -> None:
        try:
            import torch

            torch.set_num_threads(self._torch_threads)   # per thread: this one only
        except Exception:  # noqa: BLE001 - a worker without torch still runs plain callables
            torch = None
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                key = min(self._pending, key=lambda k: self._pending[k][:2])
                _, ticket, fn, submitted = self._pending.pop(key)
                self._busy = True
            try:
                if torch is not None:
                    with torch.inference_mode():
                        value = fn()
                else:
                    value = fn()
                result = JobResult(key, ticket, value, None, submitted)
            except Exception as e:  # noqa: BLE001 - reported to the GUI, never kills the thread
                result = JobResult(key, ticket, None, e, submitted)
            with self._lock:
                self._busy = False
                if self._stopping:
                    return
            try:
                self.finished.emit(result)
            except RuntimeError:   # the QObject was deleted under us: the app is closing
                return


# -- the model work itself (plain PyTorch; runs on the worker thread) -----------------------------------
def image_array(images) -> "np.ndarray":
    """(1, C, H, W) in [0, 1] -> uint8 (H, W) grey or (H, W, 3) RGB at fixed levels (0 -> 0, 1 -> 255).

    Same rounding as core.figures.to_uint8, done in numpy: for one small image that is a few
    microseconds instead of ~0.2 ms of torch op dispatch, and it is on every hover's path.
    """
    import numpy as np

    array = images[0].detach().cpu().numpy()
    array = np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    return array[0] if array.shape[0] == 1 else np.ascontiguousarray(array.transpose(1, 2, 0))


def decode_point(model, z, sample: bool = False, seed: int | None = None):
    """The decoder's mean image at latent z (D,), or one sample of p(x|z) when `sample`."""
    import torch

    zt = torch.as_tensor(z, dtype=torch.float32, device=model.device).reshape(1, -1)
    if not sample:
        return image_array(model.decode(zt))
    generator = None if seed is None else torch.Generator(device=model.device).manual_seed(seed)
    return image_array(model.sample_x(zt, generator=generator))


def decode_points(model, z, sample: bool = False, seed: int = 0) -> list:
    """Images at several latents (K, D), as a list of uint8 arrays."""
    import torch

    zt = torch.as_tensor(z, dtype=torch.float32, device=model.device).reshape(-1, model.latent_dim)
    if len(zt) == 0:
        return []
    if sample:
        generator = torch.Generator(device=model.device).manual_seed(seed)
        images = model.sample_x(zt, generator=generator)
    else:
        images = model.decode(zt)
    return [image_array(images[i:i + 1]) for i in range(len(zt))]


@dataclass(frozen=True)
class Posterior:
    """q(z|x) of one image under one model, with what the GUI shows of it."""

    mu: "np.ndarray"              # (D,)
    logvar: "np.ndarray"          # (D,)
    reconstruction: "np.ndarray"  # uint8 image: the decoded posterior mean
    sample_z: "np.ndarray"        # (K, D) draws from q(z|x)
    sample_images: list           # their decoded means

    @property
    def std(self):
        import numpy as np

        return np.exp(0.5 * self.logvar)


def encode_pixels(model, pixels, n_samples: int = 4, seed: int = 0) -> Posterior:
    """Encode one prepared image (uint8 (C, H, W)); draw `n_samples` z from q(z|x) with a fixed seed."""
    import numpy as np
    import torch

    x = torch.from_numpy(np.asarray(pixels, dtype=np.float32) / 255.0)[None].to(model.device)
    mu, logvar = model.encode(x)
    generator = torch.Generator(device=model.device).manual_seed(seed)
    eps = torch.randn(n_samples, model.latent_dim, generator=generator, device=model.device)
    z = mu + eps * torch.exp(0.5 * logvar)
    decoded = model.decode(torch.cat([mu, z]))
    images = [image_array(decoded[i:i + 1]) for i in range(len(decoded))]
    return Posterior(mu[0].double().cpu().numpy(), logvar[0].double().cpu().numpy(), images[0],
                     z.double().cpu().numpy(), images[1:])
