"""The steps whose numbers wait on the training device (core/pending_steps.py): when a batch is
due, and that it is read in order with one transfer."""

from __future__ import annotations

import pytest
import torch

from latentlab.core.pending_steps import (READ_EVERY_ON_A_DEVICE, PendingStep, PendingSteps,
                                          default_read_every)


def pending(step: int, *values: float) -> PendingStep:
    return PendingStep(step=step, epoch=1, epoch_fraction=step / 10, kl_weight=1.0, steps_per_sec=0.0,
                       stats=torch.tensor(values))


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_is_due_after_every_steps_and_read_in_order_with_one_transfer(monkeypatch):
    steps = PendingSteps(every=3, seconds=None)
    assert [steps.add(pending(i, i, -i)) for i in (1, 2, 3)] == [False, False, True]
    transfers = []
    real_cpu = torch.Tensor.cpu
    monkeypatch.setattr(torch.Tensor, "cpu", lambda t, *a, **k: transfers.append(t.shape) or real_cpu(t, *a, **k))
    read = steps.take()
    assert transfers == [torch.Size([3, 2])]                      # one stacked tensor, not three
    assert [(p.step, values) for p, values in read] == [(1, [1.0, -1.0]), (2, [2.0, -2.0]), (3, [3.0, -3.0])]
    assert len(steps) == 0 and steps.take() == [] and transfers == [torch.Size([3, 2])]


def test_a_batch_is_also_due_when_its_time_is_up():
    clock = FakeClock()
    steps = PendingSteps(every=100, seconds=0.2, clock=clock)
    assert not steps.due()                      # nothing waiting: nothing to read, however late
    clock.now = 0.1
    assert not steps.add(pending(1, 0.5))
    clock.now = 0.25
    assert steps.due()
    steps.take()
    clock.now = 0.3
    assert not steps.add(pending(2, 0.5))       # the clock restarts at each read


def test_the_float_values_are_those_of_each_step_read_alone():
    stats = [torch.randn(6) for _ in range(5)]
    steps = PendingSteps(every=5, seconds=None)
    for i, s in enumerate(stats):
        steps.add(pending(i + 1, *s.tolist()))
    assert [values for _, values in steps.take()] == [s.tolist() for s in stats]


def test_clear_forgets_and_bad_settings_are_refused():
    steps = PendingSteps(every=4)
    steps.add(pending(1, 0.0))
    steps.clear()
    assert len(steps) == 0 and steps.take() == []
    with pytest.raises(ValueError, match="at least 1"):
        PendingSteps(every=0)


def test_the_cpu_reads_every_step_and_a_gpu_in_batches():
    assert default_read_every(torch.device("cpu")) == 1
    assert default_read_every(torch.device("cuda")) == READ_EVERY_ON_A_DEVICE > 1
    assert default_read_every(torch.device("mps")) == READ_EVERY_ON_A_DEVICE
