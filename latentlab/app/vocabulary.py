"""Words the app shares between its parts: which file suffixes mean a checkpoint, which an image.

Each list is defined once in the core (checkpoints in core/checkpoint_files.py, images in
core/images.py) and re-exported here for the views, so the canvas, the window and the file
dialogs agree (they did not: the canvas left `.ckpt` / `.safetensors` drops to the window, which
ignored them).
"""

from __future__ import annotations

from latentlab.core.checkpoint_files import CHECKPOINT_SUFFIXES   # torch-free, unlike core/checkpoint.py
from latentlab.core.images import IMAGE_SUFFIXES

# What File > Encode image... offers: every format the image reader accepts (core/images.py).
ENCODABLE_IMAGE_SUFFIXES = IMAGE_SUFFIXES

__all__ = ["CHECKPOINT_SUFFIXES", "ENCODABLE_IMAGE_SUFFIXES", "IMAGE_SUFFIXES", "file_dialog_filter"]


def file_dialog_filter(label: str, suffixes: tuple[str, ...]) -> str:
    """A Qt file-dialog filter, e.g. 'Images (*.png *.jpg);;All files (*)' (just a string)."""
    return f"{label} ({' '.join('*' + s for s in suffixes)});;All files (*)"
