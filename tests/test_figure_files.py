"""Figures as files: crisp nearest-neighbour scaling, and PNG, SVG and PDF that hold exactly those pixels."""

import base64
import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest
from PIL import Image

from latentlab.core.figure_files import (MAX_PIXELS, PRINT_DPI, figure_bytes, figure_format, save_figure,
                                         scaled_size, upscale)

GREY = np.arange(6 * 5, dtype=np.uint8).reshape(6, 5) * 8          # 6 rows, 5 columns: not square
RGB = np.stack([GREY, 255 - GREY, GREY // 2], axis=-1)


def test_upscale_turns_every_pixel_into_a_block():
    big = upscale(GREY, 3)
    assert big.shape == (18, 15)
    for y in range(6):
        for x in range(5):
            assert (big[3 * y:3 * y + 3, 3 * x:3 * x + 3] == GREY[y, x]).all()
    assert upscale(RGB, 2).shape == (12, 10, 3)
    assert upscale(GREY, 1) is GREY


@pytest.mark.parametrize("scale", [0, 33, -1, 2.5, True])
def test_a_scale_out_of_range_is_refused(scale):
    with pytest.raises(ValueError, match="scale must be a whole number between 1 and 32"):
        upscale(GREY, scale)


def test_format_comes_from_the_argument_else_the_suffix_else_png():
    assert figure_format("a.pdf", "svg") == "svg"
    assert figure_format("a.PDF") == "pdf" and figure_format("b.svg") == "svg" and figure_format("c.png") == "png"
    assert figure_format("no-suffix") == "png"
    assert figure_format("photo.jpg") == "JPEG"          # other raster suffixes Pillow writes keep working
    with pytest.raises(ValueError, match=r"a\.xyz.*'\.xyz'"):
        figure_format("a.xyz")
    with pytest.raises(ValueError, match="png, svg, pdf"):
        figure_format("a.png", "gif")


@pytest.mark.parametrize("array", [GREY, RGB], ids=["grey", "rgb"])
def test_png_holds_the_scaled_pixels_at_print_resolution(array):
    image = Image.open(io.BytesIO(figure_bytes(array, 4, "png")))
    assert image.size == (5 * 4, 6 * 4)
    np.testing.assert_array_equal(np.asarray(image), upscale(array, 4))
    assert round(image.info["dpi"][0]) == PRINT_DPI


def test_svg_is_xml_of_the_scaled_size_embedding_those_pixels_crisply():
    root = ET.fromstring(figure_bytes(GREY, 4, "svg"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("20", "24", "0 0 20 24")
    (image,) = root
    assert image.tag == "{http://www.w3.org/2000/svg}image"
    assert "image-rendering:pixelated" in image.get("style") and image.get("image-rendering") == "optimizeSpeed"
    href = image.get("{http://www.w3.org/1999/xlink}href")
    assert href.startswith("data:image/png;base64,")
    embedded = Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1])))
    np.testing.assert_array_equal(np.asarray(embedded), upscale(GREY, 4))


def _pdf_objects(data: bytes) -> dict[int, bytes]:
    """Each object's body, found through the xref table (so wrong offsets fail here)."""
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))
    assert data[start:].startswith(b"xref\n")
    lines = data[start:].split(b"\n")
    count = int(lines[1].split()[1])
    offsets = [int(line.split()[0]) for line in lines[3:3 + count - 1]]
    objects = {}
    for number, offset in enumerate(offsets, start=1):
        head = f"{number} 0 obj\n".encode()
        assert data[offset:offset + len(head)] == head, number
        objects[number] = data[offset + len(head):data.index(b"\nendobj\n", offset)]
    return objects


@pytest.mark.parametrize("array, space", [(GREY, b"/DeviceGray"), (RGB, b"/DeviceRGB")], ids=["grey", "rgb"])
def test_pdf_is_one_page_of_the_scaled_pixels_stored_losslessly(array, space):
    data = figure_bytes(array, 4, "pdf")
    assert data.startswith(b"%PDF-1.4\n")
    objects = _pdf_objects(data)
    assert b"/MediaBox [0 0 4.8 5.76]" in objects[3]          # 20 x 24 px at 300 dpi, in points
    image = objects[4]
    assert b"/Width 20 /Height 24" in image and space in image and b"/FlateDecode" in image
    length = int(re.search(rb"/Length (\d+)", image).group(1))
    stream = image[image.index(b"stream\n") + 7:][:length]
    pixels = np.frombuffer(zlib.decompress(stream), np.uint8).reshape(upscale(array, 4).shape)
    np.testing.assert_array_equal(pixels, upscale(array, 4))


@pytest.mark.skipif(shutil.which("pdftocairo") is None, reason="poppler's pdftocairo is not installed")
def test_a_pdf_reader_draws_exactly_the_pixels(tmp_path):
    save_figure(GREY, tmp_path / "f.pdf", scale=4)
    subprocess.run(["pdftocairo", "-png", "-gray", "-r", str(PRINT_DPI), "-singlefile", str(tmp_path / "f.pdf"),
                    str(tmp_path / "drawn")], check=True, timeout=60)
    drawn = np.asarray(Image.open(tmp_path / "drawn.png").convert("L"))
    np.testing.assert_array_equal(drawn, upscale(GREY, 4))


def test_save_figure_writes_the_format_its_name_says(tmp_path):
    for name, magic in (("f.png", b"\x89PNG"), ("f.svg", b"<?xml"), ("f.pdf", b"%PDF"), ("f", b"\x89PNG")):
        assert save_figure(RGB, tmp_path / name, scale=2).read_bytes().startswith(magic)
    assert (tmp_path / "f.jpg").exists() is False
    save_figure(GREY, tmp_path / "f.jpg", scale=2)
    assert Image.open(tmp_path / "f.jpg").format == "JPEG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "f.jpg", "f.pdf", "f.png", "f.svg"]  # no temp files


def test_too_large_a_figure_or_a_missing_folder_changes_no_file(tmp_path):
    side = int(MAX_PIXELS ** 0.5) // 32 + 1
    with pytest.raises(ValueError, match="too large"):
        scaled_size((side, side), 32)
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="too large"):
        save_figure(np.zeros((side, side), np.uint8), target, scale=32)
    assert target.read_bytes() == b"old"
    with pytest.raises(ValueError, match="does not exist"):
        save_figure(GREY, tmp_path / "missing" / "f.png")
    with pytest.raises(ValueError, match="is a folder"):
        save_figure(GREY, tmp_path)
    with pytest.raises(ValueError, match="uint8"):
        save_figure(GREY.astype(np.float32), tmp_path / "f.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]
