"""Choosing where the hover decodes one point (core/decode_device.py), without timing anything real:
the choice is tested on a fake clock, the decode calls for what they return."""

from __future__ import annotations

import pytest
import torch

from latentlab import VAE
from latentlab.core import decode_device
from latentlab.core.decode_device import (available_devices, fastest, pick_decode_device, single_decode_calls,
                                          time_single_decodes)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def costing(clock: FakeClock, *seconds: float):
    """A call that advances the fake clock by the next of `seconds` each time (the last one repeats)."""
    queue = list(seconds)

    def call():
        clock.now += queue.pop(0) if len(queue) > 1 else queue[0]
    return call


def test_fastest_picks_the_lowest_median_and_reports_every_median():
    clock = FakeClock()
    # "gpu" has a slow first call (its warm-up) and one slow outlier; its median is still lower
    candidates = {"cpu": costing(clock, 0.003), "gpu": costing(clock, 0.5, 0.001, 0.009, 0.001, 0.001)}
    best, medians = fastest(candidates, repeats=3, warmup=1, clock=clock)
    assert best == "gpu" and medians == pytest.approx({"cpu": 0.003, "gpu": 0.001})
    best, _ = fastest({"cpu": costing(clock, 0.002), "gpu": costing(clock, 0.002)}, repeats=3, clock=clock)
    assert best == "cpu"                                   # a tie keeps the CPU
    with pytest.raises(ValueError):
        fastest({}, clock=clock)


def test_without_a_gpu_the_answer_is_the_cpu_and_nothing_is_measured(monkeypatch):
    monkeypatch.setattr(decode_device, "available_devices", lambda: ["cpu"])
    monkeypatch.setattr(decode_device, "fastest", lambda *a, **k: pytest.fail("measured with one device"))
    assert pick_decode_device(VAE(latent_dim=2, hidden_sizes=(8,))) == "cpu"
    assert available_devices()[0] == "cpu"


def test_the_measured_call_is_the_hover_round_trip_and_the_model_stays_put():
    model = VAE(latent_dim=3, hidden_sizes=(8,)).eval()
    calls = single_decode_calls(model, ["cpu"])
    image = calls["cpu"]()
    assert image.device.type == "cpu" and image.shape == (1, 1, 28, 28)
    assert torch.equal(image, model.decode(torch.zeros(1, 3)).detach())
    assert next(model.parameters()).device.type == "cpu"
    seconds = time_single_decodes(model, ["cpu"], repeats=2)
    assert list(seconds) == ["cpu"] and seconds["cpu"] > 0


def test_pick_between_devices_uses_the_measurement(monkeypatch):
    """With two devices the faster call wins (a stand-in for CUDA, which this machine may lack)."""
    model = VAE(latent_dim=2, hidden_sizes=(8,))
    clock = FakeClock()
    monkeypatch.setattr(decode_device, "single_decode_calls",
                        lambda m, devices: {"cpu": costing(clock, 0.002), "cuda": costing(clock, 0.0005)})
    real_fastest = decode_device.fastest
    monkeypatch.setattr(decode_device, "fastest", lambda calls, repeats: real_fastest(calls, repeats, clock=clock))
    assert pick_decode_device(model, ["cpu", "cuda"]) == "cuda"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_both_are_measured_and_the_model_stays_on_the_cpu():
    model = VAE(latent_dim=2, hidden_sizes=(64,))
    assert set(time_single_decodes(model)) >= {"cpu", "cuda"}
    assert pick_decode_device(model) in ("cpu", "cuda") and next(model.parameters()).device.type == "cpu"
