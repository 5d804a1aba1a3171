"""Hover decoding of one latent point on the CPU against the GPU, and which one the app should use.

One decode as the hover does it (z made on the host, decoded, the image back on the host), the
median of `--repeats` after a warm-up, for each device this machine has, with one torch CPU
thread as the app's hover worker uses; then `pick_decode_device`'s answer for the same model.
Without a GPU it prints the CPU's time and "cpu".

    python benchmarks/hover_device.py                     # the shipped mnist-2d.pt
    python benchmarks/hover_device.py --checkpoint trained/mnist-20d.pt --repeats 500
"""

from __future__ import annotations

import argparse

import torch

from latentlab import load_checkpoint
from latentlab.core.decode_device import available_devices, pick_decode_device, time_single_decodes
from latentlab.core.shipped import default_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the app's hover worker: 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_checkpoint(args.checkpoint).model
    devices = available_devices()
    seconds = time_single_decodes(model, devices, repeats=args.repeats)
    names = {"cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else ""}
    print(f"{args.checkpoint}: one point decoded, image on the host; median of {args.repeats}; "
          f"{args.threads} CPU thread(s); torch {torch.__version__}")
    for device, s in seconds.items():
        print(f"  {device:5s} {s * 1e3:8.3f} ms  {names.get(device, '')}")
    print(f"pick_decode_device: {pick_decode_device(model, devices, repeats=args.repeats)}")


if __name__ == "__main__":
    main()
