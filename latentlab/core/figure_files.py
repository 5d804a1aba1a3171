"""Figures written as files at print quality: PNG, SVG or PDF, their pixels scaled up crisply.

A figure is a pixel image, uint8 (H, W) grey or (H, W, 3) RGB (the grids of core.figures).
Scaling is nearest neighbour: every image pixel becomes a scale x scale block, so a 28-pixel
digit is 112 px at the default 4x and its edges stay sharp when printed or projected. The three
formats hold the same scaled pixels:

* PNG: the pixels, tagged 300 dpi, so word processors place it at print size.
* SVG: that PNG embedded as a data URI in an <svg> of the same size in px, marked
  `image-rendering: pixelated` (`optimizeSpeed` for older renderers) so a viewer that enlarges
  it further keeps the blocks sharp. The scaled pixels, not the originals, are embedded: a
  renderer that ignores the property (some converters) would otherwise smooth them.
* PDF: one page showing the pixels at 300 dpi (a 2240 px manifold is a 19 cm square), stored
  losslessly (Flate). Written here rather than by Pillow's PDF writer, which stores grey and RGB
  images as JPEG and so smears the very edges the scaling keeps.
"""

from __future__ import annotations

import base64
import io
import zlib
from pathlib import Path

import numpy as np

from .atomic_write import check_target, replace_file

FORMATS = ("png", "svg", "pdf")
DEFAULT_SCALE = 4
MIN_SCALE, MAX_SCALE = 1, 32
PRINT_DPI = 300
MAX_PIXELS = 100_000_000   # 10,000 x 10,000: a grey figure is 100 MB in memory, RGB 300 MB


def upscale(array: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement: each pixel becomes a `scale` x `scale` block."""
    _check_scale(scale)
    array = np.asarray(array)
    if scale == 1:
        return array
    return np.repeat(np.repeat(array, scale, axis=0), scale, axis=1)


def scaled_size(shape: tuple[int, ...], scale: int) -> tuple[int, int]:
    """(width, height) in pixels of a figure of array shape `shape` at `scale`; ValueError when
    that is more than MAX_PIXELS (checked before any memory is spent on it)."""
    _check_scale(scale)
    width, height = shape[1] * scale, shape[0] * scale
    if width * height > MAX_PIXELS:
        raise ValueError(f"a {width} x {height} pixel figure is too large ({width * height / 1e6:.0f} megapixels; "
                         f"at most {MAX_PIXELS / 1e6:.0f})")
    return width, height


def figure_format(path, format: str | None = None) -> str:
    """What to write: `format` when given, else the suffix of `path` (.png, .svg, .pdf), else png.

    Another raster suffix Pillow writes (.jpg, .bmp, .tif, .webp...) gives that Pillow format's
    name, so such files keep working; an unknown suffix is a ValueError naming the file.
    """
    if format is not None:
        if format.lower() not in FORMATS:
            raise ValueError(f"the figure format must be one of {', '.join(FORMATS)}, got {format!r}")
        return format.lower()
    suffix = Path(path).suffix.lower()
    if not suffix:
        return "png"
    if suffix[1:] in FORMATS:
        return suffix[1:]
    from PIL import Image

    pillow = Image.registered_extensions().get(suffix)
    if pillow is None or pillow not in Image.SAVE:
        raise ValueError(f"{path}: cannot tell a figure format from the suffix {suffix!r} "
                         f"(use .png, .svg or .pdf)")
    return pillow


def figure_bytes(array: np.ndarray, scale: int = DEFAULT_SCALE, format: str = "png") -> bytes:
    """The file's content: `array` scaled by `scale` and encoded as `format` (see figure_format)."""
    array = _checked_pixels(array)
    scaled_size(array.shape, scale)
    pixels = upscale(array, scale)
    if format == "png":
        return _png(pixels, dpi=PRINT_DPI)
    if format == "svg":
        return _svg(pixels)
    if format == "pdf":
        return _pdf(pixels, dpi=PRINT_DPI)
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=format)
    return out.getvalue()


def save_figure(array: np.ndarray, path, scale: int = DEFAULT_SCALE, format: str | None = None) -> Path:
    """Write `array` to `path` at `scale` (format: see figure_format). The file is replaced whole
    or not at all, so a failure leaves no half-written figure."""
    path = Path(path)
    return write_figure_file(path, figure_bytes(array, scale, figure_format(path, format)))


def check_figure_path(path) -> Path:
    """`path` as a Path; ValueError naming it when it is a folder or its folder does not exist
    (the window checks before it spends seconds on a figure)."""
    return check_target(path, "figure")


def write_figure_file(path, data: bytes) -> Path:
    """Write a figure's encoded bytes (from figure_bytes, or a vector picture of the window's
    canvas) to `path`, whole or not at all."""
    return replace_file(check_figure_path(path), data)


# -- checks ---------------------------------------------------------------------------------------
def _check_scale(scale: int) -> None:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"the scale must be a whole number between {MIN_SCALE} and {MAX_SCALE}, got {scale!r}")


def _checked_pixels(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"a figure is a uint8 (H, W) or (H, W, 3) array, got {array.dtype} {array.shape}")
    if 0 in array.shape:
        raise ValueError(f"a figure cannot be empty, got shape {array.shape}")
    return np.ascontiguousarray(array)


# -- encoders -------------------------------------------------------------------------------------
def _png(pixels: np.ndarray, dpi: int | None = None) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return out.getvalue()


def _svg(pixels: np.ndarray) -> bytes:
    height, width = pixels.shape[:2]
    data = base64.b64encode(_png(pixels)).decode("ascii")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">\n'
        f'<image x="0" y="0" width="{width}" height="{height}" preserveAspectRatio="none" '
        'image-rendering="optimizeSpeed" style="image-rendering:optimizeSpeed;image-rendering:pixelated" '
        f'xlink:href="data:image/png;base64,{data}"/>\n'
        '</svg>\n').encode("ascii")


def _pdf(pixels: np.ndarray, dpi: int) -> bytes:
    """A one-page PDF 1.4 holding `pixels` as a Flate-compressed image, one pixel = 1/dpi inch."""
    height, width = pixels.shape[:2]
    space = "/DeviceGray" if pixels.ndim == 2 else "/DeviceRGB"
    page_w, page_h = _points(width, dpi), _points(height, dpi)
    image = zlib.compress(pixels.tobytes(), 9)
    draw = f"q {page_w} 0 0 {page_h} 0 0 cm /Im0 Do Q".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w} {page_h}] "
         "/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>").encode("ascii"),
        (f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace {space} "
         f"/BitsPerComponent 8 /Interpolate false /Filter /FlateDecode /Length {len(image)} >>\n"
         "stream\n").encode("ascii") + image + b"\nendstream",
        f"<< /Length {len(draw)} >>\nstream\n".encode("ascii") + draw + b"\nendstream",
        b"<< /Producer (latentlab) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += b"".join(f"{offset:010d} 00000 n \n".encode("ascii") for offset in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode("ascii")
    return bytes(out)


def _points(pixels: int, dpi: int) -> str:
    """A length of `pixels` at `dpi` in PDF points (1/72 inch), written without needless digits."""
    return f"{pixels * 72 / dpi:.4f}".rstrip("0").rstrip(".")
