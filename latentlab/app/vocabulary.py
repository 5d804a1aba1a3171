"""Words the app shares between its parts: which file suffixes mean a checkpoint, which an image.

One place, so that the canvas, the window and the file dialogs agree (they did not: the canvas
left `.ckpt` / `.safetensors` drops to the window, which ignored them).
"""

from __future__ import annotations

from latentlab.core.data import IMAGE_SUFFIXES

# What the window opens as a model (File > Open, drops). latentlab writes `.pt`; `.pth` is the
# other usual PyTorch suffix. The canvas leaves drops of these files to the window.
CHECKPOINT_SUFFIXES = (".pt", ".pth")

# What File > Encode image... offers: the data-set image suffixes plus the other formats Pillow
# reads for a single picture (a data-set folder keeps to PNG and JPEG on purpose).
ENCODABLE_IMAGE_SUFFIXES = (*IMAGE_SUFFIXES, ".bmp", ".gif", ".tif", ".tiff", ".webp")


def file_dialog_filter(label: str, suffixes: tuple[str, ...]) -> str:
    """A Qt file-dialog filter, e.g. 'Images (*.png *.jpg);;All files (*)' (just a string)."""
    return f"{label} ({' '.join('*' + s for s in suffixes)});;All files (*)"
