"""Training steps/s of the latentlab Trainer against a plain PyTorch loop, same config, same process.

The reference is the training loop of pytorch/examples `vae/main.py` (model(x) -> BCE + KLD ->
backward -> loss.item() -> Adam step) with the same layer sizes, the same batch size and the same
in-memory data, so the ratio measures what the trainer adds: events, history, pause/stop checks,
the NaN guard and per-dimension KL. Runs alternate (reference, trainer, reference, ...) so slow
drifts of the machine hit both; the median of the repeats is reported, and what the two rates
mean for one MNIST epoch (50,000 training images at the batch size; the steps only, without the
validation after it).

The reference reads its loss every step (`loss.item()`), as the example does. The trainer is
timed over a whole epoch of `--steps` steps (after a first epoch of the same length as warm-up),
by the epoch's own clock, which stops after the epoch's last step numbers were read off the
device: on a GPU the trainer reads them in batches (`--sync-every`, default 64 there), so
timing single step events would measure when a batch was read, not when its steps ran.

    LATENTLAB_DATA=../shared/datasets python benchmarks/train_throughput.py
    python benchmarks/train_throughput.py --device cuda --steps 1000 --batch-size 128
    python benchmarks/train_throughput.py --device cuda --steps 1000 --batch-size 1024
    python benchmarks/train_throughput.py --device cuda --sync-every 1    # read every step, as on a CPU
    python benchmarks/train_throughput.py --device cuda --bf16            # both loops under bf16 autocast

Without LATENTLAB_DATA it uses the 100 sample digits in resources/ (repeated to 50,000 images).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


class ReferenceVAE(nn.Module):
    """pytorch/examples vae/main.py, with latentlab's default layer sizes (784-512-512-d)."""

    def __init__(self, latent_dim=2, hidden=512):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, hidden), nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 2 * latent_dim)
        self.fc4, self.fc5 = nn.Linear(latent_dim, hidden), nn.Linear(hidden, hidden)
        self.fc6 = nn.Linear(hidden, 784)

    def encode(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))).chunk(2, dim=-1)

    def reparameterize(self, mu, logvar):
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def decode(self, z):
        return self.fc6(F.relu(self.fc5(F.relu(self.fc4(z)))))  # logits

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def loss_function(recon_logits, x, mu, logvar):
    bce = F.binary_cross_entropy_with_logits(recon_logits, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + kld) / x.shape[0]


MNIST_TRAIN_IMAGES = 50_000


