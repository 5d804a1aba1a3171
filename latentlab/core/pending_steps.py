"""Steps taken whose numbers are still on the training device, read in batches instead of one by one.

Reading a number off a GPU (`.item()`, `.tolist()`, `.cpu()`) makes Python wait until the GPU has
finished everything queued before it. A loop that reads every step's loss therefore never lets
the GPU run ahead: each step's kernels start only after the previous step's result came back,
and the GPU idles while Python prepares the next step. The trainer instead keeps each step's
numbers (a small detached tensor on the device) with what it already knows on the host (step,
epoch, KL weight, rate) here, and reads a whole batch of steps with one transfer: after `every`
steps, or once `seconds` have passed since the last read (so curves still move a few times a
second when steps are slow), and whenever someone must see the events now (a pause, a single
step, a stop, a speed limit, the end of an epoch, a save: see core/trainer.py).

On the CPU there is nothing to wait for, so the trainer reads every step (`every` = 1) by default.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

READ_EVERY_ON_A_DEVICE = 64   # steps per read on a GPU: a divergence is noticed at most this late
READ_SECONDS = 0.2            # ... or this long after the last read, whichever comes first


def default_read_every(device: torch.device) -> int:
    """Steps per read when the trainer is not told: every step on the CPU, batches elsewhere."""
    return 1 if torch.device(device).type == "cpu" else READ_EVERY_ON_A_DEVICE


@dataclass(frozen=True)
class PendingStep:
    """One optimisation step whose numbers have not been read yet: the host's part of its
    StepEvent, and `stats` (1-D, on the device) as the trainer's `_step_terms` returned them."""

    step: int
    epoch: int
    epoch_fraction: float
    kl_weight: float
    steps_per_sec: float
    stats: torch.Tensor


class PendingSteps:
    """The steps waiting to be read (see the module docstring). Used on the training thread only."""

    def __init__(self, every: int = 1, seconds: float | None = READ_SECONDS,
                 clock: Callable[[], float] = time.perf_counter):
        if every < 1:
            raise ValueError(f"steps per read must be at least 1, got {every}")
        self.every, self.seconds, self._clock = every, seconds, clock
        self._steps: list[PendingStep] = []
        self._last_read = clock()

    def __len__(self) -> int:
        return len(self._steps)

    def add(self, step: PendingStep) -> bool:
        """Keep `step`; True when the batch is due to be read (`every` steps, or `seconds` passed)."""
        self._steps.append(step)
        return self.due()

    def due(self) -> bool:
        if len(self._steps) >= self.every:
            return True
        return bool(self._steps) and self.seconds is not None and self._clock() - self._last_read >= self.seconds

    def take(self) -> list[tuple[PendingStep, list[float]]]:
        """Every waiting step with its numbers as floats, oldest first, read with one transfer.
        The waiting list is empty before this returns, so a read started while the events of an
        earlier one are being handed out (a save from a listener, say) finds nothing to do."""
        steps, self._steps = self._steps, []
        self._last_read = self._clock()
        if not steps:
            return []
        values = torch.stack([s.stats for s in steps]).cpu().tolist()   # the one host-device sync
        return list(zip(steps, values))

    def clear(self) -> None:
        """Forget the waiting steps (they were rolled back)."""
        self._steps = []
