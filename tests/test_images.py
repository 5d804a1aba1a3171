"""core/images.py: any image file -> model input, and a clear refusal for everything else."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

import image_files as files
from latentlab.core import data
from latentlab.core.images import (IMAGE_FORMATS, IMAGE_SUFFIXES, MAX_PIXELS, ImageError, PreparedImage,
                                   fit_and_pad, load_image, looks_like_paper, prepare_picture)


def test_a_real_mnist_digit_passes_through_unchanged():
    original = np.asarray(Image.open(files.sample()).convert("L"))
    prepared = load_image(files.sample(), (1, 28, 28))
    assert prepared.pixels.dtype == np.uint8 and prepared.pixels.shape == (1, 28, 28)
    assert not prepared.inverted and prepared.notes == []
    np.testing.assert_array_equal(prepared.pixels[0], original)


def test_model_input_is_float_in_unit_interval_with_a_batch_axis():
    x = load_image(files.sample(), (1, 28, 28)).to_model_input()
    assert x.dtype == torch.float32 and x.shape == (1, 1, 28, 28)
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() == 1.0


def test_dark_ink_on_light_paper_is_inverted(tmp_path):
    path, original = files.write_dark_on_light(tmp_path)
    prepared = load_image(path, (1, 28, 28))
    assert prepared.inverted
    np.testing.assert_array_equal(prepared.pixels[0], original)


def test_photos_with_mid_grey_borders_are_not_inverted():
    prepared = load_image(files.sample("frey-face"), (1, 28, 20))
    assert not prepared.inverted


def test_aspect_is_kept_and_the_rest_padded_black(tmp_path):
    wide = np.full((10, 40), 255, np.uint8)          # 4:1 white bar on... all white: would invert
    wide[0, :] = wide[-1, :] = 0                     # dark border: ink-on-black, kept as is
    wide[:, 0] = wide[:, -1] = 0
    path = tmp_path / "wide.png"
    Image.fromarray(wide).save(path)
    pixels = load_image(path, (1, 28, 28)).pixels[0]
    rows_with_ink = np.flatnonzero(pixels.max(axis=1) > 0)
    assert 10 <= rows_with_ink.min() and rows_with_ink.max() <= 17  # 40x10 -> 28x7, centred
    assert pixels[:, 1:-1].max(axis=0).min() > 0                      # full width used


def test_colour_models_get_rgb(tmp_path):
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[8:24, 8:24] = (255, 0, 0)
    path = tmp_path / "red.png"
    Image.fromarray(rgb).save(path)
    pixels = load_image(path, (3, 16, 16)).pixels
    assert pixels.shape == (3, 16, 16)
    assert pixels[0].max() == 255 and pixels[1].max() == 0 and pixels[2].max() == 0


def test_transparent_drawings_are_flattened_on_white_then_inverted(tmp_path):
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[5:23, 13:15] = (0, 0, 0, 255)               # a black stroke on a transparent background
    path = tmp_path / "stroke.png"
    Image.fromarray(rgba).save(path)
    prepared = load_image(path, (1, 28, 28))
    assert prepared.inverted
    assert prepared.pixels[0, 10, 13] == 255 and prepared.pixels[0, 0, 0] == 0


def test_in_memory_pictures_take_the_same_path():
    image = Image.open(files.sample())
    from_file = load_image(files.sample(), (1, 28, 28))
    from_memory = prepare_picture(image, (1, 28, 28), source="clipboard")
    assert isinstance(from_memory, PreparedImage) and from_memory.source == "clipboard"
    np.testing.assert_array_equal(from_file.pixels, from_memory.pixels)


def test_paper_detection_and_fit_helpers():
    assert looks_like_paper(Image.new("L", (10, 10), 250))
    assert not looks_like_paper(Image.new("L", (10, 10), 150))
    assert fit_and_pad(Image.new("L", (56, 28), 255), 28, 28).getbbox() == (0, 7, 28, 21)


# -- bad input: a clear message, never a crash or a hang ---------------------------------------------
BAD = {
    "not an image": (files.write_not_an_image, "not an image"),
    "empty": (files.write_empty, "empty"),
    "truncated": (files.write_truncated, "truncated"),
    "20,000 x 20,000": (files.write_huge, "megapixels"),
    "animated GIF": (files.write_animated_gif, r"animated \(3 frames\)"),
    "folder": (files.write_folder, "is a folder"),
    "vanished": (files.vanished_path, "no longer exists"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_files_raise_a_message_for_the_user(tmp_path, kind):
    write, expected = BAD[kind]
    path = write(tmp_path)
    with pytest.raises(ImageError, match=expected) as raised:
        load_image(path, (1, 28, 28))
    assert path.name in str(raised.value)


def test_a_huge_image_is_refused_from_its_header_in_milliseconds(tmp_path):
    path = files.write_huge(tmp_path)
    start = time.perf_counter()
    with pytest.raises(ImageError):
        load_image(path)
    assert time.perf_counter() - start < 0.2


def test_a_large_but_not_insane_image_is_refused_by_our_own_limit(tmp_path):
    side = int(np.sqrt(MAX_PIXELS)) + 100            # above 40 MP, below Pillow's bomb limit
    path = files.write_huge(tmp_path, side, side)
    with pytest.raises(ImageError, match=f"{side:,} x {side:,} pixels"):
        load_image(path)


def test_16_bit_grey_is_scaled_not_clipped(tmp_path):
    path, original = files.write_16bit_png(tmp_path)
    assert Image.open(path).mode.startswith("I;16")
    prepared = load_image(path, (1, 28, 28))
    np.testing.assert_array_equal(prepared.pixels[0], original)   # Pillow's convert would clip to white
    assert prepared.notes == ["16-bit grey scaled to 8 bits"]


def test_cmyk_jpeg_is_converted(tmp_path):
    path, original = files.write_cmyk_jpeg(tmp_path)
    assert Image.open(path).mode == "CMYK"
    prepared = load_image(path, (1, 28, 28))
    assert prepared.notes == ["CMYK converted to RGB"]
    assert np.abs(prepared.pixels[0].astype(int) - original).mean() < 2    # JPEG noise only


# -- formats: only the ones latentlab supports are opened at all ------------------------------------
@pytest.mark.parametrize("pillow_format, name, options", [
    ("PNG", "d.png", {}), ("JPEG", "d.jpg", {"quality": 95}), ("BMP", "d.bmp", {}), ("GIF", "d.gif", {}),
    ("TIFF", "d.tif", {}), ("WEBP", "d.webp", {"lossless": True}), ("JPEG", "a-jpeg-named.png", {}),
])
def test_every_supported_format_is_read(tmp_path, pillow_format, name, options):
    path, original = files.write_in_format(tmp_path, pillow_format, name, **options)
    pixels = load_image(path, (1, 28, 28)).pixels[0]
    assert np.abs(pixels.astype(int) - original).mean() < 3   # JPEG noise at most


def test_an_eps_renamed_png_never_reaches_the_eps_reader(tmp_path, monkeypatch):
    from PIL import EpsImagePlugin

    opened = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: opened.append(self))
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: opened.append("ghostscript"))
    path = files.write_eps_named_png(tmp_path)
    with pytest.raises(ImageError, match="drawing.png is in EPS format; latentlab reads PNG, JPEG"):
        load_image(path)
    assert opened == []


@pytest.mark.parametrize("pillow_format", ["PPM", "PCX", "ICO", "SGI"])
def test_other_formats_pillow_knows_are_refused_by_name(tmp_path, pillow_format):
    path, _ = files.write_in_format(tmp_path, pillow_format, "digit.png")
    with pytest.raises(ImageError, match=f"digit.png is in {pillow_format} format"):
        load_image(path)


def test_image_suffixes_are_the_supported_formats_and_one_list():
    registered = Image.registered_extensions()
    assert {registered[suffix] for suffix in IMAGE_SUFFIXES} == set(IMAGE_FORMATS)
    assert data.IMAGE_SUFFIXES is IMAGE_SUFFIXES
