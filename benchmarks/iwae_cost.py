"""The cost of a training step on the IWAE bound (Burda et al. 2016) against one on the ELBO, as
ratios measured in one run: K = 1, 5 and 50 (`--k`) against the ELBO, the same model
(784-512-512-2 MLP, Bernoulli decoder), the same batch (128), the same threads, the same data.

Each configuration is latentlab's Trainer timed over a whole epoch of steps by the epoch's own
clock (after a first epoch of the same length as warm-up; no validation), so the numbers are
what a user's run pays per step. A step on L_K encodes once and decodes K samples of every
image, so its cost grows with K roughly as (encoder + K x decoder), plus the log-weights; K = 1
is the ELBO's work with the KL from the sample instead of analytically. The configurations run
in rounds (ELBO, K = 1, K = 5, K = 50, ELBO, ...) so that load that comes and goes hits all of
them; each ratio is the median over rounds of the round's step time against that round's ELBO.
Larger K take fewer steps per epoch (`--steps` / (K / 5) for K > 5, at least `--min-steps`): the
ratio is per step either way.

The machine's load average is printed before and after: on a shared machine, read the ratios,
not the absolute rates. On the CPU the ratios are also given by the process's CPU time over the
same epoch (from the first epoch's end to the second's: the steps and one end-of-epoch snapshot),
which other processes competing for the cores disturb less than wall time. One thread by
default: on a machine whose cores other work keeps busy, two threads wait for each other and a
step's time swings tenfold from run to run (2 shared cores, load ~2.5: ELBO 27 to 300 ms a step
with 2 threads, 17 ms +- 3 % with 1).

    python benchmarks/iwae_cost.py                         # CPU, 1 thread
    python benchmarks/iwae_cost.py --threads 8 --rounds 5  # on an idle machine
    python benchmarks/iwae_cost.py --device cuda --steps 400

Without LATENTLAB_DATA it uses the 100 sample digits in resources/ (repeated).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import load_images  # the same data as the throughput benchmark


def seconds_per_step(images_u8: torch.Tensor, steps: int, objective: str, k: int, batch_size: int, device: str,
                     threads: int, seed: int = 0) -> tuple[float, float]:
    """Seconds per training step of latentlab's Trainer over its second epoch of `steps` steps:
    (wall time by the epoch's clock, the process's CPU time)."""
    from latentlab import VAE
    from latentlab.core.trainer import EpochEvent, TrainConfig, Trainer

    torch.manual_seed(seed)
    n = steps * batch_size
    data = images_u8.repeat(math.ceil(n / len(images_u8)), 1, 1, 1)[:n]
    config = TrainConfig(epochs=2, batch_size=batch_size, device=device, seed=seed, num_threads=threads,
                         objective=objective, iw_k=k)
    trainer = Trainer(VAE(latent_dim=2, hidden_sizes=(512, 512)), data, None, config)
    epochs, cpu = [], []

    def on_epoch(event) -> None:
        if isinstance(event, EpochEvent):
            epochs.append(event)
            cpu.append(time.process_time())
    trainer.add_listener(on_epoch)
    trainer.run()
    assert [e.epoch for e in epochs] == [1, 2] and trainer.step == 2 * steps, trainer.message
    return epochs[-1].seconds / steps, (cpu[1] - cpu[0]) / steps


def load_text() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads of every run (default: 1)")
    parser.add_argument("--steps", type=int, default=60, help="timed steps of the ELBO, K = 1 and K = 5")
    parser.add_argument("--min-steps", type=int, default=8, help="at least this many timed steps for a large K")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 5, 50])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, source = load_images(max(args.steps, 100) * args.batch_size)
    configs = [("elbo", 1), *(("iwae", k) for k in args.k)]
    names = {c: "ELBO" if c[0] == "elbo" else f"IWAE K={c[1]}" for c in configs}

    def steps_for(k: int) -> int:
        return max(args.min_steps, round(args.steps / max(1.0, k / 5)))

    gpu = f" ({torch.cuda.get_device_name(torch.device(args.device))})" if args.device.startswith("cuda") else ""
    print(f"data: {source}; device {args.device}{gpu}; torch {torch.__version__}; threads {args.threads}; "
          f"batch {args.batch_size}; model 784-512-512-2 MLP, Bernoulli; {args.rounds} rounds; "
          f"timed steps per run: " + ", ".join(f"{names[c]} {steps_for(c[1]) if c[0] == 'iwae' else args.steps}"
                                              for c in configs))
    print(f"load average before (1, 5, 15 min): {load_text()}; cores: {os.cpu_count()}")
    times = {c: [] for c in configs}
    for _ in range(args.rounds):
        for objective, k in configs:
            steps = steps_for(k) if objective == "iwae" else args.steps
            times[(objective, k)].append(seconds_per_step(images, steps, objective, k, args.batch_size,
                                                          args.device, args.threads))
    print(f"load average after: {load_text()}")
    elbo = times[("elbo", 1)]
    for c in configs:
        walls = [w for w, _ in times[c]]
        ratios = [w / e for w, (e, _) in zip(walls, elbo)]   # each against its own round's ELBO
        ms = statistics.median(walls) * 1000
        line = (f"{names[c]:>12}: {ms:9.2f} ms/step  ({1000 / ms:7.1f} steps/s)   cost / ELBO = "
                f"{statistics.median(ratios):6.2f}  (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
        if args.device == "cpu":
            cpu_ratios = [t / e for (_, t), (_, e) in zip(times[c], elbo)]
            line += f";  by CPU time {statistics.median(cpu_ratios):6.2f}  ({', '.join(f'{r:.2f}' for r in cpu_ratios)})"
        print(line)


if __name__ == "__main__":
    main()
