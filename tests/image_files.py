"""Image files for tests, good and bad, written at run time (nothing binary in the repository).

Used by tests/test_images.py (the Qt-free reader) and tests/gui/test_explorer.py (drops on the
canvas). Each `write_*` function writes one file into `folder` and returns its path.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def sample(name: str = "mnist", index: int = 0) -> Path:
    """A real test-set image from resources/samples (white ink on black for MNIST)."""
    files = sorted((SAMPLES / name).glob("*.png"))
    assert files, f"no sample images in {SAMPLES / name}"
    return files[index]


def write_not_an_image(folder: Path) -> Path:
    path = folder / "notes.png"
    path.write_text("these are my notes, not a picture\n")
    return path


def write_empty(folder: Path) -> Path:
    path = folder / "empty.png"
    path.write_bytes(b"")
    return path


def write_truncated(folder: Path) -> Path:
    """A real PNG cut in the middle of its pixel data."""
    data = sample().read_bytes()
    path = folder / "truncated.png"
    path.write_bytes(data[: len(data) // 2])
    return path


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def write_huge(folder: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A PNG whose header says width x height (8-bit grey) followed by a few real rows.

    Enough for any reader to learn the size; decoding it fully would need 400 MB. Writing it
    takes microseconds, so the test stays fast.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"".join(b"\x00" + bytes(width) for _ in range(4)))
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")
    path = folder / "huge.png"
    path.write_bytes(data)
    return path


def write_animated_gif(folder: Path, frames: int = 3) -> Path:
    images = [Image.fromarray(np.full((28, 28), 60 * (i + 1), np.uint8)) for i in range(frames)]
    path = folder / "animated.gif"
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


def write_16bit_png(folder: Path) -> tuple[Path, np.ndarray]:
    """A 16-bit grey PNG of a real digit (values * 257, full 16-bit range); returns (path, 8-bit original)."""
    original = np.asarray(Image.open(sample()).convert("L"))
    wide = original.astype(np.uint16) * 257
    path = folder / "digit16.png"
    Image.fromarray(wide).save(path)     # uint16 -> mode I;16 -> a 16-bit PNG
    return path, original


def write_cmyk_jpeg(folder: Path) -> tuple[Path, np.ndarray]:
    """A CMYK JPEG of a real digit (ink in K, white on black like MNIST); returns (path, 8-bit original)."""
    original = np.asarray(Image.open(sample()).convert("L"))
    cmyk = np.zeros((*original.shape, 4), np.uint8)
    cmyk[..., 3] = 255 - original           # K: black where MNIST is dark
    path = folder / "digit-cmyk.jpg"
    Image.frombytes("CMYK", original.shape[::-1], cmyk.tobytes()).save(path, quality=95)
    return path, original


def write_dark_on_light(folder: Path, index: int = 0) -> tuple[Path, np.ndarray]:
    """A real digit as a scan would show it: black ink on white paper; returns (path, original)."""
    original = np.asarray(Image.open(sample(index=index)).convert("L"))
    path = folder / "scan.png"
    Image.fromarray(255 - original).save(path)
    return path, original


def write_folder(folder: Path) -> Path:
    path = folder / "a folder.png"
    path.mkdir()
    return path


def vanished_path(folder: Path) -> Path:
    """A file that existed a moment ago."""
    path = folder / "gone.png"
    path.write_bytes(sample().read_bytes())
    path.unlink()
    return path


def write_eps_named_png(folder: Path) -> Path:
    """A PostScript (EPS) drawing saved under a .png name: Pillow would hand it to Ghostscript."""
    path = folder / "drawing.png"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n%%EndComments\n"
                     b"newpath 4 4 moveto 24 24 lineto stroke\nshowpage\n%%EOF\n")
    return path


def write_in_format(folder: Path, pillow_format: str, name: str, **options) -> tuple[Path, np.ndarray]:
    """A real digit saved by Pillow in ``pillow_format`` under ``name``; returns (path, 8-bit original)."""
    original = np.asarray(Image.open(sample()).convert("L"))
    image = Image.fromarray(original)
    if pillow_format == "ICO":
        image = image.convert("RGBA")
    path = folder / name
    image.save(path, format=pillow_format, **options)
    return path, original
