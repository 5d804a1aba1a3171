"""Where to decode the single latent point under the cursor: the CPU or a GPU, chosen by measuring.

A GPU decodes thousands of points faster than the CPU, but the hover decodes one: there the
GPU's kernel launches and the two copies (z to the device, the image back to the host for
painting) can cost more than the CPU's whole forward pass of a small MLP. So the choice is made
by timing both once per model, on the thread that will decode (torch's CPU thread count is per
thread), with the whole round trip: z on the host in, the image on the host out. Without a GPU
there is nothing to measure and the answer is "cpu".
"""

from __future__ import annotations

import copy
import statistics
import time
from typing import Callable

import torch


def available_devices() -> list[str]:
    """The devices this machine can decode on, the CPU first."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def fastest(candidates: dict[str, Callable[[], object]], repeats: int = 30, warmup: int = 3,
            clock: Callable[[], float] = time.perf_counter) -> tuple[str, dict[str, float]]:
    """The name of the candidate whose call takes the least time (median of `repeats` calls after
    `warmup` untimed ones), and every candidate's median in seconds. A tie goes to the earlier one."""
    if not candidates or repeats < 1:
        raise ValueError("fastest() needs at least one candidate and one repeat")
    medians = {}
    for name, call in candidates.items():
        for _ in range(warmup):
            call()
        times = []
        for _ in range(repeats):
            start = clock()
            call()
            times.append(clock() - start)
        medians[name] = statistics.median(times)
    best = min(medians, key=lambda name: medians[name])   # min keeps the first of equals
    return best, medians


def single_decode_calls(model: torch.nn.Module, devices: list[str]) -> dict[str, Callable[[], torch.Tensor]]:
    """For each device, a call that decodes one point the way the hover does: z made on the host,
    moved there, decoded by a copy of `model` on that device, the image brought back. The caller's
    model is never moved."""
    calls = {}
    z = torch.zeros(1, model.latent_dim)
    for name in devices:
        device = torch.device(name)
        here = next(model.parameters()).device == device
        on_device = model if here else copy.deepcopy(model).to(device)

        def call(m=on_device, d=device) -> torch.Tensor:
            with torch.no_grad():
                return m.decode(z.to(d)).cpu()
        calls[name] = call
    return calls


def time_single_decodes(model: torch.nn.Module, devices: list[str] | None = None,
                        repeats: int = 30) -> dict[str, float]:
    """Median seconds of one hover decode on each device (default: all this machine has)."""
    return fastest(single_decode_calls(model, devices or available_devices()), repeats)[1]


def pick_decode_device(model: torch.nn.Module, devices: list[str] | None = None, repeats: int = 30) -> str:
    """"cpu", "cuda" or "mps": where one hover decode of `model` is fastest, measured once (about
    a millisecond per device and repeat for a small MLP). "cpu" at once when there is no GPU."""
    devices = devices or available_devices()
    if devices == ["cpu"]:
        return "cpu"
    return fastest(single_decode_calls(model, devices), repeats)[0]