def reference_steps_per_sec(images_u8: torch.Tensor, steps: int = 300, warmup: int = 20, batch_size: int = 128,
                            latent_dim: int = 2, device: str = "cpu", seed: int = 0,
                            autocast_dtype: torch.dtype | None = None) -> float:
    """Steps/s of the plain loop over `steps` steps (after `warmup` untimed ones)."""
    torch.manual_seed(seed)
    dev = torch.device(device)
    data = images_u8.to(dev)
    model = ReferenceVAE(latent_dim).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    perm = torch.randperm(len(data), device=dev)
    train_loss = 0.0
    start = None
    for i in range(warmup + steps):
        if i == warmup:
            _sync(dev)
            start = time.perf_counter()
        idx = perm[(i * batch_size) % (len(data) - batch_size):][:batch_size]
        x = torch.bernoulli(data[idx].float() / 255)
        optimizer.zero_grad()
        with _autocast(dev, autocast_dtype):
            recon, mu, logvar = model(x)
            loss = loss_function(recon, x, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    _sync(dev)
    return steps / (time.perf_counter() - start)


def latentlab_steps_per_sec(images_u8: torch.Tensor, steps: int = 300, warmup: int = 20, batch_size: int = 128,
                            latent_dim: int = 2, device: str = "cpu", seed: int = 0, listeners=(),
                            sync_every: int | None = None, autocast_dtype: torch.dtype | None = None) -> float:
    """Steps/s of latentlab's Trainer on the same config: an epoch of `steps` steps timed by its
    EpochEvent, after a first epoch of the same length (`warmup` is unused: the first epoch is
    the warm-up; kept so both loops take the same arguments)."""
    from latentlab import VAE
    from latentlab.core.trainer import EpochEvent, TrainConfig, Trainer

    torch.manual_seed(seed)
    n = steps * batch_size
    data = images_u8.repeat(math.ceil(n / len(images_u8)), 1, 1, 1)[:n]
    config = TrainConfig(epochs=2, batch_size=batch_size, device=device, seed=seed)
    trainer = Trainer(VAE(latent_dim=latent_dim), data, None, config)
    trainer.sync_every, trainer.autocast_dtype = sync_every, autocast_dtype
    epochs = []
    trainer.add_listener(lambda e: epochs.append(e) if isinstance(e, EpochEvent) else None)
    for listener in listeners:
        trainer.add_listener(listener)
    trainer.run()
    assert [e.epoch for e in epochs] == [1, 2] and trainer.step == 2 * steps, trainer.message
    return steps / epochs[-1].seconds


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def load_images(n: int = 50_000) -> tuple[torch.Tensor, str]:
    """Real MNIST training images when LATENTLAB_DATA is set, else the shipped samples repeated."""
    from latentlab.core.data import load_dataset, load_image_folder

    if os.environ.get("LATENTLAB_DATA"):
        return load_dataset("mnist", "train", download=False).images[:n], "MNIST (LATENTLAB_DATA)"
    samples = Path(__file__).resolve().parents[1] / "resources" / "samples" / "mnist"
    images = load_image_folder(samples).images
    return images.repeat((n + len(images) - 1) // len(images), 1, 1, 1)[:n], "resources/samples repeated"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--sync-every", type=int, default=None,
                        help="the trainer's steps per read of the losses (default: 1 on the CPU, 64 on a GPU)")
    parser.add_argument("--bf16", action="store_true", help="both loops' forward passes under bf16 autocast")
    args = parser.parse_args()
    from latentlab.core.pending_steps import default_read_every

    images, source = load_images()
    autocast_dtype = torch.bfloat16 if args.bf16 else None
    kw = dict(steps=args.steps, batch_size=args.batch_size, latent_dim=args.latent_dim, device=args.device,
              autocast_dtype=autocast_dtype)
    ref, ours = [], []
    for _ in range(args.repeats):
        ref.append(reference_steps_per_sec(images, **kw))
        ours.append(latentlab_steps_per_sec(images, sync_every=args.sync_every, **kw))
    r, o = statistics.median(ref), statistics.median(ours)
    # Each pair ran back to back, so a pair's ratio is robust to load that comes and goes.
    pair_ratios = sorted(b / a for a, b in zip(ref, ours))
    gpu = f" ({torch.cuda.get_device_name(torch.device(args.device))})" if args.device.startswith("cuda") else ""
    print(f"data: {source}; device {args.device}{gpu}; torch {torch.__version__}, threads {torch.get_num_threads()}; "
          f"batch {args.batch_size}; latent {args.latent_dim}-D; {args.steps} steps x {args.repeats} repeats"
          f"{'; bf16 autocast' if args.bf16 else ''}; trainer reads losses every "
          f"{args.sync_every or default_read_every(torch.device(args.device))} step(s)")
    print(f"plain PyTorch loop : {r:8.1f} steps/s  (runs: {', '.join(f'{v:.1f}' for v in ref)})")
    print(f"latentlab Trainer  : {o:8.1f} steps/s  (runs: {', '.join(f'{v:.1f}' for v in ours)})")
    print(f"ratio latentlab / plain = {statistics.median(pair_ratios):.3f} (median of per-pair ratios; "
          f"ratio of medians {o / r:.3f})   (goal >= 0.95)")
    per_epoch = math.ceil(MNIST_TRAIN_IMAGES / args.batch_size)
    print(f"one MNIST epoch ({MNIST_TRAIN_IMAGES:,} images = {per_epoch} steps of {args.batch_size}; steps only, "
          f"no validation): plain loop {per_epoch / r:.2f} s, latentlab Trainer {per_epoch / o:.2f} s")


if __name__ == "__main__":
    main()
