"""Turning an arbitrary image file (or an in-memory picture) into what a model expects. No Qt here.

Shared by the image-folder data set (`data.load_image_folder`) and the GUI's drops, paste and
"Encode image...": one picture goes through the same steps everywhere:

1. read with Pillow, refusing before any pixel is decoded what would be slow or wrong to read
   (see `ImageError` below for every refusal and its message); only the formats in
   `IMAGE_FORMATS` are read at all;
2. EXIF orientation applied, transparency flattened onto white (as drawing tools show it);
3. converted to grey (C = 1) or RGB (C = 3); 16-bit grey is scaled to 8 bits, not clipped;
4. inverted when it is dark ink on light paper (so strokes end up bright, like MNIST);
5. resized to fit H x W keeping its aspect ratio and centred on black;
6. scaled to [0, 1] when a float tensor is asked for (`to_model_input`).

Decisions worth knowing:

* Animated images (GIF, APNG, WebP with several frames) are refused: which frame a user means is
  a guess, and silently encoding frame 0 of an animation would show a misleading ellipse.
* 16-bit PNGs and CMYK JPEGs are *valid* images that naive loaders get wrong (16-bit grey
  clipped to white; CMYK handled by Pillow's conversion). They are converted correctly and the
  result says so in `PreparedImage.notes`, which the GUI shows in the status bar.
* Images above `MAX_PIXELS` are refused from their header alone, so a 20,000 x 20,000 file costs
  a few microseconds, not 400 MB and seconds of decoding.
* Only `IMAGE_FORMATS` are opened, whatever the file's name says: Pillow knows some 40 formats,
  and some hand the file to other programs (an EPS renamed .png reaches Ghostscript). Any other
  format is refused with its real name, found from the file's first bytes alone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# The largest picture read at all (width x height). 40 megapixels covers any phone photo; a
# decoded image this size is ~120 MB of RGB, read once and shrunk to 28 x 28 straight away.
MAX_PIXELS = 40_000_000

# "auto" inversion: an image whose border is this bright (median, 0..255) is taken to be dark ink
# on light paper and inverted. Deliberately high: photos such as Frey faces have mid-grey borders
# (~150) and must stay as they are.
PAPER_BRIGHTNESS = 192


# The image formats latentlab reads (Pillow's names) and the file suffixes that stand for them:
# the one list for the image folders, drops, paste, file dialogs. GIF is read as a still (an
# animated one is refused, see above); TIFF too (a multi-page one counts as animated).
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_FORMAT_TITLES = "PNG, JPEG, BMP, GIF, TIFF or WebP"


class ImageError(ValueError):
    """An image could not be used; the message is written for the user (status bar)."""


@dataclass
class PreparedImage:
    """One picture converted for a model: uint8 pixels (C, H, W) plus what happened on the way."""

    pixels: np.ndarray                 # uint8, (C, H, W)
    source: str                        # file name or "clipboard" / "drawing"
    inverted: bool = False
    notes: list[str] = field(default_factory=list)  # conversions worth telling the user

    def to_model_input(self):
        """Float tensor (1, C, H, W) in [0, 1], ready for `model.encode`."""
        import torch

        return torch.from_numpy(self.pixels.astype(np.float32) / 255.0)[None]


def load_image(path: str | os.PathLike, image_shape: tuple[int, int, int] = (1, 28, 28),
               invert: bool | str = "auto") -> PreparedImage:
    """Read one image file and prepare it for a model of `image_shape` (C, H, W).

    Raises ImageError with a message for the user on anything that is not a usable picture.
    """
    channels, height, width = check_image_shape(image_shape)
    path = Path(path)
    name = path.name or str(path)
    image = open_image(path)
    with image:
        notes = _describe_unusual_mode(image)
        try:
            image.load()
            pil = prepare_pil(image, channels)
        except Image.DecompressionBombError as e:
            raise ImageError(f"{name} is too large to read safely ({e})") from e
        except (OSError, SyntaxError, ValueError) as e:  # truncated data, broken chunks, bad CRCs
            raise ImageError(f"{name} is damaged or truncated and cannot be read "
                             f"({_first_line(e)})") from e
    pixels, inverted = finish(pil, height, width, invert)
    return PreparedImage(pixels, source=name, inverted=inverted, notes=notes)


def prepare_picture(image: Image.Image, image_shape: tuple[int, int, int] = (1, 28, 28),
                    invert: bool | str = "auto", source: str = "picture") -> PreparedImage:
    """The same preparation for a picture already in memory (clipboard, drawing pad)."""
    channels, height, width = check_image_shape(image_shape)
    _check_size(image.width, image.height, source)
    notes = _describe_unusual_mode(image)
    pixels, inverted = finish(prepare_pil(image, channels), height, width, invert)
    return PreparedImage(pixels, source=source, inverted=inverted, notes=notes)


def open_image(path: Path) -> Image.Image:
    """Open lazily (header only) and refuse what must not be decoded; the caller closes it."""
    name = path.name or str(path)
    if path.is_dir():
        raise ImageError(f"{name} is a folder, not an image: drop image files")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageError(f"{name} no longer exists (was it moved or deleted?)") from None
    except OSError as e:
        raise ImageError(f"Cannot read {name}: {e.strerror or e}") from e
    if size == 0:
        raise ImageError(f"{name} is empty (0 bytes)")
    try:
        image = Image.open(path, formats=IMAGE_FORMATS)
    except FileNotFoundError:
        raise ImageError(f"{name} no longer exists (was it moved or deleted?)") from None
    except UnidentifiedImageError:
        real = sniff_format(path)
        if real is not None and real not in IMAGE_FORMATS:
            raise ImageError(f"{name} is in {real} format; latentlab reads {_FORMAT_TITLES} "
                             "images") from None
        raise ImageError(f"{name} is not an image latentlab can read ({_FORMAT_TITLES})") from None
    except Image.DecompressionBombError as e:  # Pillow's own guard fires in open() above ~179 MP
        found = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(found.group(1)) / 1e6:,.0f} megapixels" if found else \
            f"more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:,.0f} megapixels"
        raise ImageError(f"{name} is {size}; latentlab reads images up to {MAX_PIXELS / 1e6:.0f} "
                         "megapixels. Shrink it first.") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{name} is damaged and cannot be read ({_first_line(e)})") from e
    try:
        _check_size(image.width, image.height, name)
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            raise ImageError(f"{name} is animated ({frames} frames); save the frame you want "
                             "as a still PNG and drop that")
    except BaseException:
        image.close()
        raise
    return image


def sniff_format(path: Path) -> str | None:
    """The format Pillow would take ``path`` for, from its first bytes only; None if none.

    Runs only each format's signature check (the ``accept`` function Pillow itself tries first),
    never a format's parser, so it is safe on any file. Formats without a signature are skipped.
    """
    try:
        with open(path, "rb") as stream:
            prefix = stream.read(16)
    except OSError:
        return None
    Image.init()
    for format_name in Image.ID:
        _, accept = Image.OPEN[format_name]
        try:
            if accept is not None and accept(prefix):
                return format_name
        except Exception:  # a signature check that trips over a short prefix
            continue
    return None


def prepare_pil(image: Image.Image, channels: int) -> Image.Image:
    """Orientation, transparency and colour mode: any Pillow image -> 'L' or 'RGB'."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = _wide_grey_to_8bit(image)
    image = _flatten_alpha(image)
    return image.convert("L" if channels == 1 else "RGB")


