"""Write the sample images in resources/samples/ from a data root.

    python resources/make_samples.py /path/to/datasets [--count 100]

For each built-in data set, takes the first ``count`` images of the TEST split (for Frey
Face, of latentlab's own fixed test split) and saves them as 8-bit grey PNGs exactly as
stored in the data (white ink on black), named ``<label>_<index>.png`` (``face_<index>.png``
for Frey Face), where index is the position in the test split. Downloading is off: the data
root must already hold the files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from latentlab.core.data import DATASETS, ImageDataset, load_dataset

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


def sample_filename(ds: ImageDataset, index: int) -> str:
    label = "face" if ds.labels is None else str(int(ds.labels[index]))
    return f"{label}_{index:04d}.png"


def write_samples(ds: ImageDataset, folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.png"):
        stale.unlink()
    for index in range(min(count, len(ds))):
        pixels = ds.images[index, 0].numpy()  # (H, W) uint8
        image = Image.fromarray(pixels)  # 2-D uint8 gives an 8-bit grey ("L") image
        image.save(folder / sample_filename(ds, index), optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "data_root", type=Path, help="folder holding mnist/, fashion-mnist/, frey-face/"
    )
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR)
    args = parser.parse_args()
    for name in DATASETS:
        test_split = load_dataset(name, "test", data_dir=args.data_root, download=False)
        write_samples(test_split, args.out / name, args.count)
        print(f"{name}: wrote {min(args.count, len(test_split))} images to {args.out / name}")


if __name__ == "__main__":
    main()
