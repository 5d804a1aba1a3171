"""core.analogies (the paper's Figure 1) and core.class_figures on tiny M2 models: each column is the
row's style decoded as that class, the style is read under the label (else the classifier's
guess), the plain grid and the labelled picture have their layout's shape, headers and frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab import VAE
from latentlab.core.analogies import (FRAME_GREY, LINE_GREY, AnalogiesLayout, analogies, analogies_figure,
                                      analogy_rows, example_rows)
from latentlab.core.class_figures import MANIFOLD_GAP, class_manifolds, class_samples
from latentlab.core.figures import manifold, to_uint8
from latentlab.core.m2 import M2Config, PixelM2
from latentlab.core.pixel_text import GLYPH_H, GLYPH_W, GLYPHS, draw_text, text_mask


def tiny_m2(seed=0, shape=(1, 28, 28), classes=10, latent_dim=2):
    torch.manual_seed(seed)
    config = M2Config(image_shape=shape, latent_dim=latent_dim, num_classes=classes, hidden_sizes=(16,),
                      classifier_hidden=(16,))
    return PixelM2(config).eval()


def images(n=3, shape=(1, 28, 28), seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, *shape, generator=g) < 0.3).float()


def test_each_column_is_the_rows_style_decoded_as_that_class():
    model, x = tiny_m2(), images(3)
    rows = analogy_rows(model, x, labels=[3, -1, 7])
    assert rows.images.shape == (3, 10, 1, 28, 28) and rows.classes == tuple(range(10)) and len(rows) == 3
    with torch.no_grad():
        for b in range(3):
            exact = model.decode(rows.z[b:b + 1].expand(10, 2), torch.arange(10))     # decode(z_b, k) for each k
            torch.testing.assert_close(rows.images[b], exact, rtol=0, atol=0)
            for k in (0, 4, 9):             # one class at a time: the same up to float rounding
                torch.testing.assert_close(rows.images[b, k], model.decode(rows.z[b:b + 1], k)[0], rtol=0, atol=1e-6)
    grid = analogies(model, x, labels=[3, -1, 7])
    layout = AnalogiesLayout(3, (1, 28, 28), columns=10)
    assert grid.shape == layout.shape == (1 + 3 * 29, 1 + 28 + 1 + 1 + 2 + 10 * 29) and grid.dtype == np.uint8
    tiles = to_uint8(rows.images[1])[..., 0]
    y = layout.row_y(1)
    for k in range(10):
        x0 = layout.column_x(k)
        np.testing.assert_array_equal(grid[y:y + 28, x0:x0 + 28], tiles[k])
    np.testing.assert_array_equal(grid[y:y + 28, 1:29], to_uint8(x[1:2])[0, ..., 0])      # the input first
    assert (grid[:, layout.line_x] == LINE_GREY).all()                                  # then the thin line
    assert (grid[:, layout.line_x - 1] == 0).all() and (grid[:, layout.line_x + 1:layout.line_x + 3] == 0).all()


def test_the_style_comes_from_the_label_else_from_the_classifier():
    model, x = tiny_m2(seed=1), images(4, seed=2)
    with torch.no_grad():
        guesses = model.predict(x)
        other = (guesses + 1) % 10
        rows = analogy_rows(model, x, labels=other)
        torch.testing.assert_close(rows.z, model.encode(x, other)[0])
        assert not torch.allclose(rows.z, model.encode(x, guesses)[0])
        assert rows.from_label.all() and torch.equal(rows.style_classes, other)
        unknown = analogy_rows(model, x)
        torch.testing.assert_close(unknown.z, model.encode(x, guesses)[0])
        assert not unknown.from_label.any() and torch.equal(unknown.style_classes, guesses)
        some = analogy_rows(model, x, labels=[int(other[0]), -1, -1, int(other[3])], classes=[2, 5])
        assert some.from_label.tolist() == [True, False, False, True] and some.classes == (2, 5)
        assert torch.equal(some.style_classes, torch.tensor([other[0], guesses[1], guesses[2], other[3]]))
        torch.testing.assert_close(some.images[:, 1], model.decode(some.z, 5))


def test_the_labelled_figure_has_class_names_over_the_columns_and_frames_the_style_class():
    model, x = tiny_m2(), images(2)
    rows = analogy_rows(model, x, labels=[3, 8])
    pic = analogies_figure(rows)
    layout = AnalogiesLayout(2, (1, 28, 28), [str(k) for k in range(10)])
    assert pic.shape == layout.shape and layout.header_h == GLYPH_H * 2 + 4 and not layout.vertical
    header = pic[:layout.header_h]
    for k in (0, 3, 9):                           # "k" at the label scale, centred over its column
        expected = np.zeros_like(header)
        h, w = text_mask(str(k), 2).shape
        draw_text(expected, str(k), layout.header_h - 2 - h, layout.column_x(k) + (28 - w) // 2, 255, 2)
        x0 = layout.column_x(k)
        np.testing.assert_array_equal(header[:, x0:x0 + 28], expected[:, x0:x0 + 28])
    assert header[:, layout.input_x:layout.input_x + 28].any()            # "x" over the inputs
    for r, style in enumerate((3, 8)):                                     # a frame around the style's tile
        y, x0 = layout.row_y(r), layout.column_x(style)
        assert (pic[y - 1, x0 - 1:x0 + 29] == FRAME_GREY).all() and (pic[y + 28, x0 - 1:x0 + 29] == FRAME_GREY).all()
        assert (pic[y:y + 28, x0 - 1] == FRAME_GREY).all() and (pic[y:y + 28, x0 + 28] == FRAME_GREY).all()
        np.testing.assert_array_equal(pic[y:y + 28, x0:x0 + 28], to_uint8(rows.images[r, style:style + 1])[0, ..., 0])
        other = layout.column_x((style + 1) % 10)
        assert not (pic[y - 1, other:other + 28] == FRAME_GREY).all()


def test_long_class_names_turn_upwards_and_names_without_glyphs_become_numbers():
    model, x = tiny_m2(), images(1)
    rows = analogy_rows(model, x, labels=[0])
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    layout = AnalogiesLayout(1, (1, 28, 28), names)
    assert layout.vertical and layout.header_h == 11 * 6 - 1 + 2
    pic = analogies_figure(rows, names)
    assert pic.shape == layout.shape
    x0 = layout.column_x(0)                        # "T-shirt/top" reads upwards, its "T" at the bottom
    column = pic[:layout.header_h, x0:x0 + 28]
    rows_with_ink = np.flatnonzero(column.any(axis=1))
    assert rows_with_ink[-1] == layout.header_h - 2 and rows_with_ink[0] == 1        # 65 px of text
    unknown = AnalogiesLayout(1, (1, 28, 28), ["€"] * 10)
    assert unknown.names == [str(k) for k in range(10)] and not unknown.vertical
    tiny = AnalogiesLayout(1, (1, 4, 4), ["Ankle boot"] * 10)                    # too narrow to turn: numbers
    assert tiny.names == [str(k) for k in range(10)] and tiny.header_h == GLYPH_H + 2
    assert AnalogiesLayout(1, (1, 3, 3), ["Ankle boot"] * 10).header_h == 0     # no room for any header


def test_example_rows_are_the_first_for_seed_0_else_a_seeded_draw_whose_prefix_stays():
    np.testing.assert_array_equal(example_rows(100, 5), np.arange(5))
    assert len(example_rows(3, 10)) == 3
    drawn = example_rows(1000, 8, seed=4)
    assert len(set(drawn.tolist())) == 8 and not np.array_equal(drawn, np.arange(8))
    np.testing.assert_array_equal(example_rows(1000, 8, seed=4), drawn)
    np.testing.assert_array_equal(example_rows(1000, 7, seed=4), drawn[:7])   # the window with an own row
    assert not np.array_equal(example_rows(1000, 8, seed=5), drawn)


def test_bad_inputs_are_clear_errors():
    model = tiny_m2()
    with pytest.raises(ValueError, match="M2 or M1\\+M2"):
        analogy_rows(VAE(latent_dim=2, hidden_sizes=(8,)), images(1))
    with pytest.raises(ValueError, match="0..9"):
        analogy_rows(model, images(1), classes=[10])
    with pytest.raises(ValueError, match="one class per image"):
        analogy_rows(model, images(2), labels=[1])
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        analogy_rows(model, images(1), labels=[12])
    with pytest.raises(ValueError, match="images must be"):
        analogy_rows(model, torch.zeros(1, 1, 5, 5))


def test_class_samples_write_the_same_styles_in_every_row():
    model = tiny_m2(seed=3)
    pic = class_samples(model, n=4, seed=7)
    assert pic.shape == (10 * 29 + 1, 4 * 29 + 1)
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        for k in (0, 6):
            for j in (0, 3):
                tile = pic[1 + k * 29:1 + k * 29 + 28, 1 + j * 29:1 + j * 29 + 28]
                np.testing.assert_array_equal(tile, to_uint8(model.decode(z[j:j + 1], k))[0, ..., 0])
    drawn = class_samples(model, n=4, seed=7, sample_x=True)
    assert set(np.unique(drawn)) <= {0, 255} and not np.array_equal(drawn, pic)


def test_class_manifolds_tile_each_classes_manifold():
    model = tiny_m2(seed=4)
    pic = class_manifolds(model, n=3)
    side = 3 * 28
    assert pic.shape == (2 * side + MANIFOLD_GAP, 5 * side + 4 * MANIFOLD_GAP)
    seventh = pic[side + MANIFOLD_GAP:, 2 * (side + MANIFOLD_GAP):2 * (side + MANIFOLD_GAP) + side]
    np.testing.assert_array_equal(seventh, manifold(model.given(7), 3))
    with pytest.raises(ValueError, match="2-D latent space"):
        class_manifolds(tiny_m2(latent_dim=3), n=2)


def test_every_glyph_is_5_by_7_and_vertical_text_is_the_mask_turned_left():
    assert all(g.shape == (GLYPH_H, GLYPH_W) for g in GLYPHS.values())
    assert all(c in GLYPHS for c in "T-shirt/top Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag Ankle boot")
    picture = np.zeros((20, 10), np.uint8)
    draw_text(picture, "Ab", 1, 2, 9, vertical=True)
    np.testing.assert_array_equal(picture[1:12, 2:9] == 9, np.rot90(text_mask("Ab")))