def finish(image: Image.Image, height: int, width: int, invert: bool | str) -> tuple[np.ndarray, bool]:
    """Invert if asked (or if it looks like paper), fit into H x W; -> (uint8 (C, H, W), inverted)."""
    if invert not in (True, False, "auto"):
        raise ValueError(f"invert must be True, False or 'auto', got {invert!r}")
    inverted = invert is True or (invert == "auto" and looks_like_paper(image))
    if inverted:
        image = ImageOps.invert(image)
    image = fit_and_pad(image, width, height)
    array = np.asarray(image, dtype=np.uint8)
    pixels = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return np.ascontiguousarray(pixels), inverted


def check_image_shape(image_shape) -> tuple[int, int, int]:
    channels, height, width = (int(v) for v in image_shape)
    if channels not in (1, 3) or height < 1 or width < 1:
        raise ValueError(f"image_shape must be (1 or 3, H, W), got {tuple(image_shape)}")
    return channels, height, width


def looks_like_paper(image: Image.Image) -> bool:
    """True if the image border is bright, i.e. dark ink on a light background."""
    grey = np.asarray(image.convert("L"), dtype=np.uint8)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(np.median(border)) >= PAPER_BRIGHTNESS


def fit_and_pad(image: Image.Image, width: int, height: int) -> Image.Image:
    """Resize to fit inside width x height keeping the aspect ratio; centre on black."""
    if image.size == (width, height):
        return image
    scale = min(width / image.width, height / image.height)
    new_size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    resized = image.resize(new_size, Image.Resampling.LANCZOS)
    canvas = Image.new(image.mode, (width, height), 0)
    canvas.paste(resized, ((width - new_size[0]) // 2, (height - new_size[1]) // 2))
    return canvas


# -- helpers ----------------------------------------------------------------------------------------
def _check_size(width: int, height: int, name: str) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"{name} has no pixels ({width} x {height})")
    if width * height > MAX_PIXELS:
        raise ImageError(f"{name} is {width:,} x {height:,} pixels ({width * height / 1e6:.0f} megapixels); "
                         f"latentlab reads images up to {MAX_PIXELS / 1e6:.0f} megapixels. "
                         "Shrink it first.")


def _describe_unusual_mode(image: Image.Image) -> list[str]:
    if image.mode.startswith("I;16") or image.mode == "I":
        return ["16-bit grey scaled to 8 bits"]
    if image.mode == "F":
        return ["floating-point grey scaled to 8 bits"]
    if image.mode == "CMYK":
        return ["CMYK converted to RGB"]
    return []


def _wide_grey_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit / float grey -> 'L' by scaling, not clipping (Pillow's convert clips)."""
    values = np.asarray(image).astype(np.float64)
    peak = float(np.nanmax(values)) if values.size else 0.0
    if image.mode == "F":
        top = 1.0 if peak <= 1.0 else 255.0
    elif image.mode.startswith("I;16") or peak > 255:
        top = 65535.0
    else:
        top = 255.0
    scaled = np.clip(np.nan_to_num(values) / top * 255.0, 0, 255).round().astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Put transparent images on white, as most drawing tools show them (then 'auto' inverts)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba)
    return image


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__

