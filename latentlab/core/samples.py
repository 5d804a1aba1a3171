"""The sample images that ship with latentlab: the first 100 test images of each built-in data set.

They are PNGs in `resources/samples/<data set>/` (found by `shipped.samples_dir()`), named
`<label>_<index>.png` (`face_<index>.png` for Frey Face), where `<index>` is the image's position
in the test split, with the pixels exactly as stored in the data. So they stand in for the test
split when its files are not on this computer: sample i is test image i, and point i of a
checkpoint's scatter (the encoded first N test images) is that image too.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .datasets import DATASETS, ImageDataset
from .download import DataError
from .shipped import samples_dir

_NAME = re.compile(r"^(?P<label>\w+?)_(?P<index>\d+)\.png$")


def load_samples(name: str, folder: str | Path | None = None) -> tuple[ImageDataset, np.ndarray]:
    """(the sample images of data set `name` in index order, their test-split indices (N,)).

    Labels come from the file names when they are numbers (None for Frey Face's `face_...`).
    DataError when there are none, naming the folder looked in.
    """
    folder = Path(folder) if folder is not None else samples_dir() / name
    entries = []
    for path in folder.glob("*.png") if folder.is_dir() else []:
        match = _NAME.match(path.name)
        if match:
            entries.append((int(match["index"]), match["label"], path))
    if not entries:
        raise DataError(f"no sample images of {name} in {folder}")
    entries.sort()
    try:
        images = np.stack([np.asarray(Image.open(path).convert("L"), dtype=np.uint8) for _, _, path in entries])
    except (OSError, ValueError) as e:      # unreadable, or of different sizes
        raise DataError(f"the sample images in {folder} cannot be read: {e}") from None
    labels = [label for _, label, _ in entries]
    label_tensor = (torch.tensor([int(v) for v in labels], dtype=torch.int64)
                    if all(v.isdigit() for v in labels) else None)
    spec = DATASETS.get(name)
    names = list(spec.label_names) if spec is not None and spec.label_names and label_tensor is not None else None
    dataset = ImageDataset(name, torch.from_numpy(images[:, None]), label_tensor, names)
    return dataset, np.array([index for index, _, _ in entries], dtype=np.int64)
