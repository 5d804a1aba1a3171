"""Stopping a long model computation between two decoder calls, from another thread.

The ground truth's jobs run for seconds (the gaps of one image: ~300 optimisation steps, a
quadrature and a grid; a chunk of the examples table) inside core functions that know nothing of
threads. When their result is no longer wanted (another image was selected, a new model came,
the window closes), waiting for them would hold up the next job and the window's closing. So the
model's decoder gets a forward pre-hook that raises `Interrupted` when the *calling thread's* stop
event is set: only a job that runs under `stop_when(event)` can be stopped, and the hover decodes
(on another thread, with no event) pay one attribute lookup per call and are never affected.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

_local = threading.local()
_HOOKED = "_latentlab_interruptible"


class Interrupted(Exception):
    """The computation was stopped because its result is no longer wanted."""


def _check(_module, _args) -> None:
    stop = getattr(_local, "stop", None)
    if stop is not None and stop.is_set():
        raise Interrupted()


def make_interruptible(model) -> None:
    """Install the hook on `model`'s decoder (once per model; harmless for every other caller)."""
    decoder = getattr(model, "decoder", None)
    if decoder is None:      # an M2, or its view of one class (core/m2.py): its M2's decoder
        core = getattr(getattr(model, "model", model), "core", None)
        decoder = getattr(core, "decoder", None)
    if decoder is not None and not getattr(decoder, _HOOKED, False):
        decoder.register_forward_pre_hook(_check)
        setattr(decoder, _HOOKED, True)


@contextmanager
def stop_when(event: threading.Event):
    """Within this block, this thread's decoder calls raise Interrupted once `event` is set."""
    previous = getattr(_local, "stop", None)
    _local.stop = event
    try:
        yield
    finally:
        _local.stop = previous


def run_stoppable(model, event: threading.Event, fn, *args, **kwargs):
    """fn(*args, **kwargs), stopped at the next decoder call of `model` once `event` is set."""
    make_interruptible(model)
    with stop_when(event):
        if event.is_set():
            raise Interrupted()
        return fn(*args, **kwargs)
